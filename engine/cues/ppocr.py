"""PP-OCR text detection and recognition with ONNX Runtime and numpy alone.

The models are RapidOCR's (PP-OCRv6 small detector and recogniser, shipped in the rapidocr wheel and,
in the frozen application, under <resources>/ocr/). This module reproduces the steps RapidOCR 3.x
runs around them, as engine.cues.onscreen_text configures it, without OpenCV, Pillow, Shapely or
pyclipper:

detection (rapidocr/ch_ppocr_det, rapidocr/utils/process_img)
    the image is kept within 30-2000 px (resize_image_within_bounds), padded top and bottom when
    very flat (apply_vertical_padding), resized so that its longer side is at most `limit_side_len`
    and both sides are multiples of 32 (cv2.resize's bilinear fixed point, resize_linear), scaled
    to [-1, 1] in BGR order and run through the detector. DBPostProcess: the probability map is
    binarised at 0.3 and dilated by a 2x2 square; every contour cv2.findContours(RETR_LIST) would
    trace (each 8-connected region, and the border of each hole in one) gives the minimum-area
    rectangle of its points (rotating calipers on the convex hull, as cv2.minAreaRect), kept when
    its shorter side is at least 3 px and the mean probability inside it (box_score_fast) at least
    0.5; the rectangle is offset by area * 1.6 / perimeter with round joins (pyclipper's integer
    offset, reproduced point for point), and the minimum-area rectangle of that is kept when its
    shorter side is at least 5 px, scaled back to the image and clipped.
recognition (rapidocr/ch_ppocr_rec)
    a crop is kept within 30-2000 px like a detection input, resized to height 48 (width
    ceil(48 * w / h), padded with zeros to at least 320), scaled to [-1, 1] in BGR order, and
    decoded greedily (CTC: best class per step, repeats merged, blanks dropped); the character
    list is the model's "character" metadata with a blank first and a space last; the score is the
    mean probability of the characters kept.

Where it can differ from RapidOCR (tests/test_ppocr.py measures it): cv2.minAreaRect works in
float32, so a corner that should fall on a whole pixel can land a hair below it, and pyclipper's
truncation then moves that box by one pixel; equal-area rectangles of different orientations are
told apart by that float32 noise in OpenCV and by hull order here; the score of a tilted box fills
the polygon by pixel centres rather than by cv2.fillPoly's edge walk; resize_linear differs from
cv2.resize by one grey level on a few pixels in 10,000; beyond 1,000 candidates a different 1,000
are kept. Line counts and coverage of the shared videos' frames come out the same.

Images are RGB uint8 arrays (the engine's convention); the models were trained on OpenCV's BGR
order, and the channels are reversed here.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

# -- image resizing ---------------------------------------------------------------------------------

_COEF_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS: 8-bit bilinear resizing runs in fixed point
_COEF_SCALE = 1 << _COEF_BITS


def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and fixed-point weights of one axis, as cv::resize computes them."""
    scale = n_in / n_out
    f = ((np.arange(n_out) + 0.5) * scale - 0.5).astype(np.float32)
    i0 = np.floor(f).astype(np.int64)
    a = f - i0
    low = i0 < 0
    a[low], i0[low] = 0.0, 0
    high = i0 >= n_in - 1
    a[high], i0[high] = 0.0, n_in - 1
    w1 = np.round(a * _COEF_SCALE).astype(np.int32)
    return i0, np.minimum(i0 + 1, n_in - 1), w1


def resize_linear(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2.resize(img, (width, height)) (INTER_LINEAR) for a uint8 H x W or H x W x C image.

    Half-pixel centres, edge pixels repeated, weights in 11-bit fixed point, a horizontal pass then
    a vertical one with the rounding of OpenCV's vectorised code: the result matches OpenCV's to
    within 1 grey level (equal on all but a few pixels in 10,000)."""
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img.copy()
    y0, y1, wy = _taps(h, height)
    extra = (1,) * (img.ndim - 2)

    def horizontal(rows: np.ndarray) -> np.ndarray:  # value * 2048, exact
        if w == width:
            return rows.astype(np.int32) << _COEF_BITS
        x0, x1, wx = _taps(w, width)
        wx = wx.reshape((1, width) + extra)
        out = np.take(rows, x0, axis=1).astype(np.int32)  # take and in-place products: a quarter less CPU time
        out *= _COEF_SCALE - wx
        right = np.take(rows, x1, axis=1).astype(np.int32)
        right *= wx
        out += right
        return out

    wy = wy.reshape((height, 1) + extra)
    if h == height:  # no vertical weights: ((r >> 4) * 2048 >> 16) == r >> 9
        out = horizontal(img)
        out >>= 9
    elif w == width:  # r == v << 11, so ((r >> 4) * b >> 16) == (v * b) >> 9
        out = img[y0].astype(np.int32) * (_COEF_SCALE - wy)
        out >>= 9
        r1 = img[y1].astype(np.int32) * wy
        r1 >>= 9
        out += r1
    else:  # ((r0 >> 4) * b0 >> 16) + ((r1 >> 4) * b1 >> 16), as OpenCV's SIMD vertical pass
        out, r1 = horizontal(img[y0]), horizontal(img[y1])
        out >>= 4
        out *= _COEF_SCALE - wy
        out >>= 16
        r1 >>= 4
        r1 *= wy
        r1 >>= 16
        out += r1
    out += 2
    out >>= 2
    return np.clip(out, 0, 255).astype(np.uint8)


def _within_bounds(img: np.ndarray, min_side: int = 30, max_side: int = 2000) -> tuple[np.ndarray, float, float]:
    """RapidOCR's resize_image_within_bounds: shrink when the longer side passes max_side, then enlarge
    when the shorter side is under min_side (sides rounded to multiples of 32). Returns the image and
    the size ratios (before / after) of the last resizing, as RapidOCR records them."""
    ratio_h = ratio_w = 1.0
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        img, ratio_h, ratio_w = _rescale(img, float(max_side) / (h if h > w else w))
    h, w = img.shape[:2]
    if min(h, w) < min_side:
        img, ratio_h, ratio_w = _rescale(img, float(min_side) / (h if h < w else w))
    return img, ratio_h, ratio_w


def _rescale(img: np.ndarray, ratio: float) -> tuple[np.ndarray, float, float]:
    h, w = img.shape[:2]
    rh, rw = int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)
    if rh <= 0 or rw <= 0:
        raise ValueError(f"cannot resize a {w}x{h} image for text detection")
    return resize_linear(img, rw, rh), h / rh, w / rw


def _to_tensor(bgr: np.ndarray) -> np.ndarray:
    """uint8 H x W x 3 -> float32 1 x 3 x H x W in [-1, 1] (mean 0.5, std 0.5 on every channel)."""
    x = bgr.astype(np.float32) * np.float32(1 / 255.0)
    return ((x - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1)[None]


# -- connected regions --------------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of True: (row, first column, last column), in raster order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(np.diff(padded, axis=1))  # alternately a run's start and the column after its end
    rows, starts = np.divmod(edges[0::2], w + 1)
    return rows, starts, edges[1::2] - rows * (w + 1) - 1


def _run_labels(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int, diagonal: bool) -> np.ndarray:
    """Label runs by connected region (8-connected with diagonal=True, else 4-connected): runs of
    neighbouring rows that touch are joined by a vectorised union-find (hook roots to the smaller
    root, then pointer jumping, until every touching pair shares a root). Labels are 0..n-1."""
    n = len(rows)
    if n == 0:
        return np.zeros(0, np.int64)
    k = width + 4
    reach = 1 if diagonal else 0
    key_s = rows * k + starts + 2
    key_e = rows * k + ends + 2
    # run j of row r+1 touches run i of row r when start_j <= end_i + reach and end_j >= start_i - reach;
    # the runs of a row are sorted and disjoint, so those j form one slice [lo, hi)
    lo = np.searchsorted(key_e, (rows + 1) * k + starts - reach + 2, "left")
    hi = np.searchsorted(key_s, (rows + 1) * k + ends + reach + 2, "right")
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(n), count)
    b = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
    parent = np.arange(n)
    while len(a):
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            break
        a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
    return np.unique(parent, return_inverse=True)[1].reshape(-1)


def connected_regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """8-connected regions of a boolean map as runs: (label, row, first column, last column, count)."""
    rows, starts, ends = _runs(mask)
    labels = _run_labels(rows, starts, ends, mask.shape[1], diagonal=True)
    return labels, rows, starts, ends, int(labels.max()) + 1 if len(labels) else 0


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (Andrew's monotone chain), counter-clockwise, no collinear points."""
    pts = sorted(set(map(tuple, points.tolist())))
    if len(pts) < 3:
        return np.asarray(pts, np.float64).reshape(-1, 2)

    def half(seq):
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and (
                (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
            ) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return np.asarray(lower[:-1] + upper[:-1], np.float64)


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle around points (cv2.minAreaRect + cv2.boxPoints, by rotating
    calipers over the convex hull's edges): its 4 corners and its shorter side."""
    hull = _hull(np.asarray(points, np.float64).reshape(-1, 2))
    if len(hull) < 3:  # a point or a segment: no area
        if len(hull) == 0:
            return np.zeros((4, 2), np.float32), 0.0
        p, q = hull[0], hull[-1]
        return np.asarray([p, q, q, p], np.float32), 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    u = edges / np.hypot(edges[:, 0], edges[:, 1])[:, None]
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu, pv = u @ hull.T, v @ hull.T  # (edges, points)
    lo_u, hi_u, lo_v, hi_v = pu.min(1), pu.max(1), pv.min(1), pv.max(1)
    area = (hi_u - lo_u) * (hi_v - lo_v)
    i = int(np.argmin(area))
    cu, cv = (lo_u[i], hi_u[i], hi_u[i], lo_u[i]), (lo_v[i], lo_v[i], hi_v[i], hi_v[i])
    corners = np.asarray([a * u[i] + b * v[i] for a, b in zip(cu, cv)], np.float32)
    return corners, float(min(hi_u[i] - lo_u[i], hi_v[i] - lo_v[i]))


def _mini_box_order(corners: np.ndarray) -> np.ndarray:
    """RapidOCR's get_mini_boxes corner order (by x, then top before bottom on each side)."""
    pts = sorted(list(corners), key=lambda p: p[0])
    i1, i4 = (0, 1) if pts[1][1] > pts[0][1] else (1, 0)
    i2, i3 = (2, 3) if pts[3][1] > pts[2][1] else (3, 2)
    return np.asarray([pts[i1], pts[i2], pts[i3], pts[i4]], np.float32)


def _polygon_mean(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean of prob inside a quadrilateral (RapidOCR's box_score_fast: the box's integer bounding
    window, the polygon filled on it)."""
    h, w = prob.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    window = prob[ymin : ymax + 1, xmin : xmax + 1]
    pts = (box - np.array([xmin, ymin], np.float32)).astype(np.int32).astype(np.float64)  # fillPoly's int32 points
    xs, ys = pts[:, 0], pts[:, 1]
    if len(set(xs.tolist())) <= 2 and len(set(ys.tolist())) <= 2:  # an upright rectangle
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        inside = window[max(0, y0) : y1 + 1, max(0, x0) : x1 + 1]
        return float(inside.mean()) if inside.size else 0.0
    gy, gx = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
    # inside or on every edge of the convex quadrilateral (either winding), half a pixel of slack
    cross = []
    for j in range(4):
        p, q = pts[j], pts[(j + 1) % 4]
        d = q - p
        n = np.hypot(*d) or 1.0
        cross.append(((gx - p[0]) * d[1] - (gy - p[1]) * d[0]) / n)
    cross = np.stack(cross)
    mask = (cross <= 0.5).all(0) | (cross >= -0.5).all(0)
    return float(window[mask].mean()) if mask.any() else 0.0


# -- detection ---------------------------------------------------------------------------------------


class TextDetector:
    """PP-OCR DB text detection. Call with an RGB uint8 image; returns the text boxes as a float32
    n x 4 x 2 array of corners (x, y) in the image, in RapidOCR's order (top to bottom, left to right)."""

    def __init__(
        self,
        session,
        limit_side_len: int = 640,
        limit_type: str = "max",
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        max_candidates: int = 1000,
    ) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.limit_side_len = limit_side_len
        self.limit_type = limit_type
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.unclip_ratio = unclip_ratio
        self.max_candidates = max_candidates
        self.min_size = 3

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        if self.limit_type == "max":
            ratio = float(self.limit_side_len) / max(h, w) if max(h, w) > self.limit_side_len else 1.0
        else:
            ratio = float(self.limit_side_len) / min(h, w) if min(h, w) < self.limit_side_len else 1.0
        return int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)

    def probability_map(self, bgr: np.ndarray) -> Optional[np.ndarray]:
        rh, rw = self.input_size(*bgr.shape[:2])
        if rh <= 0 or rw <= 0:
            return None
        out = self.session.run(None, {self.input_name: _to_tensor(resize_linear(bgr, rw, rh))})[0]
        return out[0, 0]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        img = np.ascontiguousarray(rgb[:, :, ::-1])
        ori_h, ori_w = img.shape[:2]
        img, ratio_h, ratio_w = _within_bounds(img)
        h, w = img.shape[:2]
        top = 0
        if h <= 30 or w / h > 8:  # apply_vertical_padding (min_height 30, width_height_ratio 8)
            top = int(abs(max(int(w / 8), 30) * 2 - h) / 2)
            img = np.pad(img, ((top, top), (0, 0), (0, 0)))
        prob = self.probability_map(img)
        if prob is None:
            return np.zeros((0, 4, 2), np.float32)
        boxes = self.boxes_from_map(prob, img.shape[0], img.shape[1])
        if len(boxes) == 0:
            return np.zeros((0, 4, 2), np.float32)
        boxes = _sorted_boxes(boxes)
        boxes[:, :, 1] -= top
        boxes[:, :, 0] *= ratio_w
        boxes[:, :, 1] *= ratio_h
        boxes = np.maximum(boxes, 0)
        boxes[..., 0] = np.minimum(boxes[..., 0], ori_w)
        boxes[..., 1] = np.minimum(boxes[..., 1], ori_h)
        return boxes.astype(np.float32)

    def boxes_from_map(self, prob: np.ndarray, dest_h: int, dest_w: int) -> np.ndarray:
        """DBPostProcess: the boxes of the probability map, in a dest_h x dest_w image."""
        seg = prob > self.thresh
        mask = seg.copy()  # cv2.dilate with a 2x2 kernel: a pixel is set if it or its upper/left neighbours are
        mask[1:] |= seg[:-1]
        mask[:, 1:] |= seg[:, :-1]
        mask[1:, 1:] |= seg[:-1, :-1]
        height, width = mask.shape
        out = []
        for pts in _candidate_hulls(mask, self.max_candidates):
            size = pts.max(axis=0) - pts.min(axis=0)
            if size[0] * size[1] < self.min_size**2:  # a rectangle's shorter side is at most sqrt(area)
                continue
            points, sside = min_area_rect(pts)
            if sside < self.min_size:
                continue
            points = _mini_box_order(points)
            score = _polygon_mean(prob, points)
            if self.box_thresh > score:
                continue
            box = _unclip(points, self.unclip_ratio)
            box, sside = min_area_rect(box)
            if sside < self.min_size + 2:
                continue
            box = _mini_box_order(box)
            box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_w), 0, dest_w)
            box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_h), 0, dest_h)
            out.append(box.astype(np.int32))
        kept = []
        for box in out:  # filter_det_res
            box = _order_clockwise(box.astype(np.float32))
            box[:, 0] = np.minimum(np.maximum(box[:, 0], 0), dest_w - 1).astype(np.int32)
            box[:, 1] = np.minimum(np.maximum(box[:, 1], 0), dest_h - 1).astype(np.int32)
            if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
                continue
            kept.append(box)
        return np.asarray(kept, np.float32).reshape(-1, 4, 2)


def _unclip(box: np.ndarray, ratio: float) -> np.ndarray:
    """pyclipper's round offset of the box by area * ratio / perimeter (Shapely's, of the box as given)."""
    c = box.astype(np.float64)
    x, y = c[:, 0], c[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    length = float(np.hypot(*(np.roll(c, -1, axis=0) - c).T).sum())
    return round_offset(c, area * ratio / length if length else 0.0)


def _round_half_away(v):
    return np.where(v < 0, np.ceil(v - 0.5), np.floor(v + 0.5))


def round_offset(polygon: np.ndarray, delta: float, arc_tolerance: float = 0.25) -> np.ndarray:
    """Clipper's ClipperOffset (JT_ROUND, ET_CLOSEDPOLYGON) of a convex polygon grown by delta > 0, as
    pyclipper runs it: the points truncated to integers, each edge moved out by delta, each corner
    joined by an arc of points rotated in equal steps, every point rounded to integers. (Clipper's
    final union only drops collinear points, which changes no minimum-area rectangle.)"""
    pts = np.trunc(np.asarray(polygon, np.float64).reshape(-1, 2))
    keep = np.r_[True, (np.diff(pts, axis=0) != 0).any(1)]
    pts = pts[keep]
    if len(pts) > 1 and (pts[0] == pts[-1]).all():
        pts = pts[:-1]
    if len(pts) < 3 or delta <= 0:
        return pts
    x, y = pts[:, 0], pts[:, 1]
    if np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) < 0:  # Clipper fixes the orientation first
        pts = pts[::-1]
    edge = np.roll(pts, -1, axis=0) - pts
    normals = np.stack([edge[:, 1], -edge[:, 0]], 1) / np.hypot(edge[:, 0], edge[:, 1])[:, None]
    tol = arc_tolerance if arc_tolerance <= delta * 0.25 else delta * 0.25
    if arc_tolerance <= 0:
        tol = 0.25
    steps = math.pi / math.acos(1 - tol / delta)
    steps = min(steps, delta * math.pi)
    sin, cos = math.sin(2 * math.pi / steps), math.cos(2 * math.pi / steps)
    per_rad = steps / (2 * math.pi)
    out = []
    n = len(pts)
    for j in range(n):
        k = j - 1 if j else n - 1
        nk, nj, p = normals[k], normals[j], pts[j]
        sin_a = nk[0] * nj[1] - nj[0] * nk[1]
        cos_a = nk[0] * nj[0] + nk[1] * nj[1]
        if abs(sin_a * delta) < 1.0 and cos_a > 0:  # nearly straight on
            out.append(p + nk * delta)
            continue
        sin_a = max(-1.0, min(1.0, sin_a))
        if sin_a * delta < 0:  # a concave corner
            out.extend([p + nk * delta, p, p + nj * delta])
            continue
        a = math.atan2(sin_a, cos_a)
        X, Y = float(nk[0]), float(nk[1])
        for _ in range(max(int(_round_half_away(per_rad * abs(a))), 1)):
            out.append(p + np.array([X, Y]) * delta)
            X, Y = X * cos - sin * Y, X * sin + Y * cos
        out.append(p + nj * delta)
    return _round_half_away(np.asarray(out))


def _candidate_hulls(mask: np.ndarray, limit: int = 1000) -> list[np.ndarray]:
    """The point sets of the first `limit` contours cv2.findContours(RETR_LIST) traces on a binary map,
    reduced to what decides their minimum-area rectangles: per row, the first and last pixel of
    each 8-connected region (the hull of a region is the hull of its outer border), then the
    border points around each hole."""
    labels, rows, starts, ends, n = connected_regions(mask)
    out = _row_extremes(labels * (mask.shape[0] + 1) + rows, labels, rows, starts, ends)[:limit] if n else []
    if len(out) < limit:
        out.extend(_hole_hulls(mask, n)[: limit - len(out)])
    return out


def _row_extremes(key, labels, rows, starts, ends) -> list[np.ndarray]:
    """Per region (by label, i.e. by its first run in raster order), the first and last pixel of each row."""
    order = np.lexsort((starts, key))
    key, labels, rows, starts, ends = key[order], labels[order], rows[order], starts[order], ends[order]
    first = np.r_[True, key[1:] != key[:-1]]
    idx = np.flatnonzero(first)
    lefts = starts[idx]
    rights = np.maximum.reduceat(ends, idx)
    lab, yy = labels[idx], rows[idx]
    pts = np.concatenate([np.stack([lefts, yy], 1), np.stack([rights, yy], 1)])
    lab2 = np.concatenate([lab, lab])
    o = np.argsort(lab2, kind="stable")
    pts, lab2 = pts[o], lab2[o]
    cuts = np.flatnonzero(np.r_[True, lab2[1:] != lab2[:-1], True])
    return [pts[cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]


def _euler_number(mask: np.ndarray) -> int:
    """Regions (8-connected) minus holes of a binary map, from its 2x2 patterns (Gray's bit quads)."""
    p = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    p[1:-1, 1:-1] = mask
    q = p[:-1, :-1] + p[:-1, 1:] + p[1:, :-1] + p[1:, 1:]
    diag = (q == 2) & (p[:-1, :-1] == p[1:, 1:])
    return (int(np.count_nonzero(q == 1)) - int(np.count_nonzero(q == 3)) - 2 * int(np.count_nonzero(diag))) // 4


def _hole_hulls(mask: np.ndarray, regions: int) -> list[np.ndarray]:
    """Border points of the holes of the regions: 4-connected background regions that do not touch
    the map's edge, each grown by one pixel (the hole border runs over the region's pixels that
    touch the hole)."""
    if _euler_number(mask) >= regions:  # no region encloses background
        return []
    bg = ~mask
    rows, starts, ends = _runs(bg)
    if len(rows) == 0:
        return []
    h, w = mask.shape
    labels = _run_labels(rows, starts, ends, w, diagonal=False)
    n = int(labels.max()) + 1
    edge = np.zeros(n, bool)
    edge[labels[(rows == 0) | (rows == h - 1) | (starts == 0) | (ends == w - 1)]] = True
    keep = ~edge[labels]
    if not keep.any():
        return []
    labels, rows, starts, ends = labels[keep], rows[keep], starts[keep], ends[keep]
    pts = np.concatenate([
        np.stack([starts - 1, rows], 1), np.stack([ends + 1, rows], 1),
        np.stack([starts, rows - 1], 1), np.stack([ends, rows - 1], 1),
        np.stack([starts, rows + 1], 1), np.stack([ends, rows + 1], 1),
    ])
    lab = np.tile(labels, 6)
    order = np.argsort(lab, kind="stable")
    pts, lab = pts[order], lab[order]
    cuts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1], True])
    return [pts[cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]


def _order_clockwise(pts: np.ndarray) -> np.ndarray:
    xs = pts[np.argsort(pts[:, 0]), :]
    left, right = xs[:2], xs[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


def _sorted_boxes(boxes: np.ndarray) -> np.ndarray:
    """RapidOCR's TextDetector.sorted_boxes: rows (starts 10 px apart or more) top to bottom, then
    left to right."""
    y = boxes[:, 0, 1]
    order = np.argsort(y, kind="stable")
    boxes, y = boxes[order], y[order]
    line = np.concatenate([[0], np.cumsum((np.diff(y) >= 10).astype(np.int32))])
    return boxes[np.lexsort((boxes[:, 0, 0], line))]


# -- recognition -------------------------------------------------------------------------------------


class TextRecognizer:
    """PP-OCR CTC text recognition of one line. Call with an RGB uint8 crop; returns (text, score)."""

    def __init__(self, session, height: int = 48, min_width: int = 320) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        meta = session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ValueError("the text recognition model carries no character list")
        self.characters = ["blank"] + meta["character"].splitlines() + [" "]
        self.height = height
        self.min_width = min_width

    def input_tensor(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        img_w = int(self.height * max(self.min_width / self.height, w / h))
        resized_w = min(img_w, int(math.ceil(self.height * w / float(h))))
        x = resize_linear(bgr, resized_w, self.height).astype(np.float32).transpose(2, 0, 1) / 255
        x -= 0.5
        x /= 0.5
        out = np.zeros((1, 3, self.height, img_w), np.float32)
        out[0, :, :, :resized_w] = x
        return out

    def __call__(self, rgb: np.ndarray) -> tuple[str, float]:
        img, _, _ = _within_bounds(np.ascontiguousarray(rgb[:, :, ::-1]))
        preds = self.session.run(None, {self.input_name: self.input_tensor(img)})[0][0]
        return self.decode(preds)

    def decode(self, preds: np.ndarray) -> tuple[str, float]:
        idx = preds.argmax(axis=1)
        prob = preds.max(axis=1)
        keep = np.ones(len(idx), bool)
        keep[1:] = idx[1:] != idx[:-1]
        keep &= idx != 0
        conf = [round(c, 5) for c in prob[keep].tolist()] or [0]
        text = "".join(self.characters[i] for i in idx[keep])
        return text, float(np.mean(conf).round(5))


# -- model files ---------------------------------------------------------------------------------------


def model_dirs() -> list[Path]:
    """Where the model files are looked for, in order: <resources>/ocr (the frozen application),
    then the installed rapidocr package's models folder (found without importing rapidocr, whose
    import loads OpenCV)."""
    from engine import package_dirs, resources_dir

    return [resources_dir() / "ocr"] + [d / "models" for d in package_dirs("rapidocr")]


def find_model(name: str) -> Path:
    """The path of a model file; raises EngineError naming what to reinstall when it is nowhere."""
    from ..errors import EngineError

    dirs = model_dirs()
    for d in dirs:
        if (d / name).is_file():
            return d / name
    raise EngineError(
        f"the text detector's model {name} is missing (looked in {', '.join(str(d) for d in dirs)}); "
        "reinstall rapidocr (pip install --force-reinstall 'rapidocr>=3.4,<4'), or reinstall the application"
    )
