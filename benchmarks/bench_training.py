"""Training time of each family, and the multimodal network's cross-validated Spearman rho against the
ensemble's, on SMP-Video (metadata + caption: account, caption, time, sound, format).

    python benchmarks/bench_training.py                          # SMP-Video train split, all families
    python benchmarks/bench_training.py --work DIR               # keep (and reuse) the dataset in DIR
    python benchmarks/bench_training.py --families multimodal,video

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", help="folder for the datasets (default: a temporary one)")
    ap.add_argument("--families", default="ensemble,multimodal,video")
    ap.add_argument("--frames", type=int, default=16)
    args = ap.parse_args()
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
