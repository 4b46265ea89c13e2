"""Matching a creator's stats rows to the files of their videos folder (engine.personal.history.match_videos):
N rows, N files named with the post id among other words, no probing. Prints the time here and, with --base REV,
at that commit's code side by side (benchmarks/old_code.py).

    python benchmarks/bench_matching.py [--n 1000] [--base d141adc]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(n: int) -> dict:
    from engine.data.posts_csv import Post
    from engine.personal.history import match_videos

    folder = Path(tempfile.mkdtemp(prefix="vs-match-"))
    for i in range(n):
        (folder / f"my clip {i:05d} [74100000000{i:08d}].mp4").write_bytes(b"")
    posts = [Post(post_id=f"74100000000{i:08d}") for i in range(n)]
    t = time.perf_counter()
    out, rows, left = match_videos(posts, folder, folder)
    return {"n": n, "seconds": time.perf_counter() - t, "matched": sum(1 for p in out if p.video_path)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="rows and files (default 1000)")
    ap.add_argument("--base", metavar="REV", help="also measure this commit's code, side by side")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON (used by --base)")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # set by old_code.run_on: the tree measured
    args = ap.parse_args(argv)
    if args.json:
        print(json.dumps(measure(args.n)))
        return 0
    sys.path.insert(0, str(HERE))
    from old_code import ROOT, code_at, run_on

    here = run_on(ROOT, "bench_matching.py", ["--n", str(args.n), "--json"])
    print(f"{'code':<12}{'rows x files':>14}{'seconds':>10}{'matched':>9}")
    print(f"{'this tree':<12}{f'{args.n} x {args.n}':>14}{here['seconds']:>10.2f}{here['matched']:>9}")
    if args.base:
        old = run_on(code_at(args.base, Path(tempfile.mkdtemp(prefix="vs-old-"))), "bench_matching.py",
                     ["--n", str(args.n), "--json"])
        print(f"{args.base:<12}{f'{args.n} x {args.n}':>14}{old['seconds']:>10.2f}{old['matched']:>9}")
        print(f"ratio (base / this tree): {old['seconds'] / max(here['seconds'], 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
