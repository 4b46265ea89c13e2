"""Peak memory of `dataset import` and `evaluate` on a large posts CSV (issue 10 §6: both must stream).

    nice python benchmarks/bench_memory.py                  # 1,000,000 rows (about 260 MB), a few minutes
    nice python benchmarks/bench_memory.py --rows 100000    # quicker
    nice python benchmarks/bench_memory.py --keep DIR       # keep the CSV and dataset in DIR
    nice python benchmarks/bench_memory.py --rows 100000 --compare OLD   # also run another checkout's code
                                                             # (e.g. `git archive cf9eeb5 | tar -x -C OLD`)

Generates a posts CSV of realistic rows (caption with hashtags, post time, account counts, views...), then
runs each job in a child process of its own and reads that child's peak resident memory from the kernel
(wait4's ru_maxrss), beside a child that only imports the same modules and loads the model: the difference is
what the job itself holds. Prints the figures and their ratio to the file size. Not a test: nothing is timed
against a limit; the goal (peak under 500 MB whatever the file size) is printed beside the result.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 500

WORDS = ("day in my life learning guitar recipe easy dinner cat dog funny prank tutorial makeup outfit gym "
         "workout travel vlog morning routine coffee art drawing music cover dance challenge").split()
TAGS = ("fyp foryou viral cats cooking guitar gym travel art dance comedy diy fashion").split()
FIELDS = ("post_id", "author_id", "caption", "hashtags", "post_time", "duration_s", "width", "height",
          "music_title", "music_original", "author_followers", "author_following", "author_likes",
          "author_videos", "language", "views", "likes", "comments", "shares", "saves")


def write_posts(path: Path, rows: int, seed: int = 0) -> Path:
    """A posts CSV of `rows` plausible posts from rows // 4 authors (about 260 bytes a row)."""
    rng = random.Random(seed)
    t0 = datetime(2023, 1, 1)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for i in range(rows):
            followers = int(10 ** rng.uniform(1, 7))
            views = int(followers * 10 ** rng.uniform(-1.5, 1.5)) + 1
            tags = rng.sample(TAGS, 3)
            caption = " ".join(rng.choices(WORDS, k=rng.randint(4, 14))) + " " + " ".join("#" + t for t in tags)
            w.writerow((
                f"p{i}", f"a{rng.randrange(max(1, rows // 4))}", caption, ",".join(tags),
                (t0 + timedelta(minutes=rng.randrange(600_000))).strftime("%Y-%m-%dT%H:%M"),
                rng.randint(5, 180), 720, 1280, "original sound" if rng.random() < 0.6 else "Some Track",
                "true" if rng.random() < 0.6 else "false", followers, rng.randint(0, 3000),
                followers * rng.randint(5, 40), rng.randint(1, 2000), "en", views, views // 10, views // 100,
                views // 200, views // 300,
            ))
    return path


CHILD = {
    "baseline": "from engine.data.store import Dataset; from engine.evaluate import evaluate; "
                "from engine.models.bundle import ModelBundle, default_bundle_path; "
                "ModelBundle.load(default_bundle_path(), device='cpu')",
    "import": "from engine.data.store import Dataset; import sys; "
              "ds = Dataset.create(sys.argv[2]); r = ds.import_path(sys.argv[1], format='posts-csv'); "
              "print(r.summary()); ds.close()",
    "evaluate": "from engine.evaluate import evaluate; from engine.models.bundle import ModelBundle, "
                "default_bundle_path; import sys; "
                "r = evaluate(sys.argv[1], ModelBundle.load(default_bundle_path(), device='cpu')); "
                "print('n', r['n'], 'spearman', r['spearman'])",
}


def peak_of(job: str, csv_path: Path, ds_path: Path, code: Path = ROOT) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, what it printed) of one job run in a child process on the code in `code`."""
    env = dict(os.environ, PYTHONPATH=str(code), OMP_NUM_THREADS="1")
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD[job], str(csv_path), str(ds_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=code)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{job} failed:\n{out}")
    return usage.ru_maxrss / 1024, time.perf_counter() - t, out.strip().splitlines()[-1] if out.strip() else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="DIR", help="write the CSV and dataset here and keep them")
    ap.add_argument("--compare", metavar="DIR", type=Path,
                    help="also run the jobs on the code of another checkout (the one before streaming)")
    args = ap.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_memory_"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, ds_path = folder / "posts.csv", folder / "bench.sqlite"
    try:
        t = time.perf_counter()
        write_posts(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 2 ** 20
        print(f"posts CSV: {args.rows:,} rows, {size_mb:.0f} MB (written in {time.perf_counter() - t:.0f} s)")
        base, _, _ = peak_of("baseline", csv_path, ds_path)
        print(f"baseline (imports + model loaded): peak {base:.0f} MB")
        for job in ("import", "evaluate"):
            ds_path.unlink(missing_ok=True)
            peak, secs, said = peak_of(job, csv_path, ds_path)
            verdict = "under" if peak < GOAL_MB else "OVER"
            print(f"{job:<9} peak {peak:5.0f} MB ({peak / size_mb:.2f}x the file), {secs:.0f} s; {verdict} the "
                  f"{GOAL_MB} MB goal  [{said}]")
            if args.compare:
                ds_path.unlink(missing_ok=True)
                old, old_secs, _ = peak_of(job, csv_path, ds_path, args.compare)
                print(f"{'':<9} {args.compare}: peak {old:5.0f} MB ({old / size_mb:.2f}x the file), {old_secs:.0f} s;"
                      f" streaming uses {peak / old:.2f}x its memory")
    finally:
        if not args.keep:
            for p in (csv_path, ds_path, ds_path.with_name(ds_path.name + "-journal"),
                      ds_path.with_name(ds_path.name + "-wal"), ds_path.with_name(ds_path.name + "-shm")):
                p.unlink(missing_ok=True)
            folder.rmdir()


if __name__ == "__main__":
    main()
