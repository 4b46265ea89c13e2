"""The Clip job (DESIGN.md, "Three main jobs"): a long video in, a folder of clips out.

    result = make_clips("talk.mp4", "out/", count=10, length=(20, 60), vertical=True, captions=True,
                        progress=..., cancel=...)

Writes into `out`: clip_NN_<start>-<end>.mp4 (and .srt with captions), clips.json and clips.csv (start, end,
score, parts, reasons, transcript) and clips.edl (CMX3600). The analysis is cached by the file's sha256, so a
run that was stopped or killed resumes without decoding the video again; clips.json is rewritten after each
clip, and a clip already written for the same source, span and options is kept, not cut again.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import InputError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ..media import probe
from ..outputs import OutputError, atomic_file
from .analysis import Analysis, analyse_cached
from .export import can_burn, caption_cues, check_encoders, crop_path, cut_clip, write_edl, write_srt
from .finder import Clip, find_clips
from .transcript import transcribe_into

MANIFEST = "clips.json"


@dataclass
class ClipsResult:
    source: str
    out_dir: str
    clips: list[Clip]
    files: list[str]
    notes: list[str] = field(default_factory=list)
    analysis: Optional[Analysis] = None

    def as_dict(self) -> dict:
        return {"source": self.source, "out_dir": self.out_dir, "notes": self.notes,
                "clips": [dict(c.as_dict(), file=f) for c, f in zip(self.clips, self.files)]}


def _stamp(t: float) -> str:
    return f"{int(t // 60):02d}m{t % 60:04.1f}s".replace(".", "_")


def clip_name(rank: int, c: Clip) -> str:
    return f"clip_{rank:02d}_{_stamp(c.start_s)}-{_stamp(c.end_s)}.mp4"


def _previous(out: Path) -> dict:
    try:
        old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {c["file"]: c for c in old.get("clips", []) if c.get("written")}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _model_scorer(bundle, source: str, cancel: CancelToken):
    """model_score(clip): the clip stream-copied (or cut) to a temporary file and scored as a short video."""
    from ..scoring import score_video

    def score(c: Clip) -> Optional[float]:
        cancel.raise_if_cancelled()
        with tempfile.TemporaryDirectory(prefix="clip-score-") as tmp:
            p = Path(tmp) / "clip.mp4"
            cut_clip(source, p, c.start_s, c.end_s)
            return float(score_video(p, bundle=bundle, cancel=cancel).score)

    return score


@dataclass
class ClipPlan:
    """What plan_clips found: the analysis, the chosen clips (best first) and notes for the user."""

    source: str
    analysis: Analysis
    clips: list[Clip]
    notes: list[str]


def _check_options(count: int, length: tuple[float, float]) -> None:
    if count < 1:
        raise InputError("--count: give at least 1")
    if length[0] <= 0 or length[1] < length[0]:
        raise InputError("--length: give MIN-MAX in seconds, MIN above 0 and MAX at least MIN (e.g. 20-60)")


def plan_clips(source: str | os.PathLike, *, count: int = 10, length: tuple[float, float] = (20.0, 60.0),
               bundle=None, transcript: bool = True, cache_dir: Optional[str | os.PathLike] = None,
               progress: Progress = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> ClipPlan:
    """Analyse `source` (or reuse its cached analysis) and choose the best `count` clips; nothing is cut.
    `bundle`: a ModelBundle whose score of each candidate is blended in, or None."""
    _check_options(count, length)
    duration = probe(source).duration_s
    if duration < length[0]:  # before the analysis, not after it
        raise InputError(f"{Path(source).name}: the video lasts {duration:.1f} s, shorter than the shortest clip "
                         f"asked for ({length[0]:g} s); pass a shorter --length")
    an = analyse_cached(source, cache_dir, progress=lambda f, m: progress(0.85 * (f or 0.0), m), cancel=cancel)
    notes = []
    if transcript and not an.words:
        progress(0.85, "transcribing")
        notes.append(transcribe_into(an, cache_dir, cancel=cancel))
    else:
        notes.append(an.transcript_note)
    if not an.has_audio:
        notes.append("the video has no sound: clips start and end on shot cuts only")
    progress(0.9, "choosing clips")
    scorer = _model_scorer(bundle, str(source), cancel) if bundle is not None else None
    clips = find_clips(an, count, length, model_score=scorer)
    if not clips:
        notes.append(f"no window of {length[0]:.0f}-{length[1]:.0f} s starts and ends at a pause or a cut")
    progress(1.0, f"{len(clips)} clips found")
    return ClipPlan(str(source), an, clips, notes)


def write_clips(plan: ClipPlan, out_dir: str | os.PathLike, *, vertical: bool = False, captions: bool = False,
                burn: bool = False, progress: Progress = no_progress,
                cancel: CancelToken = NEVER_CANCELLED) -> ClipsResult:
    """Cut plan.clips into `out_dir` with clips.json, clips.csv and clips.edl (see the module docstring).
    `captions`: an .srt beside each clip; `burn`: the captions drawn into the picture as well."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; --out takes a folder")
    check_encoders()
    out.mkdir(parents=True, exist_ok=True)
    an, clips, source, notes = plan.analysis, plan.clips, plan.source, list(plan.notes)
    previous = _previous(out)
    files, rows = [], []
    for rank, c in enumerate(clips, 1):
        progress((rank - 1) / max(1, len(clips)), f"cutting clip {rank} of {len(clips)}")
        cancel.raise_if_cancelled()
        name = clip_name(rank, c)
        cues = caption_cues(an.words, c.start_s, c.end_s) if (captions or burn) else []
        burned = bool(burn and cues and can_burn())
        key = {"sha256": an.sha256, "start_s": c.start_s, "end_s": c.end_s, "vertical": vertical, "burned": burned}
        old = previous.get(name)
        if old and all(old.get(k) == v for k, v in key.items()) and (out / name).is_file():
            how = old.get("cut", "kept")
        elif os.path.lexists(out / name) and old is None:
            raise OutputError(f"{out / name}: exists and was not written by 'clips' for this folder; it would be "
                              "overwritten (choose another --out folder)")
        else:
            how = cut_clip(source, out / name, c.start_s, c.end_s,
                           crop=crop_path(an, c.start_s, c.end_s) if vertical else None,
                           burn=cues if burned else ())
        row = dict(c.as_dict(), file=name, written=True, cut=how, **key)
        if captions or burn:
            if cues:
                srt = name[:-4] + ".srt"
                write_srt(out / srt, cues)
                row["captions"] = srt
        files.append(name)
        rows.append(row)
        _write_manifest(out, source, notes, rows)
    if (captions or burn) and not an.words:
        notes.append("no captions: there is no transcript")
    elif burn and not can_burn():
        notes.append("captions not burned in: Pillow is not installed (pip install pillow); the .srt files have them")
        _write_manifest(out, source, notes, rows)
    _write_csv(out / "clips.csv", rows)
    write_edl(out / "clips.edl", source, [(c.start_s, c.end_s) for c in clips], an.fps)
    progress(1.0, "done")
    return ClipsResult(str(source), str(out), clips, files, notes, an)


def make_clips(source: str | os.PathLike, out_dir: str | os.PathLike, *, count: int = 10,
               length: tuple[float, float] = (20.0, 60.0), vertical: bool = False, captions: bool = False,
               burn: bool = False,
               bundle=None, transcript: bool = True, cache_dir: Optional[str | os.PathLike] = None,
               progress: Progress = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> ClipsResult:
    """plan_clips then write_clips: find, cut and describe the best `count` clips of `source`. Raises a
    MediaError for a bad video, InputError for bad options, Cancelled when `cancel` fires (clips already
    written stay)."""
    _check_options(count, length)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; --out takes a folder")
    plan = plan_clips(source, count=count, length=length, bundle=bundle, transcript=transcript,
                      cache_dir=cache_dir, progress=lambda f, m: progress(0.7 * (f or 0.0), m), cancel=cancel)
    return write_clips(plan, out, vertical=vertical, captions=captions, burn=burn,
                       progress=lambda f, m: progress(0.7 + 0.3 * (f or 0.0), m), cancel=cancel)


def _write_manifest(out: Path, source, notes: list[str], rows: list[dict]) -> None:
    with atomic_file(out / MANIFEST, "w") as fh:
        json.dump({"source": str(source), "notes": notes, "clips": rows}, fh, indent=2, ensure_ascii=False,
                  default=float)


def _write_csv(path: Path, rows: list[dict]) -> None:
    from ..outputs import safe_row

    cols = ["file", "start_s", "end_s", "duration_s", "score", "hook", "pace", "completeness", "model",
            "reasons", "transcript"]
    with atomic_file(path, "w") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            parts = r["parts"]
            w.writerow(safe_row([r["file"], round(r["start_s"], 3), round(r["end_s"], 3), r["duration_s"],
                                 r["score"], parts.get("hook"), parts.get("pace"), parts.get("completeness"),
                                 parts.get("model"), "; ".join(r["reasons"]), r["transcript"]]))
