"""Generate small real video files for tests with PyAV's encoders (no files are committed)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import av
import numpy as np


def make_video(
    path: Path,
    seconds: float = 3.0,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
    *,
    audio: Optional[str] = "sine",  # "sine", "noise", "silence" or None
    audio_rate: int = 44100,
    audio_channels: int = 2,
    cuts_at: Sequence[float] = (),
    moving: bool = True,
    rotation: int = 0,
    codec: str = "libx264",
    gop: int = 50,
    tone_hz: float = 440.0,
    bframes: int = 0,
) -> Path:
    """Write an mp4 of coloured scenes: each entry of `cuts_at` starts a new scene colour.

    `moving` slides a bright square across the picture; `rotation` stores a display matrix
    (degrees counter-clockwise), as phones do. `bframes` (libx264) puts up to that many B-frames between
    reference frames, the middle one a reference too (b-pyramid), as phone encoders do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    n = max(1, int(round(seconds * fps)))
    rng = np.random.default_rng(0)
    palette = [(200, 40, 40), (40, 180, 60), (40, 60, 200), (220, 200, 40), (150, 40, 170), (30, 30, 30)]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = gop
        vs.options = {"preset": "ultrafast"} if codec == "libx264" else {}
        if bframes:
            vs.options = {**vs.options, "x264-params": f"bframes={bframes}:b-pyramid=normal"}
        if rotation:
            vs.set_display_rotation(rotation)
        a_stream = None
        if audio:
            layout = {1: "mono", 2: "stereo", 6: "5.1"}[audio_channels]
            a_stream = out.add_stream("aac", rate=audio_rate, layout=layout)
        for i in range(n):
            t = i / fps
            scene = sum(1 for c in cuts_at if t >= c)
            img = np.empty((h, w, 3), np.uint8)
            img[:] = palette[scene % len(palette)]
            img[:, :, :] = np.clip(img.astype(np.int16) + (np.arange(w)[None, :, None] // 8 % 2) * 20, 0, 255)
            if moving:
                s = max(8, min(w, h) // 5)
                x = int((w - s) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 2.0)))
                y = (h - s) // 2
                img[y : y + s, x : x + s] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if a_stream is not None:
            total = int(seconds * audio_rate)
            tt = np.arange(total) / audio_rate
            if audio == "sine":
                mono = 0.3 * np.sin(2 * np.pi * tone_hz * tt)
            elif audio == "noise":
                mono = 0.3 * rng.standard_normal(total)
            else:
                mono = np.zeros(total)
            _mux_audio(out, a_stream, np.repeat(mono[None, :], audio_channels, axis=0), audio_rate)
    return path


def _mux_audio(out, stream, data: np.ndarray, rate: int) -> None:
    """Encode [channels, samples] into `stream` in frames of 1024 samples and mux them, then flush."""
    data = data.astype(np.float32)
    step = 1024
    for start in range(0, data.shape[1], step):
        chunk = np.ascontiguousarray(data[:, start : start + step])
        af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        af.sample_rate = rate
        af.pts = start
        for packet in stream.encode(af):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def make_audio_only(path: Path, seconds: float = 2.0, rate: int = 44100) -> Path:
    """An .m4a (AAC in MP4) with a tone and no picture."""
    path = Path(path)
    with av.open(str(path), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=rate, layout="mono")
        total = int(seconds * rate)
        _mux_audio(out, a, 0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / rate)[None, :], rate)
    return path


def make_custom_video(
    path: Path,
    seconds: float = 3.0,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
    *,
    colour: tuple[int, int, int] = (128, 128, 128),
    frame=None,
    audio: Optional[np.ndarray] = None,
    audio_rate: int = 16000,
) -> Path:
    """Write an mp4 (H.264, AAC) with a picture and a sound of the caller's choosing.

    The picture is a solid `colour`, or `frame(i, t)` -> an RGB uint8 array of `size` (w, h) for
    frame i at time t. `audio` is float samples in [-1, 1] at `audio_rate`: a 1-D array (mono) or
    channels x samples (1, 2 or 6 channels); None writes no audio stream. The sound is padded with
    silence or cut to the picture's length.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    n = max(1, int(round(seconds * fps)))
    solid = np.empty((h, w, 3), np.uint8)
    solid[:] = colour
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast"}
        a_stream = None
        if audio is not None:
            data = np.atleast_2d(np.asarray(audio, np.float32))
            layout = {1: "mono", 2: "stereo", 6: "5.1"}[data.shape[0]]
            a_stream = out.add_stream("aac", rate=audio_rate, layout=layout)
        for i in range(n):
            img = solid if frame is None else np.ascontiguousarray(frame(i, i / fps), dtype=np.uint8)
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if a_stream is not None:
            total = int(round(seconds * audio_rate))
            padded = np.zeros((data.shape[0], total), np.float32)
            m = min(total, data.shape[1])
            padded[:, :m] = data[:, :m]
            _mux_audio(out, a_stream, padded, audio_rate)
    return path
