"""The Clips page: a long video in, ranked short clips out (engine.clips).

Drop a video (or Open…): the analysis runs as a job with a progress bar and Cancel; then a timeline of the whole
video shows the speech and the shot cuts with the chosen clips as numbered bands, best first, and a list beside
it gives each clip's score, span and reasons. A click on a band or a row plays that clip and pauses at its end
(Play plays it again; a seek outside it plays on through the video), a nudge plays the moved edge; untick the
ones you do not want and Export cuts the rest into a folder (with the 9:16 and captions options), through the
same engine calls as `python main.py clips`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.media import VIDEO_EXTENSIONS

from .player import VideoPlayer
from .theme import colors
from .widgets import DropTarget, JobBar, label


class ClipTimeline(QWidget):
    """The whole video as a strip: speech (a pale band), shot cuts (ticks) and the clips (numbered bands)."""

    clip_clicked = Signal(int)  # index into the clips

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.duration = 0.0
        self.speech: list[tuple[float, float]] = []
        self.cuts: list[float] = []
        self.spans: list[tuple[float, float]] = []
        self.enabled: list[bool] = []
        self.current = -1
        self.setAccessibleName("Timeline of the video with the clips")

    def set_data(self, duration: float, speech, cuts, spans) -> None:
        self.duration, self.speech, self.cuts = duration, list(speech), list(cuts)
        self.spans = list(spans)
        self.enabled = [True] * len(self.spans)
        self.current = -1
        self.update()

    def _x(self, t: float) -> float:
        return 4 + (self.width() - 8) * (t / self.duration if self.duration else 0.0)

    def clip_at(self, x: float) -> int:
        """The best-ranked clip under x (pixels), or -1."""
        for i, (a, b) in enumerate(self.spans):
            if self._x(a) <= x <= self._x(b):
                return i
        return -1

    def mousePressEvent(self, e) -> None:  # noqa: N802
        i = self.clip_at(e.position().x())
        if i >= 0:
            self.clip_clicked.emit(i)

    def paintEvent(self, _e) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        c = colors()
        h = self.height()
        p.fillRect(self.rect(), QColor(c.alt_base))
        if self.duration <= 0:
            return
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(120, 170, 255, 70))
        for a, b in self.speech:
            p.drawRect(QRectF(self._x(a), h * 0.62, max(1.0, self._x(b) - self._x(a)), h * 0.3))
        p.setPen(QPen(QColor(200, 200, 200, 150), 1))
        for t in self.cuts:
            p.drawLine(int(self._x(t)), int(h * 0.55), int(self._x(t)), h - 2)
        for i in reversed(range(len(self.spans))):
            a, b = self.spans[i]
            on = self.enabled[i] if i < len(self.enabled) else True
            col = QColor(255, 140, 60, 200 if on else 60)
            if i == self.current:
                col = QColor(255, 210, 80, 230)
            p.setPen(Qt.NoPen)
            p.setBrush(col)
            r = QRectF(self._x(a), 6, max(2.0, self._x(b) - self._x(a)), h * 0.42)
            p.drawRoundedRect(r, 3, 3)
            p.setPen(QColor(20, 20, 20))
            p.drawText(r, Qt.AlignCenter, str(i + 1))


class ClipsPage(DropTarget, QWidget):
    status = Signal(str)
    planned = Signal(object)  # engine.clips.job.ClipPlan
    exported = Signal(object)  # engine.clips.job.ClipsResult

    def __init__(self, runner, model=None, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.model = model
        self.plan = None
        self.job = None
        self.setAcceptDrops(True)
        col = QVBoxLayout(self)
        top = QHBoxLayout()
        self.open_button = QPushButton("Open long video…")
        self.open_button.clicked.connect(self.choose_file)
        self.count = QSpinBox()
        self.count.setRange(1, 50)
        self.count.setValue(10)
        self.count.setPrefix("clips: ")
        self.min_len = QDoubleSpinBox()
        self.max_len = QDoubleSpinBox()
        for box, v, pre in ((self.min_len, 20, "from "), (self.max_len, 60, "to ")):
            box.setRange(3, 600)
            box.setValue(v)
            box.setPrefix(pre)
            box.setSuffix(" s")
        self.vertical = QCheckBox("9:16")
        self.captions = QCheckBox("Captions (.srt)")
        self.burn = QCheckBox("Burned in")
        self.use_model = QCheckBox("Blend in the model's score")
        self.use_model.setChecked(model is not None)
        self.use_model.setEnabled(model is not None)
        for w in (self.open_button, self.count, self.min_len, self.max_len, self.vertical, self.captions,
                  self.burn, self.use_model):
            top.addWidget(w)
        top.addStretch(1)
        col.addLayout(top)
        self.hint = label("Drop a long video here (a podcast, a stream, a talk): the best short clips are found, "
                          "each with its reasons. The score is a heuristic, not a prediction of views.",
                          "muted", wrap=True)
        col.addWidget(self.hint)
        self.jobbar = JobBar()
        self.jobbar.cancel_clicked.connect(self.cancel)
        col.addWidget(self.jobbar)
        self.timeline = ClipTimeline()
        self.timeline.clip_clicked.connect(self.select)
        col.addWidget(self.timeline)
        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self.select)
        self.list.itemChanged.connect(self._ticked)
        lcol.addWidget(self.list, 1)
        self.notes = label("", "muted", wrap=True)
        lcol.addWidget(self.notes)
        nudges = QHBoxLayout()
        self.nudge_buttons = {}
        for edge, step, text in (("start", -1, "◀ start"), ("start", 1, "start ▶"), ("end", -1, "◀ end"),
                                 ("end", 1, "end ▶")):
            b = QPushButton(text)
            b.setToolTip(f"Move the selected clip's {edge} to the {'previous' if step < 0 else 'next'} pause, "
                         "shot cut or sentence end")
            b.clicked.connect(lambda _=False, e=edge, d=step: self.nudge(e, d))
            nudges.addWidget(b)
            self.nudge_buttons[(edge, step)] = b
        lcol.addLayout(nudges)
        self.export_button = QPushButton("Export ticked clips…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.choose_export())
        lcol.addWidget(self.export_button)
        split.addWidget(left)
        self.player = VideoPlayer(runner)
        split.addWidget(self.player)
        split.setSizes([520, 400])
        col.addWidget(split, 1)

    # ------------------------------------------------------------------ finding
    def handle_drop(self, paths: list[str]) -> None:
        videos = [p for p in paths if Path(p).suffix.lower() in VIDEO_EXTENSIONS]
        if videos:
            self.find(videos[0])
        else:
            self.status.emit("Drop a video file to find clips in it")

    def choose_file(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Open a long video", "", f"Videos ({exts})")
        if path:
            self.find(path)

    def find(self, path: str, cache_dir: Optional[str] = None):
        """Analyse `path` and choose clips in a job; returns the job."""
        from engine.clips.job import plan_clips

        bundle = None
        if self.model is not None and self.use_model.isChecked():
            try:
                bundle = self.model.get()
            except Exception as exc:  # the page still works without the model
                self.status.emit(f"Clips without the model's score: {exc}")
        length = (self.min_len.value(), max(self.min_len.value(), self.max_len.value()))
        self.list.clear()
        self.export_button.setEnabled(False)
        self.jobbar.start(f"Analysing {Path(path).name}")
        self.status.emit(f"Finding clips in {Path(path).name}…")
        self.job = self.runner.submit(plan_clips, path, count=self.count.value(), length=length, bundle=bundle,
                                      cache_dir=cache_dir, name="finding clips")
        self.job.on_progress(self.jobbar.update_progress).on_result(self.show_plan).on_error(self._failed)
        self.job.on_cancelled(lambda: self._stopped("Stopped; the analysis so far is not kept"))
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _failed(self, message: str) -> None:
        self.jobbar.stop()
        self.notes.setText(message)
        self.status.emit(message)

    def _stopped(self, message: str) -> None:
        self.jobbar.stop()
        self.status.emit(message)

    def show_plan(self, plan) -> None:
        self.jobbar.stop()
        self.plan = plan
        an = plan.analysis
        self.timeline.set_data(an.duration_s, an.speech_segments(), an.cuts, [(c.start_s, c.end_s) for c in plan.clips])
        self.list.blockSignals(True)
        self.list.clear()
        for i, c in enumerate(plan.clips, 1):
            item = QListWidgetItem(_row_text(i, c))
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.notes.setText("\n".join(plan.notes))
        self.export_button.setEnabled(bool(plan.clips))
        self.player.load(plan.source, an.duration_s)
        self.status.emit(f"{len(plan.clips)} clips found in {Path(plan.source).name}")
        self.planned.emit(plan)

    def select(self, i: int) -> None:
        if self.plan is None or not (0 <= i < len(self.plan.clips)):
            return
        if self.list.currentRow() != i:
            self.list.setCurrentRow(i)
        self.timeline.current = i
        self.timeline.update()
        c = self.plan.clips[i]
        self.player.play_span(c.start_s, c.end_s)  # it pauses at the clip's end, not in the rest of the video

    def nudge(self, edge: str, step: int) -> None:
        """Move the selected clip's start or end to the neighbouring boundary (snapping), and rescore it."""
        i = self.list.currentRow()
        if self.plan is None or not (0 <= i < len(self.plan.clips)):
            return
        from engine.clips.finder import nudge

        c = nudge(self.plan.analysis, self.plan.clips[i], edge, step)
        self.plan.clips[i] = c
        self.list.item(i).setText(_row_text(i + 1, c))
        self.timeline.spans[i] = (c.start_s, c.end_s)
        self.timeline.update()
        self.player.play_span(c.start_s, c.end_s, at=c.start_s if edge == "start" else c.end_s - 3.0)

    def _ticked(self, _item) -> None:
        self.timeline.enabled = [self.list.item(i).checkState() == Qt.Checked for i in range(self.list.count())]
        self.timeline.update()

    def ticked(self) -> list:
        if self.plan is None:
            return []
        return [c for i, c in enumerate(self.plan.clips) if self.list.item(i).checkState() == Qt.Checked]

    # ------------------------------------------------------------------ export
    def choose_export(self, folder: Optional[str] = None):
        folder = folder or QFileDialog.getExistingDirectory(self, "Export the clips into")
        if not folder or self.plan is None:
            return None
        from engine.clips.job import ClipPlan, write_clips

        chosen = ClipPlan(self.plan.source, self.plan.analysis, self.ticked(), self.plan.notes)
        self.jobbar.start("Cutting the clips")
        self.job = self.runner.submit(write_clips, chosen, folder, vertical=self.vertical.isChecked(),
                                      captions=self.captions.isChecked(), burn=self.burn.isChecked(),
                                      name="exporting clips")
        self.job.on_progress(self.jobbar.update_progress).on_error(self._failed)
        self.job.on_result(self._exported)
        self.job.on_cancelled(lambda: self._stopped("Export stopped; the clips written so far are kept"))
        return self.job

    def _exported(self, result) -> None:
        self.jobbar.stop()
        self.status.emit(f"Exported {len(result.files)} clips to {result.out_dir}")
        self.exported.emit(result)


def _row_text(rank: int, c) -> str:
    return f"{rank}. {c.score:.0f}   {_clock(c.start_s)}–{_clock(c.end_s)}  ({c.duration_s:.0f} s)\n" + "; ".join(c.reasons)


def _clock(t: float) -> str:
    m, s = divmod(t, 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"
