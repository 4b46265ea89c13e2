"""The report a training run writes (engine.training): validation check, the dataset's inputs for a
bundle, the training-data record and the metric summary."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .extract import load_video_features
from .features import spec as fspec
from .features.inputs import DEFAULT_FRAMES, audio_vector, cues_dict
from .jobs import no_progress
from .training_data import TrainingSet, _caption_matrix


REGIME_KEYS = {"full", "followers_only", "no_account"}


def _validation_check(ts: TrainingSet, rows: np.ndarray, native: np.ndarray, onnx: Optional[np.ndarray]) -> dict:
    """The native model's predictions on the validation rows, kept in the report so that anyone can check
    the bundle against them (tests/test_training.py does, through ModelBundle)."""
    out = {"post_ids": [ts.posts[i].post_id for i in rows], "native": [float(v) for v in native]}
    if onnx is not None:
        out["onnx_max_abs_diff"] = float(np.max(np.abs(onnx - native))) if len(rows) else 0.0
    return out


def dataset_inputs(ds, manifest: dict, post_ids: Sequence[str]):
    """(metas, cues, extra) for ModelBundle.predict of the given posts of a dataset, from its feature cache:
    what scoring computes from the files, read back from what extraction stored."""
    posts = {p.post_id: p for p in ds.posts()}
    chosen = [posts[i] for i in post_ids]
    metas = [fspec.meta_from_post(p) for p in chosen]
    needs = manifest.get("inputs", {})
    frames_spec = needs.get("frames") or {}
    ext = manifest.get("extraction") or {}
    frames = int(ext.get("frame_count") or DEFAULT_FRAMES)
    backbone = ext.get("backbone") or "efficientnet_lite0"
    video = load_video_features(ds, frames, backbone) if (manifest["feature_spec"].get("uses_cues")
                                                          or "frames" in needs or "audio" in needs) else {}
    cues = [cues_dict(video[p.post_id]["cues"]) if p.post_id in video else None for p in chosen]
    extra = {}
    if "caption" in needs:
        extra["caption"] = _caption_matrix(ds, chosen, "auto", [], no_progress)
    if "frames" in needs:
        f = np.stack([video[p.post_id]["frames"] for p in chosen])
        extra["frames"] = f if len(frames_spec["shape"]) == 3 else f.mean(axis=1)
    if "audio" in needs:
        extra["audio"] = np.stack([audio_vector(video[p.post_id]["audio"], video[p.post_id]["cues"]) for p in chosen])
    return metas, cues, extra


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _training_data(ts: TrainingSet) -> dict:
    from .models.bundle import posts_fingerprint

    return dict(ts.dataset, n_posts=len(ts.posts), n_authors=ts.n_authors, dropped=ts.dropped,
                licence="as the dataset's sources state (see its import records)",
                posts_fingerprint=posts_fingerprint(p.post_id for p in ts.posts))


def _report_common(ts: TrainingSet, family: str, metrics: dict, manifest: dict, extra: dict) -> dict:
    manifest["features"] = list(ts.groups)
    manifest["metrics_summary"] = _summary(metrics)
    manifest.setdefault("notes", []).extend(ts.notes)
    manifest["evaluation"] = {"scheme": ts.scheme, "metrics": metrics}
    return {
        "family": family,
        "features": list(ts.groups),
        "label": ts.data.label,
        "n_posts": len(ts.posts),
        "n_authors": ts.n_authors,
        "scheme": ts.scheme,
        "notes": ts.notes,
        "metrics": metrics,
        "summary": _summary(metrics),
        "training_data": _training_data(ts),
        **extra,
    }


def _summary(metrics: dict) -> dict:
    cv = metrics.get("cv", {})
    tsplit = metrics.get("time_split", {})
    out = {"scheme": metrics.get("scheme")}
    for key, block in (("cv", cv), ("time_split", tsplit)):
        for who in ("model", "followers_only", "mean"):
            if who in block:
                for m in ("spearman", "mae", "auc_top25"):
                    out[f"{key}_{who}_{m}"] = block[who].get(m)
    return out
