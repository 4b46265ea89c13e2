"""Why this score, on the Score page: a small bar chart of the points each input group moved the score against
the typical post the model learned from (ScoreReport.contributions), and the typical values assumed for the
inputs not given (ScoreReport.assumed). The numbers come from the report; this widget only draws them."""
from __future__ import annotations

import html
from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .theme import colors

ROW_HEIGHT = 22


def points_text(points: float) -> str:
    """How a bar's value is written: signed, one decimal ('+3.2', '-12.0'; a zero is '0.0')."""
    return "0.0" if round(points, 1) == 0 else f"{points:+.1f}"


class _Bars(QWidget):
    """One row per input group: its name, a bar from the zero line (right: raised the score), the points."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, float, str]] = []  # (label, points, detail)

    def set_rows(self, rows: list[tuple[str, float, str]]) -> None:
        self.rows = rows
        self.setToolTip("\n".join(f"{name}: {points_text(p)} points ({detail})" if detail else
                                  f"{name}: {points_text(p)} points" for name, p, detail in rows))
        self.setMinimumHeight(len(rows) * ROW_HEIGHT + 4)  # every group stays readable in a tight column
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, max(1, len(self.rows)) * ROW_HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(180, len(self.rows) * ROW_HEIGHT + 4)

    def paintEvent(self, _e) -> None:
        if not self.rows:
            return
        c = colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        fm = QFontMetrics(self.font())
        name_w = max(fm.horizontalAdvance(n) for n, _, _ in self.rows) + 8
        value_w = fm.horizontalAdvance("+00.0") + 6
        left, right = name_w, self.width() - value_w
        zero = left + (right - left) / 2
        scale = (right - left) / 2 / max(5.0, max(abs(pts) for _, pts, _ in self.rows))
        p.setPen(QPen(QColor(c.border), 1))
        p.drawLine(int(zero), 0, int(zero), len(self.rows) * ROW_HEIGHT)
        for i, (name, pts, _detail) in enumerate(self.rows):
            y = i * ROW_HEIGHT
            p.setPen(QColor(c.text))
            p.drawText(QRectF(0, y, name_w - 6, ROW_HEIGHT), Qt.AlignVCenter | Qt.AlignLeft, name)
            w = pts * scale
            bar = QRectF(min(zero, zero + w), y + 5, abs(w), ROW_HEIGHT - 10)
            p.fillRect(bar, QColor(c.good if pts > 0 else c.bad))
            p.setPen(QColor(c.muted))
            p.drawText(QRectF(right + 4, y, value_w, ROW_HEIGHT), Qt.AlignVCenter | Qt.AlignLeft, points_text(pts))
        p.end()


class ContributionsChart(QWidget):
    """'Why this score': set_report(report) shows its contributions, typical score and assumed inputs;
    set_report(None) clears it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.title = QLabel("")
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.bars = _Bars()
        lay.addWidget(self.bars)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.assumed = QLabel("")
        self.assumed.setObjectName("muted")
        self.assumed.setWordWrap(True)
        self.assumed.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.assumed)
        self.set_report(None)

    def set_report(self, report) -> None:
        contributions = list(getattr(report, "contributions", None) or [])
        typical: Optional[float] = getattr(report, "typical_score", None)
        if not contributions or typical is None:
            self.title.setText("")
            self.summary.setText("")
            self.bars.set_rows([])
            self.assumed.setText("")
            self.setVisible(False)
            return
        self.setVisible(True)
        self.title.setText(f"<b>Why this score</b> <span style='color:{colors().muted}'>points against the typical"
                           f" post, which scores {typical:.0f}</span>")
        self.title.setToolTip("The points each group of inputs moved this score, against the typical post the model"
                              " learned from; they add up to the difference between the two scores.")
        self.bars.set_rows([(c.label, float(c.points), c.detail) for c in contributions])
        self.summary.setText(html.escape(getattr(report, "summary", "") or ""))
        assumed = list(getattr(report, "assumed", None) or [])
        self.assumed.setText("<br>".join(f"• {html.escape(a[:1].upper() + a[1:])}" for a in assumed))

    def shown(self) -> list[tuple[str, str]]:
        """What the bars show, as (group label, points text): the values a test compares with the report."""
        return [(name, points_text(p)) for name, p, _ in self.bars.rows]
