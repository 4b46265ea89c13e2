"""Start-up cost of the command line, measured side by side in one run.

    python benchmarks/bench_startup.py              # --version, score --help, cold score against in-process
    python benchmarks/bench_startup.py --clips 1    # fewer shared clips (default 3), or --clip X for another
    python benchmarks/bench_startup.py --sessions   # also: cue model sessions made with and without the copies

Prints the wall time of `python main.py --version` and `python main.py score --help` (goal: under 0.3 s each),
then for each clip the wall time of a cold `python main.py score CLIP --json` against score_video() on the same
clip in this process, which has scored each clip once already (goal: the cold command no more than 0.3 s over).
Each figure is the median of --repeat runs, cold and in-process taken in turn; the load average is printed
beside them (2 shared cores: compare the figures of one run, not across runs).

The commands run as an installed copy does: with compiled bytecode (pip compiles it at install, the frozen app
ships it; here it goes to a temporary PYTHONPYCACHEPREFIX, made by a first run, as PYTHONDONTWRITEBYTECODE would
otherwise compile every engine module anew each time) and with the ONNX models' optimised copies
(engine.runtime.optimised_copy) that the first score wrote, in a temporary user data folder.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
WORK = Path(tempfile.mkdtemp(prefix="bench-startup-"))
# Set before the engine is imported: this process and the commands share the data folder (the models'
# optimised copies, no active model: the built-in one) and the bytecode.
os.environ.update(XDG_DATA_HOME=str(WORK / "data"), PYTHONPYCACHEPREFIX=str(WORK / "pyc"), QT_QPA_PLATFORM="offscreen")
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def wall(args: list[str]) -> float:
    return timed(args)[0]


def timed(args: list[str]) -> tuple[float, float]:
    """The wall time and the CPU time (user + system, all threads) of `python main.py ARGS`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def sessions(repeat: int) -> None:
    """Each cue model's session made from the model (optimised anew) and from its optimised copy, in turn."""
    from engine import runtime
    from engine.cues import faces, ppocr, speech
    from engine.cues.onscreen_text import DET_MODEL, REC_MODEL

    models = {"text det": ppocr.find_model(DET_MODEL), "text rec": ppocr.find_model(REC_MODEL),
              "faces": faces.centerface_path(), "speech": speech.model_path()}
    print(f"cue model sessions, median of {repeat} (load {load()}):")
    total = {"0": 0.0, "1": 0.0}
    for name, path in models.items():
        times: dict[str, list[float]] = {"0": [], "1": []}
        runtime.make_session(path, "cpu", threads=1)  # writes the copy
        for _ in range(repeat):
            for flag in times:
                os.environ[runtime.CACHE_ENV] = flag
                t = time.perf_counter()
                runtime.make_session(path, "cpu", threads=1)
                times[flag].append(time.perf_counter() - t)
        os.environ.pop(runtime.CACHE_ENV)
        a, b = statistics.median(times["0"]), statistics.median(times["1"])
        total["0"] += a
        total["1"] += b
        print(f"  {name:<10} optimised anew {a * 1000:6.1f} ms, from the copy {b * 1000:6.1f} ms")
    print(f"  {'together':<10} optimised anew {total['0'] * 1000:6.1f} ms, from the copy {total['1'] * 1000:6.1f} ms "
          f"({total['0'] / total['1']:.1f}x)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", action="append", help="a clip to score (repeatable); default: shared phone clips")
    ap.add_argument("--clips", type=int, default=3, help="how many shared clips, when no --clip (default 3)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sessions", action="store_true", help="also time the cue models' sessions")
    args = ap.parse_args()
    clips = [Path(c) for c in args.clip] if args.clip else sorted(SHARED_VIDEOS.glob("snapugc/*.mp4"))[:args.clips]

    wall(["--version"])  # compiles the bytecode
    print(f"load average {load()} (uptime); {args.repeat} runs each, median; bytecode compiled, data in {WORK}")
    for cmd in (["--version"], ["score", "--help"]):
        runs = [wall(cmd) for _ in range(args.repeat)]
        print(f"  main.py {' '.join(cmd):<14}{statistics.median(runs):7.3f} s  (goal < 0.3 s)")
    if not clips:
        print("skipped the score comparison: no clip (../shared is absent; pass --clip)")
        return 0

    from engine.scoring import score_video

    score_cmd = ["score", "--json", "--device", "cpu"]
    wall([*score_cmd, str(clips[0])])  # compiles the rest of the bytecode, writes the models' optimised copies
    for clip in clips:
        score_video(clip, device="cpu")  # this process has loaded the models and read each clip once
    over, over_cpu = [], []
    print(f"cold `main.py score CLIP --json` against score_video(CLIP) in this process, wall time (and CPU time, "
          f"all threads: what the cold start adds in work, less sensitive to the load) (load {load()}):")
    for clip in clips:
        cold, warm = [], []
        for _ in range(args.repeat):
            cold.append(timed([*score_cmd, str(clip)]))
            t, cpu = time.perf_counter(), time.process_time()
            score_video(clip, device="cpu")
            warm.append((time.perf_counter() - t, time.process_time() - cpu))
        (c, c_cpu), (w, w_cpu) = ((statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
                                  for v in (cold, warm))
        over.append(c - w)
        over_cpu.append(c_cpu - w_cpu)
        print(f"  {clip.name[:24]:<25} cold {c:6.3f} s ({c_cpu:5.2f})  in-process {w:6.3f} s ({w_cpu:5.2f})  "
              f"over by {c - w:+.3f} s ({c_cpu - w_cpu:+.2f})  (load {load()})")
    print(f"  median over by {statistics.median(over):+.3f} s (goal <= 0.3 s); CPU "
          f"{statistics.median(over_cpu):+.2f} s")
    if args.sessions:
        sessions(max(args.repeat, 5))
    print(f"load average at the end {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
