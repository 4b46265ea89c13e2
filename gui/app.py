"""The main window: four pages (Score, Batch, Dataset, Train) beside a navigation list, one job runner,
the active model, a File menu (Open, Open folder, Export, Quit) and a Help menu with the About box, window state in
QSettings and a theme that follows the system."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from engine import __version__

from . import theme, userdata
from .about import AboutDialog
from .batch_page import BatchPage
from .clips_page import ClipsPage
from .dataset_page import DatasetPage
from .jobs import JobRunner
from .model import ActiveModel
from .personal_page import PersonalPage
from .score_page import ScorePage
from .train_page import TrainPage
from .widgets import DropTarget

PAGES = ("Score", "Batch", "Dataset", "Train", "My posts", "Clips")


class MainWindow(DropTarget, QMainWindow):
    def __init__(self, model_path: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"Virality Studio {__version__}")
        self.setAcceptDrops(True)
        self.runner = JobRunner(self)
        self.model = ActiveModel(model_path)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(150)
        self.nav.addItems(PAGES)
        self.stack = QStackedWidget()
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.score_page = ScorePage(self.runner, self.model)
        self.batch_page = BatchPage(self.runner, self.model)
        self.dataset_page = DatasetPage(self.runner)
        self.train_page = TrainPage(self.runner, self.model)
        self.personal_page = PersonalPage(self.runner, self.model)
        self.clips_page = ClipsPage(self.runner, self.model)
        for page in (self.score_page, self.batch_page, self.dataset_page, self.train_page, self.personal_page,
                     self.clips_page):
            self.stack.addWidget(page)
            page.status.connect(self.statusBar().showMessage)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.batch_page.open_report.connect(self._open_report)
        self.dataset_page.datasets_changed.connect(self.train_page.refresh)
        self.dataset_page.dataset_opened.connect(self.train_page.add_dataset)
        self.train_page.active_model_changed.connect(lambda _p: self._show_model())
        self.train_page.active_model_changed.connect(lambda _p: self.score_page.model_changed())
        self.personal_page.active_model_changed.connect(self.train_page.active_model_changed)  # same follow-ups
        self.score_page.scored.connect(lambda _r: self._show_model())
        self.score_page.stop_personal_button.clicked.connect(lambda: self._show_model())  # after stop_personal
        self.nav.currentRowChanged.connect(lambda i: i == 3 and self.train_page.refresh())

        self._build_file_menu()
        self.about_dialog: AboutDialog | None = None
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction(f"&About {userdata.APP_NAME}", self)
        self.about_action.setMenuRole(QAction.AboutRole)  # macOS moves it to the application menu
        self.about_action.triggered.connect(lambda: self.show_about())
        help_menu.addAction(self.about_action)

        self.model_label = QLabel()
        self.model_label.setObjectName("muted")
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().showMessage("Ready: drop a video to score it, or a folder to rank its videos")
        self._show_model()
        self._restore()
        self._load_model()

    # the old plain window's names, kept for scripts and tests written against it
    @property
    def score_label(self):
        return self.score_page.score_label

    def _load_model(self) -> None:
        """Load the bundle (and the cue models) off the UI thread so the first score starts sooner."""

        def load(progress, cancel):
            self.model.get()
            try:
                from engine.cues import warm_up

                warm_up()
            except Exception:  # warming is an optimisation; scoring loads what it needs anyway
                pass

        job = self.runner.submit(load, name="loading the model")
        job.on_error(lambda m: self.statusBar().showMessage(f"The active model cannot be used: {m}"))
        job.on_result(lambda _r: self._refresh_about())  # it can now say which provider runs the model

    def _build_file_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open video…", self, shortcut=QKeySequence.Open)
        self.open_action.triggered.connect(lambda: (self.show_page("Score"), self.score_page.choose_file()))
        self.open_folder_action = QAction("Open &folder…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
        self.open_folder_action.triggered.connect(lambda: (self.show_page("Batch"), self.batch_page.choose_folder()))
        self.export_action = QAction("&Export…", self, shortcut=QKeySequence("Ctrl+E"))
        self.export_action.setToolTip("The score shown (JSON) on the Score page, the ranking (CSV) on Batch")
        self.export_action.triggered.connect(self.export_current)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.QuitRole)
        self.quit_action.triggered.connect(self.close)
        for a in (self.open_action, self.open_folder_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)

    def export_current(self) -> None:
        """Export what the page shown has: the score report as JSON, or the batch ranking as CSV."""
        page = self.stack.currentWidget()
        if page is self.batch_page and self.batch_page.export_button.isEnabled():
            self.batch_page.choose_export()
            return
        r = self.score_page.shown
        if r is None:
            self.statusBar().showMessage("Nothing to export yet: score a video (Score) or a folder (Batch) first")
            return
        self.show_page("Score")
        start = str(Path(r.path).with_suffix(".score.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Export the score", start, "JSON (*.json)")
        if path:
            try:
                self.export_report(path)
            except OSError as exc:
                QMessageBox.warning(self, "Export", f"{path}: cannot be written ({exc.strerror or exc})")

    def export_report(self, path: str) -> None:
        """The score shown, as the CLI's `score --json` writes it."""
        r = self.score_page.shown
        Path(path).write_text(json.dumps(r.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        self.statusBar().showMessage(f"Wrote {path}")

    def _show_model(self) -> None:
        """The status bar names the general model and, when one is active, the personal model beside it."""
        s = userdata.read_bundle_summary(self.model.path)
        active = s.name if s else self.model.path.name
        shown = self.score_page.shown
        if shown is not None and shown.model != active and not self.score_page.busy:
            text = f"Model: {active} (the score shown is from {shown.model})"
        else:
            text = f"Model: {active}"
        if self.model.personal_path is not None:
            p = userdata.read_bundle_summary(self.model.personal_path)
            text += f" · Personal model: {p.name if p else self.model.personal_path.name}"
        self.model_label.setText(text)
        self._refresh_about()
        if self.model.loaded is None and self.isVisible():  # a new active model: load it now, not on first use
            self._load_model()

    def _refresh_about(self) -> None:
        if self.about_dialog is not None:
            self.about_dialog.refresh()

    def show_about(self) -> AboutDialog:
        """Open (or raise) the About box; modeless, it follows the active model while open."""
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self.model, self)
        else:
            self.about_dialog.refresh()
        self.about_dialog.show()
        self.about_dialog.fit_height()
        self.about_dialog.raise_()
        self.about_dialog.activateWindow()
        return self.about_dialog

    def _open_report(self, report) -> None:
        self.nav.setCurrentRow(0)
        self.score_page.show_report(report)

    def show_page(self, name: str) -> None:
        self.nav.setCurrentRow(PAGES.index(name))

    # a drop on the navigation list or the status bar: a folder goes to Batch, a file to the page shown
    def handle_drop(self, paths: list[str]) -> None:
        if len(paths) > 1 or Path(paths[0]).is_dir():
            if self.stack.currentWidget() is not self.dataset_page:
                self.show_page("Batch")
        elif self.stack.currentWidget() not in (self.dataset_page, self.clips_page):
            self.show_page("Score")
        self.stack.currentWidget().handle_drop(paths)

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        s = userdata.settings()
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1240, 840)
        try:
            page = int(s.value("window/page", 0))
        except (TypeError, ValueError):
            page = 0
        self.nav.setCurrentRow(page if 0 <= page < len(PAGES) else 0)

    def save_state(self) -> None:
        s = userdata.settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/page", self.nav.currentRow())
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_state()
        self.statusBar().showMessage("Stopping running jobs…")
        self.runner.shutdown()
        super().closeEvent(event)


def run_app(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(userdata.APP_NAME)
    app.setOrganizationName(userdata.APP_NAME)
    theme.apply_theme(app)
    window = MainWindow()
    theme.follow_system(app, on_change=lambda: window.update())
    window.show()
    args = (argv or sys.argv)[1:]
    if args:  # a path given on the command line (or by a file manager's "open with")
        window.handle_drop(args)
    return app.exec()
