"""Feature extraction: every video and caption of a dataset -> cached numbers the models read.

Per video (keyed by its sha256, `video_spec_version(frames)` and the frame backbone):
    cues         float32 [14]      the content cues (engine.cues, CUE_NAMES order; NaN = not measurable)
    frames       float32 [N, D]    backbone embeddings of N frames at the centres of N equal slices of the video
    pooled       float32 [D]       their mean
    frame_times  float32 [N]       the time of each decoded frame, seconds
    audio        float32 [40]      AUDIO_DESCRIPTOR: a small fixed summary of the sound (below)
Per caption (keyed by the sha256 of its text, `caption_spec_version()` and 'minilm'):
    caption      float32 [384]     all-MiniLM-L6-v2 embedding of caption + hashtags

Everything runs on ONNX Runtime, PyAV and numpy (no torch): scoring computes the same numbers with the
same functions (`bundle_inputs`). Extraction is resumable: each video is committed on its own as it
finishes, so a kill loses at most the video in progress, and a rerun does only what is missing.
Unreadable videos are recorded with their reason (Dataset.feature_failures) and skipped, not retried,
unless asked. Memory stays bounded: one video's frames at a time, never the whole dataset's.
"""
from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import media
from .errors import DataError, InputError, MediaError
from .features.spec import FEATURE_SPEC_VERSION
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress

#: Bump when anything below changes how a cached number is computed: old caches are then ignored.
EXTRACT_VERSION = 1
DEFAULT_FRAMES = 16
FRAME_BACKBONES = ("efficientnet_lite0", "resnet50")
CAPTION_BACKBONE = "minilm"
#: frames are decoded so that their short side is this many pixels (the backbones crop 87.5% of it to 224)
FRAME_SHORT_SIDE = 256
AUDIO_RATE = 16000
AUDIO_MAX_S = 180.0
AUDIO_DESCRIPTOR = "logmel16-v1"
AUDIO_DIM = 40
#: the audio cues appended to the descriptor to make a model's audio input (audio_vector)
AUDIO_CUES = ("loudness", "speech_share", "music_share", "silence_share")
AUDIO_INPUT_DIM = AUDIO_DIM + len(AUDIO_CUES)
SILENT_DBFS = -90.0


def video_spec_version(frames: int = DEFAULT_FRAMES) -> str:
    """The cache key's version part for a video: feature spec, extraction version, frame count."""
    return f"{FEATURE_SPEC_VERSION}.x{EXTRACT_VERSION}.f{int(frames)}"


def caption_spec_version() -> str:
    return f"{FEATURE_SPEC_VERSION}.x{EXTRACT_VERSION}"


def caption_text(caption: Optional[str], hashtags: Optional[Sequence[str]] = None) -> str:
    """What the caption backbone reads: the caption as written, then the hashtags (with '#')."""
    tags = " ".join(f"#{str(h).lstrip('#')}" for h in (hashtags or []) if str(h).strip("# "))
    return " ".join(s for s in ((caption or "").strip(), tags) if s)


def caption_key(text: str) -> str:
    return hashlib.sha256(("caption\n" + text).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------- frames


def frame_times(duration_s: float, n: int, fps: float = 0.0) -> list[float]:
    """Centres of n equal slices of the video, kept inside the picture."""
    end = max(0.0, duration_s - (1.0 / fps if fps else 0.04))
    return [round(min(end, duration_s * (i + 0.5) / n), 3) for i in range(n)]


def frame_side(info: media.MediaInfo) -> int:
    """max_side for sample_frames so that the short side is about FRAME_SHORT_SIDE (no upscaling)."""
    long, short = max(info.width, info.height), max(1, min(info.width, info.height))
    return int(min(long, math.ceil(FRAME_SHORT_SIDE * long / short)))


def embed_frames(path, info: media.MediaInfo, embedder, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings [n, D], decoded times [n]) of n frames spread over the video; one frame at a time in
    memory per batch of the embedder."""
    side = frame_side(info)
    frames = media.sample_frames(path, [(t, side) for t in frame_times(info.duration_s, n, info.fps)], info=info)
    emb = embedder.embed([f.image for f in frames])
    return emb.astype(np.float32), np.array([f.time_s for f in frames], np.float32)


# ------------------------------------------------------------------------------------------- audio


@lru_cache(maxsize=4)
def _mel_filters(n_fft: int, rate: int, bands: int, fmin: float = 50.0, fmax: float = 8000.0) -> np.ndarray:
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    inv = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = inv(np.linspace(mel(fmin), mel(min(fmax, rate / 2)), bands + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    fb = np.zeros((bands, freqs.size), np.float32)
    for b in range(bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        fb[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


def audio_descriptor(pcm: np.ndarray, rate: int = AUDIO_RATE) -> np.ndarray:
    """A fixed 40-number summary of mono audio in [-1, 1] (AUDIO_DESCRIPTOR): 16 log-mel band energies
    (50 Hz-8 kHz, 32 ms windows, 16 ms hop) as mean and standard deviation over time (32); frame loudness
    in dB, mean and std (2); spectral centroid / (rate / 2), mean and std (2); zero-crossing rate (1);
    spectral flatness (1); mean positive spectral flux (onset strength, 1); 1 = the file has sound (1).
    All zeros, last included, for a file without sound."""
    out = np.zeros(AUDIO_DIM, np.float32)
    pcm = np.asarray(pcm, np.float32).ravel()
    n_fft, hop = 512, 256
    if pcm.size < n_fft:
        return out
    n = 1 + (pcm.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = pcm[idx] * np.hanning(n_fft).astype(np.float32)[None, :]
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).astype(np.float32)  # [n, bins]
    mel = np.log(power @ _mel_filters(n_fft, rate, 16).T + 1e-8)
    out[0:16], out[16:32] = mel.mean(0), mel.std(0)
    rms_db = 10.0 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10)
    out[32], out[33] = rms_db.mean(), rms_db.std()
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    total = power.sum(1) + 1e-10
    centroid = (power @ freqs) / total / (rate / 2)
    out[34], out[35] = centroid.mean(), centroid.std()
    signs = np.signbit(pcm[idx])
    out[36] = np.mean(signs[:, 1:] != signs[:, :-1])
    out[37] = np.mean(np.exp(np.mean(np.log(power + 1e-10), 1)) / (power.mean(1) + 1e-10))
    flux = np.diff(np.log(power + 1e-8), axis=0)
    out[38] = np.mean(np.clip(flux, 0, None)) if flux.size else 0.0
    out[39] = 1.0
    return out


def audio_vector(audio: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """A model's audio input [AUDIO_INPUT_DIM]: the descriptor and the audio cues (loudness of a file
    without sound = SILENT_DBFS). `cues` is the cached cue array in CUE_NAMES order."""
    from .cues import CUE_NAMES

    extra = []
    for name in AUDIO_CUES:
        v = float(cues[CUE_NAMES.index(name)])
        extra.append(v if math.isfinite(v) else (SILENT_DBFS if name == "loudness" else 0.0))
    return np.concatenate([np.asarray(audio, np.float32), np.array(extra, np.float32)])


def cues_dict(cues: np.ndarray) -> dict[str, Optional[float]]:
    """The cached cue array back to {cue name: value or None} (what the feature spec reads)."""
    from .cues import CUE_NAMES

    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in zip(CUE_NAMES, np.asarray(cues).ravel())}


# ------------------------------------------------------------------------------------------- one video


def extract_video(path, embedder, frames: int = DEFAULT_FRAMES, device: str = "auto",
                  cancel: CancelToken = NEVER_CANCELLED) -> dict[str, np.ndarray]:
    """Every cached array of one video file (see the module docstring). Raises the engine.media errors
    for unusable files and Cancelled."""
    from .cues import CUE_NAMES, cue_values, measure_cues

    info = media.probe(path)
    report = measure_cues(path, info, cancel=cancel, device=device)
    values = cue_values(report)
    cues = np.array([np.nan if values.get(k) is None else values[k] for k in CUE_NAMES], np.float32)
    cancel.raise_if_cancelled()
    emb, times = embed_frames(path, info, embedder, frames)
    cancel.raise_if_cancelled()
    pcm = media.decode_audio(path, AUDIO_RATE, max_seconds=AUDIO_MAX_S)
    return {"cues": cues, "frames": emb, "pooled": emb.mean(0), "frame_times": times,
            "audio": audio_descriptor(pcm)}


@lru_cache(maxsize=4)
def _embedder(kind: str, onnx_path: str, device: str):
    from .models.backbones import CaptionEmbedder, FrameEmbedder

    return CaptionEmbedder(onnx_path, device=device) if kind == "caption" else FrameEmbedder(onnx_path, device=device)


def frame_embedder(backbone: str = "efficientnet_lite0", device: str = "auto", cache_dir=None):
    """The frame backbone in ONNX Runtime (exported once into the backbone cache; kept for the process)."""
    if backbone not in FRAME_BACKBONES:
        raise InputError(f"unknown frame backbone '{backbone}': choose from {', '.join(FRAME_BACKBONES)}")
    from .models.export_backbones import ensure_backbones

    return _embedder("frames", str(ensure_backbones(cache_dir, names=[backbone])[backbone]), device)


def caption_embedder(device: str = "auto", cache_dir=None):
    from .models.export_backbones import ensure_backbones

    return _embedder("caption", str(ensure_backbones(cache_dir, names=[CAPTION_BACKBONE])[CAPTION_BACKBONE]), device)


# ------------------------------------------------------------------------------------------- a dataset


@dataclass
class ExtractResult:
    videos: int = 0  # distinct video files in the dataset
    extracted: int = 0  # computed by this run
    cached: int = 0  # already there
    failed: dict[str, str] = field(default_factory=dict)  # path -> reason (recorded in the store)
    missing: list[str] = field(default_factory=list)  # files not on disk now (retried next time)
    captions: int = 0
    captions_extracted: int = 0
    seconds: float = 0.0
    video_seconds: float = 0.0  # time spent on the videos extracted by this run

    @property
    def videos_per_minute(self) -> Optional[float]:
        return round(60.0 * self.extracted / self.video_seconds, 2) if self.extracted and self.video_seconds else None

    def as_dict(self) -> dict:
        return dict(self.__dict__, videos_per_minute=self.videos_per_minute)

    def summary(self) -> str:
        s = (f"{self.videos} videos: {self.extracted} extracted, {self.cached} already cached, "
             f"{len(self.failed)} unreadable, {len(self.missing)} missing; "
             f"{self.captions} captions ({self.captions_extracted} embedded now)")
        if self.videos_per_minute:
            s += f"; {self.videos_per_minute} videos/min"
        return s


def _cached_keys(ds, spec_version: str, backbone: str) -> set[str]:
    rows = ds.conn.execute("SELECT DISTINCT sha256 FROM features WHERE spec_version = ? AND backbone = ?",
                           (spec_version, backbone)).fetchall()
    return {r[0] for r in rows}


def extract_captions(ds, device: str = "auto", cache_dir=None, progress: Progress = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED, batch: int = 64) -> tuple[int, int]:
    """Embed every distinct caption text of the dataset not cached yet; returns (distinct, embedded now).
    Each batch is committed as it finishes."""
    texts = {}
    for p in ds.posts():
        t = caption_text(p.caption, p.hashtags)
        texts.setdefault(caption_key(t), t)
    have = _cached_keys(ds, caption_spec_version(), CAPTION_BACKBONE)
    # by length, so that each batch pads little (MiniLM's cost grows with the longest caption of a batch)
    todo = sorted(((k, t) for k, t in texts.items() if k not in have), key=lambda kt: len(kt[1]))
    if todo:
        emb = caption_embedder(device, cache_dir)
        for start in range(0, len(todo), batch):
            cancel.raise_if_cancelled()
            part = todo[start:start + batch]
            vectors = emb.embed([t for _, t in part])
            for (k, _), v in zip(part, vectors):
                ds.put_features(k, caption_spec_version(), CAPTION_BACKBONE, {"caption": v})
            progress((start + len(part)) / len(todo), f"captions {start + len(part)}/{len(todo)}")
    return len(texts), len(todo)


def extract_dataset(
    ds,
    backbone: str = "efficientnet_lite0",
    frames: int = DEFAULT_FRAMES,
    device: str = "auto",
    captions: bool = True,
    retry_failed: bool = False,
    cache_dir=None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    executor: str = "local",
    address: Optional[str] = None,
) -> ExtractResult:
    """Compute and cache the features of every video (and caption) of an open Dataset that are not cached
    yet (the videos in this process, or with executor="ray" on the Ray cluster at `address`, engine.executors).
    Returns what was done. Raises InputError for a bad backbone or frame count, BackboneUnavailable
    when a backbone cannot be built, Cancelled (what finished before stays cached)."""
    from .executors import check_executor

    if backbone not in FRAME_BACKBONES:
        raise InputError(f"unknown frame backbone '{backbone}': choose from {', '.join(FRAME_BACKBONES)}")
    check_executor(executor, address)
    if not 1 <= int(frames) <= 256:
        raise InputError(f"--frames must be between 1 and 256 (got {frames})")
    t0 = time.perf_counter()
    res = ExtractResult()
    key = video_spec_version(frames)
    if captions:
        progress(0.0, "embedding captions")
        res.captions, res.captions_extracted = extract_captions(
            ds, device, cache_dir, lambda f, m: progress(None if f is None else 0.1 * f, m), cancel)
    all_videos = ds.videos()
    res.videos = len(all_videos)
    if retry_failed:
        ds.clear_feature_failures(key, backbone)
    failed = ds.feature_failures(key, backbone)
    todo = ds.videos_without_features(key, backbone)
    res.cached = res.videos - len(todo)
    by_sha = {v.sha256: v for v in all_videos}
    for sha, reason in failed.items():
        if sha in by_sha:
            res.failed[str(by_sha[sha].path)] = reason
    todo = [v for v in todo if v.sha256 not in failed]
    res.missing = [str(v.path) for v in todo if not v.path.is_file()]
    todo = [v for v in todo if v.path.is_file()]

    def step(i: int, v) -> None:  # as video i starts here, or as it comes back from a cluster
        progress(0.1 + 0.9 * i / len(todo), f"video {i + 1}/{len(todo)}: {v.path.name}")

    if executor == "ray":  # the cluster computes; this process alone writes the dataset
        from .executors import ray_extract

        results = ray_extract(todo, backbone, frames, device, cache_dir, address, cancel)
    else:
        results = _extract_here(todo, backbone, frames, device, cache_dir, cancel, step)
    for i, (v, arrays, error, seconds) in enumerate(results):
        if executor == "ray":
            step(i, v)
        if error is not None:
            ds.put_feature_failure(v.sha256, key, backbone, error)
            res.failed[str(v.path)] = error
            continue
        ds.put_features(v.sha256, key, backbone, arrays)  # one transaction: a kill keeps whole videos only
        res.video_seconds += seconds
        res.extracted += 1
    res.seconds = round(time.perf_counter() - t0, 3)
    res.video_seconds = round(res.video_seconds, 3)
    progress(1.0, res.summary())
    return res


def _extract_here(videos, backbone: str, frames: int, device: str, cache_dir, cancel: CancelToken, step):
    """(video, arrays, error, seconds) for each of `videos`, computed in this process."""
    embedder = None
    for i, v in enumerate(videos):
        cancel.raise_if_cancelled()
        step(i, v)
        if embedder is None:
            embedder = frame_embedder(backbone, device, cache_dir)
        t = time.perf_counter()
        try:
            yield v, extract_video(v.path, embedder, frames, device, cancel), None, time.perf_counter() - t
        except MediaError as exc:
            yield v, None, str(exc), 0.0


# ------------------------------------------------------------------------------------------- reading back


def load_video_features(ds, frames: int = DEFAULT_FRAMES, backbone: str = "efficientnet_lite0") -> dict[str, dict]:
    """post_id -> the cached arrays of its video, for the posts whose video has been extracted."""
    key = video_spec_version(frames)
    out = {}
    cache: dict[str, Optional[dict]] = {}
    for pid, v in ds.post_videos().items():
        if v.sha256 not in cache:
            cache[v.sha256] = ds.cached_features(v.sha256, key, backbone)
        if cache[v.sha256] is not None:
            out[pid] = cache[v.sha256]
    return out


def load_caption_features(ds, posts) -> dict[str, np.ndarray]:
    """post_id -> its cached caption embedding (posts whose caption is not cached are left out)."""
    out = {}
    for p in posts:
        got = ds.cached_features(caption_key(caption_text(p.caption, p.hashtags)), caption_spec_version(),
                                 CAPTION_BACKBONE)
        if got is not None:
            out[p.post_id] = got["caption"]
    return out


# ------------------------------------------------------------------------------------------- scoring side


def bundle_inputs(manifest: dict, path=None, meta=None, cue_report=None, info=None, device: str = "auto",
                  cache_dir=None) -> dict[str, np.ndarray]:
    """The extra inputs (caption, frames, audio) a multimodal or video bundle reads, for one video file and
    its PostMeta, computed exactly as extraction does. Torch-free (ONNX Runtime backbones)."""
    from .cues import CUE_NAMES, cue_values

    needs = manifest.get("inputs", {})
    out: dict[str, np.ndarray] = {}
    if "caption" in needs:
        text = caption_text(getattr(meta, "caption", None), getattr(meta, "hashtags", None))
        out["caption"] = caption_embedder(device, cache_dir).embed([text]).astype(np.float32)
    if "frames" in needs or "audio" in needs:
        if path is None:
            raise InputError("this model reads the video's pictures and sound: give it a video file")
        info = info or media.probe(path)
    if "frames" in needs:
        spec = needs["frames"]
        emb, _ = embed_frames(path, info, frame_embedder(spec["backbone"], device, cache_dir), int(spec["frame_count"]))
        out["frames"] = (emb[None] if len(spec["shape"]) == 3 else emb.mean(0)[None]).astype(np.float32)
    if "audio" in needs:
        if cue_report is None:
            from .cues import measure_cues

            cue_report = measure_cues(path, info, device=device)
        values = cue_values(cue_report)
        cues = np.array([np.nan if values.get(k) is None else values[k] for k in CUE_NAMES], np.float32)
        pcm = media.decode_audio(path, AUDIO_RATE, max_seconds=AUDIO_MAX_S)
        out["audio"] = audio_vector(audio_descriptor(pcm), cues)[None]
    return out


def dataset_extract_job(path, backbone: str = "efficientnet_lite0", frames: int = DEFAULT_FRAMES,
                        device: str = "auto", retry_failed: bool = False, progress: Progress = no_progress,
                        cancel: CancelToken = NEVER_CANCELLED, executor: str = "local",
                        address: Optional[str] = None) -> ExtractResult:
    """The job the CLI and the GUI run: open the dataset file, extract, close."""
    from .data.store import Dataset

    p = Path(os.fspath(path))
    if not p.exists():
        raise DataError(f"{p}: no such dataset")
    with Dataset.open(p) as ds:
        return extract_dataset(ds, backbone, frames, device, retry_failed=retry_failed, progress=progress,
                               cancel=cancel, executor=executor, address=address)
