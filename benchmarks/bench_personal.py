"""The personal model against three baselines, per creator and on average, on real single-creator histories.

    python benchmarks/bench_personal.py [--creators '/work/shared/data/creators/*.csv'] [--boot 1000]
                                        [--min-train 20] [--k 10] [--compare]

Each creator's posts are predicted in time order (expanding window: a post is predicted by a model trained
only on the posts before it). Two targets:
  relative  the creator-relative label (ln(1 + views) minus the median of the previous k posts): which of
            two posts made at the same time does better. The rolling median cannot rank here (chance).
  absolute  ln(1 + views); the personal model adds its predicted difference to the rolling median.
Spearman with 95% bootstrap intervals, and the paired interval of personal minus each baseline. The average
row's interval pools the per-creator bootstrap draws (the mean of independent draws, one per creator).
The personal model shrinks toward the general default model (its prediction is an input, penalised less);
--compare also runs the previous personal model (the same ridge without the general model) in the same run,
on the same posts and bootstrap draws, as the column 'previous' with the paired column 'personal - previous'.
"""
from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METHODS = ("personal", "rolling_median", "caption_length", "default_model")
SHORT = {"personal": "personal", "rolling_median": "roll.median", "caption_length": "caption len",
         "default_model": "default", "previous": "previous"}


def _ci(v) -> str:
    return "      n/a      " if not v else f"[{v[0]:+.2f},{v[1]:+.2f}]"


def _cell(d: dict, metric: str) -> str:
    v = d.get(metric)
    return f"{'  n/a' if v is None else f'{v:+.3f}'} {_ci(d.get(metric + '_ci'))}"


def main() -> None:
    from engine.personal.evaluate import evaluate_history
    from engine.personal.history import from_posts_csv

    ap = argparse.ArgumentParser()
    ap.add_argument("--creators", default=str(ROOT.parent / "shared" / "data" / "creators" / "*.csv"))
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--min-train", type=int, default=20)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--compare", action="store_true", help="also the previous personal model (no shrinkage)")
    args = ap.parse_args()
    methods = METHODS + (("previous",) if args.compare else ())
    bases = ("default_model", "rolling_median") + (("previous",) if args.compare else ())
    files = sorted(glob.glob(args.creators))
    if not files:
        sys.exit(f"error: no creator CSVs match {args.creators}")
    pooled: dict = {t: {} for t in ("relative", "absolute")}
    results = {}
    for f in files:
        t0 = time.perf_counter()
        h = from_posts_csv(f, k=args.k)
        boots: dict = {}
        r = evaluate_history(h, args.min_train, args.boot, boots_out=boots, compare_previous=args.compare)
        results[Path(f).stem] = r
        for target in pooled:
            for key, draws in boots.get(target, {}).items():
                pooled[target].setdefault(key, []).append(draws)
        print(f"# {Path(f).stem}: {r['n_posts']} posts, {r['n']} predicted in time order "
              f"({time.perf_counter() - t0:.1f} s); {r['summary']}", flush=True)
    for target in ("relative", "absolute"):
        for metric in ("spearman", "auc_top25"):
            print(f"\n{target} target, {metric} (95% bootstrap interval):")
            print(f"{'creator':26s}" + "".join(f"{SHORT[m]:>24s}" for m in methods)
                  + "".join(f"{'personal - ' + SHORT[b]:>26s}" for b in bases))
            for name, r in results.items():
                block = r.get(target) or {}
                row = f"{name:26s}" + "".join(f"{_cell(block.get(m, {}), metric):>24s}" for m in methods)
                for base in bases:
                    b = block.get(base, {})
                    v = b.get(f"personal_minus_{metric}")
                    row += f"{'n/a' if v is None else f'{v:+.3f}':>9s} {_ci(b.get(f'personal_minus_{metric}_ci')):>16s}"
                print(row)
            row = f"{'AVERAGE':26s}"
            for m in methods:
                vals = [(r.get(target) or {}).get(m, {}).get(metric) for r in results.values()]
                vals = [v for v in vals if v is not None]
                draws = pooled[target].get((m, metric))
                ci = None
                if draws and len(draws) == len(results):
                    mean = np.nanmean(np.vstack(draws), axis=0)
                    ci = [float(np.quantile(mean, 0.025)), float(np.quantile(mean, 0.975))]
                row += f"{_cell({metric: float(np.mean(vals)) if vals else None, metric + '_ci': ci}, metric):>24s}"
            for base in bases:
                p, b = pooled[target].get(("personal", metric)), pooled[target].get((base, metric))
                if p and b and len(p) == len(b) == len(results):
                    d = np.nanmean(np.vstack(p), axis=0) - np.nanmean(np.vstack(b), axis=0)
                    pm = np.mean([(r.get(target) or {})["personal"][metric] for r in results.values()])
                    bm = np.mean([(r.get(target) or {})[base][metric] for r in results.values()])
                    row += f"{pm - bm:+9.3f} {_ci([float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))]):>16s}"
            print(row)


if __name__ == "__main__":
    main()
