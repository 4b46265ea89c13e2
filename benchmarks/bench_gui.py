"""How responsive the window stays while it works: event-loop latency during a score and a batch, and while
the Dataset page opens, sorts and filters SMP-Video's 4,000 training posts.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--folder DIR] [--workers N] [--json]
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py --dataset [--compare REV]

--dataset: SMP-Video's train split (../shared/data/smp-video/train, 4,000 posts) is imported into a dataset
(not timed), then the Dataset page opens it, sorts it by five columns both ways, and filters it as if typed;
the worst stall of each phase is reported. --compare REV (e.g. cf9eeb5) runs the same steps on that commit's
code (extracted with git archive, run in its own process) beside this tree's, side by side.

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
sys.path.insert(1, str(ROOT / "benchmarks"))
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


SORTS = ((3, "caption"), (5, "followers"), (7, "popularity"), (4, "posted"), (1, "post id"))


def dataset_bench(work: Path) -> dict:
    """Open, sort and filter SMP-Video's training posts on the Dataset page: the worst stall of each phase.
    Uses only what the page had before and after issue 11 (open_dataset, the table, the filter box)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from engine.data.store import Dataset
    from gui.dataset_page import DatasetPage
    from gui.jobs import JobRunner

    app = QApplication.instance() or QApplication(sys.argv[:1])
    path = work / "smp-train.sqlite"
    if not path.exists():
        with Dataset.create(path) as ds:
            ds.import_path(ROOT.parent / "shared" / "data" / "smp-video" / "train")
    runner = JobRunner()
    page = DatasetPage(runner)
    page.resize(1240, 840)
    page.show()
    model = page.posts_model

    def settle(cond=lambda: True, timeout=600.0):
        t0 = time.perf_counter()
        while not (cond() and not runner.jobs):
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError
        for _ in range(5):  # the repaints that follow
            app.processEvents()
            time.sleep(0.01)
        return time.perf_counter() - t0

    lat = Latency()
    out: dict = {}
    lat.start()
    settle()
    page.open_dataset(str(path))
    took = settle(lambda: model.rowCount() > 0)
    out["posts"] = model.rowCount()
    out["open"] = {"seconds": round(took, 2), **lat.stop()}
    lat.start()
    t = time.perf_counter()
    for col, _name in SORTS:
        for order in (Qt.DescendingOrder, Qt.AscendingOrder):
            page.table.sortByColumn(col, order)
            settle()
    out["sort"] = {"sorts": 2 * len(SORTS), "seconds": round(time.perf_counter() - t, 2), **lat.stop()}
    lat.start()
    t = time.perf_counter()
    for text in ("f", "fy", "fyp", "fy", "f", "", "1", "12", ""):
        page.filter_edit.setText(text)
        settle()
    out["filter"] = {"keystrokes": 9, "seconds": round(time.perf_counter() - t, 2), **lat.stop()}
    out["worst_stall_ms"] = max(out[k]["worst_stall_ms"] for k in ("open", "sort", "filter"))
    runner.shutdown()
    page.close()
    return out


def compare_dataset(rev: str, work: Path) -> dict:
    """The dataset steps on commit rev's code and on this tree's, each in its own process."""
    from old_code import code_at, run_on

    args = ["--dataset", "--json", "--work", str(work)]
    return {rev: run_on(code_at(rev, work), "bench_gui.py", args), "this tree": run_on(ROOT, "bench_gui.py", args)}


def print_dataset(results: dict) -> None:
    names = list(results)
    print(f"Dataset page, SMP-Video train ({results[names[0]]['posts']:,} posts): worst event-loop stall (ms)")
    print(f"{'':28}" + "".join(f"{n:>16}" for n in names))
    for phase, what in (("open", "open"), ("sort", "sort 5 columns both ways"), ("filter", "filter, 9 keystrokes")):
        print(f"{what:28}" + "".join(f"{results[n][phase]['worst_stall_ms']:16.1f}" for n in names)
              + "   (" + ", ".join(f"{results[n][phase]['seconds']:.2f} s" for n in names) + ")")
    print(f"{'worst overall':28}" + "".join(f"{results[n]['worst_stall_ms']:16.1f}" for n in names))
    if len(names) == 2 and results[names[1]]["worst_stall_ms"] > 0:
        print(f"worst stall, {names[0]} / {names[1]}: "
              f"{results[names[0]]['worst_stall_ms'] / results[names[1]]['worst_stall_ms']:.0f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(ROOT.parent / "shared" / "data" / "videos"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dataset", action="store_true", help="the Dataset page steps only (SMP-Video, 4,000 posts)")
    ap.add_argument("--compare", metavar="REV", help="with --dataset: also run the steps on commit REV's code")
    ap.add_argument("--work", help="with --dataset: folder for the imported dataset (kept and reused)")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # the tree whose gui/ and engine/ are measured
    args = ap.parse_args()
    if args.code:
        sys.path.insert(0, args.code)
    if args.dataset:
        tmpd = tempfile.TemporaryDirectory(prefix="bench-gui-")
        os.environ["XDG_DATA_HOME"] = str(Path(tmpd.name) / "data")
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmpd.name) / "config")
        work = Path(args.work or tmpd.name)
        work.mkdir(parents=True, exist_ok=True)
        results = compare_dataset(args.compare, work) if args.compare else {"this tree": dataset_bench(work)}
        if args.json:
            print(json.dumps(results if args.compare else results["this tree"], indent=2))
        else:
            print_dataset(results)
        return 0
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
