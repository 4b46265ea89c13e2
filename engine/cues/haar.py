"""Viola-Jones Haar cascade detection in numpy, a faithful port of cv2.CascadeClassifier.

It reads OpenCV's cascade XML (the "new" format: <stages>, <features>, stump trees) and reproduces
CascadeClassifier.detectMultiScale for HAAR stump cascades such as haarcascade_frontalface_default.xml,
following modules/objdetect/src/cascadedetect.cpp (OpenCV 4.x) step by step:

* the image, not the window, is scaled: one level per factor 1, f, f^2... whose 24 px window fits
  the image, each level the source resized by INTER_LINEAR_EXACT to round(size / factor) (bit exact,
  see resize_linear_exact);
* windows are scanned with a step of 2 px below factor 2 (1 px from 2 on); when a window fails the
  very first stage, the next window of its row is skipped (as OpenCV does);
* each window is normalised by the standard deviation of the window inset by 1 px (a 22x22 square),
  from an integral and a squared integral image; windows whose deviation is 10 grey levels or less
  are rejected outright;
* stumps are evaluated with OpenCV's float32 feature arithmetic and float64 stage sums, so the
  decision for every window is the same as OpenCV's;
* hits are grouped by groupRectangles(min_neighbours, eps=0.2) and clipped to the image.

Also here: the RGB->grey conversion and the histogram equalisation of OpenCV (cvtColor RGB2GRAY,
equalizeHist), bit for bit.

Vectorised over windows: a level's first stages run on every window of its grid at once, with
contiguous arithmetic on parity-split integral images; once few windows survive, the next stages
gather the survivors' integral-image points only, a stage at a time, for the survivors of every level
at once (the levels' integral images share one table with a common row stride, so a stage's point
offsets are the same for all of them). A feature is kept as integer
weights on its distinct corner points (exactly OpenCV's float32 value for integer rectangle weights),
and a stage's leaves are added in float32 by one matrix product, the few windows near the threshold
being added again in order in float64, as OpenCV does.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

# cvtColor(RGB2GRAY) on 8-bit images: 15-bit fixed point, 0.299/0.587/0.114 rounded (sum 32768)
_R2Y, _G2Y, _B2Y, _GREY_SHIFT = 9798, 19235, 3735, 15

GROUP_EPS = 0.2  # detectMultiScale's grouping tolerance
_THRESHOLD_EPS = np.float32(1e-5)  # OpenCV subtracts this from every stage threshold
_MAX_GATHER = 1 << 17  # elements gathered at once when evaluating the surviving windows
# A stage runs on every window of a level (contiguous arithmetic) rather than on the survivors only
# (gathers) while more than _DENSE_SHARE * windows + _DENSE_EXTRA of them are still alive.
_DENSE_SHARE = 0.2
_DENSE_EXTRA = 750


# ---------------------------------------------------------------------------------------------
# Pixels


def rgb_to_grey(image: np.ndarray) -> np.ndarray:
    """cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for an (h, w, 3) uint8 RGB image, bit for bit."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {img.shape} {img.dtype}")
    acc = img[..., 0].astype(np.uint32) * _R2Y
    acc += img[..., 1].astype(np.uint32) * _G2Y
    acc += img[..., 2].astype(np.uint32) * _B2Y
    acc += 1 << (_GREY_SHIFT - 1)
    acc >>= _GREY_SHIFT
    return acc.astype(np.uint8)


def equalize_hist(grey: np.ndarray) -> np.ndarray:
    """cv2.equalizeHist for a 2-D uint8 image, bit for bit (float32 LUT, rounded half to even)."""
    g = np.asarray(grey)
    if g.ndim != 2 or g.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 image, got {g.shape} {g.dtype}")
    if g.size == 0:
        return g.copy()
    hist = np.bincount(g.ravel(), minlength=256).astype(np.int64)
    first = int(np.flatnonzero(hist)[0])
    total = int(g.size)
    if hist[first] == total:
        return np.full_like(g, first)
    scale = np.float32(255.0) / np.float32(total - hist[first])
    lut = np.zeros(256, np.uint8)
    sums = np.cumsum(hist[first + 1 :]).astype(np.float32)  # (float)sum, as the C int * float product
    lut[first + 1 :] = np.clip(np.rint(sums * scale), 0, 255).astype(np.uint8)
    return lut[g]


def _linear_exact_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source taps and 8-bit weights of OpenCV's interpolationLinear (resize_bitExact) on one axis."""
    scale = 1.0 / (dst / src)  # softdouble: correctly rounded double arithmetic, as Python's floats
    f = scale * (np.arange(dst, dtype=np.float64) + 0.5) - 0.5
    i = np.floor(f)
    frac = np.rint((f - i) * 256.0).astype(np.int64)  # ufixedpoint16(softdouble): cvRound(x * 256)
    i = i.astype(np.int64)
    edge = (i < 0) | (i >= src - 1)  # outside: the first or last source pixel alone
    lo = np.where(i < 0, 0, np.where(i >= src - 1, src - 1, i))
    hi = np.minimum(lo + 1, src - 1)
    w1 = np.where(edge, 0, frac)
    return lo, hi, 256 - w1, w1


def resize_linear_exact(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR_EXACT) for 2-D uint8, bit for bit.

    8-bit weights on each axis, 16 fractional bits in all, rounded half up at the end (OpenCV's
    ufixedpoint16/ufixedpoint32 arithmetic). An exact 2x reduction gives the same bytes as OpenCV's
    INTER_AREA shortcut: (a + b + c + d + 2) >> 2.
    """
    h, w = img.shape
    if (width, height) == (w, h):
        return img.copy()
    x0, x1, xa, xb = _linear_exact_taps(w, width)
    y0, y1, ya, yb = _linear_exact_taps(h, height)
    s = img.astype(np.int32)
    rows = s[:, x0] * xa.astype(np.int32) + s[:, x1] * xb.astype(np.int32)
    out = rows[y0] * ya[:, None].astype(np.int32) + rows[y1] * yb[:, None].astype(np.int32)
    out += 1 << 15
    out >>= 16
    return out.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The cascade


@dataclass(frozen=True)
class _Stage:
    threshold: float  # float32 threshold - 1e-5 (float32), compared with a float64 sum
    features: np.ndarray  # (T,) feature index of each stump
    thresholds: np.ndarray  # (T,) float32
    left: np.ndarray  # (T,) float64 leaf when value < threshold
    right: np.ndarray  # (T,) float64 leaf otherwise
    # Gather layout for the surviving windows: stumps sorted by their number of points (most first),
    # then the k-th point of every stump that has one, k = 0, 1...: segment k covers the first
    # segments[k] sorted stumps.
    px: np.ndarray  # (L,) point columns, relative to the window
    py: np.ndarray  # (L,) point rows
    segments: tuple  # (m, ...): segment k covers the first m sorted stumps
    weights: np.ndarray  # (L, 1) int32 weight of each point
    row_of: tuple  # sorted row of each stump, in stump order
    sorted_thresholds: np.ndarray  # (T, 1) float32, thresholds in sorted order
    # Fast stage sums: right_sum + diff @ below in float32, trusted when farther than margin from
    # the threshold (else the sum is redone exactly, in order); diff in stump and in sorted order.
    right_sum: np.float32
    diff: np.ndarray
    sorted_diff: np.ndarray
    margin: float
    offsets: dict  # row stride of the integral-image table -> (L, 1) flat offsets of the points

    def passes(self, below: np.ndarray, rows: Optional[Sequence[int]] = None) -> np.ndarray:
        """Whether each window passes, from below[row of stump t, window] = value_t < threshold_t.

        OpenCV adds the chosen leaves in stump order in float64. A float32 matrix product gives the
        same sum to within margin (a bound on the rounding of both), which decides every window not
        that close to the threshold; those few are summed again exactly as OpenCV does.
        """
        diff = self.diff if rows is None else self.sorted_diff
        approx = self.right_sum + diff @ below.astype(np.float32)
        out = approx >= self.threshold
        unsure = np.flatnonzero(np.abs(approx - np.float32(self.threshold)) <= self.margin)
        if unsure.size:
            b = below[:, unsure] if rows is None else below[list(rows)][:, unsure]
            leaves = np.where(b, self.left[:, None], self.right[:, None])
            out[unsure] = np.cumsum(leaves, axis=0)[-1] >= self.threshold  # in order, as in C
        return out


def _stage(threshold: float, feats: list, thr: list, left: list, right: list, point_lists: list) -> _Stage:
    features = np.asarray(feats, dtype=np.int64)
    order = sorted(range(len(feats)), key=lambda t: -len(point_lists[feats[t]]))
    row_of = [0] * len(feats)
    for r, t in enumerate(order):
        row_of[t] = r
    px, py, weights, segments = [], [], [], []
    k = 0
    while True:
        rows = [t for t in order if len(point_lists[feats[t]]) > k]
        if not rows:
            break
        pts = [point_lists[feats[t]][k] for t in rows]
        px += [p[0] for p in pts]
        py += [p[1] for p in pts]
        weights += [p[2] for p in pts]
        segments.append(len(rows))
        k += 1
    thresholds = np.asarray(thr, dtype=np.float32)
    lf, rt = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    diff = (lf - rt).astype(np.float32)
    # Rounding of the float32 sum (any order, BLAS included) and of the float64 one: both within
    # (T + 2) * 2**-24 * sum|leaves| of the exact sum; four times that is a safe margin.
    margin = 4.0 * (len(feats) + 2) * 2.0**-24 * float(np.abs(lf).sum() + np.abs(rt).sum())
    return _Stage(
        threshold=threshold,
        features=features,
        thresholds=thresholds,
        left=np.asarray(left, dtype=np.float64),
        right=np.asarray(right, dtype=np.float64),
        px=np.asarray(px, dtype=np.int64),
        py=np.asarray(py, dtype=np.int64),
        segments=tuple(segments),
        weights=np.asarray(weights, dtype=np.int32)[:, None],
        row_of=tuple(row_of),
        sorted_thresholds=thresholds[order][:, None],
        right_sum=np.float32(rt.sum()),
        diff=diff,
        sorted_diff=diff[order],
        margin=margin,
        offsets={},
    )


class CascadeError(ValueError):
    """The XML is not a HAAR stump cascade in OpenCV's new format."""


def _floats(text: Optional[str]) -> list[float]:
    return [float(v) for v in (text or "").split()]


class HaarCascade:
    """A HAAR stump cascade read from OpenCV's XML; detect() mirrors detectMultiScale."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            root = ET.parse(self.path).getroot()
        except (OSError, ET.ParseError) as e:
            raise CascadeError(f"cannot read cascade {self.path}: {e}") from e
        node = root.find("cascade") if root.tag != "cascade" else root
        if node is None:
            node = next(iter(root), None)
        if node is None or node.find("stages") is None or node.find("features") is None:
            raise CascadeError(f"{self.path} is not an OpenCV cascade (new format) with <stages> and <features>")
        kinds = ((node.findtext("stageType") or "").strip(), (node.findtext("featureType") or "").strip())
        if kinds != ("BOOST", "HAAR"):
            raise CascadeError(f"{self.path}: only BOOST stages of HAAR features are supported")
        self.window = (int(node.findtext("width") or 0), int(node.findtext("height") or 0))
        if min(self.window) <= 2:
            raise CascadeError(f"{self.path}: bad window size {self.window}")

        # Each feature as integer weights on the integral image: sum_k coef_k * ii[y + py_k, x + px_k].
        # OpenCV computes w0*s0 + w1*s1 (+ w2*s2) in float32 from integer box sums; with integer
        # weights and |value| < 2**24 every step of that is exact, so the integer form gives the very
        # same float32 value.
        points = []
        for feat in node.find("features"):
            if int((feat.findtext("tilted") or "0").strip() or 0):
                raise CascadeError(f"{self.path}: tilted features are not supported")
            rs = [_floats(r.text) for r in feat.find("rects")]
            if not 1 <= len(rs) <= 3 or any(len(r) != 5 for r in rs):
                raise CascadeError(f"{self.path}: bad feature rectangles {rs}")
            coef: dict[tuple[int, int], int] = {}
            bound = 0.0
            for x, y, w, h, wgt in rs:
                wgt = float(np.float32(wgt))
                if wgt != int(wgt):
                    raise CascadeError(f"{self.path}: only integer rectangle weights are supported")
                x, y, w, h = int(x), int(y), int(w), int(h)
                if x < 0 or y < 0 or w < 0 or h < 0 or x + w > self.window[0] or y + h > self.window[1]:
                    raise CascadeError(f"{self.path}: feature rectangle outside the window")
                bound += abs(wgt) * w * h * 255
                for px, py, sign in ((x, y, 1), (x + w, y, -1), (x, y + h, -1), (x + w, y + h, 1)):
                    coef[(px, py)] = coef.get((px, py), 0) + sign * int(wgt)
            if bound >= 2**24:
                raise CascadeError(f"{self.path}: feature values too large for exact float32 arithmetic")
            points.append([(px, py, c) for (px, py), c in coef.items() if c])
        self._point_lists = [[(int(px), int(py), int(c)) for px, py, c in p] for p in points]

        stages = []
        for st in node.find("stages"):
            feats, thr, left, right = [], [], [], []
            for weak in st.find("weakClassifiers"):
                nodes = (weak.findtext("internalNodes") or "").split()
                leaves = _floats(weak.findtext("leafValues"))
                if len(nodes) != 4 or len(leaves) != 2:
                    raise CascadeError(f"{self.path}: only stump trees (one split, two leaves) are supported")
                feats.append(int(nodes[2]))
                thr.append(float(nodes[3]))
                left.append(float(np.float32(leaves[0])))
                right.append(float(np.float32(leaves[1])))
            if not feats or min(feats) < 0 or max(feats) >= len(points):
                raise CascadeError(f"{self.path}: a stage refers to a missing feature")
            threshold = float(np.float32(float(st.findtext("stageThreshold"))) - _THRESHOLD_EPS)
            stages.append(_stage(threshold, feats, thr, left, right, self._point_lists))
        if not stages:
            raise CascadeError(f"{self.path}: no stages")
        self.stages = stages

    # -- one level -------------------------------------------------------------------------

    def _level(self, img: np.ndarray, step: int, ii: np.ndarray) -> tuple:
        """The first stages of one pyramid level, on every window of its grid at once.

        ii is where to write the level's integral image: an (h + 1, w + 1) view, zero in its first row
        and column, of the frame's shared table (one row stride for every level, so that the later
        stages can gather the survivors of all levels at once). Returns the survivors as flat offsets
        of their top-left corners in ii (row stride ii.strides[0]), their float32 normalisation, their
        (x, y) and the index of the first stage still to run on them.
        """
        ww, wh = self.window
        h, w = img.shape
        ny = (h + 1 - wh + step - 1) // step if h + 1 > wh else 0
        nx = (w + 1 - ww + step - 1) // step if w + 1 > ww else 0
        if ny <= 0 or nx <= 0:
            return None
        stride = ii.strides[0] // ii.itemsize
        pix = img.astype(np.int32)
        # int32 integral image (feature sums are formed with wrap-around int32 arithmetic whose results
        # are small, hence exact whatever the image size) and an int64 squared integral.
        np.cumsum(np.cumsum(pix, axis=0, dtype=np.int32), axis=1, dtype=np.int32, out=ii[1:, 1:])
        sq = np.zeros((h + 1, w + 1), np.int64)
        np.cumsum(np.cumsum(pix.astype(np.int64) ** 2, axis=0), axis=1, out=sq[1:, 1:])

        # table[y + py, x + px] for every window (x, y) of the grid is an (ny, nx) slice of the table
        # split by the parity of rows and columns (contiguous rows, faster than strided views).
        def split(table: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
            if step == 1:
                return {(0, 0): table}
            return {(a, b): np.ascontiguousarray(table[a::step, b::step]) for a in range(step) for b in range(step)}

        parts_ii, parts_sq = split(ii), split(sq)

        def at(parts: dict, px: int, py: int) -> np.ndarray:
            qy, ry = divmod(py, step)
            qx, rx = divmod(px, step)
            return parts[(ry, rx)][qy : qy + ny, qx : qx + nx]

        def box(parts: dict, x: int, y: int, bw: int, bh: int) -> np.ndarray:
            return at(parts, x, y) - at(parts, x + bw, y) - at(parts, x, y + bh) + at(parts, x + bw, y + bh)

        # Normalisation over the window inset by 1 px (OpenCV's normrect); flat windows are rejected.
        area = float((ww - 2) * (wh - 2))
        s1 = box(parts_ii, 1, 1, ww - 2, wh - 2).astype(np.float64)
        s2 = box(parts_sq, 1, 1, ww - 2, wh - 2).astype(np.float64)
        nf = area * s2 - s1 * s1
        positive = nf > 0
        vnf = (1.0 / np.sqrt(np.where(positive, nf, 1.0))).astype(np.float32)
        usable = positive & (area * vnf.astype(np.float64) < 0.1)

        views: dict[tuple[int, int], np.ndarray] = {}
        acc = np.empty((ny, nx), np.int32)
        tmp = np.empty((ny, nx), np.int32)
        value = np.empty((ny, nx), np.float32)

        def dense(st: _Stage) -> np.ndarray:
            """The stage on every window of the grid: whether each passes."""
            below = np.empty((st.features.size, ny, nx), bool)
            for t, fi in enumerate(st.features):
                for k, (px, py, c) in enumerate(self._point_lists[fi]):
                    v = views.get((px, py))
                    if v is None:
                        v = views[(px, py)] = at(parts_ii, px, py)
                    if k == 0:  # the first point sets the sum
                        np.multiply(v, c, out=acc)
                    elif c == 1:
                        np.add(acc, v, out=acc)
                    elif c == -1:
                        np.subtract(acc, v, out=acc)
                    else:
                        np.multiply(v, c, out=tmp)
                        np.add(acc, tmp, out=acc)
                np.multiply(acc, vnf, out=value, dtype=np.float32)
                np.less(value, st.thresholds[t], out=below[t])
            return st.passes(below.reshape(st.features.size, -1)).reshape(ny, nx)

        # Stage 0 on every window.
        passed = dense(self.stages[0])

        # A window that fails stage 0 makes OpenCV skip the next one in its row: within a run of such
        # failures, every other window is evaluated, starting with the run's first.
        fail0 = usable & ~passed
        cols = np.arange(nx)
        last_ok = np.maximum.accumulate(np.where(fail0, -1, cols), axis=1)
        run = np.zeros((ny, nx), np.int64)
        run[:, 1:] = cols[None, :-1] - last_ok[:, :-1]
        alive = usable & passed & (run % 2 == 0)

        # The next stages on every window too while enough of them survive (contiguous arithmetic on
        # the whole grid costs about a fifth of gathering the survivors' pixels, plus a fixed cost
        # per operation), then on the survivors only (see candidates).
        si = 1
        while si < len(self.stages) and np.count_nonzero(alive) > _DENSE_SHARE * ny * nx + _DENSE_EXTRA:
            alive &= dense(self.stages[si])
            si += 1

        gy, gx = np.nonzero(alive)
        xs, ys = gx * step, gy * step
        return (ys * stride + xs).astype(np.intp), vnf[gy, gx], xs, ys, si

    def _survivors(self, table: np.ndarray, pending: list) -> tuple[np.ndarray, np.ndarray]:
        """The later stages on the survivors of every level at once: (windows whose level ran stage si
        last, from pending), a stage at a time. Returns the index into pending's concatenation of each
        window that passes every stage, in order.

        For each stage: gather the integral image at the stumps' points, weigh and add them per stump,
        normalise, pick the leaves and add them up in stump order (float64, as in C).
        """
        stride = table.strides[0] // table.itemsize
        flat = table.ravel()
        by_stage: dict[int, list] = {}
        first = len(self.stages)
        for k, (si, base, norm) in enumerate(pending):
            by_stage.setdefault(si, []).append(k)
            first = min(first, si)
        ids = np.empty(0, np.intp)
        base = np.empty(0, np.intp)
        norm = np.empty(0, np.float32)
        starts = np.cumsum([0] + [p[1].size for p in pending])
        for s in range(first, len(self.stages) + 1):
            joining = by_stage.get(s)
            if joining:
                ids = np.concatenate([ids] + [np.arange(starts[k], starts[k + 1]) for k in joining])
                base = np.concatenate([base] + [pending[k][1] for k in joining])
                norm = np.concatenate([norm] + [pending[k][2] for k in joining])
            if s == len(self.stages) or base.size == 0:
                continue
            st = self.stages[s]
            offs = st.offsets.get(stride)
            if offs is None:
                offs = st.offsets[stride] = (st.py * stride + st.px).astype(np.intp)[:, None]  # (L, 1)
            T = st.features.size
            keep = np.empty(base.size, bool)
            chunk = max(1, _MAX_GATHER // offs.size)
            for a in range(0, base.size, chunk):
                b = min(base.size, a + chunk)
                g = np.take(flat, offs + base[None, a:b], mode="wrap")  # (L, n); all in range
                g *= st.weights
                if st.segments[0] == T:  # every stump has a first point: start from those
                    sums, at_row, rest = g[:T], T, st.segments[1:]
                else:
                    sums, at_row, rest = np.zeros((T, b - a), np.int32), 0, st.segments
                for m in rest:
                    sums[:m] += g[at_row : at_row + m]
                    at_row += m
                value = np.multiply(sums, norm[None, a:b], dtype=np.float32)
                keep[a:b] = st.passes(value < st.sorted_thresholds, st.row_of)
            ids, base, norm = ids[keep], base[keep], norm[keep]
        return ids

    # -- the pyramid -----------------------------------------------------------------------

    def candidates(
        self,
        grey: np.ndarray,
        scale_factor: float = 1.1,
        min_size: tuple[int, int] = (0, 0),
        max_size: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """All raw hits as (x, y, w, h) rows in image coordinates, before grouping."""
        g = np.ascontiguousarray(grey)
        if g.ndim != 2 or g.dtype != np.uint8:
            raise ValueError(f"expected a 2-D uint8 image, got {g.shape} {g.dtype}")
        if not scale_factor > 1:
            raise ValueError("scale_factor must be > 1")
        h, w = g.shape
        max_w, max_h = max_size if max_size[0] and max_size[1] else (w, h)
        ww, wh = self.window
        scales = []
        factor = 1.0
        while True:
            win_w, win_h = round(ww * factor), round(wh * factor)  # cvRound of doubles
            if win_w > max_w or win_h > max_h or win_w > w or win_h > h:
                break
            if win_w >= min_size[0] and win_h >= min_size[1]:
                scales.append(np.float32(factor))
            factor *= scale_factor
        levels = []
        for sc in scales:
            lw = int(np.rint(np.float32(w) / sc))
            lh = int(np.rint(np.float32(h) / sc))
            levels.append((sc, lw, lh))
        if not levels:
            return np.empty((0, 4), np.int64)
        # One integral-image table for every level, with a common row stride; level k in its rows.
        stride = max(lw for _, lw, _ in levels) + 1
        rows = np.cumsum([0] + [lh + 1 for _, _, lh in levels])
        table = np.zeros((int(rows[-1]) + wh + 1, stride), np.int32)  # + a margin for row-end windows
        pending, meta = [], []
        for k, (sc, lw, lh) in enumerate(levels):
            level = resize_linear_exact(g, lw, lh)
            step = 1 if sc >= 2 else 2
            ii = table[rows[k] : rows[k] + lh + 1, : lw + 1]
            got = self._level(level, step, ii)
            if got is None or got[0].size == 0:
                continue
            base, norm, xs, ys, si = got
            pending.append((si, base + int(rows[k]) * stride, norm))
            meta.append((sc, xs, ys))
        if not pending:
            return np.empty((0, 4), np.int64)
        ids = self._survivors(table, pending)
        starts = np.cumsum([0] + [p[1].size for p in pending])
        found = []
        for k, (sc, xs, ys) in enumerate(meta):
            sel = ids[(ids >= starts[k]) & (ids < starts[k + 1])] - starts[k]
            if sel.size == 0:
                continue
            xs, ys = xs[sel], ys[sel]
            size_w = int(np.rint(np.float32(ww) * sc))
            size_h = int(np.rint(np.float32(wh) * sc))
            rx = np.rint(xs.astype(np.float32) * sc).astype(np.int64)
            ry = np.rint(ys.astype(np.float32) * sc).astype(np.int64)
            found.append(np.stack([rx, ry, np.full_like(rx, size_w), np.full_like(rx, size_h)], axis=1))
        return np.concatenate(found) if found else np.empty((0, 4), np.int64)

    def detect(
        self,
        grey: np.ndarray,
        scale_factor: float = 1.1,
        min_neighbors: int = 3,
        min_size: tuple[int, int] = (0, 0),
        max_size: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """cv2.CascadeClassifier.detectMultiScale: (n, 4) int array of (x, y, w, h) boxes."""
        raw = self.candidates(grey, scale_factor, min_size, max_size)
        boxes = group_rectangles(raw, min_neighbors, GROUP_EPS)
        return clip_rectangles(boxes, grey.shape[1], grey.shape[0])


# ---------------------------------------------------------------------------------------------
# Grouping


def _partition(rects: np.ndarray, eps: float) -> np.ndarray:
    """cv::partition with SimilarRects(eps): a class label per rectangle (connected components)."""
    n = len(rects)
    x, y, w, h = (rects[:, k].astype(np.float64) for k in range(4))
    delta = eps * (np.minimum(w[:, None], w[None, :]) + np.minimum(h[:, None], h[None, :])) * 0.5
    similar = (
        (np.abs(x[:, None] - x[None, :]) <= delta)
        & (np.abs(y[:, None] - y[None, :]) <= delta)
        & (np.abs(x[:, None] + w[:, None] - x[None, :] - w[None, :]) <= delta)
        & (np.abs(y[:, None] + h[:, None] - y[None, :] - h[None, :]) <= delta)
    )
    labels = np.full(n, -1, np.int64)
    nclasses = 0
    for i in range(n):
        if labels[i] >= 0:
            continue
        labels[i] = nclasses
        todo = [i]
        while todo:
            j = todo.pop()
            for k in np.flatnonzero(similar[j] & (labels < 0)):
                labels[k] = nclasses
                todo.append(int(k))
        nclasses += 1
    return labels


def _saturate_int(v: float) -> int:
    return int(np.rint(v))  # saturate_cast<int>(double/float): round half to even


def group_rectangles(rects: np.ndarray, group_threshold: int, eps: float = GROUP_EPS) -> np.ndarray:
    """cv2.groupRectangles(rects, group_threshold, eps) without weights: (n, 4) int array."""
    rects = np.asarray(rects, dtype=np.int64).reshape(-1, 4)
    if group_threshold <= 0 or len(rects) == 0:
        return rects.copy()
    labels = _partition(rects, eps)
    nclasses = int(labels.max()) + 1
    sums = np.zeros((nclasses, 4), np.int64)
    np.add.at(sums, labels, rects)
    counts = np.bincount(labels, minlength=nclasses)
    avg = []
    for c in range(nclasses):
        s = np.float32(1.0) / np.float32(counts[c])
        avg.append([int(np.rint(np.float32(v) * s)) for v in sums[c]])
    out = []
    for i in range(nclasses):
        n1 = int(counts[i])
        if n1 <= group_threshold:
            continue
        x1, y1, w1, h1 = avg[i]
        inside = False
        for j in range(nclasses):
            n2 = int(counts[j])
            if j == i or n2 <= group_threshold:
                continue
            x2, y2, w2, h2 = avg[j]
            dx = _saturate_int(w2 * eps)
            dy = _saturate_int(h2 * eps)
            if (
                x1 >= x2 - dx
                and y1 >= y2 - dy
                and x1 + w1 <= x2 + w2 + dx
                and y1 + h1 <= y2 + h2 + dy
                and (n2 > max(3, n1) or n1 < 3)
            ):
                inside = True
                break
        if not inside:
            out.append(avg[i])
    return np.asarray(out, dtype=np.int64).reshape(-1, 4)


def clip_rectangles(rects: np.ndarray, width: int, height: int) -> np.ndarray:
    """Intersect each (x, y, w, h) with the image and drop the empty ones (OpenCV's clipObjects)."""
    r = np.asarray(rects, dtype=np.int64).reshape(-1, 4)
    x0 = np.maximum(r[:, 0], 0)
    y0 = np.maximum(r[:, 1], 0)
    x1 = np.minimum(r[:, 0] + r[:, 2], width)
    y1 = np.minimum(r[:, 1] + r[:, 3], height)
    ok = (x1 > x0) & (y1 > y0)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)[ok]
