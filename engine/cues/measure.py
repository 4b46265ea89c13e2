"""measure_cues: one video in, the content cues out.

Frames are decoded once (frame_plan through engine.media.iter_frames, in a decoding thread of its own that runs
up to READ_AHEAD frames ahead of the caller, who converts them and hands them on) and the audio once
(engine.media.decode_audio at 16 kHz). The sound side (decode, speech detection, loudness,
silence, music) runs in a helper thread while the picture side decodes. Two more helpers load the face
and the text model while the first frames decode, then measure each face and text frame (CenterFace and
PP-OCR detection, ONNX Runtime, whose threads sleep rather than spin when idle) as soon as it is decoded; the
cheap picture cues (each cut frame's colour histogram and layout) are measured in the caller's thread as the
frames come, while the decoding thread goes on; cuts and motion follow once decoding is done. The decoders, NumPy
and ONNX Runtime release the GIL, so these overlap on two cores. Progress is reported from the caller's thread.
"""
from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ..media import GAP_S, MediaInfo, SampledFrame, SharedPass, decode_audio, iter_frames, probe, total_seconds
from ..runtime import providers_for
from . import audio as audio_cues
from . import faces as face_cues
from . import loudness as loudness_cues
from . import onscreen_text, speech, visual, wording
from .plan import HOOK_S, FramePlan, plan_frames
from .report import Cue, CueReport

AUDIO_RATE = 16000
MAX_TIMELINE_POINTS = 600
#: frames the decoding thread may run ahead of the per-frame work (engine.media.iter_frames' `ahead`): the per-frame
#: work (under a millisecond a cut frame) is far shorter than decoding the frames between two samples, so a few
#: absorb its jitter; each held frame is a full-size picture (12 MB at 4K)
READ_AHEAD = 4


@dataclass
class _Sound:
    """What the sound side measured."""

    has_audio: bool = False
    loudness: Optional[float] = None
    speech_share: float = 0.0
    music_share: float = 0.0
    silence_share: float = 1.0
    timeline: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    gaps: list = field(default_factory=list)  # (start, end) seconds of sound that could not be decoded
    pcm: Optional[np.ndarray] = None  # the decoded sound, when a SharedPass asked for it


class _Stop(CancelToken):
    """Cancelled when the caller cancels or when the picture side has failed."""

    def __init__(self, outer: CancelToken) -> None:
        super().__init__()
        self._outer = outer

    @property
    def cancelled(self) -> bool:
        return self._outer.cancelled or super().cancelled

    def raise_if_cancelled(self) -> None:
        self._outer.raise_if_cancelled()
        super().raise_if_cancelled()


def _measure_sound(path: str, duration: float, stop: CancelToken, keep: bool = False) -> _Sound:
    out = _Sound(timings={"decode_audio": 0.0, "vad": 0.0, "audio": 0.0})
    t = time.perf_counter()
    pcm = decode_audio(path, AUDIO_RATE, gaps=out.gaps)
    out.pcm = pcm if keep else None
    out.timings["decode_audio"] = time.perf_counter() - t
    stop.raise_if_cancelled()
    if pcm.size == 0:
        return out
    out.has_audio = True
    if out.gaps:  # shares of the sound that was read, not of a length that includes what could not be
        duration = min(duration, pcm.size / AUDIO_RATE)

    t = time.perf_counter()
    probs = speech.speech_probabilities(pcm)
    mask = speech.drop_sustained_voice(speech.speech_mask(probs), pcm)
    win_s = speech.WINDOW / AUDIO_RATE
    out.speech_share = float(min(1.0, mask.sum() * win_s / duration)) if duration > 0 else 0.0
    out.timings["vad"] = time.perf_counter() - t
    stop.raise_if_cancelled()

    t = time.perf_counter()
    out.loudness = loudness_cues.integrated_loudness(pcm, AUDIO_RATE)
    lt, lv = loudness_cues.momentary_loudness(pcm, AUDIO_RATE)
    st, silent = audio_cues.silence_mask(pcm, AUDIO_RATE, duration)
    out.silence_share = float(silent.mean()) if silent.size else 1.0
    music = audio_cues.music_segments(pcm, AUDIO_RATE, duration, mask)
    out.music_share = music.share
    out.timings["audio"] = time.perf_counter() - t

    # Speech probability averaged over ~0.1 s (three windows) keeps the series short.
    k = 3
    m = probs.size // k * k
    sp = probs[:m].reshape(-1, k).mean(axis=1) if m else probs
    out.timeline = {
        "loudness": (lt, lv),
        "speech": ((np.arange(sp.size) + 0.5) * k * win_s, sp),
        "music": (music.times + 0.5, music.music.astype(float)),
        "silence": (st + audio_cues.SILENCE_WINDOW_S / 2, silent.astype(float)),
    }
    return out


#: how much lower (in nice steps) the helpers with time to spare run than the decoding and the text cue: the sound
#: side (done long before the picture) and the faces (a light model on frames spread evenly, done as decoding ends).
#: Decoding is the score's critical path and the text cue's last frame its tail, so when the cores are short they
#: should get them first; idle cores still go to the lowered threads at once. A small gain: over the 10 shared clips
#: on 2 quiet cores, five runs each, alternated, the score took 1.94x the decoding floor on average without (1.90 to
#: 1.97) and 1.89x with (1.86 to 1.94), lower in 4 of the 5 pairs (benchmarks/bench_scoring.py --skip-seed)
HELPER_NICE = 10


def _lower_priority() -> None:
    """Lower the calling thread's scheduling priority by HELPER_NICE. Linux gives each thread its own nice value
    (setpriority on the thread's id); elsewhere, or where it is refused, nothing changes. The threads lowered are
    the ones measure_cues starts for one video, so the lowering ends with them (no session's thread pool is made in
    them: the face and speech models run on the caller's thread)."""
    if not sys.platform.startswith("linux") or HELPER_NICE <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + HELPER_NICE))
    except OSError:
        pass


class _Helper(threading.Thread):
    """Runs fn(*args) beside the caller; get() waits and returns its result or raises its error. `low`: at a lower
    priority (_lower_priority)."""

    def __init__(self, name: str, fn, *args, low: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        self._fn, self._args, self._low = fn, args, low
        self.result = None
        self.error: Optional[BaseException] = None
        self.seconds = 0.0
        self.start()

    def run(self) -> None:
        if self._low:
            _lower_priority()
        t = time.perf_counter()
        try:
            self.result = self._fn(*self._args)
        except BaseException as exc:  # handed to the caller's thread by get()
            self.error = exc
        self.seconds = time.perf_counter() - t

    def get(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


def _series(t, v) -> tuple[list[float], list[float]]:
    t = np.asarray(t, float)
    v = np.asarray(v, float)
    if t.size > MAX_TIMELINE_POINTS:  # keep plots light for long videos: keep the peaks
        edges = np.linspace(0, t.size, MAX_TIMELINE_POINTS + 1).astype(int)
        t = np.array([t[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
        v = np.array([v[a:b].max() for a, b in zip(edges[:-1], edges[1:])])
    return [round(float(x), 3) for x in t], [round(float(x), 5) for x in v]


@dataclass
class _Picture:
    """What the picture side measured."""

    feat: visual.FrameFeatures
    cuts: visual.Cuts
    hook: Optional[float]
    motion: tuple[np.ndarray, np.ndarray]
    face: face_cues.FaceResult
    text: onscreen_text.TextResult


class _FrameWorker(threading.Thread):
    """One per-frame cue (faces, or on-screen text), a frame at a time as the caller decodes them (put), then
    get(). `scan()` makes the object that does the work (a FaceScan or TextScan: add(frame), result()); it
    loads its model, so the model loads in this thread while the first frames decode; with `low` the frames are
    then measured at a lower priority (_lower_priority)."""

    def __init__(self, name: str, scan, stop: CancelToken, low: bool = False) -> None:
        super().__init__(name=f"cues-{name}", daemon=True)
        self._cue, self._scan, self._cancel = name, scan, stop  # not _name: that is the Thread's name
        self._low = low
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.error: Optional[BaseException] = None
        self.result = None
        self.timings = {f"load_{name}": 0.0, name: 0.0}
        self.start()

    def put(self, frame: SampledFrame) -> None:
        self._queue.put(frame)

    def close(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        try:
            t = time.perf_counter()
            scan = self._scan()
            self.timings[f"load_{self._cue}"] = time.perf_counter() - t
            if self._low:
                _lower_priority()
            while (frame := self._queue.get()) is not None:
                self._cancel.raise_if_cancelled()
                t = time.perf_counter()
                scan.add(frame)
                self.timings[self._cue] += time.perf_counter() - t
            t = time.perf_counter()
            self.result = scan.result()
            self.timings[self._cue] += time.perf_counter() - t
        except BaseException as exc:  # handed to the caller's thread by get()
            self.error = exc
            while self._queue.get() is not None:  # let the caller finish handing over
                pass

    def get(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


def _decode(path: str, info: MediaInfo, plan: FramePlan, workers: dict, cancel: CancelToken,
            progress: Progress, gaps: list[tuple[float, float]], also: Optional[SharedPass] = None
            ) -> tuple[list[SampledFrame], visual.FeatureRows]:
    """Decode the plan's frames, handing each face and text frame to its worker as it comes, and measuring
    each cut frame's colour and layout here while the decoding thread goes on with the next ones. The
    stand-ins for times in an undecodable stretch (which `gaps` collects: see _decoded_only) are neither
    handed over nor measured. The frames `also` asks for come in the same pass and go into also.frames;
    the plan's are returned."""
    handed = {i: workers["faces"] for i in plan.face} | {i: workers["text"] for i in plan.text}
    cut = set(plan.cut)
    rows = visual.FeatureRows()
    requests = list(plan.requests) + (list(also.requests) if also is not None else [])
    frames: list[Optional[SampledFrame]] = [None] * len(requests)
    n, step = len(requests), max(1, len(requests) // 8)
    found: list[tuple[float, float]] = []
    decoding = iter_frames(path, requests, info=info, gaps=found, skip_nonref=True, ahead=READ_AHEAD)
    with closing(decoding):  # a cancel stops the decoding thread now
        for done, (i, frame) in enumerate(decoding, start=1):
            frames[i] = frame
            read = frame.time_s <= frame.requested_s + GAP_S  # not a stand-in for an undecodable time
            if i in handed and read:
                handed[i].put(frame)
            if i in cut and read:  # in time order, as plan.cut
                rows.add(frame)
            if done % step == 0:
                cancel.raise_if_cancelled()
                progress(0.05 + 0.4 * done / n, "decoding frames")
    k = len(plan.requests)
    planned = {min(max(0.0, float(t)), info.duration_s) for t, _ in plan.requests}
    gaps.extend(g for g in found if g[0] in planned)  # the cues rest on the plan's frames only
    if also is not None:
        also.frames = [f for f in frames[k:] if f is not None]
        if also.on_frames is not None and also.frames:
            also.on_frames(also.frames)
    return [f for f in frames[:k] if f is not None], rows


def _measure_picture(frames: list[SampledFrame], rows: visual.FeatureRows, plan: FramePlan, workers: dict,
                     cancel: CancelToken, progress: Progress, timings: dict) -> _Picture:
    progress(0.45, "measuring cuts, motion and colour")
    t = time.perf_counter()
    feat = rows.features()
    cuts = visual.detect_cuts(feat)
    hook_frames = [frames[i] for i in plan.hook]
    hook_greys = [visual.grey(f.image) for f in hook_frames]
    _, hook_diffs = visual.motion(hook_greys, np.array([f.time_s for f in hook_frames]))
    hook = visual.scaled_motion(float(hook_diffs.mean())) if hook_diffs.size else None
    motion = visual.motion(feat.greys, feat.times)
    timings["visual"] = time.perf_counter() - t
    cancel.raise_if_cancelled()

    progress(0.6, "looking for faces and on-screen text")
    t = time.perf_counter()
    face, text = workers["faces"].get(), workers["text"].get()
    timings["wait_text"] = time.perf_counter() - t
    for w in workers.values():
        timings.update(w.timings)
    return _Picture(feat, cuts, hook, motion, face, text)


def _decoded_only(plan: FramePlan, frames: list[SampledFrame]) -> FramePlan:
    """The plan without the samples that fell in an undecodable stretch (sample_frames gave them the next
    frame that decodes, which would count it twice): the cues rest on what was read. A series left empty
    keeps its stand-ins rather than measure nothing."""
    def read(ids: list[int]) -> list[int]:
        kept = [i for i in ids if frames[i].time_s <= frames[i].requested_s + GAP_S]
        return kept or ids

    return replace(plan, cut=read(plan.cut), hook=read(plan.hook), face=read(plan.face), text=read(plan.text))


def _cue_list(info: MediaInfo, plan: FramePlan, pic: _Picture, sound: _Sound, undecoded: float = 0.0) -> list[Cue]:
    duration = float(info.duration_s)
    read_s = max(duration - undecoded, 1e-3)  # cuts per minute of the picture that was read
    with_face = sum(1 for c in pic.face.counts if c > 0)
    face_sizes = [s for s in pic.face.largest if s > 0]
    luma, colour = pic.feat.luma, pic.feat.colourfulness
    return [
        wording.duration(duration),
        wording.aspect(info.width, info.height),
        wording.resolution(info.width, info.height),
        wording.cuts(len(pic.cuts.times), read_s, plan.cut_step_s),
        wording.hook_motion(pic.hook, min(HOOK_S, duration)),
        wording.faces(with_face, len(pic.face.counts)),
        wording.face_size(visual.median(face_sizes) if face_sizes else 0.0, bool(face_sizes)),
        wording.onscreen_text(sum(1 for n in pic.text.lines if n > 0), len(pic.text.lines), pic.text.sample),
        wording.brightness(float(luma.mean()) if luma.size else 0.0),
        wording.colourfulness(float(colour.mean()) if colour.size else 0.0),
        wording.loudness(sound.loudness if sound.has_audio else None),
        wording.speech(sound.speech_share, sound.has_audio),
        wording.music(sound.music_share, sound.has_audio),
        wording.silence(sound.silence_share if sound.has_audio else 1.0, sound.has_audio),
    ]


def _timeline(pic: _Picture, sound: _Sound) -> dict[str, tuple[list[float], list[float]]]:
    timeline = {
        "motion": _series(*pic.motion),
        "cuts": _series(pic.cuts.times, [1.0] * len(pic.cuts.times)),
        "cut_score": _series(pic.cuts.pair_times, pic.cuts.hist_distance),
        "faces": _series(pic.face.times, pic.face.counts),
        "face_size": _series(pic.face.times, pic.face.largest),
        "text": _series(pic.text.times, pic.text.lines),
        "brightness": _series(pic.feat.times, pic.feat.luma),
    }
    for name in ("loudness", "speech", "music", "silence"):
        timeline[name] = _series(*sound.timeline[name]) if name in sound.timeline else ([], [])
    return timeline


def measure_cues(
    path: str | os.PathLike,
    info: Optional[MediaInfo] = None,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    device: str = "auto",
    also: Optional[SharedPass] = None,
) -> CueReport:
    """Measure the content cues of one video.

    `info` is probe()'s result if the caller has it. `device` ("auto", "cpu", "cuda") picks where
    the text detector runs. Returns a CueReport with every cue of CUE_NAMES, in that order, and
    the seconds spent per stage in `timings` (the sound and text stages run beside the others).
    Raises the engine.media errors for unusable files, InputError for a bad device, and
    Cancelled when `cancel` is set (checked between stages). `also` asks the same pass for more frames and
    for the sound (engine.features.inputs: a model's frames and audio, a window's strip): it is filled in.
    """
    t_start = time.perf_counter()
    providers_for(device)  # a bad device fails now, not after the decoding
    path = os.fspath(path)
    timings: dict[str, float] = {}
    if info is None:
        t = time.perf_counter()
        info = probe(path)
        timings["probe"] = time.perf_counter() - t
    cancel.raise_if_cancelled()
    plan = plan_frames(info)

    stop = _Stop(cancel)
    sound_side = _Helper("cues-sound", _measure_sound, path, float(info.duration_s), stop,
                         also is not None and also.audio, low=True)
    workers = {"text": _FrameWorker("text", lambda: onscreen_text.TextScan(device), stop),
               "faces": _FrameWorker("faces", face_cues.FaceScan, stop, low=True)}
    try:
        progress(0.05, "decoding frames")
        t = time.perf_counter()
        gaps: list[tuple[float, float]] = []
        try:
            frames, rows = _decode(path, info, plan, workers, cancel, progress, gaps, also)
        finally:
            for w in workers.values():
                w.close()
        timings["decode_frames"] = time.perf_counter() - t
        cancel.raise_if_cancelled()
        if gaps:
            plan = _decoded_only(plan, frames)
            if not rows.rows:  # nothing of the cut series was read: measure its stand-ins (as _decoded_only keeps them)
                rows = visual.FeatureRows()
                for i in plan.cut:
                    rows.add(frames[i])

        pic = _measure_picture(frames, rows, plan, workers, cancel, progress, timings)
        cancel.raise_if_cancelled()

        progress(0.9, "measuring the sound")
        t = time.perf_counter()
        sound = sound_side.get()
        timings["wait_sound"] = time.perf_counter() - t
    finally:
        stop.cancel()  # a no-op when the helpers are done; stops them when the picture side failed
    timings.update(sound.timings)
    cancel.raise_if_cancelled()
    if also is not None and also.audio:
        also.pcm = sound.pcm

    undecoded = min(float(info.duration_s), total_seconds(gaps + sound.gaps))
    report = CueReport(cues=_cue_list(info, plan, pic, sound, undecoded), timeline=_timeline(pic, sound),
                       undecoded_s=round(undecoded, 1))
    timings["total"] = time.perf_counter() - t_start
    report.timings = {k: round(v, 4) for k, v in timings.items()}
    progress(1.0, "cues measured")
    return report


def warm_up(device: str = "auto") -> None:
    """Load the models (speech, text, faces) now rather than on the first video: about a second
    that the first measure_cues would otherwise pay. The sessions are kept for the process."""
    blank = SampledFrame(0.0, 0.0, 64, np.zeros((64, 64, 3), np.uint8))
    speech.speech_probabilities(np.zeros(speech.WINDOW, np.float32))
    onscreen_text.warm_up(device)
    face_cues.load()
    face_cues.detect_faces([blank])


def start_loading(device: str = "auto") -> threading.Thread:
    """Start loading the cue models (text, faces, speech) in a helper thread and return at once, so that a
    fresh process (a cold `score`) reads the model bundle and opens the file meanwhile. measure_cues waits for
    whatever is still loading when it needs it; an error (a missing model) is left for measure_cues to raise."""

    def load() -> None:
        # In the order they are needed: text detection is the longest of the per-frame cues; the recogniser
        # reads one frame's lines at the end.
        for step in (lambda: onscreen_text._model("det", device), face_cues.load,
                     lambda: speech.speech_probabilities(np.zeros(speech.WINDOW, np.float32)),
                     lambda: onscreen_text._model("rec", device)):
            try:
                step()
            except Exception:  # measure_cues meets it again and reports it
                pass

    # Not a daemon: a process that ends (a bad file, say) waits for it, rather than tearing down ONNX Runtime
    # in the middle of creating a session (C++ then aborts the process).
    helper = threading.Thread(target=load, name="cues-load", daemon=False)
    helper.start()
    return helper


def cue_values(report: CueReport) -> dict[str, Optional[float]]:
    """name -> value: the flat numbers a model can use as features (None where not measurable)."""
    return {c.name: (None if c.value is None or not math.isfinite(c.value) else float(c.value)) for c in report.cues}
