"""PySide6 must not lose references to None, True or False (issue 11 §1).

PySide6 6.12.0 on CPython 3.11 drops one reference to `None` on every Qt call that returns nothing: after a few
minutes of typing the count reaches zero and the interpreter aborts (`Fatal Python error: none_dealloc`), or on
close (`bool_dealloc`). pyproject excludes it; this test fails on any PySide6 with that class of leak, whatever
its version number, by calling the setters the window uses a few thousand times and comparing sys.getrefcount of
the three singletons before and after. (On CPython >= 3.12 these objects are immortal, their count never moves
and the leak cannot crash; the test then passes trivially.)

Run alone against another PySide6 (e.g. a venv with 6.12.0):  python tests/test_gui_refcount.py
"""
from __future__ import annotations

import gc
import os
import sys

CALLS = 3000
LIMIT = 200  # a leak moves a count by one per call; unrelated allocations by a handful at most


def _setter_calls():
    """(name, zero-argument callable) for the void setters the pages call on every score and keystroke."""
    from PySide6.QtCore import QDateTime
    from PySide6.QtWidgets import (
        QCheckBox, QDateTimeEdit, QLabel, QLineEdit, QProgressBar, QPushButton, QWidget,
    )

    keep = []  # the widgets must outlive the calls
    lab, edit, check, bar, button, w = QLabel(), QLineEdit(), QCheckBox(), QProgressBar(), QPushButton(), QWidget()
    dt = QDateTimeEdit(QDateTime.currentDateTime())
    keep += [lab, edit, check, bar, button, w, dt]
    calls = [
        ("QLabel.setText", lambda: lab.setText("Scored 42 / 100")),
        ("QLabel.setStyleSheet", lambda: lab.setStyleSheet("color: red")),
        ("QLabel.setToolTip", lambda: lab.setToolTip("tip")),
        ("QLineEdit.setText", lambda: edit.setText("caption #tag")),
        ("QLineEdit.setPlaceholderText", lambda: edit.setPlaceholderText("e.g. 12k")),
        ("QCheckBox.setChecked(True)", lambda: check.setChecked(True)),
        ("QCheckBox.setChecked(False)", lambda: check.setChecked(False)),
        ("QWidget.setEnabled(True)", lambda: button.setEnabled(True)),
        ("QWidget.setEnabled(False)", lambda: button.setEnabled(False)),
        ("QWidget.setVisible(False)", lambda: w.setVisible(False)),
        ("QProgressBar.setValue", lambda: bar.setValue(10)),
        ("QDateTimeEdit.setEnabled", lambda: dt.setEnabled(True)),
        ("QWidget.update", lambda: w.update()),
        ("QCheckBox.isChecked", lambda: check.isChecked()),
        ("QWidget.isEnabled", lambda: button.isEnabled()),
        ("QLineEdit.text", lambda: edit.text()),
    ]
    return calls, keep


def _counts() -> dict[str, int]:
    return {"None": sys.getrefcount(None), "True": sys.getrefcount(True), "False": sys.getrefcount(False)}


def measure(calls_per_setter: int = CALLS, batch: int = 100) -> dict[str, dict[str, int]]:
    """{setter: {'None': change, 'True': change, 'False': change, 'calls': n}} in sys.getrefcount over n calls.

    A setter stops early (n < calls_per_setter) once a count has moved by more than LIMIT, so that a leaking
    PySide6 is reported instead of aborting the interpreter when the count reaches zero."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 (widgets need it)
    calls, keep = _setter_calls()
    out = {}
    for name, call in calls:
        call()  # the first call may fill caches
        gc.collect()
        before = _counts()
        n = 0
        while n < calls_per_setter:
            for _ in range(batch):
                call()
            n += batch
            moved = {k: v - before[k] for k, v in _counts().items()}
            if any(abs(v) > LIMIT for v in moved.values()):
                break
        gc.collect()
        out[name] = {**{k: v - before[k] for k, v in _counts().items()}, "calls": n}
    del keep
    return out


def leaks(changes: dict) -> dict:
    return {name: d for name, d in changes.items() if any(abs(d[k]) > LIMIT for k in ("None", "True", "False"))}


def test_qt_setters_keep_the_refcounts_of_none_true_and_false():
    # in a child process: a leaking PySide6 leaves the interpreter with too few references to finish a test run
    import json
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, __file__, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), f"the measuring process died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    changes = json.loads(proc.stdout.strip().splitlines()[-1])
    version = changes.pop("_version")
    assert len(changes) >= 10
    bad = leaks(changes)
    assert not bad, (f"PySide6 {version} leaks references to singletons (the window would abort with "
                     f"none_dealloc): {bad}")


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import PySide6

    res = measure()
    bad = leaks(res)
    if "--json" in sys.argv:
        import json

        print(json.dumps({**res, "_version": PySide6.__version__}))
    else:
        print(f"PySide6 {PySide6.__version__}, Python {sys.version.split()[0]}")
        for name, d in res.items():
            print(f"  {name:30s} {d['calls']:5d} calls: None {d['None']:+6d}  True {d['True']:+6d}"
                  f"  False {d['False']:+6d}")
        print("LEAKS:", ", ".join(bad) if bad else "none")
    sys.stdout.flush()
    os._exit(1 if bad else 0)  # no teardown: a leaking PySide6 would abort while freeing its objects
