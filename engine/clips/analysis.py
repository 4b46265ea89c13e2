"""One streaming pass over a long video: the time series the clip finder chooses from.

The picture is decoded once, front to back (PyAV, engine.media's opener), and only a few numbers are kept per
sampled frame: the change from the previous sample (histogram distance and grid change, for the shot cuts of
engine.cues.visual), the motion, the largest face (CenterFace, every FACE_STEP_S) and whether there is text on
screen (PP-OCR detection, every TEXT_STEP_S). The sound is decoded beside it in a helper thread, in pieces of
AUDIO_PIECE_S: Silero VAD (engine.cues.speech.SpeechStream carries its state across pieces) and the momentary
loudness of engine.cues.loudness. No frame and no stretch of sound longer than a piece is held, so the memory
does not grow with the length of the video beyond these short series (about 30 numbers a second).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import av
import numpy as np

from ..errors import CorruptMedia
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ..media import MediaInfo, SampledFrame, _open, _to_rgb, audio_pieces, probe
from ..cues import faces as face_cues
from ..cues import loudness as loudness_cues
from ..cues import onscreen_text, speech, visual

#: analysis version: a cached analysis of another version is measured again
VERSION = 1
STEP_S = 0.2  # cuts and motion: one small frame every STEP_S
SIDE = 128
FACE_STEP_S = 1.0
FACE_SIDE = 256
TEXT_STEP_S = 30.0
TEXT_SIDE = 480
AUDIO_RATE = 16000
AUDIO_PIECE_S = 30.0
LOUD_PREROLL_S = 1.0  # sound kept from the piece before, so the loudness filter has settled
FAST = "BILINEAR"  # swscale's scaling for the analysis frames: ~9x faster than its default bicubic
PAUSE_MIN_S = 0.25  # a gap in speech at least this long is a pause a clip may start or end in


@dataclass
class Analysis:
    """What the pass measured. Times in seconds from the start of the video; face boxes as shares of the frame
    (x, y, w, h; NaN where no face)."""

    path: str
    sha256: str
    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool
    pair_times: np.ndarray  # midpoints of consecutive samples
    motion: np.ndarray  # mean absolute grey change per pair, 0-1
    cuts: list[float]
    face_times: np.ndarray
    face_boxes: np.ndarray  # n x 4
    text_times: np.ndarray
    text_lines: np.ndarray
    speech_probs: np.ndarray  # per VAD window of speech.WINDOW samples at AUDIO_RATE
    loud_times: np.ndarray
    loud_lufs: np.ndarray
    words: list = field(default_factory=list)  # (start, end, word) from a transcript, or []
    transcript_note: str = "no transcript (no speech recogniser installed)"
    timings: dict = field(default_factory=dict)

    @property
    def vad_window_s(self) -> float:
        return speech.WINDOW / AUDIO_RATE

    def speech_segments(self) -> list[tuple[float, float]]:
        """Stretches of speech (start, end), from the VAD's hysteresis mask."""
        mask = speech.speech_mask(self.speech_probs)
        w = self.vad_window_s
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        return [(float(a * w), float(b * w)) for a, b in zip(edges[::2], edges[1::2])]

    def pauses(self, min_s: float = PAUSE_MIN_S) -> list[tuple[float, float]]:
        """Gaps between speech segments (and before the first, after the last) at least `min_s` long."""
        segs = self.speech_segments()
        gaps, prev = [], 0.0
        for a, b in segs:
            if a - prev >= min_s:
                gaps.append((prev, a))
            prev = b
        if self.duration_s - prev >= min_s:
            gaps.append((prev, self.duration_s))
        return gaps

    # -- cache -------------------------------------------------------------------------------------------
    _ARRAYS = ("pair_times", "motion", "face_times", "face_boxes", "text_times", "text_lines", "speech_probs",
               "loud_times", "loud_lufs")

    def save(self, path: Path) -> None:
        meta = {k: v for k, v in asdict(self).items() if k not in self._ARRAYS}
        meta["version"] = VERSION
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **{k: getattr(self, k) for k in self._ARRAYS})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Optional["Analysis"]:
        """The cached analysis, or None when it is missing, damaged or of another version."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.pop("version", None) != VERSION:
                    return None
                arrays = {k: z[k] for k in cls._ARRAYS}
        except (OSError, ValueError, KeyError):
            return None
        meta["words"] = [tuple(w) for w in meta.get("words", [])]
        return cls(**meta, **arrays)


def file_sha256(path: str | os.PathLike, cancel: CancelToken = NEVER_CANCELLED) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
            cancel.raise_if_cancelled()
    return h.hexdigest()


def default_cache_dir() -> Path:
    from ..models.active import data_dir

    return data_dir() / "clip-analysis"


#: how often (seconds of video) each pass leaves a checkpoint that a stopped or killed run resumes from
CHECKPOINT_S = 120.0
_PIC_KEYS = ("mids", "dist", "pix", "mot", "face_t", "face_b", "text_t", "text_n")
_SOUND_KEYS = ("probs", "loud_t", "loud_v")


class _Checkpoint:
    """The series measured so far by both passes, written beside the cache entry (<sha>.part.npz) as they
    go: a run that is stopped or killed starts each pass again where its last checkpoint ended."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.picture: dict = {"until": 0.0}
        self.sound: dict = {"until": 0.0}
        if path is None:
            return
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) == VERSION:
                    self.picture = {k: z[f"p_{k}"] for k in _PIC_KEYS} | {"until": float(z["p_until"])}
                    self.sound = {k: z[f"s_{k}"] for k in _SOUND_KEYS} | {"until": float(z["s_until"])}
        except (OSError, ValueError, KeyError):
            pass

    def update(self, part: str, until: float, series: dict) -> None:
        """Record what pass `part` ('picture' or 'sound') has measured up to `until` seconds, and write."""
        with self._lock:
            setattr(self, part, {k: np.asarray(v) for k, v in series.items()} | {"until": until})
            if self.path is None or not (self.picture["until"] or self.sound["until"]):
                return
            arrays = {"version": np.array(VERSION), "p_until": np.array(self.picture["until"]),
                      "s_until": np.array(self.sound["until"])}
            for k in _PIC_KEYS:
                arrays[f"p_{k}"] = np.asarray(self.picture.get(k, np.zeros(0)))
            for k in _SOUND_KEYS:
                arrays[f"s_{k}"] = np.asarray(self.sound.get(k, np.zeros(0)))
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, self.path)


class _SoundPass(threading.Thread):
    """Decodes the sound in pieces and measures speech and loudness; runs beside the picture pass."""

    def __init__(self, path: str, cancel: CancelToken, checkpoint: _Checkpoint) -> None:
        super().__init__(name="clips-sound", daemon=True)
        self.path, self.cancel, self.checkpoint = path, cancel, checkpoint
        held = checkpoint.sound
        self.start_s = float(held["until"])
        self.probs: list[np.ndarray] = [held["probs"].astype(np.float32)] if self.start_s else []
        self.loud_t: list[np.ndarray] = [held["loud_t"]] if self.start_s else []
        self.loud_v: list[np.ndarray] = [held["loud_v"].astype(np.float32)] if self.start_s else []
        self.error: Optional[BaseException] = None
        self.has_audio = False
        self.seconds = 0.0
        self.stopped = threading.Event()  # set when the picture pass has failed
        self.start()

    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._run()
        except BaseException as exc:  # handed to the caller by get()
            self.error = exc
        self.seconds = time.perf_counter() - t0

    def _run(self) -> None:
        vad = speech.SpeechStream()
        pre = int(LOUD_PREROLL_S * AUDIO_RATE)
        tail = np.zeros(0, np.float32)
        # Samples measured so far: a resumed pass starts on a whole VAD window, where the last one ended.
        done = int(round(self.start_s * AUDIO_RATE))
        self.has_audio = bool(self.start_s)
        pieces = audio_pieces(self.path, AUDIO_RATE, AUDIO_PIECE_S, start_s=self.start_s)
        next_checkpoint = self.start_s + CHECKPOINT_S
        try:
            for pcm in pieces:
                self.has_audio = True
                self.probs.append(vad.feed(pcm))
                both = np.concatenate([tail, pcm])
                t, lufs = loudness_cues.momentary_loudness(both, AUDIO_RATE)
                centre = t + (done - tail.size) / AUDIO_RATE
                # Keep the blocks whose centre lies in this piece (the tail only settles the filter).
                keep = (centre >= done / AUDIO_RATE) if done else np.ones(centre.size, bool)
                keep &= centre < (done + pcm.size) / AUDIO_RATE
                self.loud_t.append(centre[keep])
                self.loud_v.append(lufs[keep])
                tail = both[-pre:]
                done += pcm.size
                if done / AUDIO_RATE >= next_checkpoint:
                    self._checkpoint()
                    next_checkpoint += CHECKPOINT_S
                if self.cancel.cancelled or self.stopped.is_set():
                    self._checkpoint()
                    self.cancel.raise_if_cancelled()
                    return
        finally:
            pieces.close()

    def _checkpoint(self) -> None:
        probs = np.concatenate(self.probs)
        keep = np.concatenate(self.loud_t) < probs.size * speech.WINDOW / AUDIO_RATE
        self.checkpoint.update("sound", probs.size * speech.WINDOW / AUDIO_RATE, {
            "probs": probs, "loud_t": np.concatenate(self.loud_t)[keep], "loud_v": np.concatenate(self.loud_v)[keep]})

    def get(self):
        self.join()
        if self.error is not None:
            raise self.error
        cat = lambda xs, dt=np.float32: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        return self.has_audio, cat(self.probs), cat(self.loud_t, np.float64), cat(self.loud_v)


def _largest_face(img: np.ndarray) -> np.ndarray:
    boxes = face_cues.centerface_boxes(img)
    if not len(boxes):
        return np.full(4, np.nan, np.float32)
    h, w = img.shape[:2]
    x, y, bw, bh = boxes[int(np.argmax(boxes[:, 2] * boxes[:, 3]))]
    return np.array([x / w, y / h, bw / w, bh / h], np.float32)


def analyse(
    path: str | os.PathLike,
    *,
    info: Optional[MediaInfo] = None,
    sha256: Optional[str] = None,
    faces: bool = True,
    text: bool = True,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    checkpoint_path: Optional[Path] = None,
) -> Analysis:
    """Measure `path` in one pass (see the module docstring). With `checkpoint_path`, each pass records its
    series there every CHECKPOINT_S seconds of video and resumes from what it finds. Raises a MediaError
    subclass for files that cannot be read, Cancelled when `cancel` fires."""
    t0 = time.perf_counter()
    path = Path(path)
    info = info or probe(path)
    sha = sha256 or file_sha256(path, cancel)
    checkpoint = _Checkpoint(checkpoint_path)
    sound = _SoundPass(str(path), cancel, checkpoint)
    try:
        pic = _picture_pass(path, info, faces, text, progress, cancel, checkpoint)
    except BaseException:
        sound.stopped.set()  # it stops at its next piece
        sound.join()
        raise
    has_audio, probs, lt, lv = sound.get()
    timings = {"picture": pic.pop("seconds"), "sound": sound.seconds, "total": time.perf_counter() - t0}
    return Analysis(path=str(path), sha256=sha, duration_s=info.duration_s, width=info.width, height=info.height,
                    fps=info.fps, has_audio=has_audio, speech_probs=probs, loud_times=lt, loud_lufs=lv,
                    timings=timings, **pic)


def decoded_frames(path: Path, info: MediaInfo, step_s: float, start_s: float = 0.0):
    """Decode the picture front to back from `start_s` and yield the frame nearest each multiple of `step_s`
    (each once)."""
    half = 0.5 / info.fps if info.fps else 0.02
    with _open(path) as container:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        target = start_s
        if start_s > 0:
            container.seek(int(start_s / vs.time_base) + (vs.start_time or 0), stream=vs, backward=True)
        for packet in container.demux(vs):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue  # a damaged packet: later frames may still decode
            for frame in frames:
                t = frame.time
                if t is None or t + half < target:
                    continue
                yield frame
                while target <= t + half:
                    target += step_s


def _picture_pass(path: Path, info: MediaInfo, faces: bool, text: bool, progress: Progress,
                  cancel: CancelToken, checkpoint: _Checkpoint) -> dict:
    t0 = time.perf_counter()
    held = checkpoint.picture
    start = float(held["until"])
    series = {k: list(held[k]) if start else [] for k in _PIC_KEYS}
    mids, dist, pix, mot = series["mids"], series["dist"], series["pix"], series["mot"]
    face_t, face_b, text_t, text_n = series["face_t"], series["face_b"], series["text_t"], series["text_n"]
    prev = None  # (time, histogram, grid, grey) of the previous sample
    next_face = (face_t[-1] + FACE_STEP_S - 0.5 * STEP_S) if face_t else 0.0
    next_text = (text_t[-1] + TEXT_STEP_S - 0.5 * STEP_S) if text_t else 0.0
    last_report = start
    next_checkpoint = start + CHECKPOINT_S
    for frame in decoded_frames(path, info, STEP_S, start):
        t = float(frame.time)
        img = _to_rgb(frame, SIDE, info.rotation, FAST)
        hist = visual.hsv_histogram(img)
        hist /= max(1.0, float(hist.sum()))
        grey = visual.grey(img)
        grid = visual.area_resize(grey, 16, 16)
        if prev is not None and t - prev[0] > 1e-6 and prev[3].shape == grey.shape:
            mids.append(0.5 * (t + prev[0]))
            dist.append(0.5 * float(np.abs(hist - prev[1]).sum()))
            pix.append(float(np.abs(grid - prev[2]).mean()))
            mot.append(float(np.abs(grey - prev[3]).mean()))
        prev = (t, hist, grid, grey)
        if faces and t >= next_face:
            face_t.append(t)
            face_b.append(_largest_face(_to_rgb(frame, FACE_SIDE, info.rotation, FAST)))
            next_face = t + FACE_STEP_S - 0.5 * STEP_S
        if text and t >= next_text:
            frame_img = SampledFrame(t, t, TEXT_SIDE, _to_rgb(frame, TEXT_SIDE, info.rotation, FAST))
            text_t.append(t)
            text_n.append(onscreen_text.detect_text([frame_img], read=False).lines[0])
            next_text = t + TEXT_STEP_S - 0.5 * STEP_S
        if t >= next_checkpoint:
            # Resumed at `t`: the sample there is decoded again, and pairs with the one after it.
            checkpoint.update("picture", t, series)
            next_checkpoint += CHECKPOINT_S
        if t - last_report >= 5.0:
            if cancel.cancelled:
                checkpoint.update("picture", t, series)
            cancel.raise_if_cancelled()
            progress(min(0.99, t / max(info.duration_s, 1e-9)), f"analysing {t / 60:.1f} of {info.duration_s / 60:.1f} min")
            last_report = t
    if prev is None and not start:
        raise CorruptMedia(f"{path.name}: no picture could be decoded; the file is damaged or truncated")
    mids_a = np.array(mids)
    cuts = visual.cuts_from_changes(mids_a, np.array(dist), np.array(pix))
    return {
        "pair_times": mids_a, "motion": np.array(mot, np.float32), "cuts": cuts,
        "face_times": np.array(face_t, float), "face_boxes": np.array(face_b, np.float32).reshape(-1, 4),
        "text_times": np.array(text_t), "text_lines": np.array(text_n, np.int32),
        "seconds": time.perf_counter() - t0,
    }


def analyse_cached(path: str | os.PathLike, cache_dir: Optional[str | os.PathLike] = None, *,
                   progress: Progress = no_progress, cancel: CancelToken = NEVER_CANCELLED, **kw) -> Analysis:
    """analyse(), or the analysis stored for a file with the same content (sha256) under `cache_dir`."""
    path = Path(path)
    info = probe(path)
    progress(0.0, "hashing the file")
    sha = file_sha256(path, cancel)
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    stored = folder / f"{sha}.npz"
    cached = Analysis.load(stored)
    if cached is not None:
        cached.path = str(path)
        cached.timings = {"cached": 1.0}
        return cached
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{sha}.part.npz"
    result = analyse(path, info=info, sha256=sha, progress=progress, cancel=cancel, checkpoint_path=part, **kw)
    result.save(stored)
    part.unlink(missing_ok=True)
    return result
