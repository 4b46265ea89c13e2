"""Training the embedded default model (resources/models/default) from SMP-Video, and any ensemble bundle
from labelled posts. Training side: imports scikit-learn (through engine.models.ensemble).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import BundleError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress
from .bundle import posts_fingerprint, write_bundle

DEFAULT_MODEL_NAME = "virality-ensemble-smp-video"
MODEL_FILE = "model.onnx"
#: ONNX and scikit-learn must agree this closely on the training posts before a bundle is written.
ONNX_TOLERANCE = 1e-4


def train_bundle(
    posts: Sequence,
    out_dir: str | os.PathLike,
    name: str,
    training_data: dict,
    cfg=None,
    cues: Optional[Sequence[Optional[dict]]] = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    finish=None,
    data=None,
) -> dict:
    """Train the ensemble on labelled posts (engine.data.posts_csv.Post), export it, check that ONNX Runtime
    reproduces scikit-learn, and write the bundle. Returns a report (metrics, weights, sizes, times).

    `data`: an engine.models.ensemble.LabelledPosts to train on instead of labelled_posts(posts, cues).
    `finish(trained, data, manifest, report) -> {file name: bytes}`: called before the bundle is written;
    it may add to the manifest and returns attachments (report, plots) written inside the bundle."""
    import onnxruntime as ort

    from ..explain import typical_post
    from ..features.spec import build_inputs
    from ..features.spec import texts as spec_texts
    from . import ensemble as ens

    t0 = time.perf_counter()
    data = data if data is not None else ens.labelled_posts(posts, cues)
    cancel.raise_if_cancelled()
    trained = ens.train_ensemble(data, cfg, sub_progress(progress, 0.0, 0.9), cancel)
    t_train = time.perf_counter() - t0
    cancel.raise_if_cancelled()
    progress(0.9, "exporting to ONNX")
    blob = ens.export_onnx(trained)
    progress(0.95, "checking ONNX against scikit-learn")
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    onnx_pred = session.run(None, build_inputs(data.metas, trained.spec, data.cues))[0].ravel()
    sk_pred = trained.predict_sklearn(data.metas, data.cues)
    diff = float(np.max(np.abs(onnx_pred - sk_pred)))
    if not diff <= ONNX_TOLERANCE:
        raise BundleError(f"the exported model differs from scikit-learn by {diff:.2e} (> {ONNX_TOLERANCE}); not written")
    cancel.raise_if_cancelled()
    manifest = ens.build_manifest(trained, name, dict(training_data, n_posts=trained.n_posts,
                                                       n_authors=trained.n_authors,
                                                       posts_fingerprint=posts_fingerprint(p.post_id for p in posts)),
                                  MODEL_FILE)
    manifest["training"]["onnx_max_abs_diff_vs_sklearn"] = float(f"{diff:.3g}")
    manifest["typical"] = typical_post(manifest, lambda feeds: session.run(None, feeds)[0].ravel(),
                                       texts=[t[0] for t in spec_texts(data.metas)])
    full = trained.metrics["grouped_cv"]["full"]
    report = {
        "bundle": str(Path(out_dir)),
        "bundle_bytes": None,
        "onnx_bytes": len(blob),
        "train_seconds": round(t_train, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "n_posts": trained.n_posts,
        "n_authors": trained.n_authors,
        "skipped": data.skipped,
        "label": trained.label,
        "weights": trained.weights,
        "onnx_max_abs_diff": diff,
        "grouped_cv_full": full,
        "metrics": trained.metrics,
    }
    attachments = finish(trained, data, manifest, report) if finish is not None else None
    cancel.raise_if_cancelled()
    out = write_bundle(out_dir, {MODEL_FILE: blob}, manifest, attachments)
    report["bundle_bytes"] = sum(p.stat().st_size for p in out.iterdir())
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    progress(1.0, f"bundle written to {out}")
    return report


def train_default(
    smp_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> dict:
    """Import SMP-Video's train split, train the ensemble and write the default bundle to out_dir.

    smp_dir: the SMP-Video folder (its train/ is used) or the train/ folder itself. Deterministic: the
    same data give the same model file. Raises DataError for missing data, Cancelled when cancelled."""
    from ..data.smp import DATASET_NAME, LICENCE, SNAPSHOT_NOTE, load_smp
    from .ensemble import EnsembleConfig

    progress(0.0, "reading SMP-Video")
    smp_dir = Path(smp_dir)
    split = smp_dir / "train" if (smp_dir / "train").is_dir() else smp_dir
    posts, stats = load_smp(split, sub_progress(progress, 0.0, 0.03), cancel)
    training_data = {
        "name": DATASET_NAME,
        "split": stats["split"],
        "licence": LICENCE,
        "first_post": stats["first_post"],
        "last_post": stats["last_post"],
        "account_stats_note": SNAPSHOT_NOTE,
        "caption_note": "SMP gives caption words and hashtags as one comma-separated token list without "
        "'#', punctuation or emoji; the model reads it as one text, so hashtag, mention, question-mark and "
        "emoji counts are constant in training and unused",
        "post_time_note": "post times as SMP gives them ('YYYY-MM-DD HH:MM'); the time zone is not stated, so "
        "the hour-of-day features are only as good as that clock",
        "never_used": "post_suggested_words (TikTok's suggestions, filled in after posting: a label leak)",
        "repaired": f"{stats['repaired_overflow']} account like counts stored as wrapped 32-bit integers were "
        "unwrapped (+2^32)",
    }
    report = train_bundle(
        posts, out_dir, DEFAULT_MODEL_NAME, training_data, EnsembleConfig(),
        progress=sub_progress(progress, 0.03, 1.0), cancel=cancel,
    )
    report["import"] = stats
    return report


def add_training_ranges(bundle_dir: str | os.PathLike, smp_dir: str | os.PathLike) -> dict:
    """A ranges-only rebuild: store in an existing default bundle's manifest the [min, max] of each model input
    over the SMP-Video training posts it was trained on (what fit_spec records for new bundles), leaving its
    .onnx files, and so its predictions, untouched. Checks first that these are the posts it learned from:
    each input's median must equal the fill value the bundle learned. Returns {feature: [min, max]}.
    Raises BundleError when the data do not match the bundle."""
    import json

    import numpy as np

    from ..data.smp import load_smp
    from ..features.spec import raw_matrix
    from .bundle import MANIFEST
    from .ensemble import labelled_posts

    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    smp_dir = Path(smp_dir)
    posts, _ = load_smp(smp_dir / "train" if (smp_dir / "train").is_dir() else smp_dir)
    metas = labelled_posts(posts, None).metas
    feats = manifest["feature_spec"]["features"]
    raw = raw_matrix(metas, [f["name"] for f in feats])
    ranges = {}
    for j, f in enumerate(feats):
        known = raw[:, j][~np.isnan(raw[:, j])]
        if not np.isclose(np.median(known), f["fill"], rtol=0, atol=1e-9):
            raise BundleError(f"{smp_dir}: these are not the posts the model was trained on ('{f['name']}' median "
                              f"{np.median(known):g}, the bundle's fill value {f['fill']:g})")
        f["range"] = ranges[f["name"]] = [float(known.min()), float(known.max())]
    tmp = bundle_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, bundle_dir / MANIFEST)
    return ranges


def store_typical(bundle_dir: str | os.PathLike, smp_dir: str | os.PathLike) -> dict:
    """Add manifest["typical"] (engine.explain.typical_post) to an ensemble bundle trained before bundles stored
    it, from the posts it was trained on (SMP-Video's train split for the default model). Only manifest.json
    changes: the model file and its sha256 stay as they are, so the bundle's predictions do not change."""
    import json

    import onnxruntime as ort

    from ..data.smp import load_smp
    from ..explain import typical_post
    from ..features.spec import meta_from_post, texts

    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    session = ort.InferenceSession(str(bundle_dir / manifest["model_file"]), providers=["CPUExecutionProvider"])
    smp_dir = Path(smp_dir)
    posts, _ = load_smp(smp_dir / "train" if (smp_dir / "train").is_dir() else smp_dir)
    manifest["typical"] = typical_post(manifest, lambda feeds: session.run(None, feeds)[0].ravel(),
                                       texts=[t[0] for t in texts([meta_from_post(p) for p in posts])])
    tmp = bundle_dir / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, bundle_dir / "manifest.json")
    return manifest["typical"]
