"""Batch throughput against worker count: the local pool (with and without each worker's share of the cores as
its thread budget) and Ray on this machine, side by side in one run, then the ratios and a plot.

    python benchmarks/bench_scale.py                         # 1..cores workers, local pool and Ray
    python benchmarks/bench_scale.py --workers 1 2 4 8 16    # on a many-core machine
    python benchmarks/bench_scale.py --clips 24 --no-ray     # local pool only (Ray not installed)

The folder is the shared clips, repeated (as links) to --clips files, so each worker count scores the same
files. Each run starts its pool from cold (spawn, imports, model load are part of the figure, as in `batch`),
after one untimed warm-up run that fills the OS file cache; Ray runs on a fresh local cluster of N CPUs
each time (the cluster's start is not timed, its worker processes' start and model loads are). Linear scaling is N x the 1-worker figure; the
target is at least 0.8 x N up to the number of physical cores. Figures on a shared machine move with its load:
the script prints the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def make_folder(n: int, where: Path) -> list[Path]:
    clips = sorted(p for p in SHARED_VIDEOS.rglob("*.mp4"))
    if not clips:
        sys.exit(f"error: no clips under {SHARED_VIDEOS}")
    out = []
    for i in range(n):
        dst = where / f"{i:04d}_{clips[i % len(clips)].name}"
        os.symlink(clips[i % len(clips)], dst)
        out.append(dst)
    return out


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished child processes (the local pool's workers)."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


CPU_PER_VIDEO: dict = {}  # (executor, budget, workers) -> CPU seconds per video (local pool only)


def run(paths, workers: int, executor: str = "local", budget: bool = True, address=None) -> float:
    """Videos per minute scoring `paths` with `workers` workers (a fresh pool). Also notes the CPU seconds spent
    per video (for the local pool): threads that spin or fight over cores show there, whatever the load."""
    from engine import executors
    from engine.scoring import score_many

    real = executors.threads_per_worker
    if not budget:  # as before: every worker's libraries start one thread per core
        executors.threads_per_worker = lambda workers, cores=None: 0
    try:
        t, cpu = time.perf_counter(), cpu_seconds()
        items = list(score_many(paths, workers=workers, device="cpu", executor=executor, address=address))
        dt = time.perf_counter() - t
        CPU_PER_VIDEO[(executor, budget, workers)] = (cpu_seconds() - cpu) / max(1, len(paths))
    finally:
        executors.threads_per_worker = real
    bad = [i for i in items if not i.ok]
    if bad:
        sys.exit(f"error: {bad[0].error}")
    return 60.0 * len(items) / dt


def main() -> int:
    cores = os.cpu_count() or 1
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=list(range(1, cores + 1)))
    ap.add_argument("--clips", type=int, default=12, help="files per run (default 12)")
    ap.add_argument("--no-ray", action="store_true", help="skip Ray")
    ap.add_argument("--no-unbudgeted", action="store_true", help="skip the local pool without thread budgets")
    ap.add_argument("--plot", default="bench_scale.png", help="where to write the plot (default bench_scale.png)")
    args = ap.parse_args()
    print(f"{cores} cores; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    series: dict[str, dict[int, float]] = {"local": {}}
    if not args.no_unbudgeted:
        series["local, no thread budget"] = {}
    ray_ok = not args.no_ray
    if ray_ok:
        try:
            import ray  # noqa: F401
            series["ray (local cluster)"] = {}
        except ImportError:
            print("Ray is not installed (pip install -e \".[cluster]\"): skipping it")
            ray_ok = False
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_folder(args.clips, Path(tmp))
        run(paths[: max(args.workers)], 1)  # warm-up: the file cache, the exported models
        for n in args.workers:
            series["local"][n] = run(paths, n)
            if "local, no thread budget" in series:
                series["local, no thread budget"][n] = run(paths, n, budget=False)
            line = "  ".join(f"{name}: {s[n]:6.1f}/min" for name, s in series.items() if n in s)
            line += "  (CPU s/video: " + ", ".join(f"{CPU_PER_VIDEO[('local', b, n)]:.2f}" + ("" if b else " unbudgeted")
                                                   for b in (True, False) if ("local", b, n) in CPU_PER_VIDEO) + ")"
            print(f"{n:>3} workers  {line}", flush=True)
        if ray_ok:
            import ray

            from engine import executors

            try:
                for n in args.workers:  # a fresh local cluster of n CPUs (its start is not timed; its workers' is)
                    ray.shutdown()
                    ray.init(num_cpus=n, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                             runtime_env=executors.ray_runtime_env())
                    series["ray (local cluster)"][n] = run(paths, n, "ray")
                    print(f"{n:>3} CPUs     ray: {series['ray (local cluster)'][n]:6.1f}/min", flush=True)
            finally:
                executors.shutdown()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nspeed-up over 1 worker of the same kind (linear = N; target >= 0.8 N):")
    for name, s in series.items():
        if 1 in s:
            print(f"  {name:<24} " + "  ".join(f"N={n}: {v / s[1]:.2f}x ({v / s[1] / n:.0%} of linear)"
                                               for n, v in s.items()))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return 0
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in series.items():
        ax.plot(list(s), list(s.values()), marker="o", label=name)
    if 1 in series["local"]:
        ns = sorted(series["local"])
        ax.plot(ns, [series["local"][1] * n for n in ns], "k:", label="linear (local)")
    ax.set_xlabel("workers (CPUs)")
    ax.set_ylabel("videos / minute")
    ax.set_title(f"batch throughput, {args.clips} clips, {cores} cores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
