"""Score page: drop one video and see its score, views, model, the video itself, frames, cues over time and
the cues in words.

The form is split in two (issue 11 §3): "This post" (caption, post time, sound) belongs to the video, starts
empty for a new file and is remembered per file; "Your account" (followers) is kept and used for every video,
in Batch too (gui.post_details). Both re-score live: only the model runs again, on the cues and per-video model
inputs already measured (gui.scoring.rescore), in a job, never in the GUI thread; an answer for fields the user
has typed past since is dropped. Dropping another video while one is scoring cancels the first; its late answers are
ignored. The whole page scrolls when the window is smaller than it needs (1280x720).
"""
from __future__ import annotations

import html
from dataclasses import replace
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
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from engine.fields import fmt_count
from engine.media import VIDEO_EXTENSIONS

from . import post_details
from . import scoring as adapt
from .contributions import ContributionsChart
from .player import VideoPlayer
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
    return note.replace("(pass --followers)", "(enter it under Your account)").replace("--followers", "Followers")


class DateTimeField(QDateTimeEdit):
    """A date and time field that Tab leaves in one stop (QDateTimeEdit walks its six sections with Tab);
    the sections are still reached with the mouse, the arrow keys, or by typing."""

    def focusNextPrevChild(self, forward: bool) -> bool:  # noqa: N802 (Qt name)
        return QWidget.focusNextPrevChild(self, forward)


LEFT_WIDTH = 330  # the form column and the verdict card


def _side_card(title: str, note: str = ""):
    """A card of the left column with its title (and a line under it): (card, its layout)."""
    box = card()
    box.setFixedWidth(LEFT_WIDTH)
    col = QVBoxLayout(box)
    col.setContentsMargins(14, 12, 14, 12)
    col.addWidget(label(title, "h2"))
    if note:
        col.addWidget(label(note, "muted", wrap=True))
    return box, col


class ScorePage(DropTarget, QWidget):
    scored = Signal(object)  # ScoreReport, after every (re-)score the user sees
    status = Signal(str)
    #: (the score job's cancel token, the strip's frames): emitted from the job's thread, shown in the GUI thread
    strip_decoded = Signal(object, object)

    def __init__(self, runner, model, parent=None):
        super().__init__(parent)
        self.runner, self.model = runner, model
        self.setAcceptDrops(True)
        self.report = None  # the report as measured from the file (cues, info)
        self.shown = None  # what is on screen (after live re-scores)
        self.path: Optional[str] = None
        self.job = None
        self.strip_job = None
        self.rescore_job = None
        self.compare_job = None
        self.compare_dialog = None
        self._post_dirty = False
        self._build()
        self._rescore_timer = QTimer(self, singleShot=True, interval=150)
        self._rescore_timer.timeout.connect(self.rescore_now)
        self.strip_decoded.connect(self._strip_decoded)
        self._load_account()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        page.addWidget(self.scroll)
        content = QWidget()
        content.setObjectName("page")
        self.scroll.setWidget(content)
        outer = QVBoxLayout(content)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(10)

        head = QHBoxLayout()
        self.title = QLabel("Drop a video anywhere on this page to score it")
        self.title.setObjectName("h2")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.title.setMinimumWidth(100)
        self.compare_button = QPushButton("Compare with…")
        self.compare_button.setToolTip("Score another version of this video (a re-cut) and show both side by side")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.choose_compare)
        self.open_button = QPushButton("Open video…")
        self.open_button.setObjectName("primary")
        self.open_button.setToolTip("Open a video to score (Ctrl+O)")
        self.open_button.clicked.connect(self.choose_file)
        head.addWidget(self.title, 1)
        head.addWidget(self.compare_button)
        head.addWidget(self.open_button)
        outer.addLayout(head)

        # top row: the verdict (with room beside the ring for what moved the score) and the video
        top = QHBoxLayout()
        top.setSpacing(12)
        outer.addLayout(top)
        verdict_card = card()
        verdict_card.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        vrow = QHBoxLayout(verdict_card)
        vrow.setContentsMargins(14, 12, 14, 12)
        vrow.setSpacing(14)
        ring_col = QWidget()
        ring_col.setFixedWidth(LEFT_WIDTH - 30)
        v = QVBoxLayout(ring_col)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(label("Virality score", "muted"))
        ring_box = QWidget()
        ring_box.setFixedHeight(180)
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
        f.setPointSize(40)
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
        v.addWidget(self._build_personal_box())
        v.addStretch(1)
        vrow.addWidget(ring_col)
        # beside the ring: what moved the score
        self.why = ContributionsChart()
        vrow.addWidget(self.why, 1)
        top.addWidget(verdict_card, 0)

        player_card = card()
        pv = QVBoxLayout(player_card)
        pv.setContentsMargins(12, 10, 12, 10)
        pv.addWidget(label("Video", "h2"))
        self.player = VideoPlayer(self.runner)
        self.player.setMinimumHeight(260)
        pv.addWidget(self.player, 1)
        top.addWidget(player_card, 1)

        # bottom row: the form and notes on the left, the video over time and in words on the right
        body = QHBoxLayout()
        body.setSpacing(12)
        outer.addLayout(body, 1)
        left = QVBoxLayout()
        left.setSpacing(10)
        body.addLayout(left, 0)

        post, pb = _side_card("This post", "Belongs to this video: empty for a new one, remembered for each file. "
                                           "Re-scores as you type.")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.caption_edit = QLineEdit()
        self.caption_edit.setPlaceholderText("caption #hashtags")
        self.sound_edit = QLineEdit()
        self.sound_edit.setPlaceholderText("'original' or the track's title")
        self.time_check = QCheckBox("Planned post time")
        self.time_check.setToolTip("Use a planned post time")
        self.time_edit = DateTimeField(QDateTime.currentDateTime().addSecs(3600))
        self.time_edit.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.time_edit.setCalendarPopup(True)
        self.time_edit.setEnabled(False)
        self.time_check.toggled.connect(self.time_edit.setEnabled)
        form.addRow("Caption", self.caption_edit)
        form.addRow(self.time_check)
        form.addRow("", self.time_edit)
        form.addRow("Sound", self.sound_edit)
        pb.addLayout(form)
        left.addWidget(post)

        account, ab = _side_card("Your account", "Kept between sessions and used for every video, in Batch too.")
        aform = QFormLayout()
        aform.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.followers_edit = QLineEdit()
        self.followers_edit.setPlaceholderText("e.g. 12k")
        aform.addRow("Followers", self.followers_edit)
        ab.addLayout(aform)
        self.meta_error = label("", "error", wrap=True)
        ab.addWidget(self.meta_error)
        left.addWidget(account)

        notes_card, nb = _side_card("Notes on this score")
        self.notes = label("", "muted", wrap=True)
        nb.addWidget(self.notes)
        nb.addStretch(1)
        left.addWidget(notes_card, 1)

        for w in (self.caption_edit, self.sound_edit):
            w.textChanged.connect(self._post_changed)
        self.time_check.toggled.connect(self._post_changed)
        self.time_edit.dateTimeChanged.connect(self._post_changed)
        self.followers_edit.textChanged.connect(self._account_changed)

        right = QVBoxLayout()
        right.setSpacing(10)
        body.addLayout(right, 1)
        frames_card = card()
        fv = QVBoxLayout(frames_card)
        fv.setContentsMargins(12, 10, 12, 10)
        fv.addWidget(label("Frames (click one to play from there)", "h2"))
        self.strip = FrameStrip()
        self.strip.frame_clicked.connect(self.seek)
        fv.addWidget(self.strip)
        right.addWidget(frames_card)
        tl_card = card()
        tv = QVBoxLayout(tl_card)
        tv.setContentsMargins(12, 10, 12, 10)
        tv.addWidget(label("Content cues over time (click to jump there)", "h2"))
        self.timeline = TimelinePlot()
        self.timeline.clicked.connect(self.seek)
        self.player.position_changed.connect(self.timeline.set_position)
        tv.addWidget(self.timeline)
        right.addWidget(tl_card)
        cues_card = card()
        cv = QVBoxLayout(cues_card)
        cv.setContentsMargins(12, 10, 12, 10)
        cv.addWidget(label("What the video shows, and what could help", "h2"))
        self.cues_label = label("", wrap=True)
        self.cues_label.setTextFormat(Qt.RichText)
        self.cues_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        cv.addWidget(self.cues_label, 1)
        right.addWidget(cues_card, 1)

        # Tab follows the page: open, the post's fields, the account, then the player
        chain = [self.open_button, self.compare_button, self.caption_edit, self.time_check, self.time_edit,
                 self.sound_edit, self.followers_edit, self.player.play_button, self.player.slider]
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)
        self._clear_result()

    def _build_personal_box(self) -> QWidget:
        """Under the general score, beside what moved it: the active personal model's reading ("Your own posts"),
        hidden when none is active."""
        self.personal_problem: Optional[tuple[Path, str]] = None  # (personal bundle, why it cannot be used)
        self.personal_box = QWidget()
        col = QVBoxLayout(self.personal_box)
        col.setContentsMargins(0, 10, 0, 0)
        col.addWidget(label("Your own posts", "h2"))
        self.personal_line = label("", wrap=True)
        self.personal_line.setTextFormat(Qt.RichText)
        col.addWidget(self.personal_line)
        self.personal_drivers = label("", wrap=True)
        self.personal_drivers.setTextFormat(Qt.RichText)
        col.addWidget(self.personal_drivers)
        self.personal_model_label = label("", "muted", wrap=True)
        col.addWidget(self.personal_model_label)
        self.stop_personal_button = QPushButton("Stop using")
        self.stop_personal_button.setToolTip("Stop showing this personal model beside the score (My posts' Make "
                                             "active brings it back)")
        self.stop_personal_button.clicked.connect(self.stop_personal)
        col.addWidget(self.stop_personal_button, 0, Qt.AlignLeft)
        self.personal_box.setVisible(False)
        return self.personal_box

    def _show_personal(self, own: Optional[dict]) -> None:
        """The personal reading of the report shown, why there is none when the active personal model could not be
        used, or the box hidden when none is active."""
        c = colors()
        problem = self.personal_problem
        if (not own and problem is not None and problem[0] == self.model.personal_path
                and self.model.loaded_personal is None and self.shown is not None):
            from engine.models.active import read_bundle_summary

            summary = read_bundle_summary(problem[0])
            name = summary.name if summary else problem[0].name
            self.personal_box.setVisible(True)
            self.personal_line.setText(f"<span style='color:{c.bad}; font-weight:600'>Not read against your own "
                                       "posts</span>")
            self.personal_drivers.setText(html.escape(
                f"The personal model {name} cannot be used ({problem[1]}). The score above is the general one. "
                "Make it again on My posts, or Stop using it."))
            self.personal_model_label.setText(f"Personal model: {html.escape(name)}")
            return
        self.personal_box.setVisible(bool(own))
        if not own:
            return
        if own.get("reliable"):
            self.personal_line.setText(f"<b>{html.escape(own['line'])}</b>")
        else:  # its ranking could not be told from chance: said as such, never as a rank
            self.personal_line.setText(f"<span style='color:{c.muted}; font-weight:600'>Not a prediction</span>"
                                       f"<br>{html.escape(own['line'])}")
        from engine.personal.scoring import driver_lines

        rows = [f"<span style='color:{c.good if side == 'up' else c.bad}'>{'▲' if side == 'up' else '▼'}</span> "
                f"{html.escape(text)}" for side, text in driver_lines(own)]
        self.personal_drivers.setText(
            ("For this creator, these push it up or down:<br>" + "<br>".join(rows)) if rows
            else "None of this video's inputs moves it much from your typical post.")
        self.personal_model_label.setText(f"Personal model: {html.escape(own.get('model') or '')}")

    def stop_personal(self) -> None:
        """"Stop using": no personal model beside the score from now on (remembered); the result shown loses it."""
        self.model.set_personal(None)
        self.personal_box.setVisible(False)
        if self.shown is not None:
            self.shown = replace(self.shown, personal=None, personal_inputs=None)
        if self.report is not None:
            self.report = replace(self.report, personal=None, personal_inputs=None)
        self.status.emit("No personal model beside the score now (My posts' Make active brings one back)")

    # ------------------------------------------------------------------ gestures
    def handle_drop(self, paths: list[str]) -> None:
        files = [p for p in paths if Path(p).is_file()] or paths
        self.score_file(files[0])

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", VIDEO_FILTER)
        if path:
            self.score_file(path)

    def seek(self, seconds: float) -> None:
        """Jump the player to `seconds` (a click on the timeline or a frame)."""
        self.player.seek(seconds)

    def current_meta(self):
        """The fields as PostMeta; raises InputError for a follower count that is not a number."""
        when = self.time_edit.dateTime().toPython() if self.time_check.isChecked() else None
        return adapt.make_meta(self.caption_edit.text(), when, self.followers_edit.text(), self.sound_edit.text())

    # ------------------------------------------------------------------ per-video and account details
    def post_details(self) -> post_details.PostDetails:
        when = self.time_edit.dateTime().toPython().replace(second=0, microsecond=0).isoformat() \
            if self.time_check.isChecked() else None
        return post_details.PostDetails(self.caption_edit.text(), when, self.sound_edit.text())

    def _flush_post(self) -> None:
        if self._post_dirty and self.path:
            post_details.save_post(self.path, self.post_details())
        self._post_dirty = False

    def _load_post(self, path: str) -> None:
        """Fill "This post" with what was entered for this file before (empty for a new one)."""
        d = post_details.load_post(path)
        fields = (self.caption_edit, self.sound_edit, self.time_check, self.time_edit)
        for w in fields:
            w.blockSignals(True)
        self.caption_edit.setText(d.caption)
        self.sound_edit.setText(d.sound)
        when = d.when
        self.time_check.setChecked(when is not None)
        self.time_edit.setEnabled(when is not None)
        self.time_edit.setDateTime(QDateTime(when) if when else QDateTime.currentDateTime().addSecs(3600))
        for w in fields:
            w.blockSignals(False)
        self._post_dirty = False

    def _load_account(self) -> None:
        a = post_details.load_account()
        self.followers_edit.blockSignals(True)
        self.followers_edit.setText(a.followers)
        self.followers_edit.blockSignals(False)

    def _open(self, path: str) -> None:
        """Switch the page to another file: keep the old file's post details, load the new one's."""
        self._flush_post()
        self.path = str(path)
        self._load_post(self.path)
        self.title.setText(Path(path).name)

    # ------------------------------------------------------------------ scoring
    def score_file(self, path: str) -> None:
        """Score `path`; a scoring already running is cancelled (its answers are then ignored)."""
        self.cancel()
        self._open(path)
        self.report = self.shown = None
        self._clear_result()
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
        self.status.emit(f"Scoring {Path(path).name}…")

    def _read_frames(self, path: str) -> None:
        """The strip for a report scored elsewhere (Batch): a job of its own. The page's own score job decodes the
        strip's frames in its one pass over the file (_score_job)."""
        strip = self.runner.submit(adapt.sample_strip, path, name="frames")
        self.strip_job = strip
        self.strip.set_message("Reading frames…")
        strip.on_result(lambda frames, j=strip: self._frames(j, frames))
        strip.on_error(lambda msg, j=strip: j is self.strip_job and self.strip.set_message("No frames could be read."))

    def _score_job(self, path, meta, progress, cancel):
        """Score the file; the strip's frames come from the same decoding pass, as soon as they are decoded."""
        from engine.scoring import score_video

        bundle = self.model.get()
        return score_video(path, meta, bundle=bundle, progress=progress, cancel=cancel, strip=adapt.STRIP_FRAMES,
                           on_strip=lambda frames: self.strip_decoded.emit(cancel, adapt.strip_images(frames)),
                           personal=self._usable_personal())

    def _usable_personal(self):
        """The active personal bundle, loaded; None when none is active or it cannot be used: a damaged bundle (a
        file removed, its manifest edited) is left out, the reason kept for the "Your own posts" box, so that the
        general score is still shown (as the Batch page does)."""
        from engine.errors import BundleError

        path = self.model.personal_path
        try:
            return self.model.get_personal()
        except BundleError as exc:
            self.personal_problem = (path, str(exc))  # read in the GUI thread once the job's result is there
            return None

    def _strip_decoded(self, token, frames) -> None:
        if self.job is not None and self.job.token is token:
            self.strip.set_frames(frames)

    def cancel(self) -> None:
        for j in (self.job, self.strip_job, self.rescore_job):
            if j is not None and j.running:
                j.cancel()
        self.job = self.strip_job = self.rescore_job = None

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    @property
    def rescoring(self) -> bool:
        """A live re-score is running (its answer not shown yet)."""
        return self.rescore_job is not None and self.rescore_job.running

    def model_changed(self) -> None:
        """A new active model ("Make active"): score the video shown again with it."""
        if self.path and (self.report is not None or self.busy):
            self.score_file(self.path)

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
        self.player.load(report.path, report.info.duration_s)
        self.show_report(report, from_job=True)
        # the fields may have changed while the file was measured
        self._rescore_timer.start(0)

    def show_report(self, report, from_job: bool = False) -> None:
        """Show a report (from this page's job, or one the Batch page already has)."""
        if not from_job:
            self.cancel()
            self._open(report.path)
            self.report = report
            self.player.load(report.path, report.info.duration_s)
            self._read_frames(report.path)
        self._show(report)
        self.compare_button.setEnabled(True)
        if not from_job:
            self._rescore_timer.start(0)  # this post's details and the account apply to this report too

    def _show(self, r) -> None:
        self.shown = r
        c = colors()
        self.ring.set_score(r.score)
        self.score_label.setText(f"{r.score:.0f}")
        self.score_label.setStyleSheet(f"color: {score_color(r.score)}")
        self.meaning.setText(f"<span style='font-size:15px; font-weight:600; color:{score_color(r.score)}'>"
                             f"{verdict(r.score)}</span><br>Ranks above {r.score:.0f}% of the posts the model"
                             " learned from")
        own = getattr(r, "personal", None)
        if own and own.get("model") is None and not own.get("reliable"):  # scored by a chance-level personal model
            self.meaning.setText("<span style='font-size:15px; font-weight:600; color:grey'>Not a prediction</span>")
        self._show_personal(own)
        if r.viral_probability is not None:
            self.odds.setText(f"Chance of the top quarter: <b>{100 * r.viral_probability:.0f}%</b>")
            self.odds.setToolTip(f"Of past posts with a prediction like this one, {100 * r.viral_probability:.0f}%"
                                 " reached the top quarter of views.")
        else:
            self.odds.setText("")
        if r.views_low is not None and r.views_high is not None:
            self.views.setText(f"Likely views: <b>{fmt_count(r.views_low)} – {fmt_count(r.views_high)}</b>")
        else:
            self.views.setText("Likely views: <i>not available for this model</i> (see the notes)")
        provider = r.provider.replace("ExecutionProvider", "")
        self.model_label.setText(f"Model: {r.model} · runs on {provider}")
        self.notes.setText("".join(f"<p>• {html.escape(_gui_note(n))}</p>" for n in r.notes))
        self.why.set_report(r)
        self.timeline.set_timeline(r.cues.timeline, r.info.duration_s)
        rows = []
        for cue in r.cues.cues:
            title = CUE_TITLES.get(cue.name, cue.name)
            line = (f"<tr><td width='150' style='padding:3px 12px 3px 0; white-space:nowrap' valign='top'>"
                    f"<b>{html.escape(title)}</b></td>"
                    f"<td style='padding:3px 0'>{html.escape(cue.text)}")
            if cue.advice:
                line += f"<br><span style='color:{c.accent}'>→ {html.escape(cue.advice)}</span>"
                note = next((a["note"] for a in r.advice if a["cue"] == cue.name), "")
                line += f"<br><span style='color:{c.muted}'>{html.escape(note)}</span>" if note else ""
            rows.append(line + "</td></tr>")
        self.cues_label.setText("<table width='100%' cellspacing='0'>" + "".join(rows) + "</table>")
        self.status.emit(f"{Path(r.path).name}: {r.score:.0f} / 100 with {r.model}")
        self.scored.emit(r)

    def _clear_result(self) -> None:
        self.ring.set_score(None)
        self.score_label.setText("–")
        self.score_label.setStyleSheet("")
        self.meaning.setText("Drop a video here, or use Open video…")
        for w in (self.odds, self.views, self.model_label, self.notes, self.meta_error):
            w.setText("")
        self._show_personal(None)
        self.cues_label.setText("")
        self.why.set_report(None)
        self.timeline.set_timeline({}, 0.0)
        self.timeline.set_position(None)
        self.strip.set_message("Frames from the video appear here.")
        self.compare_button.setEnabled(False)
        self.player.clear()

    # ------------------------------------------------------------------ live re-scoring
    def _post_changed(self, *_a) -> None:
        self._post_dirty = True
        self._rescore_timer.start()

    def _account_changed(self, *_a) -> None:
        self._rescore_timer.start()

    def rescore_now(self) -> None:
        self._flush_post()
        try:
            meta = self.current_meta()
        except EngineError as exc:
            self.meta_error.setText(str(exc))
            return
        self.meta_error.setText("")
        account = post_details.Account(self.followers_edit.text().strip())
        if account != post_details.load_account():
            post_details.save_account(account)
        bundle = self.model.loaded
        if self.report is None or bundle is None:
            return
        if self.rescore_job is not None:  # typed past: its answer would be stale
            self.rescore_job.cancel()
        job = self.runner.submit(adapt.rescore, self.report, meta, bundle, personal=self.model.loaded_personal,
                                 name="re-scoring")
        self.rescore_job = job
        job.on_result(lambda r, j=job: self._rescored(j, r))
        job.on_error(lambda msg, j=job: j is self.rescore_job and self.meta_error.setText(msg))

    def _rescored(self, job, report) -> None:
        if job is not self.rescore_job or self.report is None or report.path != self.report.path:
            return  # a newer edit or another file came since
        self.rescore_job = None
        # keep the per-video inputs as last computed (the caption embedding of the caption now typed)
        self.report = replace(self.report, model_inputs=report.model_inputs, personal_inputs=report.personal_inputs)
        self._show(report)

    # ------------------------------------------------------------------ compare two versions
    def choose_compare(self) -> None:
        start = str(Path(self.path).parent) if self.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Compare with another version", start, VIDEO_FILTER)
        if path:
            self.compare_with(path)

    def compare_with(self, path: str) -> None:
        """Score `path` with this post's details and the account, then show it beside the current result."""
        if self.shown is None:
            return
        try:
            meta = self.current_meta()
        except EngineError:
            meta = adapt.make_meta(followers="")
        if self.compare_job is not None and self.compare_job.running:
            self.compare_job.cancel()
        job = self.runner.submit(self._score_job, str(path), meta, name=f"scoring {Path(path).name}")
        self.compare_job = job
        self.status.emit(f"Scoring {Path(path).name} to compare…")
        job.on_result(lambda r, j=job: j is self.compare_job and self._show_compare(r))
        job.on_error(lambda msg, j=job: j is self.compare_job and self.status.emit(f"Could not compare: {msg}"))

    def _show_compare(self, other) -> None:
        from .compare import CompareDialog

        self.compare_dialog = CompareDialog(self.shown, other, self)
        self.compare_dialog.show()
        self.status.emit(f"Compared {Path(self.shown.path).name} ({self.shown.score:.0f}) with "
                         f"{Path(other.path).name} ({other.score:.0f})")
