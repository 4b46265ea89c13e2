"""Entry point of the frozen application (PyInstaller runs this file; `python main.py` is the source one).

Everything a user can ask for on the command line, a lone file or folder included (a file manager's "Open with",
`virality-studio clip.mp4` opens the window on it), is main.main's; this file adds only what a frozen build needs:
* `multiprocessing.freeze_support()`: `batch` scores in worker processes started with the spawn method, and a
  frozen binary must divert those children into the worker code instead of running main() again.
* VS_SMOKE_TEST=SECONDS: open the window, print how long it took to be shown, then close it and exit 0, or exit
  3 when no window is shown within SECONDS. Run with QT_QPA_PLATFORM=offscreen on a machine without a display.
  With VS_SMOKE_TEST_JOBS=1 it first waits (within the same SECONDS) for the window's jobs to end (loading the
  model; scoring the file it was opened with) and prints the status bar's message, e.g. "Scored clip.mp4: 36 / 100".
  packaging/smoke_test.py and benchmarks/bench_frozen.py read these lines.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time

_T0 = time.perf_counter()


def _install_smoke_test(limit_s: float) -> None:
    """Patch QApplication.exec: once the loop runs, wait for an exposed main window, report, close, quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    original_exec = QApplication.exec

    wait_jobs = os.environ.get("VS_SMOKE_TEST_JOBS") == "1"
    state = {"shown": None}

    def finish(app, window) -> None:
        if wait_jobs:
            print(f"VS_SMOKE_TEST jobs done {time.perf_counter() - _T0:.3f} s after start: "
                  f"{window.statusBar().currentMessage()!r}", flush=True)
        for w in app.topLevelWidgets():
            w.close()  # closeEvent waits for the window's running jobs
        QTimer.singleShot(0, lambda: app.exit(0))

    def check(app) -> None:
        elapsed = time.perf_counter() - _T0
        window = state["shown"]
        if window is None:
            windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
            shown = [w for w in windows if w.windowHandle() is not None and w.windowHandle().isExposed()]
            if shown:
                window = state["shown"] = shown[0]
                print(f"VS_SMOKE_TEST shown {elapsed:.3f} s after start: {window.windowTitle()!r} "
                      f"(platform {app.platformName()})", flush=True)
        if window is not None and not (wait_jobs and getattr(getattr(window, "runner", None), "jobs", None)):
            finish(app, window)
        elif elapsed > limit_s:
            what = "its jobs did not end" if window is not None else "no window shown"
            print(f"VS_SMOKE_TEST failed: {what} within {limit_s:g} s", flush=True)
            app.exit(3)
        else:
            QTimer.singleShot(10, lambda: check(app))

    def exec_and_check(*args, **kwargs):
        app = QApplication.instance()
        QTimer.singleShot(0, lambda: check(app))
        return original_exec(*args, **kwargs)

    QApplication.exec = staticmethod(exec_and_check)


def run() -> int:
    multiprocessing.freeze_support()
    smoke = os.environ.get("VS_SMOKE_TEST")
    if smoke:
        _install_smoke_test(float(smoke) if smoke.replace(".", "", 1).isdigit() else 60.0)
    from main import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    from main import finish

    finish(run())  # a finished `score` ends without the interpreter's teardown (main.QUICK_EXIT)
