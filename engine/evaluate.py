"""Measure a model bundle on labelled posts (a posts CSV): how well does it rank posts it never saw?

Only the inputs the bundle was trained with are computed from each row; the row's own views, likes,
comments, shares and saves are the label, never an input. Scoring side: numpy + onnxruntime only.
"""
from __future__ import annotations

import math
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import metrics
from .data.posts_csv import PostsReader
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


#: why a labelled row has no prediction (a code per row, one byte each)
OK, BAD_INPUTS, VIDEO_ABSENT, UNREADABLE_VIDEO = 0, 1, 2, 3


@dataclass
class _Scored:
    """Per labelled row (views or popularity known): the labels, the prediction (NaN: not scored, `why` says
    why) and the follower count, as packed arrays (a few bytes a row, not a Post object); how many of the
    scored rows the model was trained on; plus the reader's counts."""

    views: array = field(default_factory=lambda: array("d"))
    popularity: array = field(default_factory=lambda: array("d"))
    preds: array = field(default_factory=lambda: array("d"))
    why: array = field(default_factory=lambda: array("b"))
    followers: array = field(default_factory=lambda: array("d"))
    in_training: array = field(default_factory=lambda: array("b"))
    fingerprinted: bool = False
    n_views: int = 0
    n_posts: int = 0
    skipped_rows: int = 0
    problem_count: int = 0
    problems: list = field(default_factory=list)
    problem_columns: dict = field(default_factory=dict)


def _finite(v) -> float:
    return float(v) if v is not None and math.isfinite(float(v)) else math.nan


def _score_rows(posts_csv, bundle: ModelBundle, progress: Progress, cancel: CancelToken, cues_for,
                device: str) -> _Scored:
    """Stream the CSV in chunks of BATCH rows through the model, each row with the inputs `score` would give it:
    memory stays flat whatever the file size (a model that reads the videos measures them one at a time)."""
    out = _Scored()
    out.fingerprinted = training_overlap(bundle.manifest, []) is not None
    chunk: list = []
    reads_video = _reads_video(bundle)

    def flush():
        metas = [meta_from_post(p) for p in chunk]
        preds = np.full(len(metas), np.nan)
        why = np.zeros(len(metas), np.int8)
        if reads_video:
            videos = [p.video_file(reader.path.parent) if p.video_path else None for p in chunk]
            videos = [v if v is not None and v.is_file() else None for v in videos]
            _predict_from_videos(bundle, metas, videos, preds, why, cues_for, device, cancel)
        else:
            extra = _caption_inputs(bundle, metas, device)
            try:
                preds[:] = bundle.predict(metas, None, extra)
            except InputError:
                for i in range(len(metas)):  # find the impossible rows
                    try:
                        preds[i] = bundle.predict([metas[i]], None, _rows(extra, slice(i, i + 1)))[0]
                    except InputError:
                        why[i] = BAD_INPUTS
        out.preds.extend(preds.tolist())
        out.why.extend(why.tolist())
        if out.fingerprinted:
            out.in_training.extend(training_overlap(bundle.manifest, [p.post_id]) or 0 for p in chunk)
        chunk.clear()

    with PostsReader(posts_csv) as reader:
        for p in reader:
            views, pop = _finite(p.views), _finite(p.popularity)
            out.n_views += p.views is not None
            if math.isnan(views) and math.isnan(pop):
                continue
            out.views.append(views)
            out.popularity.append(pop)
            out.followers.append(_finite(p.author_followers))
            chunk.append(p)
            if len(chunk) >= (1 if reads_video else BATCH):
                cancel.raise_if_cancelled()
                flush()
                progress(0.05 + 0.9 * reader.fraction_read,
                         f"{'measured and scored' if reads_video else 'scored'} {len(out.preds):,} posts")
        if chunk:
            flush()
    out.n_posts, out.skipped_rows = reader.n_posts, reader.skipped_rows
    out.problem_count, out.problems, out.problem_columns = (reader.problem_count, reader.problems,
                                                            reader.problem_columns)
    return out


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
    left, `n` is 0 and `reason` says why. The CSV is read as a stream: memory does not grow with its size.
    Raises DataError when the CSV itself cannot be read.
    """
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle, device=device)
    progress(0.0, "reading posts")
    rows = _score_rows(posts_csv, bundle, progress, cancel, cues_for, device)
    has_views = rows.n_views > 0
    label_column = "views" if has_views else "popularity"
    views, pop, preds = (np.frombuffer(a, np.float64) for a in (rows.views, rows.popularity, rows.preds))
    why = np.frombuffer(rows.why, np.int8)
    labelled = np.isfinite(views) if has_views else np.isfinite(pop)
    skipped = {"no_label": int(rows.n_posts - labelled.sum()), "unreadable_rows": rows.skipped_rows,
               "bad_inputs": int((labelled & (why == BAD_INPUTS)).sum()),
               # these are also counted in no_label
               "label_unreadable": rows.problem_columns.get(label_column, 0)}
    if _reads_video(bundle):
        skipped["video_absent"] = int((labelled & (why == VIDEO_ABSENT)).sum())
        skipped["unreadable_video"] = int((labelled & (why == UNREADABLE_VIDEO)).sum())
    ok = labelled & np.isfinite(preds)
    y = (np.log1p(views) if has_views else pop)[ok]
    pred = preds[ok]
    followers = np.frombuffer(rows.followers, np.float64)[ok]
    overlap = int(np.frombuffer(rows.in_training, np.int8)[ok].sum()) if rows.fingerprinted else None

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
        "problems": rows.problem_count,
        "problem_examples": [str(p) for p in rows.problems[:5]],
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
        result["reason"] = _no_rows_reason(rows.n_posts, int(labelled.sum()), skipped)
    if y.size >= 3:
        thr = metrics.top_quarter_threshold(y)
        top = y >= thr
        result["spearman"] = _spearman(y, pred)
        result["auc_top25"] = _auc(top, pred)
        result["label"]["top25_threshold"] = round(thr, 4)
        if same_scale:
            result["mae_log_views"] = round(metrics.mae(y, pred), 4)
        fol = followers
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


def _caption_inputs(bundle: ModelBundle, metas: list, device: str) -> Optional[dict]:
    """The caption embeddings a multimodal model reads (no video needed), in batches, as scoring computes them."""
    if "caption" not in bundle.extra_inputs:
        return None
    from .features.inputs import caption_embedder, caption_text

    texts = [caption_text(m.caption, m.hashtags) for m in metas]
    embed = caption_embedder(device)
    out = [embed.embed(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    return {"caption": np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)}


def _predict_from_videos(bundle, metas, videos, preds, why, cues_for, device, cancel) -> None:
    """One row at a time, the way `score` does it: one pass over the video for its cues and the frames and sound
    the model reads (engine.features.inputs). Fills preds[i], or why[i] with the reason there is none."""
    from .cues import cue_values
    from .errors import MediaError
    from .features.inputs import bundle_inputs, measure_with_inputs

    needs = bundle.manifest.get("inputs", {}) if bundle.extra_inputs else {}
    for i, path in enumerate(videos):
        if path is None:
            why[i] = VIDEO_ABSENT
            continue
        cancel.raise_if_cancelled()
        try:
            cues = cues_for(path) if (bundle.uses_cues and cues_for is not None) else None
            if (bundle.uses_cues and cues is None) or "audio" in needs:
                report, extra, _ = measure_with_inputs(path, needs, metas[i], device=device, cancel=cancel)
                cues = cue_values(report) if cues is None else cues
            else:
                extra = bundle_inputs(bundle.manifest, path, metas[i], device=device) if needs else None
            preds[i] = bundle.predict([metas[i]], [cues] if bundle.uses_cues else None, extra or None)[0]
        except MediaError:
            why[i] = UNREADABLE_VIDEO
        except InputError:
            why[i] = BAD_INPUTS


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
