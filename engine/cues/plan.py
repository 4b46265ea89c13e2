"""Which frames the cues need: one list of (time, max_side) requests, decoded in one pass.

Each purpose gets its own series of times and its own size; a time asked for at several sizes is
decoded once by engine.media.sample_frames, and identical (time, size) pairs are asked for once.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..media import MediaInfo

#: cut and motion series: one small frame every CUT_STEP_S seconds...
CUT_STEP_S = 0.2
#: ...but never more than this many (long videos are sampled more coarsely)
MAX_CUT_SAMPLES = 600
CUT_SIDE = 128
#: the hook: the first HOOK_S seconds, sampled densely for motion
HOOK_S = 3.0
HOOK_STEP_S = 0.1
#: faces: a few frames spread over the video at a moderate size (CenterFace finds faces from about 12 px)
FACE_FRAMES = 8
FACE_SIDE = 384
#: on-screen text: a few larger frames (PP-OCR detection needs text a dozen pixels high)
TEXT_SIDE = 640
TEXT_POSITIONS = (0.12, 0.5, 0.85)  # share of the duration; the first is capped at 1.5 s (the hook)


@dataclass(frozen=True)
class FramePlan:
    requests: list[tuple[float, int]]
    cut: list[int]  # indices into requests, in time order
    hook: list[int]
    face: list[int]
    text: list[int]
    cut_step_s: float


def _t(x: float) -> float:
    # Rounded so that series that meet (0.2 s and 0.1 s grids) ask for the very same time.
    return round(x, 3)


def plan_frames(info: MediaInfo) -> FramePlan:
    d = max(0.0, info.duration_s)
    # The last frame starts a frame before the end: keep targets inside the picture.
    end = max(0.0, d - (1.0 / info.fps if info.fps else 0.04))
    index: dict[tuple[float, int], int] = {}
    requests: list[tuple[float, int]] = []

    def ask(t: float, side: int) -> int:
        key = (_t(min(max(0.0, t), end)), side)
        if key not in index:
            index[key] = len(requests)
            requests.append(key)
        return index[key]

    n_cut = int(end / CUT_STEP_S) + 1
    step = CUT_STEP_S
    if n_cut > MAX_CUT_SAMPLES:
        n_cut, step = MAX_CUT_SAMPLES, end / (MAX_CUT_SAMPLES - 1)
    cut = _unique([ask(i * step, CUT_SIDE) for i in range(n_cut)])
    hook_end = min(HOOK_S, end)
    n_hook = max(2, int(round(hook_end / HOOK_STEP_S)) + 1)
    hook = _unique([ask(min(i * HOOK_STEP_S, hook_end), CUT_SIDE) for i in range(n_hook)])
    face = _unique([ask(d * (i + 0.5) / FACE_FRAMES, FACE_SIDE) for i in range(FACE_FRAMES)])
    text_times = [min(1.5, d * TEXT_POSITIONS[0])] + [d * p for p in TEXT_POSITIONS[1:]]
    text = _unique([ask(t, TEXT_SIDE) for t in text_times])
    return FramePlan(requests=requests, cut=cut, hook=hook, face=face, text=text, cut_step_s=step)


def _unique(ids: list[int]) -> list[int]:
    seen: set[int] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]


def frame_plan(info: MediaInfo) -> list[tuple[float, int]]:
    """The (time_s, max_side) requests the cues need, for engine.media.sample_frames."""
    return plan_frames(info).requests
