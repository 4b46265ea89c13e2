"""How responsive the window stays while it works: event-loop latency during a score and a batch.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--folder DIR] [--workers N] [--json]

A 10 ms QTimer ticks in the GUI thread while (1) one video is scored on the Score page and (2) a folder of
videos (default: the shared clips, ../shared/data/videos) is ranked on the Batch page, then cancelled mid-way
in a second run. Reported: the worst stall (the longest gap between ticks beyond 10 ms: how long the window
could not repaint or answer a click), the 99th percentile, time to the first row and to the end, and how long
cancel took. The user's data folder is replaced by a temporary one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Latency:
    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer

        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self._last = None
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(max(0.0, now - self._last - self.interval))
        self._last = now

    def start(self):
        self.gaps, self._last = [], None
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        g = sorted(self.gaps) or [0.0]
        return {"worst_stall_ms": round(1000 * g[-1], 1), "p99_stall_ms": round(1000 * g[int(0.99 * (len(g) - 1))], 1),
                "ticks": len(self.gaps)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(ROOT.parent / "shared" / "data" / "videos"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-gui-")
    os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")

    from PySide6.QtWidgets import QApplication

    from engine.scoring import default_workers, scan_folder
    from gui.app import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    folder = Path(args.folder)
    scan = scan_folder(folder, recursive=True) if folder.is_dir() else None
    if scan is None or not scan.videos:
        sys.path.insert(0, str(ROOT / "tests"))
        from media_factory import make_video

        folder = Path(tmp) / "clips"
        for i in range(6):
            make_video(folder / f"clip{i}.mp4", seconds=4.0, size=(480, 854), cuts_at=(2.0,))
        scan = scan_folder(folder)
    videos = [str(p) for p in scan.videos]
    workers = args.workers or default_workers()

    w = MainWindow()
    w.show()

    def wait(cond, timeout=600.0):
        t0 = time.perf_counter()
        while not cond():
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError
        return time.perf_counter() - t0

    wait(lambda: not w.runner.jobs, 120)  # the model and cue models load at start
    results: dict = {"videos": len(videos), "workers": workers, "cpus": os.cpu_count()}
    lat = Latency()

    # 1. one video on the Score page
    sp = w.score_page
    lat.start()
    t0 = time.perf_counter()
    sp.score_file(videos[0])
    wait(lambda: sp.shown is not None and not sp.busy)
    results["score_one"] = {"seconds": round(time.perf_counter() - t0, 2), **lat.stop()}
    wait(lambda: not w.runner.jobs)

    # 2. the whole folder on the Batch page
    bp = w.batch_page
    bp.workers.setValue(workers)
    w.show_page("Batch")
    lat.start()
    t0 = time.perf_counter()
    bp.start_files(videos, title="bench")
    first = wait(lambda: bp.table_model.counts()["scored"] + bp.table_model.counts()["failed"] >= 1)
    wait(lambda: not bp.busy)
    c = bp.table_model.counts()
    results["batch"] = {"seconds": round(time.perf_counter() - t0, 2), "first_row_s": round(first, 2),
                        "scored": c["scored"], "failed": c["failed"], **lat.stop()}
    wait(lambda: not w.runner.jobs)

    # 3. the same batch, cancelled once the first video is in
    lat.start()
    bp.start_files(videos, title="bench (cancelled)")
    wait(lambda: bp.table_model.counts()["scored"] >= 1)
    job = bp.job
    t0 = time.perf_counter()
    bp.cancel()
    wait(lambda: not job.running, 30)
    c = bp.table_model.counts()
    results["batch_cancel"] = {"cancel_s": round(time.perf_counter() - t0, 3), "kept": c["scored"] + c["failed"],
                               "stopped": c["stopped"], **lat.stop()}
    w.close()
    worst = max(results[k]["worst_stall_ms"] for k in ("score_one", "batch", "batch_cancel"))
    results["worst_stall_ms"] = worst
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{len(videos)} videos, {workers} workers, {os.cpu_count()} CPUs")
        print(f"score one video   {results['score_one']['seconds']:6.2f} s   worst stall {results['score_one']['worst_stall_ms']:6.1f} ms"
              f"   p99 {results['score_one']['p99_stall_ms']:5.1f} ms")
        b = results["batch"]
        print(f"batch             {b['seconds']:6.2f} s   worst stall {b['worst_stall_ms']:6.1f} ms   p99 {b['p99_stall_ms']:5.1f} ms"
              f"   first row after {b['first_row_s']:.2f} s; {b['scored']} scored, {b['failed']} failed")
        x = results["batch_cancel"]
        print(f"batch, cancelled  cancel took {x['cancel_s']:.3f} s   worst stall {x['worst_stall_ms']:6.1f} ms"
              f"   kept {x['kept']} finished, {x['stopped']} stopped")
        print(f"worst event-loop stall overall: {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
