"""Measure a model bundle on labelled posts (a posts CSV): how well does it rank posts it never saw?

Only the inputs the bundle was trained with are computed from each row; the row's own views, likes,
comments, shares and saves are the label, never an input. Scoring side: numpy + onnxruntime only.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import metrics
from .data.posts_csv import read_posts_csv
from .errors import InputError
from .features.spec import meta_from_post
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .models.bundle import ModelBundle, training_overlap

BATCH = 512


def _spearman(y: np.ndarray, pred: np.ndarray) -> Optional[float]:
    v = metrics.spearman(y, pred)
    return None if v is None else round(v, 4)


def _auc(positive: np.ndarray, score: np.ndarray) -> Optional[float]:
    v = metrics.auc(positive, score)
    return None if v is None else round(v, 4)


def evaluate(
    posts_csv: str | os.PathLike,
    bundle: ModelBundle | str | os.PathLike,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    cues_for: Optional[Callable[[Path], Optional[dict]]] = None,
    device: str = "auto",
) -> dict:
    """Score every row of a posts CSV with `bundle` and compare with the row's label.

    The label is ln(1 + views) when the CSV has views (rows without views are then skipped), else the
    `popularity` column. AUC: top quarter = label >= the 75th percentile of the evaluated rows' labels.
    When the CSV's label is on another scale than the bundle's (views vs SMP popularity), rank metrics
    still hold but the MAE is not comparable: it is then None and `note` says why.
    Every row gets the inputs `score` would give its model: a model that reads the caption embedding gets it,
    and a model that reads the video (content cues, frames, sound) gets them measured from the row's video_path
    (cues_for(video_path) -> cue dict may supply cached cues); a row without its video is counted in
    `skipped["video_absent"]`, never scored on fill values. Rows without a label, with unreadable cells in the
    label, with impossible inputs or with an unreadable video are counted in `skipped`, never fatal; with no row
    left, `n` is 0 and `reason` says why. Raises DataError when the CSV itself cannot be read.
    """
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle, device=device)
    progress(0.0, "reading posts")
    pf = read_posts_csv(posts_csv)
    posts = pf.posts
    has_views = any(p.views is not None for p in posts)
    label_column = "views" if has_views else "popularity"
    bad_label_rows = {pr.row for pr in pf.problems if pr.column == label_column}
    skipped = {"no_label": 0, "unreadable_rows": pf.skipped_rows, "bad_inputs": 0}
    usable, labels = [], []
    for p in posts:
        v = p.views if has_views else p.popularity
        if v is None or not math.isfinite(float(v)):
            skipped["no_label"] += 1
            continue
        usable.append(p)
        labels.append(math.log1p(v) if has_views else float(v))
    skipped["label_unreadable"] = len(bad_label_rows)  # these are also counted in no_label

    metas = [meta_from_post(p) for p in usable]
    preds = np.full(len(metas), np.nan)
    if _reads_video(bundle):
        videos = [p.video_file(pf.base_dir) for p in usable]
        videos = [v if v is not None and v.is_file() else None for v in videos]
        skipped["video_absent"] = sum(v is None for v in videos)
        skipped["unreadable_video"] = 0
        _predict_from_videos(bundle, metas, videos, preds, skipped, cues_for, device, progress, cancel)
    else:
        extra = _caption_inputs(bundle, metas, device, progress)
        for start in range(0, len(metas), BATCH):
            cancel.raise_if_cancelled()
            progress(0.05 + 0.9 * start / max(1, len(metas)),
                     f"scoring posts {start + 1}-{min(len(metas), start + BATCH)}")
            chunk = slice(start, start + BATCH)
            try:
                preds[chunk] = bundle.predict(metas[chunk], None, _rows(extra, chunk))
            except InputError:
                for i in range(start, min(len(metas), start + BATCH)):  # find the impossible rows
                    try:
                        preds[i] = bundle.predict([metas[i]], None, _rows(extra, slice(i, i + 1)))[0]
                    except InputError:
                        skipped["bad_inputs"] += 1
    ok = np.isfinite(preds)
    y = np.asarray(labels, np.float64)[ok]
    pred = preds[ok]
    kept = [m for m, k in zip(metas, ok) if k]
    overlap = training_overlap(bundle.manifest, [p.post_id for p, k in zip(usable, ok) if k])

    bundle_label = bundle.label
    bundle_column = bundle_label.get("column")
    same_scale = (bundle_column == label_column) and (
        label_column != "views" or bundle_label.get("transform") == "log1p"
    )
    note = None
    if not same_scale:
        note = (
            f"the CSV's label is {'ln(1 + views)' if has_views else 'popularity'} but the model predicts "
            f"{bundle_label.get('description', bundle_column)}: Spearman and AUC (rankings) are comparable, "
            "the MAE is not, so it is left out"
        )
    result = {
        "n": int(y.size),
        "spearman": None,
        "auc_top25": None,
        "mae_log_views": None,
        "skipped": skipped,
        "problems": len(pf.problems),
        "problem_examples": [str(p) for p in pf.problems[:5]],
        "label": {
            "csv": "ln(1 + views)" if has_views else "popularity",
            "model": bundle_label.get("description", bundle_column),
            "same_scale": same_scale,
            "top25_threshold": None,
        },
        "note": note,
        "model": bundle.name,
        "reason": None,
        "training_overlap": overlap,
        "in_sample": None,
    }
    if overlap:
        held = bundle.manifest.get("metrics", {}).get("grouped_cv", {}).get("full", {}).get("ensemble", {})
        result["in_sample"] = (
            f"{overlap:,} of {y.size:,} rows were in this model's training data: these numbers are in-sample"
            + (", not a measure of new posts" if overlap == y.size else
               "; evaluate on posts it never saw for an honest figure")
            + (f" (measured on held-out folds at training: Spearman {held['spearman']}, AUC top 25% "
               f"{held['auc_top25']})" if held.get("spearman") is not None else ""))
    if y.size == 0:
        result["reason"] = _no_rows_reason(len(posts), len(usable), skipped)
    if y.size >= 3:
        thr = metrics.top_quarter_threshold(y)
        top = y >= thr
        result["spearman"] = _spearman(y, pred)
        result["auc_top25"] = _auc(top, pred)
        result["label"]["top25_threshold"] = round(thr, 4)
        if same_scale:
            result["mae_log_views"] = round(metrics.mae(y, pred), 4)
        fol = np.array([m.followers if m.followers is not None else np.nan for m in kept], np.float64)
        have = np.isfinite(fol)
        if have.sum() >= 3:
            result["baseline_followers"] = {
                "n": int(have.sum()),
                "spearman": _spearman(y[have], fol[have]),
                "auc_top25": _auc(top[have], fol[have]),
                "model_spearman_same_rows": _spearman(y[have], pred[have]),
                "model_auc_top25_same_rows": _auc(top[have], pred[have]),
            }
    progress(1.0, f"{y.size} posts evaluated")
    return result


def _reads_video(bundle: ModelBundle) -> bool:
    """Whether the model's inputs come from the video file (content cues, frames or sound), as for `score`."""
    return bool(bundle.uses_cues) or any(n in ("frames", "audio") for n in bundle.extra_inputs)


def _rows(extra: Optional[dict], rows: slice) -> Optional[dict]:
    return None if extra is None else {k: v[rows] for k, v in extra.items()}


def _caption_inputs(bundle: ModelBundle, metas: list, device: str, progress: Progress) -> Optional[dict]:
    """The caption embeddings a multimodal model reads (no video needed), in batches, as scoring computes them."""
    if "caption" not in bundle.extra_inputs:
        return None
    from .extract import caption_embedder, caption_text

    progress(0.02, "embedding the captions")
    texts = [caption_text(m.caption, m.hashtags) for m in metas]
    embed = caption_embedder(device)
    out = [embed.embed(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    return {"caption": np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)}


def _predict_from_videos(bundle, metas, videos, preds, skipped, cues_for, device, progress, cancel) -> None:
    """One row at a time, the way `score` does it: probe and measure the video, then the model's extra inputs."""
    from . import media
    from .cues import cue_values, measure_cues
    from .errors import MediaError
    from .extract import bundle_inputs

    todo = [i for i, v in enumerate(videos) if v is not None]
    for k, i in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(0.05 + 0.9 * k / max(1, len(todo)), f"measuring video {k + 1} of {len(todo)}")
        path = videos[i]
        try:
            cues = cues_for(path) if (bundle.uses_cues and cues_for is not None) else None
            report = info = None
            if (bundle.uses_cues and cues is None) or "audio" in bundle.extra_inputs:
                info = media.probe(path)
                report = measure_cues(path, info, device=device, cancel=cancel)
                cues = cue_values(report) if cues is None else cues
            extra = (bundle_inputs(bundle.manifest, path, metas[i], report, info, device)
                     if bundle.extra_inputs else None)
            preds[i] = bundle.predict([metas[i]], [cues] if bundle.uses_cues else None, extra)[0]
        except MediaError:
            skipped["unreadable_video"] += 1
        except InputError:
            skipped["bad_inputs"] += 1


def _no_rows_reason(n_rows: int, n_labelled: int, skipped: dict) -> str:
    """Why nothing could be measured, in one sentence."""
    if n_labelled == 0:
        return f"none of the {n_rows:,} rows has a label (views or popularity)"
    absent = skipped.get("video_absent", 0)
    if absent:
        return (f"this model needs the videos: {n_labelled - absent:,} of {n_labelled:,} rows have one "
                "(the video_path column, relative to the CSV's folder)")
    parts = [f"{v:,} {k.replace('_', ' ')}" for k, v in skipped.items() if v and k != "label_unreadable"]
    return "no row could be scored (" + ", ".join(parts) + ")"
