"""Shared widgets of gui/widgets.py: the frame strip reuses its cells instead of making new ones per score."""
from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget


def _frames(times, h=120, w=68):
    return [(t, np.full((h, w, 3), int(t * 20) % 256, np.uint8)) for t in times]


def _flush():
    QApplication.processEvents()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # what deleteLater left for the event loop


def _visible_captions(strip):
    """The times under the frames shown, left to right."""
    caps = [w for w in strip.findChildren(QLabel) if w.isVisible() and w.text().endswith(" s")]
    return [w.text() for w in sorted(caps, key=lambda w: w.mapTo(strip, w.rect().topLeft()).x())]


def _message_shown(strip):
    return any(w.isVisible() and "Reading" in w.text() for w in strip.findChildren(QLabel))


@pytest.fixture
def strip(qtbot):
    from gui.widgets import FrameStrip

    s = FrameStrip()
    qtbot.addWidget(s)
    s.resize(900, 160)
    s.show()
    return s


def test_scoring_many_times_makes_no_new_strip_widgets_and_keeps_none_flat(strip):
    """Each score shows 'Reading frames…' and then the strip's frames (8, or fewer for a short video). The strip
    used to delete and make all its widgets every time: 38 widgets made per score and some 670 references to None
    never given back (8 frames). Now the same cells are updated, so the widgets and the count stay put."""
    strip.set_message("Reading frames…")
    strip.set_frames(_frames([0.5 + i for i in range(8)]))
    _flush()
    pictures = list(strip.frames)
    widgets = {id(w) for w in strip.findChildren(QWidget)}
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(100):
        n = 8 if i % 2 else 5
        strip.set_message("Reading frames…")
        strip.set_frames(_frames([0.25 * i + k for k in range(n)]))
        _flush()
    gc.collect()
    moved = sys.getrefcount(None) - before  # CPython >= 3.12: None is immortal, this stays 0
    assert {id(w) for w in strip.findChildren(QWidget)} == widgets
    assert strip.frames == pictures  # the same pictures, updated in place
    assert abs(moved) < 200, moved  # the old strip: about 670 per score, 67,000 here
    assert _visible_captions(strip) == [f"{24.75 + k:.1f} s" for k in range(8)]


def test_a_reused_strip_shows_and_plays_the_new_frames(strip, qtbot):
    strip.set_frames(_frames([0.5, 1.5, 2.5]))
    first = list(strip.frames)
    strip.set_message("Reading frames…")
    assert _message_shown(strip) and _visible_captions(strip) == []
    strip.set_frames(_frames([4.0, 5.0], h=100, w=50))
    assert strip.frames == first[:2] and not _message_shown(strip)
    assert _visible_captions(strip) == ["4.0 s", "5.0 s"]
    assert not first[2].isVisible()
    assert first[1].toolTip() == "5.0 s: click to play from here"
    assert first[0].pixmap().height() == 118 and first[0].size() == first[0].pixmap().size()
    with qtbot.waitSignal(strip.frame_clicked) as sig:
        qtbot.mouseClick(strip.frames[1], Qt.LeftButton)
    assert sig.args == [5.0]  # the new time, not the one the cell was made with
    strip.set_frames(_frames([0.5 + i for i in range(6)]))  # more than before: only the missing cells are made
    assert strip.frames[:3] == first and len(strip.frames) == 6
    assert _visible_captions(strip) == [f"{0.5 + i:.1f} s" for i in range(6)] and not _message_shown(strip)


def test_frames_that_cannot_be_shown_are_skipped(strip):
    strip.set_frames([(0.5, None), *_frames([1.5])])
    assert _visible_captions(strip) == ["1.5 s"] and [f.time_s for f in strip.frames] == [1.5]
