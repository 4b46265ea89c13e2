"""The plain main window: a dropped video is scored off the UI thread and the score appears."""
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from gui.app import MainWindow
from media_factory import make_video


def _drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    widget.dropEvent(event)


def test_dropping_a_video_shows_its_score(qtbot, tmp_path):
    video = make_video(tmp_path / "dropped clip.mp4", seconds=2.0)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    _drop(w, video)
    assert w.score_label.text() == "…"  # the UI returned at once; the work runs in a thread
    qtbot.waitUntil(lambda: w._thread is None, timeout=120_000)
    assert w.score_label.text().isdigit() and 0 <= int(w.score_label.text()) <= 100
    assert "cuts_per_min" in w.details.toPlainText()


def test_dropping_a_broken_file_shows_a_message_not_a_traceback(qtbot, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    w = MainWindow()
    qtbot.addWidget(w)
    _drop(w, bad)
    qtbot.waitUntil(lambda: w._thread is None, timeout=60_000)
    assert w.score_label.text() == "–"
    assert "not a video" in w.details.toPlainText() and "Traceback" not in w.details.toPlainText()
