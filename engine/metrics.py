"""How well predictions rank and fit their labels: the one implementation that training reports, `evaluate`,
the plots and the benchmarks all use, so a number printed in one place is the number shown in another.

Numpy only (scoring side: no SciPy). Every function takes the labels first and the predictions second.

    spearman(y, pred)                     rank correlation, ties given their average rank
    auc(positive, score)                  area under the ROC curve, ties counted half
    auc_top_quarter(y, pred, threshold)   AUC of finding the posts whose label is >= threshold (default: the
                                          75th percentile of y)
    mae(y, pred)                          mean absolute error
    summary(y, pred, threshold)           {"n", "spearman", "auc_top25", "mae"}, rounded to 4 places
    bootstrap_interval(y, pred, metric)   a percentile interval of any of these by resampling rows (or whole
                                          groups, e.g. authors)

A metric that cannot be measured (one class empty, fewer than 3 rows, a NaN) is None, never a made-up number.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

#: the fewest rows a rank correlation is given for
MIN_ROWS = 3
TOP_QUANTILE = 0.75

Metric = Callable[[np.ndarray, np.ndarray], Optional[float]]


def _pair(y, pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"labels and predictions differ in length ({y.size} and {pred.size})")
    return y, pred


def ranks(x) -> np.ndarray:
    """1-based ranks, tied values given their average rank (scipy.stats.rankdata's default); all NaN when any
    value is NaN."""
    x = np.asarray(x, np.float64).ravel()
    if np.isnan(x).any():
        return np.full(x.size, np.nan)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.concatenate([[True], xs[1:] != xs[:-1]]) if x.size else np.zeros(0, bool)
    group = np.cumsum(new) - 1  # tie group of each sorted value
    bounds = np.concatenate([np.flatnonzero(new), [x.size]])  # first sorted position of each group
    out = np.empty(x.size)
    out[order] = (bounds[group] + 1 + bounds[group + 1]) / 2.0  # mean of positions first+1 .. next
    return out


def spearman(y, pred) -> Optional[float]:
    """Spearman's rho with ties averaged. A constant side ranks nothing: 0.0. None for fewer than 3 rows or
    a NaN."""
    y, pred = _pair(y, pred)
    if y.size < MIN_ROWS:
        return None
    ry, rp = ranks(y), ranks(pred)
    if np.isnan(ry).any() or np.isnan(rp).any():
        return None
    if ry.std() == 0 or rp.std() == 0:
        return 0.0
    return float(np.corrcoef(ry, rp)[0, 1])


def auc(positive, score) -> Optional[float]:
    """Area under the ROC curve of `score` for telling `positive` rows from the others (ties count half, the
    Mann-Whitney U); None when one class is empty or a score is NaN."""
    positive = np.asarray(positive, bool).ravel()
    score = np.asarray(score, np.float64).ravel()
    if positive.shape != score.shape:
        raise ValueError(f"labels and scores differ in length ({positive.size} and {score.size})")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    r = ranks(score)
    if np.isnan(r).any():
        return None
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def top_quarter_threshold(y) -> float:
    """The label at or above which a post is in the top quarter: the 75th percentile of `y`."""
    return float(np.quantile(np.asarray(y, np.float64), TOP_QUANTILE))


def auc_top_quarter(y, pred, threshold: Optional[float] = None) -> Optional[float]:
    """AUC of finding the top quarter (label >= threshold; by default the 75th percentile of y)."""
    y, pred = _pair(y, pred)
    if y.size == 0:
        return None
    thr = top_quarter_threshold(y) if threshold is None else float(threshold)
    return auc(y >= thr, pred)


def mae(y, pred) -> Optional[float]:
    """Mean absolute error; None for no rows."""
    y, pred = _pair(y, pred)
    return float(np.mean(np.abs(y - pred))) if y.size else None


def _round(v: Optional[float], places: int = 4) -> Optional[float]:
    return None if v is None else round(float(v), places)


def summary(y, pred, threshold: Optional[float] = None) -> dict:
    """{"n", "spearman", "auc_top25", "mae"} for one predictor, rounded to 4 places. `threshold` is the top-quarter
    line (give the training set's so every fold and baseline is judged on the same one)."""
    y, pred = _pair(y, pred)
    return {"n": int(y.size), "spearman": _round(spearman(y, pred)),
            "auc_top25": _round(auc_top_quarter(y, pred, threshold)), "mae": _round(mae(y, pred))}


def bootstrap_interval(y, pred, metric: Metric, *, groups: Optional[Sequence] = None, n_resamples: int = 1000,
                       level: float = 0.95, seed: int = 0) -> Optional[tuple[float, float]]:
    """A percentile bootstrap interval (`level`, e.g. 0.95) of `metric(y, pred)`: rows are drawn with replacement,
    or, with `groups` (an author per row), whole groups are, so posts of one author stay together as they do in
    the grouped folds. Resamples where the metric is None are left out; None when fewer than half give a value.
    Deterministic for a given seed."""
    y, pred = _pair(y, pred)
    if y.size == 0 or not 0 < level < 1 or n_resamples < 1:
        return None
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(y.size)]
    else:
        g = np.asarray(groups).ravel()
        if g.size != y.size:
            raise ValueError(f"groups and labels differ in length ({g.size} and {y.size})")
        _, inverse = np.unique(g, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)
    values = []
    for _ in range(n_resamples):
        pick = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[i] for i in pick])
        v = metric(y[rows], pred[rows])
        if v is not None and np.isfinite(v):
            values.append(v)
    if len(values) < n_resamples / 2:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)
