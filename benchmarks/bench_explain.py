"""What 'Why this score' costs: the model run for one post alone (the report before contributions) against
the one batched run of 2^groups rows that gives the same prediction and every group's points, side by side.

    python benchmarks/bench_explain.py [--model BUNDLE] [--repeat 200]

A live re-score on the Score page runs the model part only, so this is the cost added to each keystroke.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from engine.explain import explain_inputs
    from engine.features.spec import PostMeta
    from engine.models.bundle import ModelBundle, default_bundle_path

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(default_bundle_path()))
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model, device="cpu")
    meta = PostMeta(caption="day 3 of learning guitar #guitar", followers=12000, post_time=datetime(2026, 12, 1, 18),
                    music_title="original sound", duration_s=14.0, width=1080, height=1920)

    def alone():
        return bundle.predict([meta])

    def explained():
        return explain_inputs(bundle, bundle.inputs([meta]), meta)

    times = {}
    for name, fn in (("predict, 1 row", alone), ("explain, 1 batched run", explained)):
        fn()
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        times[name] = statistics.median(runs)
    why = explained()
    rows = 1 << len(why.contributions)
    print(f"model {bundle.name}: {len(why.contributions)} groups, {rows} rows per explained score")
    for name, t in times.items():
        print(f"  {name:<24} median {1000 * t:7.2f} ms over {args.repeat} runs")
    ratio = times["explain, 1 batched run"] / times["predict, 1 row"]
    print(f"  ratio                    {ratio:.1f}x (the explained run also gives the prediction)")
    assert abs(why.prediction - float(alone()[0])) < 1e-5


if __name__ == "__main__":
    main()
