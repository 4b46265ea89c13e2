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

from .data.posts_csv import PostsReader
from .errors import InputError
from .features.spec import meta_from_post
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .models.bundle import ModelBundle

BATCH = 512


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank: scipy.stats.rankdata(x) (all nan if any is)."""
    x = np.asarray(x, np.float64).ravel()
    if np.isnan(x).any():
        return np.full(x.size, np.nan)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.concatenate([[True], xs[1:] != xs[:-1]]) if x.size else np.zeros(0, bool)
    group = np.cumsum(new) - 1  # tie group of each sorted value
    bounds = np.concatenate([np.flatnonzero(new), [x.size]])  # first sorted position of each group
    ranks = np.empty(x.size)
    ranks[order] = (bounds[group] + 1 + bounds[group + 1]) / 2.0  # mean of positions first+1 .. next
    return ranks


def _spearman(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    if a.size < 3:
        return None
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return round(float(np.corrcoef(ra, rb)[0, 1]), 4)


def _auc(positive: np.ndarray, score: np.ndarray) -> Optional[float]:
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    r = _ranks(score)
    return round(float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)), 4)


@dataclass
class _Scored:
    """Per labelled row (views or popularity known): the labels, the prediction (NaN: impossible inputs) and
    the follower count, as packed float64 arrays (8 bytes a row, not a Post object); plus the reader's counts."""

    views: array = field(default_factory=lambda: array("d"))
    popularity: array = field(default_factory=lambda: array("d"))
    preds: array = field(default_factory=lambda: array("d"))
    followers: array = field(default_factory=lambda: array("d"))
    n_views: int = 0
    n_posts: int = 0
    skipped_rows: int = 0
    problem_count: int = 0
    problems: list = field(default_factory=list)
    problem_columns: dict = field(default_factory=dict)


def _finite(v) -> float:
    return float(v) if v is not None and math.isfinite(float(v)) else math.nan


def _score_rows(posts_csv, bundle: ModelBundle, progress: Progress, cancel: CancelToken, cues_for) -> _Scored:
    """Stream the CSV in chunks of BATCH rows through the model: memory stays flat whatever the file size."""
    out = _Scored()
    chunk: list = []

    def flush():
        metas = [meta_from_post(p) for p in chunk]
        cues = None
        if bundle.uses_cues and cues_for is not None:
            cues = [cues_for(p.video_file(reader.path.parent)) if p.video_path else None for p in chunk]
        try:
            preds = bundle.predict(metas, cues)
        except InputError:
            preds = np.full(len(metas), np.nan)
            for i in range(len(metas)):  # find the impossible rows
                try:
                    preds[i] = bundle.predict([metas[i]], [cues[i]] if cues is not None else None)[0]
                except InputError:
                    pass
        out.preds.extend(preds.tolist())
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
            if len(chunk) >= BATCH:
                cancel.raise_if_cancelled()
                flush()
                progress(0.05 + 0.9 * reader.fraction_read, f"scored {len(out.preds):,} posts")
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
) -> dict:
    """Score every row of a posts CSV with `bundle` and compare with the row's label.

    The label is ln(1 + views) when the CSV has views (rows without views are then skipped), else the
    `popularity` column. AUC: top quarter = label >= the 75th percentile of the evaluated rows' labels.
    When the CSV's label is on another scale than the bundle's (views vs SMP popularity), rank metrics
    still hold but the MAE is not comparable: it is then None and `note` says why.
    cues_for(video_path) -> cue dict is used only when the bundle was trained with content cues.
    Rows without a label, with unreadable cells in the label, or with impossible inputs are counted in
    `skipped`, never fatal. Raises DataError when the CSV itself cannot be read.
    """
    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle)
    progress(0.0, "reading posts")
    rows = _score_rows(posts_csv, bundle, progress, cancel, cues_for)
    has_views = rows.n_views > 0
    label_column = "views" if has_views else "popularity"
    views, pop, preds = (np.frombuffer(a, np.float64) for a in (rows.views, rows.popularity, rows.preds))
    labelled = np.isfinite(views) if has_views else np.isfinite(pop)
    skipped = {"no_label": int(rows.n_posts - labelled.sum()), "unreadable_rows": rows.skipped_rows,
               "bad_inputs": int((labelled & ~np.isfinite(preds)).sum()),
               # these are also counted in no_label
               "label_unreadable": rows.problem_columns.get(label_column, 0)}
    ok = labelled & np.isfinite(preds)
    y = (np.log1p(views) if has_views else pop)[ok]
    pred = preds[ok]
    followers = np.frombuffer(rows.followers, np.float64)[ok]

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
    }
    if y.size >= 3:
        thr = float(np.quantile(y, 0.75))
        top = y >= thr
        result["spearman"] = _spearman(y, pred)
        result["auc_top25"] = _auc(top, pred)
        result["label"]["top25_threshold"] = round(thr, 4)
        if same_scale:
            result["mae_log_views"] = round(float(np.mean(np.abs(y - pred))), 4)
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
