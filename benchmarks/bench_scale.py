"""Batch throughput against worker count, and what "scaling with cores" means on this machine.

    python benchmarks/bench_scale.py                         # 1..cores workers, local pool and Ray
    python benchmarks/bench_scale.py --workers 1 2 4 8 16    # on a many-core machine
    python benchmarks/bench_scale.py --clips 24 --no-ray     # local pool only (Ray not installed)
    python benchmarks/bench_scale.py --workers 16 --cuda     # a GPU machine: CUDA per worker vs one inference process
    python benchmarks/bench_scale.py --workers 2 --server --no-ray --no-unbudgeted   # the inference process, on the CPU
    python benchmarks/bench_scale.py --transport             # its transport alone: shared memory against pickled

Every local configuration runs as `batch` does, in a fresh process of its own (imports, pool start, model loads
are part of its figure, and nothing is warm from an earlier run), after one untimed warm-up run that fills the OS
file cache:

  1 worker, all cores   one process, its libraries free to use every core (as `batch --workers 1` today);
  1 worker, 1 core      one process pinned to one core (CPU affinity) with each pool sized to 1 thread: the
                        unit that N workers should multiply;
  N workers             the local pool, each worker with its share of the cores (engine.executors).

For each it prints videos per minute and CPU seconds per video (user + system of that process and the worker
processes it started: threads that spin or fight over cores show there whatever the machine's load). Scaling
with cores is N workers against N x the one-core worker (target >= 0.8 N); the whole-machine comparison (N workers
against the 1-worker, all-cores figure) is printed too. Ray runs on a fresh local cluster of N CPUs each time (the
cluster's start is not timed, its worker processes' start and model loads are). Figures on a shared machine move
with its load: the script prints `uptime`'s load average before and after, and --repeat takes the best of R runs
of each configuration, interleaved.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
ONE_CORE = "1 worker, 1 core"
ALL_CORES = "1 worker, all cores"


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


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished (waited-for) child processes and theirs."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child_main(listing: str, workers: int, budget: bool, device: str, inference: str) -> int:
    """In the measured process: score the listed files as `batch --workers N --device D` does, exit 1 on any
    failure; prints the inference process's figures (JSON) when one ran."""
    from engine import executors
    from engine.scoring import score_many

    if not budget:  # as before the thread budgets: every worker's libraries start one thread per core
        executors.threads_per_worker = lambda workers, cores=None: 0
    close = executors.InferenceServer.close
    executors.InferenceServer.close = lambda self: print(json.dumps(close(self)), flush=True)
    paths = Path(listing).read_text().splitlines()
    bad = [i for i in score_many(paths, workers=workers, device=device, inference=inference) if not i.ok]
    if bad:
        print(f"error: {bad[0].error}", file=sys.stderr)
        return 1
    return 0


def run_local(listing: Path, n_files: int, workers: int, one_core: bool = False, budget: bool = True,
              device: str = "cpu", inference: str = "worker", transport: str = "shm") -> tuple[float, float, str]:
    """(videos per minute, CPU seconds per video, the inference process's figures or "") of one fresh process
    scoring the listed files; `transport`: how frames go to an inference process (shm or pickle)."""
    from engine import executors

    env = dict(os.environ, **{executors.TRANSPORT_ENV: transport})
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = None
    if one_core:
        if not cores:
            sys.exit("error: this platform cannot pin a process to one core (no CPU affinity)")
        pin = {cores[0]}
        for name in (executors._BLAS_ENV + ("VIRALITY_THREADS",)):  # every pool 1 thread, before anything loads
            env[name] = "1"
    cmd = [sys.executable, __file__, "--child", str(listing), str(workers), device, inference] + (
        [] if budget else ["--no-budget"])
    cpu, t = children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                       preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None)
    dt, cpu = time.perf_counter() - t, children_cpu() - cpu
    if r.returncode:
        sys.exit(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"error: the run exited {r.returncode}")
    return 60.0 * n_files / dt, cpu / n_files, r.stdout.strip()


def run_ray(paths, n: int) -> float:
    """Videos per minute on a fresh local Ray cluster of n CPUs (its start not timed)."""
    import ray

    from engine import executors
    from engine.scoring import score_many

    ray.shutdown()
    ray.init(num_cpus=n, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             runtime_env=executors.ray_runtime_env())
    t = time.perf_counter()
    items = list(score_many(paths, workers=n, device="cpu", executor="ray"))
    dt = time.perf_counter() - t
    if not all(i.ok for i in items):
        sys.exit(f"error: {next(i for i in items if not i.ok).error}")
    return 60.0 * len(items) / dt


#: What one shared clip sends the inference process on average (a batch of the shared clips, counted): the text
#: detector's frames, the frame backbone's, the recogniser's small rows: (shape, requests per video).
VIDEO_REQUESTS = (((1, 3, 320, 640), 3), ((1, 3, 208, 384), 8), ((1, 576), 55))


def transport_costs(videos: int) -> None:
    """CPU seconds per video (this process and the inference process together) of sending one video's requests
    and their answers (as large as the requests: an identity model) through each transport, the model's own work
    nothing: what the transport alone costs."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    from engine import executors

    tick = os.sysconf("SC_CLK_TCK")

    def proc_cpu(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    rng = np.random.default_rng(0)
    feeds = [({"x": rng.random(shape, np.float32)}, n) for shape, n in VIDEO_REQUESTS]
    per_video = sum(f["x"].nbytes * n for f, n in feeds) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "identity.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
        for transport in ("pickle", "shm", "pickle", "shm"):  # twice each, interleaved
            os.environ[executors.TRANSPORT_ENV] = transport
            server = executors.InferenceServer("cpu", 1)
            session = executors._InferenceClient(*server.client_args).open(model, "cpu")
            session.run(None, feeds[0][0])  # the connection and the block made
            pid = server._process.pid
            cpu, srv, t = time.process_time(), proc_cpu(pid), time.perf_counter()
            for _ in range(videos):
                for f, n in feeds:
                    for _ in range(n):
                        session.run(None, f)
            cpu, srv, dt = time.process_time() - cpu, proc_cpu(pid) - srv, time.perf_counter() - t
            server.close()
            print(f"  {transport:<7} {1000 * (cpu + srv) / videos:6.1f} CPU ms/video ({1000 * cpu / videos:.1f} the "
                  f"worker, {1000 * srv / videos:.1f} the inference process), {1000 * dt / videos:6.1f} ms/video "
                  f"wall; {per_video:.1f} MB each way a video", flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(*sys.argv[2:3], int(sys.argv[3]), "--no-budget" not in sys.argv, *sys.argv[4:6])
    from engine.executors import usable_cores

    cores = usable_cores()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=list(range(2, cores + 1)) or [2],
                    help="pool sizes to run (default 2..cores; the two 1-worker runs are always made)")
    ap.add_argument("--clips", type=int, default=12, help="files per run (default 12)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each configuration, the best kept (default 1)")
    ap.add_argument("--no-ray", action="store_true", help="skip Ray")
    ap.add_argument("--no-unbudgeted", action="store_true", help="skip the local pool without thread budgets")
    ap.add_argument("--cuda", action="store_true",
                    help="also run --device cuda: 1 worker, and N workers each with its own CUDA session and through "
                         "one inference process (on a GPU machine)")
    ap.add_argument("--server", action="store_true",
                    help="also run N workers through one inference process on the CPU (the GPU layout, its transport "
                         "costs measured where no GPU is), the frames sent through shared memory and pickled")
    ap.add_argument("--transport", action="store_true",
                    help="only measure the inference process's transport (shared memory against pickled), and exit")
    ap.add_argument("--plot", default="bench_scale.png", help="where to write the plot (default bench_scale.png)")
    args = ap.parse_args()
    if args.transport:
        print(f"the inference process's transport, {args.clips * 5} videos' requests each; load {load()}")
        transport_costs(args.clips * 5)
        print(f"load average after: {load()}")
        return 0
    pools = sorted({n for n in args.workers if n > 1})
    print(f"{cores} usable cores, {args.clips} clips a run, best of {args.repeat}; load average before: {load()}")
    configs: dict[str, tuple] = {ALL_CORES: (1, False, True), ONE_CORE: (1, True, True)}
    for n in pools:
        configs[f"{n} workers"] = (n, False, True)
        if not args.no_unbudgeted:
            configs[f"{n} workers, no thread budget"] = (n, False, False)
    if args.server:
        for n in pools:
            configs[f"{n} workers, cpu server, shm"] = (n, False, True, "cpu", "server", "shm")
            configs[f"{n} workers, cpu server, pickled"] = (n, False, True, "cpu", "server", "pickle")
    if args.cuda:
        configs["1 worker, cuda"] = (1, False, True, "cuda", "worker")
        for n in pools:
            configs[f"{n} workers, cuda each"] = (n, False, True, "cuda", "worker")
            configs[f"{n} workers, cuda server"] = (n, False, True, "cuda", "server")
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_folder(args.clips, Path(tmp))
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, paths)))
        run_local(listing, len(paths), 1)  # warm-up: the file cache, the exported models
        for r in range(args.repeat):
            for name, config in configs.items():
                got = run_local(listing, len(paths), *config)
                if name not in best or got[0] > best[name][0]:
                    best[name] = got[:2]
                print(f"  run {r + 1}  {name:<32} {got[0]:6.1f} videos/min  {got[1]:5.2f} CPU s/video  "
                      f"(load {load()}) {got[2]}", flush=True)
        ray_series: dict[int, float] = {}
        if not args.no_ray:
            try:
                import ray  # noqa: F401
            except ImportError:
                print("Ray is not installed (pip install -e \".[cluster]\"): skipping it")
            else:
                from engine import executors

                try:
                    for n in [1] + pools:
                        ray_series[n] = run_ray(paths, n)
                        print(f"  ray, local cluster of {n} CPUs        {ray_series[n]:6.1f} videos/min", flush=True)
                finally:
                    executors.shutdown()
    print(f"load average after: {load()}\n")
    one, whole = best[ONE_CORE][0], best[ALL_CORES][0]
    print(f"{'configuration':<32} {'videos/min':>10} {'CPU s/video':>11} {'vs 1-core worker':>17} "
          f"{'of linear':>9} {'vs 1 worker, all cores':>22}")
    for name, (vpm, cpu) in best.items():
        n = configs[name][0] if not name.startswith("1 worker") else 1
        print(f"{name:<32} {vpm:10.1f} {cpu:11.2f} {vpm / one:16.2f}x {vpm / one / n:9.0%} {vpm / whole:21.2f}x")
    for n, vpm in ray_series.items():
        print(f"{f'ray, {n} CPUs':<32} {vpm:10.1f} {'':>11} {vpm / one:16.2f}x {vpm / one / n:9.0%} "
              f"{vpm / whole:21.2f}x")
    print("(scaling with cores: N workers against the 1-core worker, target >= 0.8 N = 80% of linear)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return 0
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [1] + pools
    ax.plot(ns, [one] + [best[f"{n} workers"][0] for n in pools], marker="o", label="local pool (1: one core)")
    if not args.no_unbudgeted:
        ax.plot(pools, [best[f"{n} workers, no thread budget"][0] for n in pools], marker="x",
                label="local pool, no thread budget")
    ax.axhline(whole, color="grey", linestyle="--", label="1 worker, all cores")
    if ray_series:
        ax.plot(list(ray_series), list(ray_series.values()), marker="s", label="ray (local cluster)")
    ax.plot(ns, [one * n for n in ns], "k:", label="linear (N x 1-core worker)")
    ax.set_xlabel("workers (CPUs)")
    ax.set_ylabel("videos / minute")
    ax.set_title(f"batch throughput, {args.clips} clips, {cores} cores")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
