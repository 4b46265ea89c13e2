"""Media stage: probe a file, decode sampled frames, decode the audio to mono float32.

PyAV does the decoding. Frames are reached by seeking only when a keyframe lies between the
current decode position and the next target; otherwise decoding forward is cheaper (measured:
seeking to every target is 4-6x slower than this on the shared clips).
"""
from __future__ import annotations

import bisect
import errno
import math
import os
import queue
import stat
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import CorruptMedia, FileMissing, FileUnreadable, MediaError, NotAVideo
from .runtime import thread_budget

#: What counts as a video by name: the one list `score`, `batch`, the importers and the window's file dialogs
#: use. Anything else in a folder is counted as "not a video by name".
VIDEO_EXTENSIONS = frozenset(
    ".mp4 .mov .m4v .mkv .webm .avi .3gp .mts .m2ts .ts .mpg .mpeg .wmv .flv .ogv .gif".split()
)


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class MediaInfo:
    """What probe() learns about a file. width/height are the displayed size, after rotation."""

    path: str
    size_bytes: int
    container: str
    duration_s: float
    fps: float
    frame_count: int  # from the container, or estimated from duration x fps
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # degrees counter-clockwise applied for display: 0, 90, 180 or 270
    codec: str
    audio_streams: tuple[AudioStreamInfo, ...] = field(default_factory=tuple)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)

    @property
    def aspect(self) -> float:
        """Height over width of the displayed picture (1.78 for a 9:16 phone video)."""
        return self.height / self.width if self.width else 0.0


@dataclass(frozen=True)
class SampledFrame:
    requested_s: float  # the time asked for
    time_s: float  # the time of the frame that was decoded
    max_side: int
    image: np.ndarray  # RGB uint8, H x W x 3, display orientation


@dataclass
class SharedPass:
    """What other users of a file want from the one pass that measures its content cues (engine.cues.measure_cues
    with also=): more frames (the frames a model embeds, a window's preview strip) and the whole sound, so that a
    job decodes its file once. measure_cues fills `frames` (in request order) and `pcm` (mono float32 at 16 kHz,
    empty when the file has no sound), and calls on_frames(frames) as soon as they are decoded."""

    requests: list = field(default_factory=list)  #: (time in seconds, max_side), as sample_frames takes them
    audio: bool = False  #: keep the decoded sound in `pcm`
    on_frames: Optional[Callable[[list], None]] = None
    frames: list = field(default_factory=list)
    pcm: Optional[np.ndarray] = None


def _name(path: Path) -> str:
    return path.name or str(path)


def not_regular_reason(path: str | os.PathLike) -> Optional[str]:
    """Why `path` is not a regular file that could be a video (a named pipe, a device, a socket, a broken
    link), or None when it is one or is a folder. Looks only at its status, so a pipe never blocks."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "is a broken symbolic link" if os.path.islink(path) else None
    except OSError:
        return None  # reported when it is opened
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    via = f" (a link to {os.path.realpath(path)})" if os.path.islink(path) else ""
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    return f"is {kind}{via}, not a video file"


def _check_file(path: Path) -> int:
    """Fail early, with a plain message, on the file-system problems a user can fix."""
    odd = not_regular_reason(path)
    if odd:
        raise NotAVideo(f"{path}: {odd}")
    if not path.exists():
        raise FileMissing(f"{path}: no such file")
    if path.is_dir():
        raise NotAVideo(f"{path}: is a folder, not a video (use 'batch' for folders)")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise FileUnreadable(f"{path}: permission denied; check the file's read permission") from None
    except OSError as exc:
        raise FileUnreadable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise CorruptMedia(f"{_name(path)}: the file is empty (0 bytes); was the copy or download interrupted?")
    return size


def _open(path: Path) -> "av.container.InputContainer":
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.PermissionError:
        raise FileUnreadable(f"{path}: permission denied; check the file's read permission") from None
    except (av.error.InvalidDataError, av.error.EOFError):
        raise CorruptMedia(
            f"{_name(path)}: not a video file FFmpeg can read (damaged, truncated or another kind of file)"
        ) from None
    except av.error.FFmpegError as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            raise FileMissing(f"{path}: no such file") from None
        raise CorruptMedia(f"{_name(path)}: cannot be opened as a video ({exc.strerror or exc})") from None


def _video_stream(container, path: Path):
    if not container.streams.video:
        if container.streams.audio:
            raise NotAVideo(f"{_name(path)}: has sound but no picture; is it an audio file?")
        raise NotAVideo(f"{_name(path)}: holds no video stream")
    return container.streams.video[0]


def _norm_rotation(deg: float) -> int:
    return int(round((deg or 0) / 90.0)) % 4 * 90


def _stream_duration(container, vs) -> float:
    if vs.duration is not None and vs.time_base:
        d = float(vs.duration * vs.time_base)
        if d > 0:
            return d
    if container.duration:
        return container.duration / 1_000_000.0
    return 0.0


def _first_frame(container, vs, path: Path):
    try:
        for frame in container.decode(vs):
            return frame
    except av.error.FFmpegError:
        pass
    raise CorruptMedia(f"{_name(path)}: no picture could be decoded; the file is damaged or truncated")


def probe(path: str | os.PathLike) -> MediaInfo:
    """Read a file's streams and decode its first frame.

    Returns MediaInfo with the displayed size (rotation applied). Raises FileMissing,
    FileUnreadable, NotAVideo or CorruptMedia with a message meant for the user.
    """
    path = Path(path)
    size = _check_file(path)
    with _open(path) as container:
        vs = _video_stream(container, path)
        cc = vs.codec_context
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else 0.0
        duration = _stream_duration(container, vs)
        frame_count = int(vs.frames or 0) or int(round(duration * fps))
        # One frame: starting the decoder's threads costs more than they save (11.3 against 12.7 ms a probe)
        vs.thread_type, vs.thread_count = "NONE", 1
        first = _first_frame(container, vs, path)
        rotation = _norm_rotation(getattr(first, "rotation", 0))
        coded_w, coded_h = first.width, first.height
        if frame_count <= 1 and duration * fps < 1.5:
            raise MediaError(
                f"{_name(path)}: holds a single frame, a still picture rather than a video"
            )
        if duration <= 0:
            raise CorruptMedia(f"{_name(path)}: the file does not say how long it is; it is probably damaged")
        w, h = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
        sar = vs.sample_aspect_ratio
        if sar and sar != 1 and sar > 0:
            # Non-square pixels: the displayed width differs from the coded one.
            if rotation in (90, 270):
                h = int(round(h * float(sar)))
            else:
                w = int(round(w * float(sar)))
        audio = tuple(
            AudioStreamInfo(
                codec=a.codec_context.name,
                channels=int(a.codec_context.channels or 0),
                sample_rate=int(a.codec_context.sample_rate or 0),
            )
            for a in container.streams.audio
        )
        return MediaInfo(
            path=str(path),
            size_bytes=size,
            container=container.format.name,
            duration_s=duration,
            fps=fps,
            frame_count=frame_count,
            width=w,
            height=h,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation=rotation,
            codec=cc.name,
            audio_streams=audio,
        )


#: see iter_frames: how many frames a keyframe's presentation may trail its decoding time
KEYFRAME_GUARD_FRAMES = 4


def _keyframe_pts(vs) -> list[int]:
    """Keyframe timestamps from the container's index (mp4/mov/mkv with cues); [] if unknown."""
    try:
        entries = vs.index_entries
        return sorted(e.timestamp for e in entries if e.is_keyframe)
    except Exception:  # containers without an index
        return []


def _scaled_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(w, h))
    # Even sizes keep swscale on its fast paths.
    return max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)


def _to_rgb(frame, max_side: int, rotation: int, interpolation: Optional[str] = None,
            reformatter: Optional[VideoReformatter] = None) -> np.ndarray:
    """The frame as RGB, its longer side at most max_side; `interpolation` a swscale name (PyAV's default is
    BILINEAR). A `reformatter` kept for frames of one size (see _Converter) saves setting up swscale for each."""
    w, h = _scaled_size(frame.width, frame.height, max_side)
    kw = {"interpolation": interpolation} if interpolation else {}
    if reformatter is None:
        img = frame.to_ndarray(width=w, height=h, format="rgb24", **kw)
    else:
        img = reformatter.reformat(frame, width=w, height=h, format="rgb24", threads=1, **kw).to_ndarray()
    if rotation:
        img = np.ascontiguousarray(np.rot90(img, k=rotation // 90))
    return img


class _Converter:
    """_to_rgb for the frames of one pass, with one swscale context per output size, used by one thread at a
    time. frame.to_ndarray makes a new context (and a pool of scaling threads) for every frame: measured on the
    shared clips, 0.99 ms a frame at 128 px against 0.27 ms with a kept context, the very same pixels."""

    def __init__(self, rotation: int) -> None:
        self.rotation = rotation
        self._reformatters: dict[int, VideoReformatter] = {}

    def __call__(self, frame, max_side: int) -> np.ndarray:
        r = self._reformatters.get(max_side)
        if r is None:
            r = self._reformatters[max_side] = VideoReformatter()
        return _to_rgb(frame, max_side, self.rotation, reformatter=r)


#: a sampled time whose nearest decodable frame is further away than this lies in an undecodable stretch
GAP_S = 0.5


def total_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """The length of the union of (start, end) intervals, in seconds."""
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def sample_frames(
    path: str | os.PathLike,
    requests: Sequence[tuple[float, int]],
    *,
    info: Optional[MediaInfo] = None,
    gaps: Optional[list[tuple[float, float]]] = None,
    skip_nonref: bool = False,
) -> list[SampledFrame]:
    """Decode the frames nearest to the given times, each scaled so its longer side is at most max_side.

    `requests` is a list of (time in seconds, max_side); the same time may appear with several sizes
    and is decoded once. Returns SampledFrames in request order. Raises CorruptMedia when the file
    ends before the last requested time (a truncated download). See iter_frames for `skip_nonref` and `gaps`.
    """
    out: list[Optional[SampledFrame]] = [None] * len(requests)
    for i, frame in iter_frames(path, requests, info=info, gaps=gaps, skip_nonref=skip_nonref):
        out[i] = frame
    return [f for f in out if f is not None]


def _read_ahead(items: Iterator, depth: int) -> Iterator:
    """`items`, produced in a helper thread up to `depth` ahead of the consumer: iter_frames decodes in it while
    its caller converts and measures the frames already decoded, so the decoder's own threads never wait for
    the caller (PyAV releases the GIL while it decodes and scales). The helper's error is raised here, in
    order; closing this generator stops the helper and waits for it, so the file can be closed after."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def run() -> None:
        try:
            for item in items:
                out.put((item, None))
                if stop.is_set():
                    return
            out.put((done, None))
        except BaseException as exc:  # handed to the consumer in order
            out.put((done, exc))
        finally:
            items.close()

    helper = threading.Thread(target=run, name="media-decode", daemon=True)
    helper.start()
    try:
        while True:
            item, error = out.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while helper.is_alive():  # unblock its put; it stops after the item in hand
            try:
                out.get(timeout=0.05)
            except queue.Empty:
                pass
        helper.join()


#: skip_nonref reads every packet's timestamp first (_chosen_pts) only when the requested times are on average at
#: most this far apart (seconds), so that decoding reads about the whole file anyway; sparser requests (a long
#: video's) seek past most of it, and reading all of it first could cost more than the frames it saves
EXACT_SKIP_MAX_GAP_S = 1.0
#: frames whose times lie this close (seconds) to the half-frame boundary count as candidates on both sides of it
_TIME_ROUNDING_S = 1e-6


def _chosen_pts(container, vs, targets: Sequence[float], half: float) -> Optional[set[int]]:
    """The timestamps of the frames iter_frames chooses for `targets` (for each, the first frame shown at or after
    half a frame before it; the last frame for a target past the end), from the packets' timestamps, read without
    decoding (a few milliseconds a clip); None when a packet has none or the file cannot be read to its end."""
    pts: list[int] = []
    try:
        for packet in container.demux(vs):
            if packet.pts is None:
                if packet.size:
                    return None
                continue  # the empty packet that ends the stream
            pts.append(packet.pts)
    except av.error.FFmpegError:
        return None
    if not pts:
        return None
    pts.sort()
    tb = vs.time_base
    times = [float(p) * tb.numerator / tb.denominator for p in pts]  # as PyAV's frame.time
    chosen = {pts[-1]}
    for t in targets:
        j = bisect.bisect_left(times, t - half - _TIME_ROUNDING_S)
        chosen.update(pts[j : j + (2 if j < len(times) and times[j] < t - half + _TIME_ROUNDING_S else 1)])
    return chosen


def iter_frames(
    path: str | os.PathLike,
    requests: Sequence[tuple[float, int]],
    *,
    info: Optional[MediaInfo] = None,
    gaps: Optional[list[tuple[float, float]]] = None,
    skip_nonref: bool = False,
    ahead: int = 0,
) -> Iterator[tuple[int, SampledFrame]]:
    """sample_frames as it decodes: yields (index into `requests`, SampledFrame) in time order, so that
    work on the first frames can start while the later ones are decoded.

    A damaged stretch in the middle is skipped: a time inside it gets the next frame that decodes. When
    `gaps` is given, each such (requested time, time of the frame given instead) is appended to it.

    With `skip_nonref` the decoder skips the frames that no other frame is predicted from (most
    B-frames: about half the frames of a phone clip) except the frames the requested times choose, which
    it decodes as usual: since nothing depends on a skipped frame, every frame returned is the very frame,
    pixel for pixel, that a full decode returns, for a quarter to a third less decoding when the requests
    are a few frames apart (the 0.2 s cut grid). The choice is made per packet, before it is decoded, from
    its timestamp: the packets' timestamps are read first (_chosen_pts) where the requests are dense
    (EXACT_SKIP_MAX_GAP_S); elsewhere, or where they cannot be read, every frame within a frame of a requested
    time is decoded; after a damaged packet, everything. Decoders without such
    frames decode everything as before. (The deblocking filter is never skipped, skip_loop_filter: it would
    save a sixth of the decoding but moves the pixels of every frame up to the next keyframe; measured on the
    shared clips, the face recall of the hand-made boxes fell from 84% to 72% with the 8-bit face model and frame
    embeddings' cosine to 0.58: benchmarks/bench_decode.py --effects.)

    With `ahead` > 0 the file is decoded in a helper thread, up to `ahead` chosen frames before the caller's
    loop (see _read_ahead); the frames, their order and the errors raised are the same.
    """
    path = Path(path)
    if info is None:
        info = probe(path)
    if not requests:
        return
    by_time: dict[float, list[int]] = {}
    for i, (t, _) in enumerate(requests):
        by_time.setdefault(min(max(0.0, float(t)), info.duration_s), []).append(i)
    targets = sorted(by_time)

    convert = _Converter(info.rotation)
    with _open(path) as container:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        cc = vs.codec_context
        vs.thread_count = thread_budget()  # 0: one per core; a parallel worker's share of them
        tb = vs.time_base or Fraction(1, 1000)
        start = vs.start_time or 0
        keys = _keyframe_pts(vs)
        half = 0.5 / info.fps if info.fps else 0.02
        frames: Optional[Iterator] = None
        last = None  # last decoded frame
        last_pts = None
        # a packet whose frame could be chosen for a target t (the first frame at or after t - half) is decoded
        # in full: when every packet's timestamp is known (read before decoding, see _chosen_pts) just the frames
        # the targets choose; else those shown from t - 2 half to t + 2 half, a frame's margin on each side
        wanted = [(start + int((t - 2 * half) / tb), start + int((t + 2 * half) / tb)) for t in targets]
        wanted_ends = [b for _, b in wanted]
        chosen_pts: Optional[set[int]] = None
        damaged = False

        def needed(pts) -> bool:
            if pts is None or damaged:
                return True
            if chosen_pts is not None:
                return pts in chosen_pts
            i = bisect.bisect_left(wanted_ends, pts)
            return i < len(wanted) and wanted[i][0] <= pts

        def decoded() -> Iterator:
            nonlocal damaged
            for packet in container.demux(vs):
                if skip_nonref:
                    cc.skip_frame = "DEFAULT" if needed(packet.pts) else "NONREF"
                try:
                    yield from packet.decode()
                except av.error.InvalidDataError:
                    damaged = True  # the frame after a damaged one is whichever decodes next: skip nothing more
                    continue  # a damaged packet: skip it, later frames may still decode

        # The index gives keyframes' decoding times, which run a few frames ahead of their presentation times
        # (B-frames); FFmpeg seeks by presentation time. A keyframe is only sought when it starts at least
        # `guard` before the target, or the seek would land on the keyframe before it (often the first frame).
        guard = int(KEYFRAME_GUARD_FRAMES * 2 * half / tb)
        def picked() -> Iterator[tuple[float, object]]:
            """(target time, the decoded frame chosen for it), in time order."""
            nonlocal frames, last, last_pts, chosen_pts
            if skip_nonref and len(targets) * EXACT_SKIP_MAX_GAP_S >= info.duration_s:
                chosen_pts = _chosen_pts(container, vs, targets, half)
            for t in targets:
                target_pts = start + int(t / tb)
                if last is not None and last.time is not None and last.time >= t - half:
                    # the frame in hand is already the first one at or after t - half (a target within a frame of
                    # the previous one): going back for it would decode from the keyframe again
                    chosen = last
                else:
                    must_seek = frames is None or last_pts is None or target_pts < last_pts
                    if not must_seek and keys:
                        i = bisect.bisect_right(keys, last_pts)
                        must_seek = i < len(keys) and keys[i] <= target_pts - guard
                    elif not must_seek:
                        must_seek = (target_pts - last_pts) * tb > 2.0
                    if must_seek:
                        container.seek(target_pts, stream=vs, backward=True, any_frame=False)
                        frames = decoded()
                        last = None
                    chosen = None
                while chosen is None:
                    try:
                        frame = next(frames)
                    except StopIteration:
                        break
                    except av.error.FFmpegError:
                        break
                    if frame.time is None:
                        continue
                    last, last_pts = frame, frame.pts
                    if frame.time >= t - half:
                        chosen = frame
                if chosen is None:
                    if last is None or (last.time or 0) < t - max(1.0, 4 * half) - 0.5:
                        got = f"{last.time:.1f} s" if last is not None and last.time is not None else "the start"
                        raise CorruptMedia(
                            f"{_name(path)}: the picture stops at {got} of {info.duration_s:.1f} s;"
                            " the file is truncated or damaged"
                        )
                    chosen = last  # the final frame, a hair before the requested end time
                if gaps is not None and chosen.time > t + max(GAP_S, 4 * half):
                    gaps.append((t, float(chosen.time)))
                yield t, chosen

        chosen_frames = _read_ahead(picked(), ahead) if ahead > 0 else picked()
        try:
            for t, chosen in chosen_frames:
                for i in by_time[t]:
                    max_side = int(requests[i][1])
                    yield i, SampledFrame(
                        requested_s=float(requests[i][0]),
                        time_s=float(chosen.time),
                        max_side=max_side,
                        image=convert(chosen, max_side),
                    )
        finally:
            chosen_frames.close()  # stops the decoding thread before the file is closed


def audio_pieces(path: str | os.PathLike, rate: int = 16000, piece_s: float = 30.0,
                 start_s: float = 0.0, gaps: Optional[list[tuple[float, float]]] = None) -> Iterator[np.ndarray]:
    """Decode the first audio stream from `start_s`, down-mixed to mono float32 at `rate` Hz (samples in
    [-1, 1]), in pieces of `piece_s` seconds (the last one shorter), so that hours of sound never sit in memory
    at once.

    Yields nothing when the file has no audio. A damaged packet is left out (the sound that follows still
    decodes) and, when `gaps` is given, its (start, end) in seconds is appended to it. Stops quietly at a
    damaged tail (the video side reports truncation)."""
    path = Path(path)
    _check_file(path)
    with _open(path) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        stream.thread_count = thread_budget()
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        tb = float(stream.time_base or Fraction(1, rate))
        size = max(1, int(piece_s * rate))
        chunks: list[np.ndarray] = []
        held = 0
        skip = 0 if start_s <= 0 else None  # samples before start_s, known from the first frame's time
        if start_s > 0:
            container.seek(int(start_s / stream.time_base) + (stream.start_time or 0), stream=stream, backward=True)

        def take(frames) -> None:
            nonlocal held, skip
            for rf in frames:
                arr = rf.to_ndarray().reshape(-1)
                if skip:
                    arr, skip = arr[skip:], max(0, skip - arr.size)
                chunks.append(arr)
                held += arr.size

        try:
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:
                    if gaps is not None and packet.pts is not None:
                        gaps.append((packet.pts * tb, (packet.pts + (packet.duration or 0)) * tb))
                    continue
                for frame in decoded:
                    if skip is None:
                        first = float(frame.time) if frame.time is not None else start_s
                        skip = max(0, int(round((start_s - first) * rate)))
                    frame.pts = None  # let the resampler keep its own clock across gaps
                    take(resampler.resample(frame))
                while held >= size:
                    pcm = np.concatenate(chunks)
                    chunks, held = [pcm[size:]], pcm.size - size
                    yield np.clip(pcm[:size].astype(np.float32, copy=False), -1.0, 1.0)
            take(resampler.resample(None))
        except av.error.FFmpegError:
            pass
        if held:
            yield np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)


def decode_audio(
    path: str | os.PathLike, rate: int = 16000, max_seconds: Optional[float] = None,
    gaps: Optional[list[tuple[float, float]]] = None,
) -> np.ndarray:
    """Decode the first audio stream, down-mixed to mono float32 at `rate` Hz, samples in [-1, 1]: audio_pieces,
    joined (up to `max_seconds`).

    Returns an empty array when the file has no audio. A damaged packet is left out (the sound that
    follows still decodes) and, when `gaps` is given, its (start, end) in seconds is appended to it.
    Stops quietly at a damaged tail (the video side reports truncation).
    """
    limit = int(max_seconds * rate) if max_seconds else None
    chunks: list[np.ndarray] = []
    total = 0
    for piece in audio_pieces(path, rate, piece_s=min(max_seconds or 60.0, 60.0), gaps=gaps):
        chunks.append(piece)
        total += piece.size
        if limit is not None and total >= limit:
            break
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return audio[:limit] if limit is not None else audio


def is_video_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
