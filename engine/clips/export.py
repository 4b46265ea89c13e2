"""Cutting the chosen clips out of the long video with PyAV; their 9:16 crop path, captions and edit list.

- A clip whose start falls on a keyframe (within half a frame) and needs no crop is stream-copied: packets are
  copied as they are, so nothing is re-encoded and the cut is exact. Otherwise the picture is re-encoded with
  H.264 (libx264, CRF 18, the source's frame rate) and the sound with AAC at the source's rate.
- The vertical crop (9:16, the full height) follows the largest face: the face centres sampled once a second
  are held across gaps, smoothed with a centred moving mean over SMOOTH_S, pulled back so that each face box
  that fits lies inside the crop, and interpolated between samples (no jumps between frames). With no face in
  the clip the crop stays in the centre.
- Captions: an .srt beside each clip from the transcript's word times (none without a transcript).
- The edit list is a CMX3600 EDL (read by DaVinci Resolve, Premiere, Avid and OpenTimelineIO).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import av
import numpy as np

from ..errors import EngineError
from ..media import _keyframe_pts, _open
from ..outputs import atomic_file
from .analysis import Analysis

SMOOTH_S = 2.0
CRF = "18"
PRESET = "veryfast"


@dataclass(frozen=True)
class CropPath:
    """Where the 9:16 window sits over time: its left edge in pixels at the given times (source pixels)."""

    times: np.ndarray
    left: np.ndarray
    width: int
    height: int

    def at(self, t: float) -> int:
        x = float(np.interp(t, self.times, self.left)) if self.times.size else 0.0
        return int(round(x / 2.0)) * 2


def crop_path(an: Analysis, start: float, end: float) -> CropPath:
    """The 9:16 crop window for the clip [start, end] of the analysed video (see the module docstring)."""
    w, h = an.width, an.height
    cw = min(w, int(round(h * 9 / 16 / 2)) * 2)
    ch = h if cw < w else min(h, int(round(w * 16 / 9 / 2)) * 2)
    if cw >= w:  # already 9:16 or narrower: nothing to follow sideways
        return CropPath(np.array([start, end]), np.zeros(2), cw, ch)
    t = an.face_times
    sel = (t >= start - SMOOTH_S) & (t <= end + SMOOTH_S)
    times, boxes = t[sel], an.face_boxes[sel]
    seen = ~np.isnan(boxes[:, 0]) if len(boxes) else np.zeros(0, bool)
    if not seen.any():
        centre = (w - cw) / 2.0
        return CropPath(np.array([start, end]), np.array([centre, centre]), cw, ch)
    cx = (boxes[:, 0] + boxes[:, 2] / 2) * w
    idx = np.flatnonzero(seen)
    # Hold the nearest seen face across the samples without one.
    nearest = idx[np.abs(np.arange(len(times))[:, None] - idx[None, :]).argmin(axis=1)]
    cx = cx[nearest]
    step = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    k = max(1, int(round(SMOOTH_S / step)) | 1)
    pad = np.concatenate([np.repeat(cx[:1], k // 2), cx, np.repeat(cx[-1:], k // 2)])
    smooth = np.convolve(pad, np.ones(k) / k, mode="valid")
    left = smooth - cw / 2.0
    # A face that fits must lie inside the window at its sample.
    for i in idx:
        x0, bw = boxes[i, 0] * w, boxes[i, 2] * w
        if bw <= cw:
            left[i] = min(max(left[i], x0 + bw - cw), x0)
        else:  # wider than the window: the window stays on the face
            left[i] = min(max(left[i], x0), x0 + bw - cw)
    left = np.clip(left, 0, w - cw)
    return CropPath(times, left, cw, ch)


def keyframe_times(path: str | os.PathLike) -> np.ndarray:
    with _open(Path(path)) as c:
        vs = c.streams.video[0]
        start = vs.start_time or 0
        return np.array([(k - start) * vs.time_base for k in _keyframe_pts(vs)], float)


def can_copy(path: str | os.PathLike, start: float, fps: float) -> bool:
    keys = keyframe_times(path)
    half = 0.5 / fps if fps else 0.02
    return bool(keys.size) and float(np.min(np.abs(keys - start))) <= half


def cut_clip(src: str | os.PathLike, dst: str | os.PathLike, start: float, end: float, *,
             crop: Optional[CropPath] = None, copy: Optional[bool] = None,
             burn: Sequence[tuple[float, float, str]] = ()) -> str:
    """Write [start, end) of `src` to `dst` (mp4, atomically). Returns "copy" or "encode", the way it was cut.

    `copy` None: stream copy when possible (see the module docstring); False forces re-encoding. `burn`:
    caption cues (start, end, text; seconds from the clip's start) drawn into the picture."""
    with _open(Path(src)) as probe_c:
        vs = probe_c.streams.video[0]
        fps = float(vs.average_rate or vs.guessed_rate or 25)
    if copy is None:
        copy = crop is None and not burn and can_copy(src, start, fps)
    with atomic_file(dst, "wb") as fh:
        if copy:
            _copy(src, fh, start, end)
        else:
            _encode(src, fh, start, end, crop, burn)
    return "copy" if copy else "encode"


def _copy(src, fh, start: float, end: float) -> None:
    with _open(Path(src)) as c, av.open(fh, "w", format="mp4") as out:
        streams = [s for s in (c.streams.video[:1] + c.streams.audio[:1])]
        outs = {s.index: out.add_stream_from_template(s) for s in streams}
        c.seek(int(max(0.0, start - 0.5) * 1_000_000), backward=True)
        shift = {s.index: int(round(start / s.time_base)) + (s.start_time or 0) for s in streams}
        done: set[int] = set()
        for p in c.demux(*streams):
            if p.dts is None or p.pts is None:
                continue
            t = float((p.pts - (p.stream.start_time or 0)) * p.time_base)
            if t < start - 1e-3:
                continue
            if t >= end - 1e-3:
                done.add(p.stream.index)  # a file need not interleave its streams: wait for each to pass
                if len(done) == len(streams):
                    break
                continue
            p.pts -= shift[p.stream.index]
            p.dts -= shift[p.stream.index]
            p.stream = outs[p.stream.index]
            out.mux(p)


def _encode(src, fh, start: float, end: float, crop: Optional[CropPath],
            burn: Sequence[tuple[float, float, str]] = ()) -> None:
    with _open(Path(src)) as c, av.open(fh, "w", format="mp4") as out:
        vin = c.streams.video[0]
        vin.thread_type = "AUTO"
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        w, h = vin.codec_context.width, vin.codec_context.height
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height = (crop.width, crop.height) if crop else (w - w % 2, h - h % 2)
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": CRF, "preset": PRESET}
        ain = c.streams.audio[0] if c.streams.audio else None
        aout = None
        if ain is not None:
            arate = ain.codec_context.sample_rate or 48000
            layout = "mono" if (ain.codec_context.channels or 1) == 1 else "stereo"
            aout = out.add_stream("aac", rate=arate, layout=layout)
        c.seek(int(max(0.0, start) / vin.time_base) + (vin.start_time or 0), stream=vin, backward=True)
        n = 0
        vstart = vin.start_time or 0
        for frame in c.decode(vin):
            if frame.pts is None:
                continue
            t = float((frame.pts - vstart) * vin.time_base)
            if t < start - 0.5 / float(rate):
                continue
            if t >= end - 0.5 / float(rate):
                break
            cue = next((c for c in burn if c[0] <= t - start < c[1]), None)
            if crop is not None or cue is not None:
                img = frame.to_ndarray(format="rgb24")
                if crop is not None:
                    y0 = (img.shape[0] - crop.height) // 2
                    x0 = min(max(0, crop.at(t)), img.shape[1] - crop.width)
                    img = img[y0 : y0 + crop.height, x0 : x0 + crop.width]
                img = np.ascontiguousarray(img[: vout.height, : vout.width])
                if cue is not None:
                    draw_caption(img, cue[2])
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            else:
                frame = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
            frame.pts = n
            frame.time_base = Fraction(1, 1) / rate
            n += 1
            for p in vout.encode(frame):
                out.mux(p)
        for p in vout.encode(None):
            out.mux(p)
        if ain is not None:
            _encode_audio(c, ain, aout, out, start, end)


def _encode_audio(c, ain, aout, out, start: float, end: float) -> None:
    rate = aout.codec_context.sample_rate
    layout = aout.codec_context.layout.name
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    c.seek(int(max(0.0, start - 1.0) / ain.time_base) + (ain.start_time or 0), stream=ain, backward=True)
    chunks, first_t = [], None
    astart = ain.start_time or 0
    for frame in c.decode(ain):
        if frame.pts is None:
            continue
        t = float((frame.pts - astart) * ain.time_base)
        if t >= end:
            break
        if first_t is None:
            first_t = t
        frame.pts = None
        for rf in resampler.resample(frame):
            chunks.append(rf.to_ndarray())
    for rf in resampler.resample(None):
        chunks.append(rf.to_ndarray())
    if not chunks:
        return
    pcm = np.concatenate(chunks, axis=1)
    a = max(0, int(round((start - first_t) * rate)))
    mux_pcm(out, aout, pcm[:, a : a + int(round((end - start) * rate))])


def mux_pcm(out, aout, pcm: np.ndarray) -> None:
    """Encode planar float samples (channels x n, at the stream's rate and layout) into `aout` and mux them."""
    rate, layout = aout.codec_context.sample_rate, aout.codec_context.layout.name
    size = aout.codec_context.frame_size or 1024
    for i in range(0, pcm.shape[1], size):
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, i : i + size], np.float32), format="fltp",
                                        layout=layout)
        af.sample_rate = rate
        af.pts = i
        af.time_base = Fraction(1, rate)
        for p in aout.encode(af):
            out.mux(p)
    for p in aout.encode(None):
        out.mux(p)


# -- captions and edit list ------------------------------------------------------------------------------
_caption_cache: dict = {}


def _caption_image(text: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """White text with a black outline, wrapped to the frame's width: (RGB, alpha 0-1), cached per text."""
    key = (text, width, height)
    if key not in _caption_cache:
        from PIL import Image, ImageDraw, ImageFont

        size = max(12, int(min(width, height) * 0.07))
        font = ImageFont.load_default(size=size)
        words, lines = text.split(), [""]
        for w in words:
            trial = (lines[-1] + " " + w).strip()
            if lines[-1] and font.getlength(trial) > 0.9 * width:
                lines.append(w)
            else:
                lines[-1] = trial
        box_h = int(len(lines) * size * 1.25 + size * 0.5)
        im = Image.new("RGBA", (width, box_h), (0, 0, 0, 0))
        d = ImageDraw.Draw(im)
        for i, line in enumerate(lines):
            x = (width - font.getlength(line)) / 2
            d.text((x, size * 0.25 + i * size * 1.25), line, font=font, fill=(255, 255, 255, 255),
                   stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0, 255))
        a = np.asarray(im)
        if len(_caption_cache) > 64:
            _caption_cache.clear()
        _caption_cache[key] = (a[:, :, :3].astype(np.float32), a[:, :, 3:].astype(np.float32) / 255.0)
    return _caption_cache[key]


def draw_caption(img: np.ndarray, text: str) -> None:
    """Draw `text` into the lower part of an RGB uint8 frame, in place."""
    h, w = img.shape[:2]
    rgb, alpha = _caption_image(text, w, h)
    y0 = max(0, int(h * 0.82) - rgb.shape[0])
    region = img[y0 : y0 + rgb.shape[0]]
    k = region.shape[0]
    region[:] = (region * (1 - alpha[:k]) + rgb[:k] * alpha[:k]).astype(np.uint8)


def can_burn() -> bool:
    try:
        from PIL import ImageFont  # noqa: F401
    except ImportError:
        return False
    return True

def _srt_time(t: float) -> str:
    ms = int(round(max(0.0, t) * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def caption_cues(words: Sequence, start: float, end: float, max_words: int = 7,
                 max_s: float = 3.0) -> list[tuple[float, float, str]]:
    """The words inside [start, end] grouped into caption lines, times from the clip's start."""
    cues: list[tuple[float, float, str]] = []
    line: list = []
    for s, e, w in words:
        if s < start - 0.05 or e > end + 0.05:
            continue
        if line and (len(line) >= max_words or e - line[0][0] > max_s):
            cues.append((line[0][0] - start, line[-1][1] - start, " ".join(x[2].strip() for x in line)))
            line = []
        line.append((s, e, str(w)))
    if line:
        cues.append((line[0][0] - start, line[-1][1] - start, " ".join(x[2].strip() for x in line)))
    return cues


def write_srt(path: str | os.PathLike, cues: Sequence[tuple[float, float, str]]) -> None:
    with atomic_file(path, "w", newline="\n") as fh:
        for i, (a, b, text) in enumerate(cues, 1):
            fh.write(f"{i}\n{_srt_time(a)} --> {_srt_time(b)}\n{text}\n\n")


def _timecode(f: int, fps: int) -> str:
    return f"{f // (3600 * fps):02d}:{f // (60 * fps) % 60:02d}:{f // fps % 60:02d}:{f % fps:02d}"


def write_edl(path: str | os.PathLike, source: str | os.PathLike, spans: Sequence[tuple[float, float]],
              fps: float, title: str = "Clips") -> None:
    """A CMX3600 EDL at the source's whole frame rate (non-drop): one cut event per clip, placed one after
    another on the record timeline. Times are whole frames, so source and record durations agree exactly."""
    tc_fps = max(1, int(round(fps)))
    name = Path(source).name
    lines = [f"TITLE: {title}", "FCM: NON-DROP FRAME", ""]
    rec = 0
    for i, (a, b) in enumerate(spans, 1):
        fa, fb = int(round(a * tc_fps)), int(round(b * tc_fps))
        lines.append(f"{i:03d}  AX       AA/V  C        {_timecode(fa, tc_fps)} {_timecode(fb, tc_fps)} "
                     f"{_timecode(rec, tc_fps)} {_timecode(rec + fb - fa, tc_fps)}")
        lines.append(f"* FROM CLIP NAME: {name}")
        lines.append("")
        rec += fb - fa
    with atomic_file(path, "w", newline="\n") as fh:
        fh.write("\n".join(lines))


def check_encoders() -> None:
    for name in ("libx264", "aac"):
        try:
            av.codec.Codec(name, "w")
        except Exception:
            raise EngineError(f"this FFmpeg build has no {name} encoder; reinstall PyAV (pip install av)") from None

