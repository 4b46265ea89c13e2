"""Feature extraction: every video and caption of a dataset -> cached numbers the models read.

Per video (keyed by its sha256, `video_spec_version(frames)` and the frame backbone):
    cues         float32 [14]      the content cues (engine.cues, CUE_NAMES order; NaN = not measurable)
    frames       float32 [N, D]    backbone embeddings of N frames at the centres of N equal slices of the video
    pooled       float32 [D]       their mean
    frame_times  float32 [N]       the time of each decoded frame, seconds
    audio        float32 [40]      AUDIO_DESCRIPTOR: a small fixed summary of the sound (below)
Per caption (keyed by the sha256 of its text, `caption_spec_version()` and 'minilm'):
    caption      float32 [384]     all-MiniLM-L6-v2 embedding of caption + hashtags

Everything runs on ONNX Runtime, PyAV and numpy (no torch): the per-video inputs are computed by
engine.features.inputs, which scoring and evaluation use too, so a model reads the numbers it was trained on;
one pass over each file decodes the frames and the sound for the cues and the embeddings together. Extraction
is resumable: each video is committed on its own as it finishes, so a kill loses at most the video in progress, and a rerun does only what is missing.
Unreadable videos are recorded with their reason (Dataset.feature_failures) and skipped, not retried,
unless asked; any other failure on one file (a decoder or cue raising something unexpected) is reported and
left for the next run, never stopping the others. Memory stays bounded: one video's frames at a time, never the
whole dataset's.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import media
from .errors import Cancelled, DataError, EngineError, InputError, MediaError
from .executors import Unfinished
from .features.inputs import (CAPTION_BACKBONE, DEFAULT_FRAMES, FRAME_BACKBONES, audio_descriptor, caption_embedder,
                              caption_key, caption_text, cue_array, embed_sampled, frame_embedder, frame_requests)
from .features.spec import FEATURE_SPEC_VERSION
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress

#: Bump when anything below changes how a cached number is computed: old caches are then ignored.
EXTRACT_VERSION = 1


def video_spec_version(frames: int = DEFAULT_FRAMES) -> str:
    """The cache key's version part for a video: feature spec, extraction version, frame count."""
    return f"{FEATURE_SPEC_VERSION}.x{EXTRACT_VERSION}.f{int(frames)}"


def caption_spec_version() -> str:
    return f"{FEATURE_SPEC_VERSION}.x{EXTRACT_VERSION}"


# ------------------------------------------------------------------------------------------- one video


def extract_video(path, embedder, frames: int = DEFAULT_FRAMES, device: str = "auto",
                  cancel: CancelToken = NEVER_CANCELLED) -> dict[str, np.ndarray]:
    """Every cached array of one video file (see the module docstring), in one decoding pass: the frames to
    embed and the sound come with the cues' (engine.features.inputs). Raises the engine.media errors for
    unusable files and Cancelled."""
    from .cues import cue_values, measure_cues

    info = media.probe(path)
    shared = media.SharedPass(requests=frame_requests(info, frames), audio=True)
    report = measure_cues(path, info, cancel=cancel, device=device, also=shared)
    cancel.raise_if_cancelled()
    emb, times = embed_sampled(shared.frames, embedder)
    return {"cues": cue_array(cue_values(report)), "frames": emb, "pooled": emb.mean(0), "frame_times": times,
            "audio": audio_descriptor(shared.pcm)}


# ------------------------------------------------------------------------------------------- a dataset


@dataclass
class ExtractResult:
    videos: int = 0  # distinct video files in the dataset
    extracted: int = 0  # computed by this run
    cached: int = 0  # already there
    failed: dict[str, str] = field(default_factory=dict)  # path -> reason (recorded in the store)
    missing: list[str] = field(default_factory=list)  # files not on disk now (retried next time)
    unfinished: dict[str, str] = field(default_factory=dict)  # path -> why not done now (retried next time)
    captions: int = 0
    captions_extracted: int = 0
    seconds: float = 0.0
    video_seconds: float = 0.0  # time spent on the videos extracted by this run (in parallel: the wall time)

    @property
    def videos_per_minute(self) -> Optional[float]:
        return round(60.0 * self.extracted / self.video_seconds, 2) if self.extracted and self.video_seconds else None

    def as_dict(self) -> dict:
        return dict(self.__dict__, videos_per_minute=self.videos_per_minute)

    def summary(self) -> str:
        s = (f"{self.videos} videos: {self.extracted} extracted, {self.cached} already cached, "
             f"{len(self.failed)} unreadable, {len(self.missing)} missing"
             + (f", {len(self.unfinished)} not done (run it again for them)" if self.unfinished else "") + "; "
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
    workers: int = 1,
    inference: Optional[str] = None,
) -> ExtractResult:
    """Compute and cache the features of every video (and caption) of an open Dataset that are not cached
    yet: the videos in this process, in `workers` local processes (the largest first), or with executor="ray" on
    the Ray cluster at `address` (engine.executors); this process alone writes the dataset. With more than one
    worker on a GPU the device sessions run in one inference process (`inference`: engine.executors.
    inference_device). Returns what was done. Raises InputError for a bad backbone, frame count or inference
    choice, BackboneUnavailable when a backbone cannot be built, Cancelled (what finished before stays cached)."""
    from .executors import check_executor, inference_device

    if backbone not in FRAME_BACKBONES:
        raise InputError(f"unknown frame backbone '{backbone}': choose from {', '.join(FRAME_BACKBONES)}")
    check_executor(executor, address)
    inference_device(device, 1, inference)  # a bad choice fails before any work
    if not 1 <= int(frames) <= 256:
        raise InputError(f"--frames must be between 1 and 256 (got {frames})")
    t0 = time.perf_counter()
    res = ExtractResult()
    key = video_spec_version(frames)
    if captions:
        progress(0.0, "embedding captions")
        res.captions, res.captions_extracted = extract_captions(
            ds, device, cache_dir, sub_progress(progress, 0.0, 0.1), cancel)
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

    workers = max(1, min(int(workers), len(todo)))
    here = executor != "ray" and workers == 1
    t_videos = time.perf_counter()
    if executor == "ray":  # the cluster computes; this process alone writes the dataset
        from .executors import ray_extract

        results = ray_extract(todo, backbone, frames, device, cache_dir, address, cancel)
    elif workers > 1:
        from .executors import local_extract

        from .models.export_backbones import ensure_backbones

        ensure_backbones(cache_dir, names=[backbone])  # exported here once (or BackboneUnavailable), not per worker
        results = local_extract(todo, backbone, frames, device, cache_dir, workers=workers, inference=inference,
                                cancel=cancel)
    else:
        results = _extract_here(todo, backbone, frames, device, cache_dir, cancel, step)
    for i, (v, arrays, error, seconds) in enumerate(results):
        if not here:  # as it comes back
            step(i, v)
        if isinstance(error, Unfinished):  # nothing wrong with the file: not recorded, tried again next run
            res.unfinished[str(v.path)] = str(error)
            continue
        if error is not None:
            ds.put_feature_failure(v.sha256, key, backbone, error)
            res.failed[str(v.path)] = error
            continue
        ds.put_features(v.sha256, key, backbone, arrays)  # one transaction: a kill keeps whole videos only
        res.video_seconds += seconds
        res.extracted += 1
    if not here:  # videos side by side: their own seconds add up to more than the time they took
        res.video_seconds = time.perf_counter() - t_videos if res.extracted else 0.0
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
        yield (v, *extract_one(v.path, embedder, frames, device, cancel))


def extract_one(path, embedder, frames: int, device: str, cancel: CancelToken = NEVER_CANCELLED):
    """(arrays, None, seconds) for one video, or (None, the reason, 0.0): a str for an unreadable file (a media
    error: recorded, not retried), an Unfinished one for anything else that went wrong on it (the inference
    process gone, a decoder or cue raising something unexpected: says nothing sure about the file, so it is
    reported, not recorded, and the next run tries it again). Only Cancelled goes through: one odd file never
    stops the others, as in `batch`."""
    t = time.perf_counter()
    try:
        arrays = extract_video(path, embedder, frames, device, cancel)
    except Cancelled:
        raise
    except MediaError as exc:
        return None, str(exc), 0.0
    except EngineError as exc:  # the inference process has gone, or could not run a model
        return None, Unfinished(f"{Path(path).name}: {exc}"), 0.0
    except Exception as exc:  # a decoder or library failure on one odd file must not stop the extraction
        first = (str(exc).strip().splitlines() or [""])[0]  # one line
        return None, Unfinished(f"{Path(path).name}: could not be extracted ({type(exc).__name__}: {first})"), 0.0
    return arrays, None, time.perf_counter() - t


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


def dataset_extract_job(path, backbone: str = "efficientnet_lite0", frames: int = DEFAULT_FRAMES,
                        device: str = "auto", retry_failed: bool = False, progress: Progress = no_progress,
                        cancel: CancelToken = NEVER_CANCELLED, executor: str = "local",
                        address: Optional[str] = None, workers: int = 1) -> ExtractResult:
    """The job the CLI and the GUI run: open the dataset file, extract, close."""
    from .data.store import Dataset

    p = Path(os.fspath(path))
    if not p.exists():
        raise DataError(f"{p}: no such dataset")
    with Dataset.open(p) as ds:
        return extract_dataset(ds, backbone, frames, device, retry_failed=retry_failed, progress=progress,
                               cancel=cancel, executor=executor, address=address, workers=workers)
