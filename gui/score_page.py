"""Score page: drop one video and see its score, views, model, frames, cues over time and the cues in words.

The caption, post time, followers and sound fields re-score live: only the model runs again, on the
cues already measured (gui.scoring.rescore). Dropping another video while one is scoring cancels the
first; its late answers are ignored.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from engine.media import VIDEO_EXTENSIONS

from . import scoring as adapt
from .contributions import ContributionsChart
from .plots import ScoreRing, TimelinePlot
from .theme import colors, score_color
from .widgets import DropTarget, FrameStrip, card, label

CUE_TITLES = {
    "duration": "Length", "aspect": "Shape", "resolution": "Resolution", "cuts_per_min": "Cuts",
    "hook_motion": "Hook (first 3 s)", "faces": "Faces", "face_size": "Close-up", "onscreen_text": "On-screen text",
    "brightness": "Brightness", "colourfulness": "Colour", "loudness": "Loudness", "speech_share": "Speech",
    "music_share": "Music", "silence_share": "Silence",
}
VIDEO_FILTER = "Videos (" + " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS)) + ");;All files (*)"


def verdict(score: float) -> str:
    """The score in words, for a glance."""
    if score >= 80:
        return "Strong chance"
    if score >= 60:
        return "Above average"
    if score >= 40:
        return "About average"
    if score >= 20:
        return "Below average"
    return "Unlikely to spread"


def _gui_note(note: str) -> str:
    """The engine words its notes for the CLI; point at the fields instead of the flags."""
    return note.replace("(pass --followers)", "(enter it under Before you post)").replace("--followers", "Followers")


class ScorePage(DropTarget, QWidget):
    scored = Signal(object)  # ScoreReport, after every (re-)score the user sees
    status = Signal(str)

    def __init__(self, runner, model, parent=None):
        super().__init__(parent)
        self.runner, self.model = runner, model
        self.setAcceptDrops(True)
        self.report = None  # the report as measured from the file (cues, info)
        self.shown = None  # what is on screen (after live re-scores)
        self.path: Optional[str] = None
        self.job = None
        self.strip_job = None
        self._build()
        self._rescore_timer = QTimer(self, singleShot=True, interval=150)
        self._rescore_timer.timeout.connect(self.rescore_now)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(10)

        head = QHBoxLayout()
        self.title = QLabel("Drop a video anywhere on this page to score it")
        self.title.setObjectName("h2")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.open_button = QPushButton("Open video…")
        self.open_button.setObjectName("primary")
        self.open_button.clicked.connect(self.choose_file)
        head.addWidget(self.title, 1)
        head.addWidget(self.open_button)
        outer.addLayout(head)

        body = QHBoxLayout()
        body.setSpacing(12)
        outer.addLayout(body, 1)

        # left column: the verdict, then what the creator can still change
        left = QVBoxLayout()
        left.setSpacing(10)
        body.addLayout(left, 0)
        verdict = card()
        verdict.setFixedWidth(300)
        v = QVBoxLayout(verdict)
        v.setContentsMargins(14, 12, 14, 12)
        v.addWidget(label("Virality score", "muted"))
        ring_box = QWidget()
        ring_box.setFixedHeight(190)
        grid = QGridLayout(ring_box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.ring = ScoreRing()
        grid.addWidget(self.ring, 0, 0)
        center = QVBoxLayout()
        center.setSpacing(0)
        self.score_label = QLabel("–")
        self.score_label.setObjectName("score")
        self.score_label.setAlignment(Qt.AlignCenter)
        f = self.score_label.font()
        f.setPointSize(44)
        f.setBold(True)
        self.score_label.setFont(f)
        self.out_of = QLabel("out of 100")
        self.out_of.setObjectName("muted")
        self.out_of.setAlignment(Qt.AlignCenter)
        center.addStretch(1)
        center.addWidget(self.score_label)
        center.addWidget(self.out_of)
        center.addStretch(1)
        cw = QWidget()
        cw.setLayout(center)
        cw.setAttribute(Qt.WA_TransparentForMouseEvents)
        grid.addWidget(cw, 0, 0)
        v.addWidget(ring_box)
        self.meaning = label("", wrap=True)
        self.meaning.setAlignment(Qt.AlignHCenter)
        v.addWidget(self.meaning)
        self.odds = label("", wrap=True)
        v.addWidget(self.odds)
        self.views = label("", wrap=True)
        v.addWidget(self.views)
        self.model_label = label("", "muted", wrap=True)
        v.addWidget(self.model_label)
        self.why = ContributionsChart()  # what moved the score, beside the ring
        v.addWidget(self.why)
        left.addWidget(verdict)

        meta = card()
        meta.setFixedWidth(300)
        form_box = QVBoxLayout(meta)
        form_box.setContentsMargins(14, 12, 14, 12)
        form_box.addWidget(label("Before you post (optional, re-scores as you type)", "h2", wrap=True))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignLeft)
        self.caption_edit = QLineEdit()
        self.caption_edit.setPlaceholderText("caption #hashtags")
        self.followers_edit = QLineEdit()
        self.followers_edit.setPlaceholderText("e.g. 12k")
        self.sound_edit = QLineEdit()
        self.sound_edit.setPlaceholderText("'original' or the track's title")
        time_row = QHBoxLayout()
        self.time_check = QCheckBox()
        self.time_check.setToolTip("Use a planned post time")
        self.time_edit = QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600))
        self.time_edit.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.time_edit.setCalendarPopup(True)
        self.time_edit.setEnabled(False)
        self.time_check.toggled.connect(self.time_edit.setEnabled)
        time_row.addWidget(self.time_check)
        time_row.addWidget(self.time_edit, 1)
        form.addRow("Caption", self.caption_edit)
        form.addRow("Post time", time_row)
        form.addRow("Followers", self.followers_edit)
        form.addRow("Sound", self.sound_edit)
        form_box.addLayout(form)
        self.meta_error = label("", "error", wrap=True)
        form_box.addWidget(self.meta_error)
        self.notes = label("", "muted", wrap=True)
        form_box.addWidget(self.notes)
        form_box.addStretch(1)
        left.addWidget(meta, 1)
        for w in (self.caption_edit, self.followers_edit, self.sound_edit):
            w.textChanged.connect(self._meta_changed)
        self.time_check.toggled.connect(self._meta_changed)
        self.time_edit.dateTimeChanged.connect(self._meta_changed)

        # right column: what the video is, over time and in words
        right = QVBoxLayout()
        right.setSpacing(10)
        body.addLayout(right, 1)
        frames_card = card()
        fv = QVBoxLayout(frames_card)
        fv.setContentsMargins(12, 10, 12, 10)
        fv.addWidget(label("Frames", "h2"))
        self.strip = FrameStrip()
        fv.addWidget(self.strip)
        right.addWidget(frames_card)
        tl_card = card()
        tv = QVBoxLayout(tl_card)
        tv.setContentsMargins(12, 10, 12, 10)
        tv.addWidget(label("Content cues over time", "h2"))
        self.timeline = TimelinePlot()
        tv.addWidget(self.timeline)
        right.addWidget(tl_card)
        cues_card = card()
        cv = QVBoxLayout(cues_card)
        cv.setContentsMargins(12, 10, 12, 10)
        cv.addWidget(label("What the video shows, and what could help", "h2"))
        self.cues_label = label("", wrap=True)
        self.cues_label.setTextFormat(Qt.RichText)
        self.cues_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self.cues_label)
        scroll.setStyleSheet("QScrollArea { background: transparent; } QScrollArea > QWidget > QWidget { background: transparent; }")
        cv.addWidget(scroll, 1)
        right.addWidget(cues_card, 1)
        self._clear_result()

    # ------------------------------------------------------------------ gestures
    def handle_drop(self, paths: list[str]) -> None:
        files = [p for p in paths if Path(p).is_file()] or paths
        self.score_file(files[0])

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", VIDEO_FILTER)
        if path:
            self.score_file(path)

    def current_meta(self):
        """The fields as PostMeta; raises InputError for a follower count that is not a number."""
        when = self.time_edit.dateTime().toPython() if self.time_check.isChecked() else None
        return adapt.make_meta(self.caption_edit.text(), when, self.followers_edit.text(), self.sound_edit.text())

    # ------------------------------------------------------------------ scoring
    def score_file(self, path: str) -> None:
        """Score `path`; a scoring already running is cancelled (its answers are then ignored)."""
        self.cancel()
        self.path = str(path)
        self.report = self.shown = None
        self._clear_result()
        self.title.setText(Path(path).name)
        self.score_label.setText("…")
        self.meaning.setText("Measuring the video…")
        self.ring.set_busy(0.0)
        self.strip.set_message("Reading frames…")
        try:
            meta = self.current_meta()
        except EngineError as exc:
            self.meta_error.setText(str(exc))
            meta = adapt.make_meta()
        job = self.runner.submit(self._score_job, self.path, meta, name=f"scoring {Path(path).name}")
        self.job = job
        job.on_progress(lambda f, m, j=job: self._progress(j, f, m))
        job.on_result(lambda r, j=job: self._scored(j, r))
        job.on_error(lambda msg, j=job: self._failed(j, msg))
        strip = self.runner.submit(adapt.sample_strip, self.path, name="frames")
        self.strip_job = strip
        strip.on_result(lambda frames, j=strip: self._frames(j, frames))
        strip.on_error(lambda msg, j=strip: j is self.strip_job and self.strip.set_message("No frames could be read."))
        self.status.emit(f"Scoring {Path(path).name}…")

    def _score_job(self, path, meta, progress, cancel):
        from engine.scoring import score_video

        bundle = self.model.get()
        return score_video(path, meta, bundle=bundle, progress=progress, cancel=cancel)

    def cancel(self) -> None:
        for j in (self.job, self.strip_job):
            if j is not None and j.running:
                j.cancel()
        self.job = self.strip_job = None

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def _progress(self, job, fraction, message) -> None:
        if job is not self.job:
            return
        self.ring.set_busy(fraction)
        self.meaning.setText(f"Measuring: {message}…" if message and message != "done" else "Measuring the video…")

    def _frames(self, job, frames) -> None:
        if job is self.strip_job:
            self.strip.set_frames(frames)

    def _failed(self, job, message: str) -> None:
        if job is not self.job:
            return
        self.ring.set_score(None)
        self.score_label.setText("–")
        self.meaning.setText("")
        self.cues_label.setText(
            f"<p style='color:{colors().bad}'><b>Could not score this file.</b></p><p>{html.escape(message)}</p>")
        self.strip.set_message("")
        self.status.emit("Could not score that file")

    def _scored(self, job, report) -> None:
        if job is not self.job:
            return
        self.report = report
        self.show_report(report, from_job=True)
        self.status.emit(f"Scored {Path(report.path).name}: {report.score:.0f} / 100")
        # the fields may have changed while the file was measured
        self._rescore_timer.start(0)

    def show_report(self, report, from_job: bool = False) -> None:
        """Show a report (from this page's job, or one the Batch page already has)."""
        if not from_job:
            self.cancel()
            self.report = report
            self.path = report.path
            self.title.setText(Path(report.path).name)
            strip = self.runner.submit(adapt.sample_strip, report.path, name="frames")
            self.strip_job = strip
            self.strip.set_message("Reading frames…")
            strip.on_result(lambda frames, j=strip: self._frames(j, frames))
        self._show(report)
        if not from_job:
            self._rescore_timer.start(0)  # the fields' values apply to this report too

    def _show(self, r) -> None:
        self.shown = r
        c = colors()
        self.ring.set_score(r.score)
        self.score_label.setText(f"{r.score:.0f}")
        self.score_label.setStyleSheet(f"color: {score_color(r.score)}")
        self.meaning.setText(f"<span style='font-size:15px; font-weight:600; color:{score_color(r.score)}'>"
                             f"{verdict(r.score)}</span><br>Ranks above {r.score:.0f}% of the posts the model"
                             " learned from")
        if r.viral_probability is not None:
            self.odds.setText(f"Chance of the top quarter: <b>{100 * r.viral_probability:.0f}%</b>")
            self.odds.setToolTip(f"Of past posts with a prediction like this one, {100 * r.viral_probability:.0f}%"
                                 " reached the top quarter of views.")
        else:
            self.odds.setText("")
        if r.views_low is not None and r.views_high is not None:
            self.views.setText(f"Likely views: <b>{adapt.fmt_count(r.views_low)} – {adapt.fmt_count(r.views_high)}</b>")
        else:
            self.views.setText("Likely views: <i>not available for this model</i> (see the note below)")
        provider = r.provider.replace("ExecutionProvider", "")
        self.model_label.setText(f"Model: {r.model} · runs on {provider}")
        self.notes.setText("".join(f"<p>• {html.escape(_gui_note(n))}</p>" for n in r.notes))
        self.why.set_report(r)
        self.timeline.set_timeline(r.cues.timeline, r.info.duration_s)
        rows = []
        for cue in r.cues.cues:
            title = CUE_TITLES.get(cue.name, cue.name)
            line = (f"<tr><td style='padding:3px 12px 3px 0; white-space:nowrap' valign='top'><b>{html.escape(title)}</b></td>"
                    f"<td style='padding:3px 0'>{html.escape(cue.text)}")
            if cue.advice:
                line += f"<br><span style='color:{c.accent}'>→ {html.escape(cue.advice)}</span>"
                note = next((a["note"] for a in r.advice if a["cue"] == cue.name), "")
                line += f"<br><span style='color:{c.muted}'>{html.escape(note)}</span>" if note else ""
            rows.append(line + "</td></tr>")
        self.cues_label.setText("<table width='100%' cellspacing='0'>" + "".join(rows) + "</table>")
        self.scored.emit(r)

    def _clear_result(self) -> None:
        self.ring.set_score(None)
        self.score_label.setText("–")
        self.score_label.setStyleSheet("")
        self.meaning.setText("Drop a video here, or use Open video…")
        for w in (self.odds, self.views, self.model_label, self.notes, self.meta_error):
            w.setText("")
        self.cues_label.setText("")
        self.why.set_report(None)
        self.timeline.set_timeline({}, 0.0)
        self.strip.set_message("Frames from the video appear here.")

    # ------------------------------------------------------------------ live re-scoring
    def _meta_changed(self, *_a) -> None:
        self._rescore_timer.start()

    def rescore_now(self) -> None:
        try:
            meta = self.current_meta()
        except EngineError as exc:
            self.meta_error.setText(str(exc))
            return
        self.meta_error.setText("")
        bundle = self.model.loaded
        if self.report is None or bundle is None:
            return
        try:
            self._show(adapt.rescore(self.report, meta, bundle))
        except EngineError as exc:
            self.meta_error.setText(str(exc))
