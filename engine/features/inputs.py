"""The per-video model inputs, in one place: caption embedding, frame embeddings, audio vector.

Extraction (engine.extract: the cache a model is trained from), scoring (engine.scoring: one file) and evaluation
(engine.evaluate: a posts CSV) compute them with these functions, so a model reads at scoring time exactly the
numbers it was trained on. What has to be decoded from the file for them (the frames to embed, the sound) is asked
of the one pass that measures the content cues (`measure_cues(..., also=media.SharedPass)`): a file is decoded once
per job, for the cues, the embeddings and the window's frame strip together.

    caption   float32 [1, 384]      all-MiniLM-L6-v2 embedding of caption + hashtags (caption_text)
    frames    float32 [1, N, D]     backbone embeddings of N frames at the centres of N equal slices (or [1, D]:
                                    their mean, for a bundle whose input is pooled)
    audio     float32 [1, 44]       AUDIO_DESCRIPTOR (40 numbers) + the audio cues AUDIO_CUES

Everything runs on ONNX Runtime, PyAV and numpy (no torch).
"""
from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from .. import media
from ..errors import InputError

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
#: the inputs computed here (a bundle's manifest 'inputs' may name these)
VIDEO_INPUTS = ("caption", "frames", "audio")


# ------------------------------------------------------------------------------------------- caption


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


def frame_requests(info: media.MediaInfo, n: int) -> list[tuple[float, int]]:
    """The (time, max_side) requests of the n frames a frame backbone embeds."""
    side = frame_side(info)
    return [(t, side) for t in frame_times(info.duration_s, n, info.fps)]


def strip_requests(info: media.MediaInfo, n: int = 8, max_side: int = 180) -> list[tuple[float, int]]:
    """The (time, max_side) requests of a preview strip: n small frames spread over the video."""
    return [(t, max_side) for t in frame_times(info.duration_s, n, info.fps)]


def embed_sampled(frames: Sequence[media.SampledFrame], embedder) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings [n, D], decoded times [n]) of frames already decoded (for frame_requests)."""
    emb = embedder.embed([f.image for f in frames])
    return emb.astype(np.float32), np.array([f.time_s for f in frames], np.float32)


def embed_frames(path, info: media.MediaInfo, embedder, n: int) -> tuple[np.ndarray, np.ndarray]:
    """embed_sampled for n frames decoded from `path` now (a pass of its own: prefer asking measure_cues for
    them with a media.SharedPass when the cues are measured too)."""
    return embed_sampled(media.sample_frames(path, frame_requests(info, n), info=info), embedder)


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
    """A fixed 40-number summary of mono audio in [-1, 1] (AUDIO_DESCRIPTOR) of the first AUDIO_MAX_S seconds:
    16 log-mel band energies (50 Hz-8 kHz, 32 ms windows, 16 ms hop) as mean and standard deviation over time
    (32); frame loudness in dB, mean and std (2); spectral centroid / (rate / 2), mean and std (2); zero-crossing
    rate (1); spectral flatness (1); mean positive spectral flux (onset strength, 1); 1 = the file has sound (1).
    All zeros, last included, for a file without sound."""
    out = np.zeros(AUDIO_DIM, np.float32)
    pcm = np.asarray(pcm, np.float32).ravel()[:int(AUDIO_MAX_S * rate)]
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


def cue_array(values: dict) -> np.ndarray:
    """{cue name: value or None} (cues.cue_values) as the cached cue array, CUE_NAMES order, NaN = not measurable."""
    from ..cues import CUE_NAMES

    return np.array([np.nan if values.get(k) is None else values[k] for k in CUE_NAMES], np.float32)


def audio_vector(audio: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """A model's audio input [AUDIO_INPUT_DIM]: the descriptor and the audio cues (loudness of a file
    without sound = SILENT_DBFS). `cues` is the cached cue array in CUE_NAMES order."""
    from ..cues import CUE_NAMES

    extra = []
    for name in AUDIO_CUES:
        v = float(cues[CUE_NAMES.index(name)])
        extra.append(v if math.isfinite(v) else (SILENT_DBFS if name == "loudness" else 0.0))
    return np.concatenate([np.asarray(audio, np.float32), np.array(extra, np.float32)])


def cues_dict(cues: np.ndarray) -> dict[str, Optional[float]]:
    """The cached cue array back to {cue name: value or None} (what the feature spec reads)."""
    from ..cues import CUE_NAMES

    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in zip(CUE_NAMES, np.asarray(cues).ravel())}


# ------------------------------------------------------------------------------------------- backbones


@lru_cache(maxsize=4)
def _embedder(kind: str, onnx_path: str, device: str):
    from ..models.backbones import CaptionEmbedder, FrameEmbedder

    return CaptionEmbedder(onnx_path, device=device) if kind == "caption" else FrameEmbedder(onnx_path, device=device)


def frame_embedder(backbone: str = "efficientnet_lite0", device: str = "auto", cache_dir=None):
    """The frame backbone in ONNX Runtime (exported once into the backbone cache; kept for the process)."""
    if backbone not in FRAME_BACKBONES:
        raise InputError(f"unknown frame backbone '{backbone}': choose from {', '.join(FRAME_BACKBONES)}")
    from ..models.export_backbones import ensure_backbones

    return _embedder("frames", str(ensure_backbones(cache_dir, names=[backbone])[backbone]), device)


def caption_embedder(device: str = "auto", cache_dir=None):
    from ..models.export_backbones import ensure_backbones

    return _embedder("caption", str(ensure_backbones(cache_dir, names=[CAPTION_BACKBONE])[CAPTION_BACKBONE]), device)


# ------------------------------------------------------------------------------------------- a bundle's inputs


def shared_pass(needs: dict, info: media.MediaInfo, strip: Sequence[tuple[float, int]] = ()) -> media.SharedPass:
    """What to ask of the cue pass over a file for a bundle whose manifest 'inputs' are `needs` (the frames it
    embeds, the sound), plus the `strip` frames a window shows: hand it to measure_cues(also=...), then to
    video_inputs. The strip's frames are the last len(strip) of its frames."""
    requests = frame_requests(info, int(needs["frames"]["frame_count"])) if "frames" in needs else []
    return media.SharedPass(requests=requests + list(strip), audio="audio" in needs)


def video_inputs(needs: dict, meta=None, cue_values: Optional[dict] = None,
                 decoded: Optional[media.SharedPass] = None, device: str = "auto",
                 cache_dir=None) -> dict[str, np.ndarray]:
    """The extra inputs named in `needs` (a bundle manifest's 'inputs': caption, frames, audio) for one post:
    the caption from `meta`, the frames and the sound from `decoded` (shared_pass's request, filled by the cue
    pass), the audio cues from `cue_values`. Raises InputError when the frames or the sound are needed and were
    not decoded (no video)."""
    out: dict[str, np.ndarray] = {}
    if "caption" in needs:
        text = caption_text(getattr(meta, "caption", None), getattr(meta, "hashtags", None))
        out["caption"] = caption_embedder(device, cache_dir).embed([text]).astype(np.float32)
    if ("frames" in needs or "audio" in needs) and decoded is None:
        raise InputError("this model reads the video's pictures and sound: give it a video file")
    if "frames" in needs:
        spec = needs["frames"]
        n = int(spec["frame_count"])
        emb, _ = embed_sampled(decoded.frames[:n], frame_embedder(spec["backbone"], device, cache_dir))
        out["frames"] = (emb[None] if len(spec["shape"]) == 3 else emb.mean(0)[None]).astype(np.float32)
    if "audio" in needs:
        if decoded.pcm is None:
            raise InputError("this model reads the video's sound: the cue pass was not asked for it")
        out["audio"] = audio_vector(audio_descriptor(decoded.pcm), cue_array(cue_values or {}))[None]
    return out


def measure_with_inputs(path, needs: dict, meta=None, info: Optional[media.MediaInfo] = None, device: str = "auto",
                        cache_dir=None, cancel=None, strip: Sequence[tuple[float, int]] = (),
                        progress=None):
    """(CueReport, the extra inputs, the SharedPass) of one file in one decoding pass: the cues, and the frames
    and sound the bundle's inputs `needs` read (plus the `strip` frames)."""
    from ..cues import cue_values as values_of
    from ..cues import measure_cues
    from ..jobs import NEVER_CANCELLED, no_progress

    info = info or media.probe(path)
    shared = shared_pass(needs, info, strip)
    cues = measure_cues(path, info, cancel=cancel or NEVER_CANCELLED, progress=progress or no_progress,
                        device=device, also=shared)
    return cues, video_inputs(needs, meta, values_of(cues), shared, device, cache_dir), shared


def bundle_inputs(manifest: dict, path=None, meta=None, cue_report=None, info=None, device: str = "auto",
                  cache_dir=None) -> dict[str, np.ndarray]:
    """The extra inputs (caption, frames, audio) a multimodal or video bundle reads, for one video file and
    its PostMeta, computed exactly as extraction does. When the cues are measured too, prefer measure_with_inputs
    (or shared_pass with measure_cues): one pass. Here, with the file's CueReport given, the frames and the sound
    are decoded in a pass of their own; without it, a bundle that reads the sound (whose input carries the audio
    cues) gets the cues measured in the same pass, and one that reads only the frames gets just those decoded."""
    from ..cues import cue_values as values_of

    needs = manifest.get("inputs", {})
    if "frames" not in needs and "audio" not in needs:
        return video_inputs(needs, meta, None, None, device, cache_dir)
    if path is None:
        raise InputError("this model reads the video's pictures and sound: give it a video file")
    info = info or media.probe(path)
    if cue_report is None and "audio" in needs:
        return measure_with_inputs(path, needs, meta, info, device, cache_dir)[1]
    shared = shared_pass(needs, info)
    shared.frames = media.sample_frames(path, shared.requests, info=info) if shared.requests else []
    shared.pcm = media.decode_audio(path, AUDIO_RATE, max_seconds=AUDIO_MAX_S) if shared.audio else None
    return video_inputs(needs, meta, None if cue_report is None else values_of(cue_report), shared, device,
                        cache_dir)
