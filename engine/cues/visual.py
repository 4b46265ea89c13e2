"""Picture cues from small sampled frames: shot cuts, motion, brightness, colourfulness."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..media import SampledFrame

#: joint HSV histogram bins (hue, saturation, value)
HIST_BINS = (16, 4, 4)
#: a pair of samples is a cut when the histogram distance (0-1, half the L1 distance) exceeds
#: CUT_ABS, or exceeds CUT_LOW and stands CUT_RATIO times above the local median (fast motion
#: raises the distance of every pair around it; a cut raises one pair)
CUT_ABS = 0.45
CUT_LOW = 0.32
CUT_RATIO = 3.0
CUT_LOCAL = 5  # pairs on each side for the local median
#: a transition spread over neighbouring samples (a blur, a fast whip) counts once
CUT_MIN_GAP_S = 0.45
#: jump cuts keep the colours but move everything at once: a large grey-level change on a
#: coarse grid that stands well above the motion around it
JUMP_PIXEL = 0.12
JUMP_RATIO = 4.0
JUMP_HIST_MIN = 0.12
#: the raw hook motion (mean absolute grey difference per 0.1 s, 0-1) at which the scaled value
#: reaches 1 - 1/e. Measured on the shared phone clips: a locked-off beach shot 0.004 (-> 0.1),
#: a mirror selfie 0.022 (-> 0.4), sports and a walking handheld camera 0.055-0.08 (-> 0.75-0.87)
MOTION_SCALE = 0.04


@dataclass(frozen=True)
class FrameFeatures:
    times: np.ndarray  # decoded frame times, s
    hists: np.ndarray  # n x bins, each row sums to 1
    grids: np.ndarray  # n x 16 x 16 grey levels in [0, 1], coarse
    greys: list  # full small grey images in [0, 1] (float32)
    luma: np.ndarray  # mean luma per frame, 0-1
    colourfulness: np.ndarray  # Hasler-Suesstrunk M per frame


def frame_features(frames: Sequence[SampledFrame]) -> FrameFeatures:
    n = len(frames)
    hists = np.zeros((n, int(np.prod(HIST_BINS))), np.float32)
    grids = np.zeros((n, 16, 16), np.float32)
    luma = np.zeros(n)
    colour = np.zeros(n)
    greys = []
    for i, f in enumerate(frames):
        img = f.image
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel()
        hists[i] = h / max(1.0, float(h.sum()))
        g = grey(img)
        greys.append(g)
        grids[i] = cv2.resize(g, (16, 16), interpolation=cv2.INTER_AREA)
        luma[i] = float(g.mean())
        colour[i] = colourfulness(img)
    times = np.array([f.time_s for f in frames], float)
    return FrameFeatures(times, hists, grids, greys, luma, colour)


def grey(img: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1], float32."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)


def colourfulness(img: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an RGB uint8 image: about 0 for grey, 15
    slightly, 33 moderately, 45 averagely, 59 quite, 82 highly, 109 extremely colourful."""
    rgb = img.reshape(-1, 3).astype(np.float32)
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _local_median(x: np.ndarray, i: int, k: int) -> float:
    lo, hi = max(0, i - k), min(len(x), i + k + 1)
    others = np.concatenate([x[lo:i], x[i + 1 : hi]])
    return float(np.median(others)) if others.size else 0.0


@dataclass(frozen=True)
class Cuts:
    times: list[float]  # when each cut happens (between two samples), s
    pair_times: np.ndarray  # midpoint of each consecutive pair of samples
    hist_distance: np.ndarray  # per pair, 0-1
    pixel_change: np.ndarray  # per pair, mean absolute grey change on a 16 x 16 grid, 0-1


def detect_cuts(feat: FrameFeatures) -> Cuts:
    """Shot cuts between consecutive samples (a pair whose colours or layout change at once)."""
    t = feat.times
    keep = np.ones(len(t), bool)
    keep[1:] = np.diff(t) > 1e-6  # repeated frames (a low frame rate, the end of the file)
    idx = np.flatnonzero(keep)
    if idx.size < 2:
        return Cuts([], np.zeros(0), np.zeros(0), np.zeros(0))
    h = feat.hists[idx]
    g = feat.grids[idx]
    dist = 0.5 * np.abs(np.diff(h, axis=0)).sum(axis=1)
    pix = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
    mids = 0.5 * (t[idx][1:] + t[idx][:-1])
    cuts: list[float] = []
    for i in range(dist.size):
        d, p = dist[i], pix[i]
        med_d = _local_median(dist, i, CUT_LOCAL)
        med_p = _local_median(pix, i, CUT_LOCAL)
        is_cut = d >= CUT_ABS and d >= 1.5 * med_d
        is_cut = is_cut or (d >= CUT_LOW and d >= CUT_RATIO * med_d)
        is_cut = is_cut or (p >= JUMP_PIXEL and p >= JUMP_RATIO * med_p and d >= JUMP_HIST_MIN)
        if is_cut and not (cuts and mids[i] - cuts[-1] < CUT_MIN_GAP_S):
            cuts.append(float(mids[i]))
    return Cuts(cuts, mids, dist, pix)


def motion(greys: Sequence[np.ndarray], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute grey-level change between consecutive distinct frames (0-1), with pair midpoints."""
    out_t, out_v = [], []
    for i in range(1, len(greys)):
        if times[i] - times[i - 1] <= 1e-6 or greys[i].shape != greys[i - 1].shape:
            continue
        out_t.append(0.5 * (times[i] + times[i - 1]))
        out_v.append(float(cv2.absdiff(greys[i], greys[i - 1]).mean()))
    return np.array(out_t), np.array(out_v)


def scaled_motion(raw: float) -> float:
    """Map a mean absolute change per 0.1 s onto 0-1 (saturating)."""
    return float(1.0 - np.exp(-max(0.0, raw) / MOTION_SCALE))
