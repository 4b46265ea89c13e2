"""engine.metrics: the one implementation of Spearman, top-quarter AUC, MAE and the bootstrap interval, checked
against SciPy and scikit-learn (dev dependencies) and against cases worked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from engine import metrics


def test_ranks_equal_rankdata_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    cases = [rng.integers(0, 10, 200).astype(float), rng.standard_normal(100), np.round(rng.standard_normal(300), 1),
             np.zeros(5), np.array([3.0]), np.zeros(0), np.array([2.0, 1.0, 2.0, np.inf, -np.inf, 1.0])]
    for x in cases:
        assert np.array_equal(metrics.ranks(x), stats.rankdata(x))
    assert np.isnan(metrics.ranks(np.array([1.0, np.nan, 2.0]))).all()  # as rankdata's default


def test_spearman_with_ties_equals_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 6, 300).astype(float)  # many ties on both sides
    pred = y + rng.integers(-3, 4, 300)
    assert metrics.spearman(y, pred) == pytest.approx(stats.spearmanr(y, pred).statistic, abs=1e-12)
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_what_cannot_be_measured_is_none_and_a_constant_ranks_nothing():
    assert metrics.spearman([1.0, 2.0], [1.0, 2.0]) is None  # fewer than 3 rows
    assert metrics.spearman([1.0, np.nan, 2.0], [1.0, 2.0, 3.0]) is None
    assert metrics.spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.0
    assert metrics.auc([True, True], [0.1, 0.2]) is None  # no negatives
    assert metrics.mae([], []) is None
    with pytest.raises(ValueError):
        metrics.spearman([1, 2, 3], [1, 2])


def test_auc_counts_ties_half_and_equals_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    assert metrics.auc([True, False], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.auc([True, False, False], [0.9, 0.1, 0.9]) == pytest.approx(0.75)
    rng = np.random.default_rng(2)
    y = rng.standard_normal(400)
    pred = np.round(y + rng.standard_normal(400), 1)
    top = y >= np.quantile(y, 0.75)
    assert metrics.auc(top, pred) == pytest.approx(sk.roc_auc_score(top, pred), abs=1e-12)
    assert metrics.auc_top_quarter(y, pred) == pytest.approx(sk.roc_auc_score(top, pred), abs=1e-12)


def test_summary_rounds_and_uses_the_given_threshold():
    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    pred = np.array([0.5, 0.5, 2.5, 2.0, 4.0, 6.0, 5.0, 8.0])
    s = metrics.summary(y, pred)
    assert s["n"] == 8 and s["mae"] == 0.6875  # (0.5 + 0.5 + 0.5 + 1 + 0 + 1 + 1 + 1) / 8
    assert s["spearman"] == round(metrics.spearman(y, pred), 4)
    # the top quarter (y >= 5.25: 6, 7) has preds 5.0 and 8.0; 5.0 loses to the 6.0 of y = 5: 11 of 12 pairs
    assert s["auc_top25"] == round(11 / 12, 4)
    # a threshold of 5 makes (5, 6, 7) the positives, and every one of them is predicted above every negative
    assert metrics.summary(y, pred, threshold=5.0)["auc_top25"] == 1.0
    assert metrics.summary(y, pred, threshold=100.0)["auc_top25"] is None


def test_bootstrap_interval_covers_the_estimate_and_narrows_with_more_rows():
    rng = np.random.default_rng(3)

    def interval(n, **kw):
        y = rng.standard_normal(n)
        pred = y + rng.standard_normal(n)
        return metrics.spearman(y, pred), metrics.bootstrap_interval(y, pred, metrics.spearman, n_resamples=300, **kw)

    rho, (lo, hi) = interval(200)
    assert lo < rho < hi
    _, (lo_big, hi_big) = interval(3000)
    assert hi_big - lo_big < (hi - lo) / 2  # sqrt(15) narrower, roughly
    y, pred = rng.standard_normal(100), rng.standard_normal(100)
    a = metrics.bootstrap_interval(y, pred, metrics.mae, seed=7, n_resamples=200)
    assert a == metrics.bootstrap_interval(y, pred, metrics.mae, seed=7, n_resamples=200)  # deterministic


def test_bootstrap_by_group_keeps_an_author_together():
    # 10 authors, each with 20 identical posts: resampling rows would pretend to 200 independent posts
    y = np.repeat(np.arange(10.0), 20)
    pred = y + np.repeat(np.random.default_rng(4).standard_normal(10) * 3, 20)
    rows = metrics.bootstrap_interval(y, pred, metrics.mae, n_resamples=400)
    grouped = metrics.bootstrap_interval(y, pred, metrics.mae, groups=np.repeat(np.arange(10), 20), n_resamples=400)
    assert grouped[1] - grouped[0] > 2 * (rows[1] - rows[0])
    assert metrics.bootstrap_interval([1.0, 2.0], [1.0, 2.0], metrics.spearman) is None  # never measurable
