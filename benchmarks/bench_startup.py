"""Start-up cost of the command line, measured side by side in one run.

    python benchmarks/bench_startup.py            # --version, score --help, and cold score against in-process
    python benchmarks/bench_startup.py --clip X   # another clip for the score comparison

Prints the wall time of `python main.py --version` and `python main.py score --help` (goal: under 0.3 s each),
then for one clip the wall time of a cold `python main.py score CLIP --json` against score_video() on the same
clip in a process that has already scored once (goal: the cold command no more than 0.3 s over). Each figure is
the median of --repeat runs, taken in turn; the load average is printed beside them (2 shared cores: compare the
figures of one run, not across runs).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def wall(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    t = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", help="default: the first shared phone clip")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} runs each, median")
    for cmd in (["--version"], ["score", "--help"]):
        runs = [wall(cmd) for _ in range(args.repeat)]
        print(f"  main.py {' '.join(cmd):<14}{statistics.median(runs):7.3f} s  (goal < 0.3 s)")

    clip = Path(args.clip) if args.clip else next(iter(sorted(SHARED_VIDEOS.glob("snapugc/*.mp4"))), None)
    if clip is None:
        print("skipped the score comparison: no clip (../shared is absent; pass --clip)")
        return 0
    from engine.scoring import score_video

    score_video(clip, device="cpu")  # load the model and the cue sessions once, as a long-lived process has
    cold, warm = [], []
    for _ in range(args.repeat):
        cold.append(wall(["score", str(clip), "--json", "--device", "cpu"]))
        t = time.perf_counter()
        score_video(clip, device="cpu")
        warm.append(time.perf_counter() - t)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"  {clip.name}: cold main.py score {c:.3f} s, in-process score_video {w:.3f} s, "
          f"over by {c - w:+.3f} s (goal <= 0.3 s)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
