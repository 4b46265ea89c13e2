"""Accuracy of the default model on SMP-Video, as `train-default` measures it, in one table.

    python benchmarks/bench_accuracy.py

Retrains the default ensemble into a temporary folder (about 2-3 minutes on 2 cores), prints each
member beside the ensemble, a mean predictor and a followers-only baseline, for 5 folds grouped by
author and for a time-ordered 80/20 split, in the full-stats and followers-only regimes, and checks
that the retrained model file is byte-identical to the committed one (deterministic training).
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SMP = ROOT.parent / "shared" / "data" / "smp-video"
ROWS = ["ridge", "forest", "boosting", "knn", "mlp", "ensemble", "mean", "followers_only"]


def main() -> int:
    if not (SMP / "train").is_dir():
        print(f"skipped: SMP-Video not found at {SMP}")
        return 0
    from engine.models.bundle import default_bundle_path
    from engine.models.default import train_default

    with tempfile.TemporaryDirectory() as tmp:
        report = train_default(SMP, Path(tmp) / "bundle")
        new_sha = hashlib.sha256((Path(tmp) / "bundle" / "model.onnx").read_bytes()).hexdigest()
    committed = hashlib.sha256((default_bundle_path() / "model.onnx").read_bytes()).hexdigest()
    m = report["metrics"]
    split_names = [k for k in m if k not in ("top25_threshold",) and isinstance(m[k], dict)]
    print(f"SMP-Video train: {report['n_posts']} posts by {report['n_authors']} authors;"
          f" trained in {report['train_seconds']} s; weights {report['weights']}")
    for split in split_names:
        for regime in ("full", "followers_only"):
            block = m[split].get(regime)
            if not block:
                continue
            print(f"\n{split} / {regime} stats      spearman   auc_top25   mae")
            for name in ROWS:
                if name in block:
                    r = block[name]
                    print(f"  {name:<16}{r['spearman']:>9.3f}{r['auc_top25']:>12.3f}{r['mae']:>8.3f}")
    g = m["grouped_cv"]["full"]
    print(f"\nensemble vs best member (grouped AUC): +{g['ensemble']['auc_top25'] - max(g[k]['auc_top25'] for k in ROWS[:5]):.3f}")
    print(f"ensemble vs followers only (grouped): spearman {g['ensemble']['spearman'] / g['followers_only']['spearman']:.2f}x")
    print(f"retrained model.onnx identical to the committed one: {new_sha == committed} ({new_sha[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
