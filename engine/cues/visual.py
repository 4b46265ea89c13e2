"""Picture cues from small sampled frames: shot cuts, motion, brightness, colourfulness.

Numpy only. The colour conversions reproduce OpenCV's 8-bit ones bit for bit (cvtColor RGB2GRAY and
RGB2HSV, fixed point with 15- and 12-bit shifts), so the cues read the same as when they were computed with
OpenCV (tests/test_visual_numpy.py compares them); leaving OpenCV out keeps the frozen app 120 MB smaller.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..media import SampledFrame
from .haar import rgb_to_grey  # OpenCV's RGB2GRAY, bit for bit (the face cue uses it too)

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


class FeatureRows:
    """frame_features a frame at a time (add each, in time order, then features()), so that the work can be
    done while later frames decode."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, f: SampledFrame) -> None:
        img = f.image
        h = hsv_histogram(img)
        g = grey(img)
        self.rows.append((f.time_s, h / max(1.0, float(h.sum())), g, area_resize(g, 16, 16), float(g.mean()),
                          colourfulness(img)))

    def features(self) -> FrameFeatures:
        n = len(self.rows)
        hists = np.zeros((n, int(np.prod(HIST_BINS))), np.float32)
        grids = np.zeros((n, 16, 16), np.float32)
        for i, row in enumerate(self.rows):
            hists[i], grids[i] = row[1], row[3]
        times = np.array([r[0] for r in self.rows], float)
        luma = np.array([r[4] for r in self.rows], float)
        colour = np.array([r[5] for r in self.rows], float)
        return FrameFeatures(times, hists, grids, [r[2] for r in self.rows], luma, colour)


def frame_features(frames: Sequence[SampledFrame]) -> FrameFeatures:
    rows = FeatureRows()
    for f in frames:
        rows.add(f)
    return rows.features()


def grey(img: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1], float32."""
    return rgb_to_grey(img).astype(np.float32) * (1.0 / 255.0)


@lru_cache(maxsize=1)
def _hsv_tables() -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's division tables for 8-bit RGB->HSV (hue range 180): round((255 << 12) / v), round((180 << 12)
    / (6 d)), 0 for 0."""
    i = np.arange(256, dtype=np.float64)
    with np.errstate(divide="ignore"):
        sdiv = np.where(i > 0, np.round((255 << 12) / i), 0).astype(np.int64)
        hdiv = np.where(i > 0, np.round((180 << 12) / (6.0 * i)), 0).astype(np.int64)
    return sdiv, hdiv


def _hsv_planes(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sdiv, hdiv = _hsv_tables()
    rgb = img.reshape(-1, 3).astype(np.int32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    v = np.maximum(np.maximum(r, g), b)
    diff = v - np.minimum(np.minimum(r, g), b)
    s = (diff * sdiv[v] + (1 << 11)) >> 12
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * hdiv[diff] + (1 << 11)) >> 12
    h += 180 * (h < 0)
    return h, s, v


def rgb_to_hsv_u8(img: np.ndarray) -> np.ndarray:
    """RGB uint8 -> HSV uint8 (H 0-179, S and V 0-255) as OpenCV's cvtColor(RGB2HSV)."""
    return np.stack(_hsv_planes(img), axis=-1).astype(np.uint8).reshape(img.shape)


@lru_cache(maxsize=4)
def _bin_tables(bins: tuple[int, int, int]) -> list[np.ndarray]:
    # OpenCV's calcHist lookup: floor(value * bins / range) computed in double (45 * 16/180 falls in bin 3)
    return [np.minimum(np.floor(np.arange(256) * (n / top)), n - 1).astype(np.int32)
            for n, top in zip(bins, (180, 256, 256))]


@lru_cache(maxsize=4)
def _joint_bin_tables(bins: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """_hsv_planes' arithmetic and the bin lookups folded into two tables: the hue bin's share of the joint bin
    by (hue numerator + 255, max - min), and the saturation and value bins' share by (max, max - min); each
    flattened, 256 to a row (1.6 MB together)."""
    sdiv, hdiv = _hsv_tables()
    th, ts, tv = _bin_tables(bins)
    d = np.arange(256, dtype=np.int32)[None, :]
    v = np.arange(256, dtype=np.int32)[:, None]
    s = np.minimum((d * sdiv.astype(np.int32)[v] + (1 << 11)) >> 12, 255)  # rows past d > v are never looked up
    sv = (ts[s] * bins[2] + tv[v]).astype(np.int32).ravel()
    n = np.arange(-255, 5 * 255 + 1, dtype=np.int32)[:, None]  # g - b, b - r + 2 d or r - g + 4 d (< 2^31 below)
    h = (n * hdiv.astype(np.int32)[d] + (1 << 11)) >> 12
    h[h < 0] += 180
    hb = (th[np.clip(h, 0, 255)] * (bins[1] * bins[2])).astype(np.int32).ravel()  # impossible (n, d) clipped
    return hb, sv


def _hist_bins(img: np.ndarray, bins: tuple[int, int, int] = HIST_BINS) -> np.ndarray:
    """Each pixel's joint HSV bin (flattened), as _hsv_planes and _bin_tables give it, through
    _joint_bin_tables: a third less time on the 128 px cut frames."""
    hb, sv = _joint_bin_tables(tuple(bins))
    rgb = img.reshape(-1, 3).astype(np.int32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    v = np.maximum(np.maximum(r, g), b)
    diff = v - np.minimum(np.minimum(r, g), b)
    n = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    return hb[(n + 255) * 256 + diff] + sv[v * 256 + diff]


def hsv_histogram(img: np.ndarray, bins: tuple[int, int, int] = HIST_BINS) -> np.ndarray:
    """Joint HSV histogram (counts, flattened) of an RGB uint8 image, as OpenCV's calcHist over the ranges
    [0, 180) x [0, 256) x [0, 256) with uniform bins."""
    return np.bincount(_hist_bins(img, bins), minlength=int(np.prod(bins))).astype(np.float32)


@lru_cache(maxsize=16)
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """n_out x n_in matrix: each output cell averages the input cells it covers, weighted by the overlap."""
    scale = n_in / n_out
    edges = np.arange(n_out + 1) * scale
    lo, hi = edges[:-1, None], edges[1:, None]
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0.0, None)
    weights = (overlap / scale).astype(np.float64)
    weights.flags.writeable = False  # kept for the next frame of the size
    return weights


def area_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink a 2-D float image by area averaging (OpenCV's INTER_AREA for downscaling), float32."""
    wy = _area_weights(img.shape[0], height)
    wx = _area_weights(img.shape[1], width)
    return (wy @ img.astype(np.float64) @ wx.T).astype(np.float32)


def colourfulness(img: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an RGB uint8 image: about 0 for grey, 15
    slightly, 33 moderately, 45 averagely, 59 quite, 82 highly, 109 extremely colourful."""
    rgb = img.reshape(-1, 3).astype(np.float32)
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def median(values) -> float:
    """np.median of a non-empty sequence of finite numbers, the same value, without importing numpy.ma
    (np.median's NaN check does, about 12 ms of a cold `score`)."""
    s = np.sort(np.asarray(values).ravel())
    k = s.size // 2
    return float(s[k] if s.size % 2 else np.mean(s[k - 1 : k + 1]))


def _local_median(x: np.ndarray, i: int, k: int) -> float:
    lo, hi = max(0, i - k), min(len(x), i + k + 1)
    others = np.concatenate([x[lo:i], x[i + 1 : hi]])
    return median(others) if others.size else 0.0


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
    return Cuts(cuts_from_changes(mids, dist, pix), mids, dist, pix)


def cuts_from_changes(mids: np.ndarray, dist: np.ndarray, pix: np.ndarray) -> list[float]:
    """The cut times among consecutive sample pairs, given per pair its midpoint, histogram distance and
    grid change (detect_cuts' rule; the clip finder streams these numbers instead of keeping frames)."""
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
    return cuts


def motion(greys: Sequence[np.ndarray], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute grey-level change between consecutive distinct frames (0-1), with pair midpoints."""
    out_t, out_v = [], []
    for i in range(1, len(greys)):
        if times[i] - times[i - 1] <= 1e-6 or greys[i].shape != greys[i - 1].shape:
            continue
        out_t.append(0.5 * (times[i] + times[i - 1]))
        out_v.append(float(np.abs(greys[i] - greys[i - 1]).mean()))
    return np.array(out_t), np.array(out_v)


def scaled_motion(raw: float) -> float:
    """Map a mean absolute change per 0.1 s onto 0-1 (saturating)."""
    return float(1.0 - np.exp(-max(0.0, raw) / MOTION_SCALE))
