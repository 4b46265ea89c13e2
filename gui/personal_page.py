"""The "My posts" page: learn a personal model from one creator's own posts (engine.personal), see how well it
predicts them (time-ordered, with intervals, said plainly), what separates their best posts from their worst,
and make it the active model so the Score page says where a draft ranks among their own posts."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .widgets import JobBar, card, label

#: (key, what the user sees)
SOURCES = (
    ("posts", "A posts CSV of my posts"),
    ("dataset", "One author of a dataset"),
    ("videos", "A folder of my videos + a stats CSV"),
    ("account", "My account (collect, with downloads)"),
)


def model_dir_for(name: str) -> Path:
    """Where the page writes the personal model of `name` (a creator, a handle): <models>/personal-<name>."""
    from engine.models.active import models_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.strip().lstrip("@")) or "me"
    return models_dir() / f"personal-{safe}"


def learn_from_source(source: str, first: str, second: str, author: str, out_dir: Optional[Path],
                      download: bool = True, progress=None, cancel=None) -> dict:
    """The page's job: read (or collect) the history, then learn_personal into out_dir (None: the folder named
    after the creator the history turns out to be, model_dir_for)."""
    from engine.errors import DataError
    from engine.personal import history as hist
    from engine.personal.learn import learn_personal

    from engine.jobs import NEVER_CANCELLED, no_progress

    progress, cancel = progress or no_progress, cancel or NEVER_CANCELLED
    if source == "account" and out_dir is None:
        out_dir = model_dir_for(first)

    author = author.strip() or None
    if not first.strip():
        raise DataError("choose where your posts are first")
    if source == "posts":
        h = hist.from_posts_csv(first, author)
    elif source == "dataset":
        h = hist.from_dataset(first, author)
    elif source == "videos":
        if not second.strip():
            raise DataError("choose the stats CSV that goes with the videos")
        progress(None, "reading your stats and matching them to your videos")
        h = hist.from_videos(first, second, author)
    else:
        h = hist.from_account(first, Path(str(out_dir) + ".dataset"), download=download,
                              progress=lambda f, m: progress(None if f is None else 0.3 * f, m), cancel=cancel)
        inner = progress
        progress = lambda f, m: inner(None if f is None else 0.3 + 0.7 * f, m)  # noqa: E731
    return learn_personal(h, out_dir or model_dir_for(h.creator), progress=progress, cancel=cancel)


class PersonalPage(QWidget):
    status = Signal(str)
    active_model_changed = Signal(object)  # the bundle's Path

    def __init__(self, runner, model, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.model = model
        self.job = None
        self.report: Optional[dict] = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.addWidget(label("My posts: learn from your own history", "h1"))
        outer.addWidget(label("Which of your drafts will do better than your usual? A model learned from your own "
                              "posts, each compared with your typical views when it went out, so your account's "
                              "growth is not taken for content. It is measured the honest way: every post predicted "
                              "only from the posts before it.", "muted", wrap=True))
        src = card()
        form = QFormLayout(src)
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.currentIndexChanged.connect(self._source_changed)
        form.addRow("Where from", self.source)
        self.first, self.first_browse, self.first_label = self._path_row(form, "Posts CSV", self._browse_first)
        self.second, self.second_browse, self.second_label = self._path_row(form, "Stats CSV", self._browse_second)
        self.author = QLineEdit()
        self.author.setPlaceholderText("only when the source holds several authors")
        form.addRow("Author", self.author)
        self.download = QCheckBox("Download the videos too (content cues)")
        self.download.setChecked(True)
        form.addRow("", self.download)
        buttons = QHBoxLayout()
        self.learn_button = QPushButton("Learn from these posts")
        self.learn_button.clicked.connect(self.start)
        self.active_button = QPushButton("Make active")
        self.active_button.setEnabled(False)
        self.active_button.clicked.connect(self.make_active)
        buttons.addWidget(self.learn_button)
        buttons.addWidget(self.active_button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        outer.addWidget(src)
        self.jobbar = JobBar()
        self.jobbar.cancel_clicked.connect(self.cancel)
        outer.addWidget(self.jobbar)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.results = QVBoxLayout(body)
        self.verdict = label("", wrap=True)
        self.verdict.setTextFormat(Qt.RichText)
        self.results.addWidget(self.verdict)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["compared with your typical views", "Spearman (95% interval)",
                                              "top-quarter AUC (95% interval)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(1, 200)
        self.table.setVisible(False)
        self.results.addWidget(self.table)
        self.drivers = label("", wrap=True)
        self.drivers.setTextFormat(Qt.RichText)
        self.results.addWidget(self.drivers)
        self.plot = QLabel()
        self.plot.setAlignment(Qt.AlignLeft)
        self.results.addWidget(self.plot)
        self.results.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self._source_changed()

    # ---- the form

    @staticmethod
    def _path_row(form: QFormLayout, title: str, browse) -> tuple[QLineEdit, QPushButton, QLabel]:
        edit, button, caption = QLineEdit(), QPushButton("Browse…"), QLabel(title)
        button.clicked.connect(browse)
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        form.addRow(caption, row)
        return edit, button, caption

    def _source_changed(self) -> None:
        key = self.source.currentData()
        self.first_label.setText({"posts": "Posts CSV", "dataset": "Dataset", "videos": "Videos folder",
                                  "account": "Account (@handle)"}[key])
        self.first_browse.setVisible(key != "account")
        for w in (self.second, self.second_browse, self.second_label):
            w.setVisible(key == "videos")
        self.download.setVisible(key == "account")

    def _browse_first(self) -> None:
        key = self.source.currentData()
        if key == "videos":
            path = QFileDialog.getExistingDirectory(self, "The folder of your videos")
        else:
            filt = "Posts CSV (*.csv)" if key == "posts" else "Dataset (*.sqlite *.db);;All files (*)"
            path, _ = QFileDialog.getOpenFileName(self, "Your posts", "", filt)
        if path:
            self.first.setText(path)

    def _browse_second(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Your posts' stats: a posts CSV or the analytics export of "
                                              "TikTok Studio, Meta Business Suite (Instagram) or YouTube Studio",
                                              "", "Stats table (*.csv)")
        if path:
            self.second.setText(path)

    # ---- the job

    def _out_dir(self) -> Optional[Path]:
        """The model's folder when the form names whose posts (an author, an account); None: the creator's name
        once the history is read (a file or folder name says little: 'Table data.csv', 'My videos')."""
        if self.author.text().strip():
            return model_dir_for(self.author.text())
        if self.source.currentData() == "account" and self.first.text().strip():
            return model_dir_for(self.first.text())
        return None

    def start(self) -> None:
        if self.job is not None:
            return
        self.learn_button.setEnabled(False)
        self.active_button.setEnabled(False)
        self.jobbar.start("reading your posts")
        self.job = (self.runner.submit(learn_from_source, self.source.currentData(), self.first.text(),
                                       self.second.text(), self.author.text(), self._out_dir(),
                                       self.download.isChecked(), name="learn personal model")
                    .on_progress(self.jobbar.update_progress)
                    .on_result(self.show_report)
                    .on_error(lambda m: self._say(m, error=True))
                    .on_cancelled(lambda: self._say("Stopped; any earlier personal model is untouched."))
                    .on_finished(self._finished))

    def cancel(self) -> None:
        if self.job is not None:
            self.jobbar.cancel_button.setEnabled(False)
            self.job.cancel()

    def _finished(self, _job) -> None:
        self.job = None
        self.jobbar.stop()
        self.learn_button.setEnabled(True)

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#c0392b" if error else ""
        self.verdict.setText(f"<span style='color:{colour}'>{html.escape(text)}</span>" if error else html.escape(text))
        self.status.emit(text)

    # ---- results

    def show_report(self, report: dict) -> None:
        from engine.personal.evaluate import METHOD_WORDS

        self.report = report
        ev = report["evaluation"]
        tone = "#2a9d8f" if report["reliable"] else "#b9770e"
        notes = "".join(f"<br><span style='color:grey'>{html.escape(n)}</span>" for n in report["notes"])
        self.verdict.setText(
            f"<b>{html.escape(report['creator'])}</b>: {report['n_posts']} posts, {report['n_videos']} videos measured"
            f"<br><span style='color:{tone}; font-weight:600'>{html.escape(report['summary'][:1].upper() + report['summary'][1:])}</span>"
            f"<br><span style='color:grey'>Label: {html.escape(report['label'])}</span>{notes}")
        block = ev.get("relative") or {}
        self.table.setRowCount(0)
        for method, d in block.items():
            r = self.table.rowCount()
            self.table.insertRow(r)
            cells = (METHOD_WORDS.get(method, method), _with_ci(d.get("spearman"), d.get("spearman_ci")),
                     _with_ci(d.get("auc_top25"), d.get("auc_top25_ci")))
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.setVisible(bool(block))
        lines = report["driver_lines"]
        if lines:
            self.drivers.setText("<b>What separates your top quarter from your bottom quarter</b> (posts the model "
                                 "never saw, strongest first)<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in lines)
                                 + "</ul>")
        else:
            self.drivers.setText("<b>No input clearly separates your top quarter from your bottom quarter</b> "
                                 "(every interval includes zero).")
        png = Path(report["bundle"]) / "drivers.png"
        pix = QPixmap(str(png)) if png.exists() else QPixmap()
        self.plot.setPixmap(pix)
        self.active_button.setEnabled(True)
        self.status.emit(f"Personal model for {report['creator']} written to {report['bundle']}")

    def make_active(self) -> None:
        if not self.report:
            return
        p = Path(self.report["bundle"])
        self.model.set_personal(p)
        self.status.emit(f"Personal model: {p.name}. The Score page now says, beside the general score, where a draft "
                         "ranks among your own posts.")
        self.active_model_changed.emit(p)


def _with_ci(v, ci) -> str:
    if v is None:
        return "n/a"
    return f"{v:+.3f}" + (f"  ({ci[0]:+.2f} to {ci[1]:+.2f})" if ci else "")
