"""Small widgets the pages share: drop handling, a frame strip, images from numpy, a job progress row."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


class TableModel(QAbstractTableModel):
    """A flat table: one row per item of `self.rows`, the header `COLUMNS`; the columns in `HIGHEST_FIRST` sort
    highest (newest) first on their first click. Subclasses give data()."""

    COLUMNS: tuple[str, ...] = ()
    HIGHEST_FIRST: tuple[int, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.InitialSortOrderRole and self.HIGHEST_FIRST:
            return Qt.DescendingOrder if section in self.HIGHEST_FIRST else Qt.AscendingOrder
        return None


def dropped_paths(event) -> list[str]:
    md = event.mimeData()
    if not md.hasUrls():
        return []
    return [u.toLocalFile() for u in md.urls() if u.isLocalFile() and u.toLocalFile()]


class DropTarget:
    """Mixin for a QWidget: accepts drags of local files and calls self.handle_drop(paths)."""

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if dropped_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.handle_drop(paths)

    def handle_drop(self, paths: list[str]) -> None:
        raise NotImplementedError


def to_pixmap(image: Optional[np.ndarray]) -> Optional[QPixmap]:
    """RGB uint8 H x W x 3 -> QPixmap (GUI thread only)."""
    if image is None:
        return None
    a = np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
    h, w = a.shape[:2]
    img = QImage(a.data, w, h, 3 * w, QImage.Format_RGB888).copy()  # copy: the array may go away
    return QPixmap.fromImage(img)


def card(parent=None) -> QFrame:
    f = QFrame(parent)
    f.setObjectName("card")
    return f


def label(text: str = "", name: str = "", wrap: bool = False, parent=None) -> QLabel:
    lab = QLabel(text, parent)
    if name:
        lab.setObjectName(name)
    lab.setWordWrap(wrap)
    lab.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return lab


class ClickableFrame(QLabel):
    """A frame of the strip: a click asks to jump to its time."""

    clicked = Signal(float)

    def __init__(self, time_s: float, parent=None):
        super().__init__(parent)
        self.time_s = time_s
        self.setCursor(Qt.PointingHandCursor)

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.LeftButton:
            self.clicked.emit(self.time_s)
        super().mousePressEvent(e)


class FrameStrip(QScrollArea):
    """A row of frames from the video, each with its time under it; clicking one emits frame_clicked(time).

    The cells (a picture and its caption) are made once and reused: a new set of frames updates them in place,
    makes only the cells missing and hides the rest, so scoring video after video adds no widgets (each made
    and deleted cell used to leave some 80 references to None behind)."""

    frame_clicked = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self._inner.setObjectName("strip")
        self.setStyleSheet("QScrollArea, QWidget#strip { background: transparent; }")
        self._row = QHBoxLayout(self._inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._message = QLabel()
        self._message.setObjectName("muted")
        self._message.setAlignment(Qt.AlignCenter)
        self._row.addWidget(self._message, 1)
        self._row.addStretch(1)  # after the cells, to keep them to the left (none under a message: it is centred)
        self._cells: list[tuple[QWidget, ClickableFrame, QLabel]] = []  # (cell, picture, caption), shown or not
        self.setWidget(self._inner)
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.frames: list[ClickableFrame] = []  # the pictures shown, in order
        self.set_message("Frames from the video appear here.")

    def set_message(self, text: str) -> None:
        self._show_cells(0)
        self._row.setStretch(self._row.count() - 1, 0)
        self._message.setText(text)
        self._message.show()

    def _show_cells(self, n: int) -> None:
        """Show the first n cells (hide() at once: nothing waits for the event loop) and hide the others."""
        for i, (cell, _, _) in enumerate(self._cells):
            cell.setVisible(i < n)
        self.frames = [pic for _, pic, _ in self._cells[:n]]

    def _new_cell(self) -> tuple[QWidget, ClickableFrame, QLabel]:
        cell = QWidget()
        v = QVBoxLayout(cell)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        pic = ClickableFrame(0.0)
        pic.clicked.connect(self.frame_clicked)
        v.addWidget(pic, 0, Qt.AlignHCenter)
        cap = QLabel()
        cap.setObjectName("muted")
        cap.setAlignment(Qt.AlignHCenter)
        v.addWidget(cap)
        self._row.insertWidget(self._row.count() - 1, cell)  # before the stretch
        self._cells.append((cell, pic, cap))
        return cell, pic, cap

    def set_frames(self, frames: list[tuple[float, np.ndarray]], height: int = 118) -> None:
        self._message.hide()
        self._row.setStretch(self._row.count() - 1, 1)
        n = 0
        for t, image in frames:
            pm = to_pixmap(image)
            if pm is None:
                continue
            pm = pm.scaledToHeight(height, Qt.SmoothTransformation)
            _, pic, cap = self._cells[n] if n < len(self._cells) else self._new_cell()
            pic.time_s = float(t)
            pic.setPixmap(pm)
            pic.setToolTip(f"{t:.1f} s: click to play from here")
            pic.setFixedSize(pm.size())
            cap.setText(f"{t:.1f} s")
            n += 1
        self._show_cells(n)


class JobBar(QWidget):
    """A progress bar, its message and a Cancel button, shown while a job runs."""

    cancel_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.message = QLabel("")
        self.message.setObjectName("muted")
        self.message.setMinimumWidth(200)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        row.addWidget(self.bar, 2)
        row.addWidget(self.message, 3)
        row.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, message: str = "") -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.message.setText(message)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, fraction: Optional[float], message: str) -> None:
        if fraction is None:
            self.bar.setRange(0, 0)  # busy, length unknown
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        if message:
            self.message.setText(message)

    def stop(self) -> None:
        self.setVisible(False)


def short(path: str | Path, n: int = 60) -> str:
    s = Path(path).name
    return s if len(s) <= n else s[: n - 1] + "…"
