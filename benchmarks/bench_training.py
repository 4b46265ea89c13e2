"""Training time of each family, and the multimodal network's cross-validated Spearman rho against the
ensemble's, on SMP-Video (metadata + caption: account, caption, time, sound, format).

    python benchmarks/bench_training.py                          # SMP-Video train split, all families
    python benchmarks/bench_training.py --work DIR               # keep (and reuse) the dataset in DIR
    python benchmarks/bench_training.py --families multimodal,video
    python benchmarks/bench_training.py --cancel [--compare REV] [--work DIR]   # how fast Cancel stops

--cancel: how long a training takes to stop once cancelled, per family: the ensemble's forest, boosting and
MLP members (one member at a time, on SMP-Video train) and the multimodal network (metadata only, so that no
caption embedding runs first). Each run is cancelled 1 s into the first fit of that family; the figure is the
time from the cancel to the training's return. --compare REV measures that commit's code too (git archive,
its own process) and prints both side by side.

SMP-Video ships metadata only, so the ensemble and the multimodal network train on it; the video
transformer needs videos and is timed on the 10 shared clips (../shared/data/videos) with GENERATED labels:
its time is the mechanics' cost, its metrics mean nothing. Caption embeddings are extracted once into the
dataset (timed separately: 'captions_seconds'). Both SMP models are measured on the same 5 folds grouped
by author.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
FEATURES = ("account", "caption", "time", "sound", "format")


def smp_dataset(work: Path, out: dict):
    from engine.data.store import Dataset
    from engine.extract import extract_captions

    path = work / "smp-train.sqlite"
    ds = Dataset.open(path) if path.exists() else Dataset.create(path)
    if not ds.info()["posts"]:
        t = time.perf_counter()
        ds.import_path(SHARED / "smp-video" / "train")
        out["import_seconds"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    n, done = extract_captions(ds)
    out.update(captions=n, captions_embedded_now=done, captions_seconds=round(time.perf_counter() - t, 1))
    return ds


def clips_dataset(work: Path, frames: int):
    import numpy as np

    from engine.data.posts_csv import Post, write_posts_csv
    from engine.data.store import Dataset
    from engine.extract import extract_dataset

    path = work / "clips.sqlite"
    if not path.exists():
        clips = sorted((SHARED / "videos").glob("*/*.mp4"))
        rng = np.random.RandomState(0)
        posts = [Post(f"v{i}", author_id=f"a{i % 6}", caption=f"clip {i}", views=float(round(1000 * math.exp(rng.normal()))),
                      post_time=datetime(2024, 1, 1) + timedelta(days=i), author_followers=float(10 ** rng.uniform(2, 6)),
                      video_path=str(clips[i % len(clips)])) for i in range(60)]  # GENERATED labels
        write_posts_csv(work / "clips.csv", posts)
        with Dataset.create(path) as ds:
            ds.import_path(work / "clips.csv")
    ds = Dataset.open(path)
    extract_dataset(ds, frames=frames)
    return ds


CANCEL_FAMILIES = ("forest", "boosting", "mlp", "neural")
CANCEL_AFTER_S = 1.0


def cancel_latency(ds, work: Path, family: str) -> dict:
    """Start a training, cancel it CANCEL_AFTER_S into the first fit of `family`, time how long it takes to stop."""
    import threading

    from engine.errors import Cancelled
    from engine.jobs import CancelToken
    from engine.training import train_model

    token, started, outcome = CancelToken(), threading.Event(), {}
    marker = "epoch" if family == "neural" else f", {family}"

    def progress(_f, message):
        if marker in str(message):
            started.set()

    def run():
        try:
            if family == "neural":
                train_model(ds, "multimodal", work / "cancel-neural", features=("account", "time", "sound", "format"),
                            progress=progress, cancel=token)
            else:
                train_model(ds, "ensemble", work / f"cancel-{family}", features=FEATURES,
                            ensemble_config={"members": (family,)}, progress=progress, cancel=token)
            outcome["result"] = "finished before the cancel"
        except Cancelled:
            outcome["result"] = "cancelled"
        finally:
            outcome["ended"] = time.perf_counter()
            started.set()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    started.wait()
    time.sleep(CANCEL_AFTER_S)
    t = time.perf_counter()
    token.cancel()
    th.join()
    return {"stop_seconds": round(outcome["ended"] - t, 2) if outcome["ended"] > t else None,
            "result": outcome["result"]}


def cancel_bench(work: Path) -> dict:
    from engine.data.store import Dataset

    path = work / "smp-train.sqlite"
    if not path.exists():
        with Dataset.create(path) as ds:
            ds.import_path(SHARED / "smp-video" / "train")
    with Dataset.open(path) as ds:
        return {fam: cancel_latency(ds, work, fam) for fam in CANCEL_FAMILIES}


def print_cancel(results: dict) -> None:
    names = list(results)
    print(f"Seconds from Cancel to the training's return, cancelled {CANCEL_AFTER_S:.0f} s into the first fit "
          "(SMP-Video train, 4,000 posts)")
    print(f"{'':12}" + "".join(f"{n:>14}" for n in names))
    for fam in CANCEL_FAMILIES:
        cells = []
        for n in names:
            r = results[n][fam]
            cells.append(f"{r['stop_seconds']:14.2f}" if r["result"] == "cancelled" else f"{'(finished)':>14}")
        print(f"{fam:12}" + "".join(cells))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", help="folder for the datasets (default: a temporary one)")
    ap.add_argument("--families", default="ensemble,multimodal,video")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--cancel", action="store_true", help="measure how fast Cancel stops each family")
    ap.add_argument("--compare", metavar="REV", help="with --cancel: also measure commit REV's code")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--code", help=argparse.SUPPRESS)  # the tree whose engine/ is measured
    args = ap.parse_args()
    if args.code:
        sys.path.insert(0, args.code)
    if args.cancel:
        tmpd = tempfile.TemporaryDirectory()
        work = Path(args.work or tmpd.name)
        work.mkdir(parents=True, exist_ok=True)
        if args.compare:
            sys.path.insert(1, str(ROOT / "benchmarks"))
            from old_code import code_at, run_on

            a = ["--cancel", "--json", "--work", str(work)]
            results = {args.compare: run_on(code_at(args.compare, work), "bench_training.py", a),
                       "this tree": run_on(ROOT, "bench_training.py", a)}
        else:
            results = {"this tree": cancel_bench(work)}
        if args.json:
            print(json.dumps(results if args.compare else results["this tree"], indent=2))
        else:
            print_cancel(results)
        return 0
    from engine.training import train_model

    families = args.families.split(",")
    tmp = tempfile.TemporaryDirectory()
    work = Path(args.work or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"features": list(FEATURES), "families": {}}
    if {"ensemble", "multimodal"} & set(families):
        ds = smp_dataset(work, out)
        for fam in ("ensemble", "multimodal"):
            if fam not in families:
                continue
            t = time.perf_counter()
            rep = train_model(ds, fam, work / f"bundle-{fam}", features=FEATURES)
            s = rep["summary"]
            out["families"][fam] = {
                "data": "SMP-Video train", "seconds": round(time.perf_counter() - t, 1), "n_posts": rep["n_posts"],
                "grouped_cv_spearman": s["cv_model_spearman"], "grouped_cv_auc_top25": s["cv_model_auc_top25"],
                "grouped_cv_mae": s["cv_model_mae"], "time_split_spearman": s.get("time_split_model_spearman"),
                "followers_only_cv_spearman": s["cv_followers_only_spearman"]}
        ds.close()
        if {"ensemble", "multimodal"} <= set(out["families"]):
            f = out["families"]
            out["multimodal_minus_ensemble_cv_spearman"] = round(
                f["multimodal"]["grouped_cv_spearman"] - f["ensemble"]["grouped_cv_spearman"], 4)
    if "video" in families:
        ds = clips_dataset(work, args.frames)
        t = time.perf_counter()
        rep = train_model(ds, "video", work / "bundle-video", frames=args.frames)
        out["families"]["video"] = {"data": "10 shared clips x 6 posts, GENERATED labels (mechanics only)",
                                    "seconds": round(time.perf_counter() - t, 1), "n_posts": rep["n_posts"],
                                    "epochs": len(rep["learning_curve"]["train_loss"])}
        ds.close()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
