"""The main window: four pages (Score, Batch, Dataset, Train) beside a navigation list, one job runner,
the active model, a Help menu with the About box, window state in QSettings and a theme that follows the system."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from engine import __version__

from . import theme, userdata
from .about import AboutDialog
from .batch_page import BatchPage
from .dataset_page import DatasetPage
from .jobs import JobRunner
from .model import ActiveModel
from .score_page import ScorePage
from .train_page import TrainPage
from .widgets import DropTarget

PAGES = ("Score", "Batch", "Dataset", "Train")


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
        for page in (self.score_page, self.batch_page, self.dataset_page, self.train_page):
            self.stack.addWidget(page)
            page.status.connect(self.statusBar().showMessage)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.batch_page.open_report.connect(self._open_report)
        self.dataset_page.datasets_changed.connect(self.train_page.refresh)
        self.dataset_page.dataset_opened.connect(self.train_page.add_dataset)
        self.train_page.active_model_changed.connect(lambda _p: self._show_model())
        self.nav.currentRowChanged.connect(lambda i: i == 3 and self.train_page.refresh())

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

    def _show_model(self) -> None:
        s = userdata.read_bundle_summary(self.model.path)
        self.model_label.setText(f"Model: {s.name if s else self.model.path.name}")
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
        elif self.stack.currentWidget() is not self.dataset_page:
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
