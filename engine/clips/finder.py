"""Candidate clips from an Analysis: windows that start and end where a thought does, scored and chosen.

Boundaries. A clip may start or end only
- in a pause of the speech (a gap of at least PAUSE_MIN_S in the VAD segments): it starts just before the
  speech resumes and ends just after it stops, so it never cuts a word;
- on a shot cut that falls outside speech (a cut during speech would cut a word, so it is not a boundary);
- at a sentence end (and the start of the next sentence) when a transcript with word times exists;
- at the very start and end of the video. A video with neither sound nor cuts falls back to a 5-second grid.

Score (0-100). The weights below are a HEURISTIC, chosen by hand to rank clips in a plausible order, not a
prediction of views: no model trained on how clips perform exists yet. Each part is 0-1:
- hook, the first HOOK_S seconds: speech starting at once, a face, motion, loudness against the video's own
  typical level, text on screen;
- pace: shot cuts per minute and the share of the clip with speech (words per second with a transcript);
- completeness: how cleanly it starts and ends (a sentence > a pause > a cut in silence > the video's edge);
- model: the active model's score of the clip cut out as a short video (engine.scoring.score_video), when
  the caller asks for it (see rescore_with_model); the heuristic part then weighs MODEL_WEIGHT less.
Chosen clips overlap each other by at most MAX_OVERLAP_S.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np

from ..cues import visual
from .analysis import Analysis

HOOK_S = 3.0
WEIGHTS = {"hook": 0.40, "pace": 0.25, "completeness": 0.35}  # heuristic, see the module docstring
HOOK_WEIGHTS = {"speech": 0.30, "face": 0.25, "motion": 0.20, "loudness": 0.15, "text": 0.10}
MODEL_WEIGHT = 0.25
MAX_OVERLAP_S = 2.0
MERGE_S = 0.3  # boundaries closer than this are one
START_LEAD_S = 0.25  # a clip starts this long before the speech resumes (inside the pause)
END_TAIL_S = 0.35  # ...and ends this long after it stops
SNAP_S = 1.0  # how far a sentence edge from the transcript may move to the speech detector's edge
KIND_QUALITY = {"sentence": 1.0, "cut+pause": 1.0, "pause": 0.9, "cut": 0.75, "edge": 0.7, "grid": 0.3}
KIND_WORDS = {"sentence": "a sentence", "cut+pause": "a shot cut in a pause", "pause": "a pause in the speech",
              "cut": "a shot cut", "edge": "the video's edge", "grid": "an arbitrary point"}


@dataclass(frozen=True)
class Boundary:
    time_s: float
    kind: str  # one of KIND_QUALITY


@dataclass
class Clip:
    start_s: float
    end_s: float
    score: float  # 0-100, see the module docstring (a heuristic, not a prediction)
    parts: dict  # hook, pace, completeness (and model), each 0-1
    reasons: list[str]
    start_kind: str
    end_kind: str
    transcript: str = ""
    model_score: Optional[float] = None
    facts: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict:
        d = asdict(self)
        d["duration_s"] = round(self.duration_s, 3)
        return d


# -- boundaries ------------------------------------------------------------------------------------------
def _inside(t: float, segs: list[tuple[float, float]], margin: float = 0.1) -> bool:
    return any(a - margin < t < b + margin for a, b in segs)


def boundaries(an: Analysis) -> tuple[list[Boundary], list[Boundary]]:
    """(start boundaries, end boundaries), each sorted by time."""
    segs = an.speech_segments()
    pauses = an.pauses()
    starts: list[Boundary] = [Boundary(0.0, "edge")]
    ends: list[Boundary] = [Boundary(an.duration_s, "edge")]
    for a, b in pauses:
        if b < an.duration_s:  # speech resumes at b
            starts.append(Boundary(max(a, b - START_LEAD_S), "pause"))
        if a > 0:  # speech stopped at a
            ends.append(Boundary(min(b, a + END_TAIL_S), "pause"))
    for c in an.cuts:
        if _inside(c, segs):
            continue  # a cut while someone speaks would cut a word
        kind = "cut+pause" if segs and any(a <= c <= b for a, b in pauses) else "cut"
        starts.append(Boundary(c, kind))
        ends.append(Boundary(c, kind))
    for s, e in _sentences(an.words):
        # Recognisers' word times are loose by a few tenths: a sentence edge that falls inside the speech
        # detector's segment moves out to that segment's edge, or is dropped when that is far.
        s, e = max(0.0, s - 0.15), min(an.duration_s, e + 0.2)
        seg = next(((a, b) for a, b in segs if a < s < b), None)
        if seg is None or s - seg[0] <= SNAP_S:
            starts.append(Boundary(s if seg is None else max(0.0, seg[0] - START_LEAD_S), "sentence"))
        seg = next(((a, b) for a, b in segs if a < e < b), None)
        if seg is None or seg[1] - e <= SNAP_S:
            ends.append(Boundary(e if seg is None else min(an.duration_s, seg[1] + END_TAIL_S), "sentence"))
    if len(starts) == 1 and len(ends) == 1:
        grid = np.arange(5.0, an.duration_s - 1.0, 5.0)
        starts += [Boundary(float(t), "grid") for t in grid]
        ends += [Boundary(float(t), "grid") for t in grid]
    return _merge(starts), _merge(ends)


def _sentences(words) -> list[tuple[float, float]]:
    out, first = [], None
    for s, e, w in words:
        first = s if first is None else first
        if str(w).strip().endswith((".", "?", "!")):
            out.append((first, e))
            first = None
    return out


def _merge(points: list[Boundary]) -> list[Boundary]:
    """Sorted, with boundaries closer than MERGE_S reduced to the best of them."""
    out: list[Boundary] = []
    for b in sorted(points, key=lambda b: b.time_s):
        if out and b.time_s - out[-1].time_s < MERGE_S:
            if KIND_QUALITY[b.kind] > KIND_QUALITY[out[-1].kind]:
                out[-1] = b
            continue
        out.append(b)
    return out


# -- series helpers --------------------------------------------------------------------------------------
class _Series:
    """Window means and counts over the analysis' series via cumulative sums."""

    def __init__(self, an: Analysis) -> None:
        self.an = an
        w = an.vad_window_s
        from ..cues import speech

        mask = speech.speech_mask(an.speech_probs).astype(float)
        self.speech_t = (np.arange(mask.size) + 0.5) * w
        self.speech_c = np.concatenate([[0.0], np.cumsum(mask)])
        self.motion_c = np.concatenate([[0.0], np.cumsum(an.motion.astype(float))])
        self.cuts = np.asarray(an.cuts, float)
        self.face_ok = ~np.isnan(an.face_boxes[:, 0]) if len(an.face_boxes) else np.zeros(0, bool)
        self.face_area = np.where(self.face_ok, np.nan_to_num(an.face_boxes[:, 2] * an.face_boxes[:, 3]), 0.0) \
            if len(an.face_boxes) else np.zeros(0)
        loud = an.loud_lufs[an.loud_lufs > -60] if an.loud_lufs.size else an.loud_lufs
        self.loud_ref = float(np.median(loud)) if loud.size else None
        self.word_t = np.array([0.5 * (s + e) for s, e, _ in an.words]) if an.words else np.zeros(0)

    def _mean(self, t: np.ndarray, c: np.ndarray, a: float, b: float) -> float:
        i, j = np.searchsorted(t, a), np.searchsorted(t, b)
        return float((c[j] - c[i]) / (j - i)) if j > i else 0.0

    def speech_share(self, a: float, b: float) -> float:
        return self._mean(self.speech_t, self.speech_c, a, b)

    def speech_onset(self, a: float, b: float) -> Optional[float]:
        """Seconds from a to the first speech window in [a, b), or None."""
        i, j = np.searchsorted(self.speech_t, a), np.searchsorted(self.speech_t, b)
        if j <= i:
            return None
        hit = np.flatnonzero(np.diff(self.speech_c[i : j + 1]) > 0)
        return float(self.speech_t[i + hit[0]] - a) if hit.size else None

    def motion(self, a: float, b: float) -> float:
        return self._mean(self.an.pair_times, self.motion_c, a, b)

    def n_cuts(self, a: float, b: float) -> int:
        return int(np.searchsorted(self.cuts, b - 0.05) - np.searchsorted(self.cuts, a + 0.05))

    def face(self, a: float, b: float) -> float:
        """The largest face's share of the frame among the face samples in [a, b]; 0 when none."""
        t = self.an.face_times
        i, j = np.searchsorted(t, a - 0.5), np.searchsorted(t, b)
        return float(self.face_area[i:j].max()) if j > i else 0.0

    def loudness(self, a: float, b: float) -> Optional[float]:
        t, v = self.an.loud_times, self.an.loud_lufs
        i, j = np.searchsorted(t, a), np.searchsorted(t, b)
        return float(np.mean(v[i:j])) if j > i else None

    def text(self, a: float, b: float) -> bool:
        t = self.an.text_times
        if not t.size:
            return False
        k = int(np.argmin(np.abs(t - 0.5 * (a + b))))
        return abs(t[k] - 0.5 * (a + b)) <= 5.0 + (b - a) and self.an.text_lines[k] > 0

    def words(self, a: float, b: float) -> int:
        return int(np.searchsorted(self.word_t, b) - np.searchsorted(self.word_t, a))


# -- scoring ---------------------------------------------------------------------------------------------
def _hook(s: _Series, t: float) -> tuple[float, list[str], dict]:
    end = t + HOOK_S
    onset = s.speech_onset(t, end)
    speech_part = 0.0 if onset is None else max(0.0, 1.0 - onset / HOOK_S) * (0.5 + 0.5 * s.speech_share(t, end))
    face = s.face(t, end)
    face_part = 0.0 if face <= 0 else min(1.0, 0.6 + 4.0 * face)  # present, more for a close-up
    motion_part = visual.scaled_motion(s.motion(t, end) / 2.0)  # pairs are 0.2 s apart; the scale is per 0.1 s
    loud = s.loudness(t, end)
    loud_part = 0.0
    if loud is not None and s.loud_ref is not None:
        loud_part = 1.0 / (1.0 + math.exp(-(loud - s.loud_ref) / 3.0))
    text_part = 1.0 if s.text(t, end) else 0.0
    parts = {"speech": speech_part, "face": face_part, "motion": motion_part, "loudness": loud_part,
             "text": text_part}
    score = sum(HOOK_WEIGHTS[k] * v for k, v in parts.items())
    words = []
    if onset is not None:
        words.append("speech from the first moment" if onset < 0.5 else f"speech after {onset:.1f} s")
    else:
        words.append("no speech in the first 3 s")
    if face > 0:
        words.append("a close-up face" if face >= 0.05 else "a face on screen")
    if motion_part >= 0.6:
        words.append("lots of movement")
    if loud is not None and s.loud_ref is not None and loud - s.loud_ref >= 3:
        words.append(f"louder than usual (+{loud - s.loud_ref:.0f} LU)")
    if text_part:
        words.append("text on screen")
    facts = {"speech_onset_s": onset, "face_share": round(face, 4), "hook_motion": round(motion_part, 3),
             "hook_loudness_lufs": loud}
    return score, words, facts


def _pace(s: _Series, a: float, b: float) -> tuple[float, list[str], dict]:
    minutes = (b - a) / 60.0
    n_cuts = s.n_cuts(a, b)
    cut_part = 1.0 - math.exp(-(n_cuts / minutes) / 12.0)
    share = s.speech_share(a, b)
    if s.word_t.size:
        rate = s.words(a, b) / (b - a)
        talk_part = min(1.0, rate / 2.5)
        talk_words = f"{rate * 60:.0f} words a minute"
    else:
        talk_part = share
        talk_words = f"speech {share:.0%} of the time"
    score = 0.5 * cut_part + 0.5 * talk_part
    words = [f"{n_cuts} cut{'s' if n_cuts != 1 else ''}", talk_words]
    return score, words, {"cuts": n_cuts, "speech_share": round(share, 3)}


def score_window(s: _Series, a: Boundary, b: Boundary, hook: tuple) -> Clip:
    h, h_words, h_facts = hook
    p, p_words, p_facts = _pace(s, a.time_s, b.time_s)
    c = 0.5 * (KIND_QUALITY[a.kind] + KIND_QUALITY[b.kind])
    parts = {"hook": round(h, 4), "pace": round(p, 4), "completeness": round(c, 4)}
    score = 100.0 * sum(WEIGHTS[k] * parts[k] for k in WEIGHTS)
    opens = "opens with " + (", ".join(h_words[:-1]) + " and " + h_words[-1] if len(h_words) > 1 else h_words[0])
    reasons = [opens, "; ".join(p_words), f"{b.time_s - a.time_s:.0f} s",
               f"starts at {KIND_WORDS[a.kind]} and ends at {KIND_WORDS[b.kind]}"]
    return Clip(a.time_s, b.time_s, round(score, 2), parts, reasons, a.kind, b.kind,
                facts={**h_facts, **p_facts})


def candidates(an: Analysis, length: tuple[float, float] = (20.0, 60.0)) -> list[Clip]:
    """Every window between a start and an end boundary whose length lies in `length` (seconds), scored."""
    lo, hi = length
    s = _Series(an)
    starts, ends = boundaries(an)
    end_t = np.array([e.time_s for e in ends])
    out = []
    for a in starts:
        i, j = np.searchsorted(end_t, a.time_s + lo - 1e-6), np.searchsorted(end_t, a.time_s + hi + 1e-6)
        if j <= i:
            continue
        hook = _hook(s, a.time_s)
        out.extend(score_window(s, a, ends[k], hook) for k in range(i, j))
    return out


def overlap(x: Clip, y: Clip) -> float:
    return max(0.0, min(x.end_s, y.end_s) - max(x.start_s, y.start_s))


def choose(clips: list[Clip], count: int, max_overlap_s: float = MAX_OVERLAP_S) -> list[Clip]:
    """The best `count` clips, best first, no two overlapping by more than `max_overlap_s`."""
    chosen: list[Clip] = []
    for c in sorted(clips, key=lambda c: (-c.score, c.start_s)):
        if all(overlap(c, d) <= max_overlap_s for d in chosen):
            chosen.append(c)
            if len(chosen) >= count:
                break
    return chosen


def transcript_of(an: Analysis, a: float, b: float) -> str:
    return " ".join(str(w).strip() for s, e, w in an.words if s >= a - 0.05 and e <= b + 0.05)


def find_clips(an: Analysis, count: int = 10, length: tuple[float, float] = (20.0, 60.0),
               model_score: Optional[Callable[[Clip], Optional[float]]] = None) -> list[Clip]:
    """The best `count` clips of the analysed video (see the module docstring).

    `model_score(clip)` -> 0-100 or None, when given, is asked for the best 2 x count heuristic picks and
    blended in with MODEL_WEIGHT; the final choice is made again on the blended score."""
    if length[0] <= 0 or length[1] < length[0]:
        raise ValueError("length: give a minimum above 0 and a maximum at least as long")
    pool = candidates(an, length)
    picks = choose(pool, count * 2 if model_score else count)
    if model_score:
        for c in picks:
            m = model_score(c)
            if m is not None:
                c.model_score = round(float(m), 2)
                c.parts["model"] = round(m / 100.0, 4)
                c.score = round((1 - MODEL_WEIGHT) * c.score + MODEL_WEIGHT * m, 2)
                c.reasons.append(f"the active model scores it {m:.0f}/100")
        picks = choose(picks, count)
    for c in picks:
        c.transcript = transcript_of(an, c.start_s, c.end_s)
    return picks


def nudge(an: Analysis, clip: Clip, edge: str, step: int) -> Clip:
    """The clip with its start (edge='start') or end ('end') moved `step` boundaries later (or earlier when
    negative), snapping to the boundaries clips may start or end on, rescored; the clip itself when there is no
    such boundary or the clip would shrink below a second."""
    starts, ends = boundaries(an)
    pool = starts if edge == "start" else ends
    now = clip.start_s if edge == "start" else clip.end_s
    times = [b.time_s for b in pool]
    i = int(np.argmin(np.abs(np.array(times) - now)))
    j = i + step
    if not 0 <= j < len(pool):
        return clip
    a = pool[j] if edge == "start" else Boundary(clip.start_s, clip.start_kind)
    b = pool[j] if edge == "end" else Boundary(clip.end_s, clip.end_kind)
    if b.time_s - a.time_s < 1.0:
        return clip
    s = _Series(an)
    out = score_window(s, a, b, _hook(s, a.time_s))
    out.transcript = transcript_of(an, a.time_s, b.time_s)
    return out
