"""Small plots drawn with QPainter (QtCharts is not in PySide6-Essentials): a cue timeline in lanes, a
histogram, a line plot for training curves, and the score ring."""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .theme import colors, score_color


def _nice_step(span: float, target: int = 5) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    if a >= 10 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.2g}"


class ScoreRing(QWidget):
    """A ring filled to score/100 in a colour from red to green; the number itself is a QLabel above it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.score: Optional[float] = None
        self.busy_fraction: Optional[float] = None
        self.setMinimumSize(150, 150)

    def set_score(self, score: Optional[float]) -> None:
        self.score, self.busy_fraction = score, None
        self.update()

    def set_busy(self, fraction: Optional[float]) -> None:
        self.busy_fraction = fraction if fraction is not None else 0.0
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(190, 190)

    def paintEvent(self, _e) -> None:
        c = colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        side = min(self.width(), self.height()) - 16
        r = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        pen = QPen(QColor(c.border), 12, Qt.SolidLine, Qt.RoundCap)
        p.setPen(pen)
        p.drawArc(r, 225 * 16, -270 * 16)
        if self.score is not None:
            pen.setColor(QColor(score_color(self.score)))
            p.setPen(pen)
            p.drawArc(r, 225 * 16, int(-270 * 16 * max(0.0, min(100.0, self.score)) / 100))
        elif self.busy_fraction is not None:
            pen.setColor(QColor(c.accent))
            p.setPen(pen)
            p.drawArc(r, 225 * 16, int(-270 * 16 * max(0.02, min(1.0, self.busy_fraction))))
        p.end()


class TimelinePlot(QWidget):
    """The content cues over time, one lane each, on a shared time axis; the first 3 s (the hook) shaded.
    A click asks to jump there (`clicked`, in seconds); set_position draws the player's position."""

    clicked = Signal(float)
    LEFT, RIGHT = 104, 10  # the plot area's margins

    LANES = (  # timeline key, label, how to scale, draw as
        ("motion", "Motion", "max", "area"),
        ("loudness", "Loudness", "db", "line"),
        ("speech", "Speech", "unit", "area"),
        ("faces", "Faces", "unit", "bars"),
        ("text", "On-screen text", "max", "bars"),
        ("cuts", "Cuts", "unit", "ticks"),
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.timeline: dict = {}
        self.duration = 0.0
        self.position: Optional[float] = None
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Click to jump the player there")

    def time_at(self, x: float) -> Optional[float]:
        """The time under x (None outside the plot or with nothing shown)."""
        w = self.width() - self.LEFT - self.RIGHT
        if self.duration <= 0 or w < 20 or x < self.LEFT - 4:
            return None
        return self.duration * max(0.0, min(1.0, (x - self.LEFT) / w))

    def mousePressEvent(self, e) -> None:  # noqa: N802
        t = self.time_at(e.position().x())
        if t is not None and e.button() == Qt.LeftButton:
            self.clicked.emit(t)
        super().mousePressEvent(e)

    def set_position(self, t: Optional[float]) -> None:
        self.position = t
        self.update()

    def set_timeline(self, timeline: dict, duration: float) -> None:
        self.timeline, self.duration = dict(timeline or {}), float(duration or 0.0)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, 220)

    def lanes(self) -> list[tuple]:
        return [lane for lane in self.LANES if lane[0] in self.timeline]

    def paintEvent(self, _e) -> None:
        c = colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        lanes = self.lanes()
        left, right, top, bottom = self.LEFT, self.RIGHT, 6, 22
        w = self.width() - left - right
        if not lanes or self.duration <= 0 or w < 20:
            p.setPen(QColor(c.muted))
            p.drawText(self.rect(), Qt.AlignCenter, "The cues over time appear here once a video is scored.")
            p.end()
            return
        lane_h = (self.height() - top - bottom) / len(lanes)
        x_of = lambda t: left + w * max(0.0, min(1.0, t / self.duration))  # noqa: E731
        # the hook: the first 3 seconds
        hook = QRectF(left, top, x_of(min(3.0, self.duration)) - left, lane_h * len(lanes))
        shade = QColor(c.accent)
        shade.setAlpha(28)
        p.fillRect(hook, shade)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        p.setFont(small)
        for i, (key, label, scale, kind) in enumerate(lanes):
            y0 = top + i * lane_h
            base_y = y0 + lane_h - 3
            hgt = lane_h - 8
            color = QColor(c.series[i % len(c.series)])
            p.setPen(QColor(c.text))
            p.drawText(QRectF(0, y0, left - 8, lane_h), Qt.AlignRight | Qt.AlignVCenter, label)
            p.setPen(QPen(QColor(c.border), 1))
            p.drawLine(QPointF(left, base_y), QPointF(left + w, base_y))
            ts, vs = self.timeline[key]
            pts = [(float(t), float(v)) for t, v in zip(ts, vs) if v is not None and math.isfinite(float(v))]
            if not pts:
                p.setPen(QColor(c.muted))
                empty = "none in this video" if key == "cuts" and ts is not None else "not measured"
                p.drawText(QRectF(left + 8, y0, w, lane_h), Qt.AlignVCenter, empty)
                continue
            if scale == "db":  # -60 dB .. 0 dB
                norm = [(t, max(0.0, min(1.0, (v + 60.0) / 60.0))) for t, v in pts]
            elif scale == "unit":
                norm = [(t, max(0.0, min(1.0, v))) for t, v in pts]
            else:
                top_v = max(max(v for _, v in pts), 1e-6)
                norm = [(t, max(0.0, v / top_v)) for t, v in pts]
            if kind == "ticks":
                p.setPen(QPen(color, 2))
                for t, v in norm:
                    if v > 0:
                        p.drawLine(QPointF(x_of(t), base_y), QPointF(x_of(t), base_y - hgt))
            elif kind == "bars":
                bw = max(3.0, min(14.0, w / max(len(norm), 1) * 0.5))
                fill = QColor(color)
                fill.setAlpha(200)
                for t, v in norm:
                    hh = max(1.5, v * hgt)
                    p.fillRect(QRectF(x_of(t) - bw / 2, base_y - hh, bw, hh), fill)
            else:
                path = QPainterPath()
                path.moveTo(x_of(norm[0][0]), base_y - norm[0][1] * hgt)
                for t, v in norm[1:]:
                    path.lineTo(x_of(t), base_y - v * hgt)
                if kind == "area":
                    area = QPainterPath(path)
                    area.lineTo(x_of(norm[-1][0]), base_y)
                    area.lineTo(x_of(norm[0][0]), base_y)
                    area.closeSubpath()
                    fill = QColor(color)
                    fill.setAlpha(60)
                    p.fillPath(area, fill)
                p.setPen(QPen(color, 1.6))
                p.drawPath(path)
        # time axis
        p.setPen(QColor(c.muted))
        step = _nice_step(self.duration, 8)
        t = 0.0
        while t <= self.duration + 1e-9:
            x = x_of(t)
            p.drawLine(QPointF(x, self.height() - bottom), QPointF(x, self.height() - bottom + 4))
            p.drawText(QRectF(x - 30, self.height() - bottom + 4, 60, 16), Qt.AlignHCenter, f"{t:g} s")
            t += step
        p.setPen(QColor(c.accent))
        p.drawText(QRectF(left + 3, top, 80, 14), Qt.AlignLeft, "hook (0-3 s)")
        if self.position is not None:  # the player's position
            p.setPen(QPen(QColor(c.text), 1.5))
            x = x_of(self.position)
            p.drawLine(QPointF(x, top), QPointF(x, self.height() - bottom))
        p.end()


def _titled_painter(widget: QWidget, title: str, right: str = "") -> tuple[QPainter, object, int]:
    """Begin painting a plot: its title in bold at the top left, `right` (muted) at the top right. Returns the
    painter (plain font, muted pen), the theme's colours and the plain font's line height."""
    c = colors()
    p = QPainter(widget)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QColor(c.text))
    bold = QFont(widget.font())
    bold.setBold(True)
    p.setFont(bold)
    box = QRectF(8, 4, widget.width() - 16, p.fontMetrics().height() + 2)
    p.drawText(box, Qt.AlignLeft, title)
    p.setFont(widget.font())
    p.setPen(QColor(c.muted))
    if right:
        p.drawText(box, Qt.AlignRight, right)
    return p, c, p.fontMetrics().height() + 2


class Histogram(QWidget):
    """Counts of values in equal bins; tick labels through `fmt` (e.g. 10**x for log scales)."""

    def __init__(self, title: str, fmt: Callable[[float], str] = _fmt, bins: int = 30, parent=None):
        super().__init__(parent)
        self.title = title
        self.fmt = fmt
        self.bins = bins
        self.values: list[float] = []
        self.note = ""
        self.counts: list[int] = []
        self.lo = self.hi = 0.0
        self.setMinimumSize(220, 160)

    def set_values(self, values: Sequence[Optional[float]], note: str = "") -> None:
        vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        self.values, self.note = vals, note
        self.counts = []
        if vals:
            self.lo, self.hi = min(vals), max(vals)
            if self.hi <= self.lo:
                self.hi = self.lo + 1.0
            n = self.bins
            self.counts = [0] * n
            for v in vals:
                self.counts[min(n - 1, int((v - self.lo) / (self.hi - self.lo) * n))] += 1
        self.update()

    def paintEvent(self, _e) -> None:
        p, c, _line = _titled_painter(self, self.title,
                                      f"{len(self.values):,} posts" + (f" · {self.note}" if self.note else ""))
        left, right, top, bottom = 10, 10, 28, 22
        w, h = self.width() - left - right, self.height() - top - bottom
        if not self.counts:
            p.drawText(self.rect(), Qt.AlignCenter, "no values")
            p.end()
            return
        top_count = max(self.counts)
        bw = w / len(self.counts)
        fill = QColor(c.accent)
        fill.setAlpha(190)
        for i, n in enumerate(self.counts):
            bh = h * n / top_count if top_count else 0
            p.fillRect(QRectF(left + i * bw + 0.5, top + h - bh, max(1.0, bw - 1), bh), fill)
        p.setPen(QColor(c.border))
        p.drawLine(QPointF(left, top + h), QPointF(left + w, top + h))
        p.setPen(QColor(c.muted))
        for frac, align in ((0.0, Qt.AlignLeft), (0.5, Qt.AlignHCenter), (1.0, Qt.AlignRight)):
            v = self.lo + frac * (self.hi - self.lo)
            x = left + frac * w
            rect = QRectF(x - (0 if align == Qt.AlignLeft else 60 if align == Qt.AlignRight else 30), top + h + 3, 60, 16)
            p.drawText(rect, align, self.fmt(v))
        p.end()


class LinePlot(QWidget):
    """Named series of (x, y) points, auto-scaled, with a legend and labelled axes; for training curves.

    `markers` draws each point (per-fold metrics: a handful of points that mean something each);
    `empty_text` is what shows before the first point."""

    def __init__(self, title: str = "", x_label: str = "", parent=None, y_label: str = "",
                 empty_text: str = "The loss and metrics appear here while a model trains."):
        super().__init__(parent)
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.empty_text = empty_text
        self.markers = False
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.setMinimumSize(300, 200)

    def set_axes(self, title: str, x_label: str, y_label: str, markers: bool = False) -> None:
        self.title, self.x_label, self.y_label, self.markers = title, x_label, y_label, markers
        self.update()

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def add_point(self, name: str, x: float, y: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.series.setdefault(name, []).append((float(x), float(y)))
            self.update()

    def paintEvent(self, _e) -> None:
        p, c, line = _titled_painter(self, self.title)
        fm = p.fontMetrics()
        pts = [pt for s in self.series.values() for pt in s]
        if not pts:
            p.drawText(self.rect().adjusted(12, line + 8, -12, -8), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            p.end()
            return
        x0, x1 = min(x for x, _ in pts), max(x for x, _ in pts)
        y0, y1 = min(y for _, y in pts), max(y for _, y in pts)
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.08 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad
        ystep = _nice_step(y1 - y0, 4)
        yticks = [k * ystep for k in range(math.ceil(y0 / ystep), math.floor(y1 / ystep) + 1)]
        ytexts = [_tick(v, ystep) for v in yticks]
        # room for the rotated y label, the y tick texts, the legend row above, x ticks and x label below
        left = 8 + (line if self.y_label else 0) + max([fm.horizontalAdvance(t) for t in ytexts] + [12]) + 6
        right, top, bottom = 14, 2 * line + 8, 2 * line + 8
        w, h = self.width() - left - right, self.height() - top - bottom
        if w < 20 or h < 20:
            p.end()
            return
        X = lambda x: left + w * (x - x0) / (x1 - x0)  # noqa: E731
        Y = lambda y: top + h - h * (y - y0) / (y1 - y0)  # noqa: E731
        grid = QColor(c.border)
        grid.setAlpha(110)
        for v, text in zip(yticks, ytexts):
            p.setPen(grid)
            p.drawLine(QPointF(left, Y(v)), QPointF(left + w, Y(v)))
            p.setPen(QColor(c.muted))
            p.drawText(QRectF(0, Y(v) - line / 2, left - 6, line), Qt.AlignRight | Qt.AlignVCenter, text)
        whole = all(float(x).is_integer() for x, _ in pts)
        xstep = max(1.0, _nice_step(x1 - x0, max(2, int(w / 70)))) if whole else _nice_step(x1 - x0, max(2, int(w / 70)))
        v = math.ceil(x0 / xstep) * xstep
        while v <= x1 + 1e-9:
            p.drawText(QRectF(X(v) - 30, top + h + 3, 60, line), Qt.AlignHCenter, _tick(v, xstep))
            v += xstep
        p.setPen(QColor(c.border))
        p.drawRect(QRectF(left, top, w, h))
        p.setPen(QColor(c.text))
        p.drawText(QRectF(left, top + h + line + 4, w, line), Qt.AlignHCenter, self.x_label)
        if self.y_label:
            p.save()
            p.translate(6, top + h / 2)
            p.rotate(-90)
            p.drawText(QRectF(-h / 2, 0, h, line), Qt.AlignHCenter | Qt.AlignTop, self.y_label)
            p.restore()
        lx = left
        for i, (name, s) in enumerate(self.series.items()):
            color = QColor(c.series[i % len(c.series)])
            p.setPen(QPen(color, 1.8))
            if len(s) == 1 or self.markers:
                p.setBrush(color)
                for x, y in s:
                    p.drawEllipse(QPointF(X(x), Y(y)), 3, 3)
            path = QPainterPath()
            path.moveTo(X(s[0][0]), Y(s[0][1]))
            for x, y in s[1:]:
                path.lineTo(X(x), Y(y))
            p.setBrush(Qt.NoBrush)
            p.drawPath(path)
            ly = top - line / 2 - 2
            p.drawLine(QPointF(lx, ly), QPointF(lx + 14, ly))
            p.setPen(QColor(c.text))
            p.drawText(QRectF(lx + 18, ly - line / 2, w, line), Qt.AlignLeft | Qt.AlignVCenter, name)
            lx += 30 + fm.horizontalAdvance(name)
        p.end()


def _tick(v: float, step: float) -> str:
    """A tick label with as many decimals as the step needs (0.05 steps: 0.60, 0.65; 2 steps: 4, 6)."""
    if abs(v) < step * 1e-6:
        v = 0.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step * 10 ** decimals % 1 > 1e-6:  # 0.25, 2.5: one more
        decimals += 1
    return _fmt(v) if abs(v) >= 1e4 else f"{v:.{decimals}f}"
