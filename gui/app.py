"""The window: for now one page that scores a dropped or opened video off the UI thread.

The full Score / Batch / Dataset / Train pages come with the GUI issue; this is the plain main window.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine import __version__


class ScoreWorker(QObject):
    """Runs engine.scoring.score_video in a QThread; the engine stays Qt-free."""

    finished = Signal(object)  # ScoreReport
    failed = Signal(str)

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    @Slot()
    def run(self) -> None:
        from engine.errors import EngineError
        from engine.scoring import score_video

        try:
            self.finished.emit(score_video(self.path))
        except EngineError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # shown as a message, never a traceback dialog
            self.failed.emit(f"{Path(self.path).name}: could not be scored ({type(exc).__name__})")


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(f"Virality Studio {__version__}")
        self.setAcceptDrops(True)
        self.resize(760, 620)
        self._thread: QThread | None = None
        self._worker: ScoreWorker | None = None

        central = QWidget()
        layout = QVBoxLayout(central)
        self.hint = QLabel("Drop a video here, or open one, to see its virality score and content cues.")
        self.hint.setAlignment(Qt.AlignCenter)
        self.score_label = QLabel("–")
        self.score_label.setObjectName("score")
        self.score_label.setAlignment(Qt.AlignCenter)
        font = self.score_label.font()
        font.setPointSize(48)
        font.setBold(True)
        self.score_label.setFont(font)
        self.open_button = QPushButton("Open video…")
        self.open_button.clicked.connect(self.choose_file)
        self.details = QTextBrowser()
        for w in (self.hint, self.score_label, self.open_button, self.details):
            layout.addWidget(w)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")

    # drag and drop
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.score(urls[0])
            event.acceptProposedAction()

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", "Videos (*.mp4 *.mov *.m4v *.mkv *.webm *.avi);;All files (*)")
        if path:
            self.score(path)

    def score(self, path: str) -> None:
        if self._thread is not None:
            self.statusBar().showMessage("Still scoring the previous video…")
            return
        self.score_label.setText("…")
        self.details.setPlainText("")
        self.statusBar().showMessage(f"Scoring {Path(path).name}…")
        thread = QThread(self)
        worker = ScoreWorker(path)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(self._show)
        worker.failed.connect(self._show_error)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._cleanup)
        self._thread, self._worker = thread, worker  # keep references until the job ends
        thread.start()

    @Slot(object)
    def _show(self, report) -> None:
        self.score_label.setText(f"{report.score:.0f}")
        lines = [f"<h3>{Path(report.path).name}</h3>", f"<p>Model: {report.model} ({report.provider})</p><ul>"]
        for c in report.cues.cues:
            lines.append(f"<li><b>{c.name}</b>: {c.text}</li>")
        lines.append("</ul>")
        lines += [f"<p><i>{n}</i></p>" for n in report.notes]
        self.details.setHtml("".join(lines))
        self.statusBar().showMessage("Done")

    @Slot(str)
    def _show_error(self, message: str) -> None:
        self.score_label.setText("–")
        self.details.setPlainText(message)
        self.statusBar().showMessage("Could not score that file")

    @Slot()
    def _cleanup(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._thread, self._worker = None, None

    def closeEvent(self, event) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        super().closeEvent(event)


def run_app(argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Virality Studio")
    app.setOrganizationName("Virality Studio")
    window = MainWindow()
    window.show()
    return app.exec()
