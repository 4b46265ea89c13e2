"""Honest evaluation of a personal model: expanding-window time order, bootstrap intervals, drivers.

Each post from the `min_train`-th labelled one on is predicted by a model trained only on the posts before
it (refitted every `refit_share` of the history, so it is at most a few posts stale). The same posts are
"predicted" by three baselines: the creator's rolling median (their typical views at the time), caption
length, and the general default model. Two targets:
- ln(1 + views): personal = rolling median + predicted difference; the rolling median carries the trend;
- the creator-relative label (difference from the rolling median): which of two posts made at the same
  time does better; here the rolling median is chance by construction.
Spearman and top-quarter AUC use engine.evaluate's metrics; 95% percentile bootstrap intervals, and paired
intervals for the personal model minus each baseline.

Drivers: on those out-of-sample posts, the mean of each input in the creator's top quarter (by the relative
label) minus its mean in the bottom quarter, in standard deviations, with a bootstrap interval widened for the
number of inputs compared; an input is called a driver only when its interval excludes zero.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..evaluate import _auc, _spearman
from ..features.spec import FEATURE_BY_NAME, meta_from_post, raw_matrix, texts
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .history import History
from .model import CAPTION_DIM, GeneralPart, account_matrix, feature_names, fit_raw, latest_account

MIN_TRAIN = 20
#: fewer out-of-sample posts than this and no interval is trusted, whatever it says
MIN_EVALUATED = 30
BOOTSTRAP = 1000
METHODS = ("personal", "rolling_median", "caption_length", "default_model")
#: the drivers' words for inputs whose spec description is shared with another input (the two halves of a
#: cyclic time): each names the direction a larger value points to, so the list and the plot never show
#: the same label twice
DRIVER_WORDS = {
    "hour_sin": "time of day: mornings (06:00) rather than evenings (18:00)",
    "hour_cos": "time of day: nights (00:00) rather than middays (12:00)",
    "dow_sin": "day of week: Tuesday-Wednesday rather than Saturday-Sunday",
    "dow_cos": "day of week: Monday rather than Thursday-Friday",
}
METHOD_WORDS = {
    "personal": "personal model",
    "rolling_median": "rolling median (typical views)",
    "caption_length": "caption length",
    "default_model": "general default model",
}


def expanding_predictions(history: History, min_train: int = MIN_TRAIN, refit_share: float = 0.025,
                          progress: Progress = no_progress, cancel: CancelToken = NEVER_CANCELLED,
                          general: Optional[GeneralPart] = None, caption: Optional[np.ndarray] = None,
                          embeds: Optional[dict] = None) -> dict:
    """Out-of-sample predictions of the creator-relative label, in time order.

    Returns {"rows": indices of the predicted posts (into history.posts), "pred": the predictions,
    "alphas": the penalty each refit chose, "general_weights": the weight (per sd) each refit gave the
    general model's prediction}. A post is predicted only when it has a label and at least `min_train`
    labelled posts came before it. Every choice (inputs kept, fill values, penalty, the general model's
    weight, the caption embedding's principal components) is made from the posts before the predicted one.
    `general`: shrink toward the general model; `caption`: the posts' caption embeddings (caption_embeddings);
    `embeds`: the video embeddings (history.embeddings), each reduced to principal components the same way."""
    y = history.labels
    metas = [meta_from_post(p) for p in history.posts]
    cues = history.cues
    with_cues = bool(cues) and any(cues)
    names = feature_names(with_cues)
    raw = raw_matrix(metas, names, cues if with_cues else None)
    text = texts(metas) if general is not None else None
    account = account_matrix(metas) if general is not None else None
    labelled = np.flatnonzero(np.isfinite(y))
    rows, preds, alphas, weights = [], [], [], []
    fit, fitted_at = None, -1
    targets = labelled[min_train:]
    for j, i in enumerate(targets):
        cancel.raise_if_cancelled()
        train = labelled[labelled < i]
        if fit is None or train.size - fitted_at >= max(1, int(refit_share * train.size)):
            gen = None if general is None else general.with_account(latest_account(account[:i]))
            fit = fit_raw(raw[train], names, None if text is None else text[train], y[train], general=gen,
                          caption=None if caption is None else caption[train],
                          embeds={n: e[train] for n, e in (embeds or {}).items()})
            fitted_at = train.size
            alphas.append(fit.alpha)
            weights.append(round(fit.general_std_coef, 4))
            progress(j / max(1, targets.size), f"time-ordered evaluation: post {j + 1} of {targets.size}")
        rows.append(int(i))
        preds.append(float(fit.predict_raw(raw[[i]], names, None if text is None else text[[i]],
                                           embeds=fit.fill(dict({n: e[[i]] for n, e in (embeds or {}).items()},
                                                                **({} if caption is None
                                                                   else {"caption": caption[[i]]}))))[0]))
    return {"rows": np.array(rows, int), "pred": np.array(preds, np.float64), "alphas": alphas,
            "general_weights": weights}


def _one_thread():
    """Numpy's BLAS limited to one thread: the many small fits here run far slower when its threads compete."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - it comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def caption_embeddings(history: History, device: str = "cpu") -> np.ndarray:
    """Each post's MiniLM caption embedding (caption, then hashtags), float32 [N, 384]; a row of NaN where the
    post has neither (filled with the creator's typical caption embedding by the model, as scoring does)."""
    from ..features.inputs import caption_embedder, caption_text

    text = [caption_text(p.caption, p.hashtags) for p in history.posts]
    out = np.full((len(text), CAPTION_DIM), np.nan, np.float32)
    have = [i for i, t in enumerate(text) if t.strip()]
    if have:
        emb = caption_embedder(device)
        for j in range(0, len(have), 64):
            rows = have[j:j + 64]
            out[rows] = emb.embed([text[i] for i in rows])
    return out


def default_model_predictions(history: History, rows: np.ndarray) -> Optional[np.ndarray]:
    """The general default model's prediction for each post in `rows` (None when it cannot be loaded)."""
    from ..errors import EngineError
    from ..models.active import default_bundle_path
    from ..models.bundle import ModelBundle

    try:
        bundle = ModelBundle.load(default_bundle_path(), device="cpu")
        metas = [meta_from_post(history.posts[i]) for i in rows]
        cues = [history.cues[i] for i in rows] if history.cues and bundle.uses_cues else None
        return bundle.predict(metas, cues)
    except EngineError:
        return None


def _interval(values: np.ndarray) -> Optional[list[float]]:
    v = values[np.isfinite(values)]
    if v.size < 10:
        return None
    return [round(float(np.quantile(v, 0.025)), 4), round(float(np.quantile(v, 0.975)), 4)]


def _metric(kind: str, y: np.ndarray, p: np.ndarray, top: np.ndarray) -> float:
    r = _spearman(y, p) if kind == "spearman" else _auc(top, p)
    return np.nan if r is None else r


def compare(y: np.ndarray, preds: dict[str, np.ndarray], n_boot: int = BOOTSTRAP, seed: int = 0,
            cancel: CancelToken = NEVER_CANCELLED, boots_out: Optional[dict] = None) -> dict:
    """Spearman and top-quarter AUC of each prediction against y, with 95% bootstrap intervals, and paired
    intervals for 'personal' minus each other method. A method whose predictions are constant (no ranking)
    gets Spearman 0 and AUC 0.5: chance. `boots_out`, when given, receives the bootstrap draws
    {(method, metric): array} (to pool creators in a benchmark)."""
    n = y.size
    top = y >= np.quantile(y, 0.75)
    out = {}
    rng = np.random.default_rng(seed)
    idx = [rng.integers(0, n, n) for _ in range(n_boot)]
    boots: dict[tuple[str, str], np.ndarray] = {}
    for name, p in preds.items():
        for kind in ("spearman", "auc_top25"):
            vals = np.empty(n_boot)
            for b, ix in enumerate(idx):
                if b % 100 == 0:
                    cancel.raise_if_cancelled()
                yb = y[ix]
                vals[b] = _metric(kind, yb, p[ix], yb >= np.quantile(yb, 0.75))
            boots[(name, kind)] = vals
        out[name] = {
            "spearman": _metric("spearman", y, p, top),
            "spearman_ci": _interval(boots[(name, "spearman")]),
            "auc_top25": _metric("auc", y, p, top),
            "auc_top25_ci": _interval(boots[(name, "auc_top25")]),
        }
    if "personal" in preds:
        for name in preds:
            if name == "personal":
                continue
            for kind in ("spearman", "auc_top25"):
                d = boots[("personal", kind)] - boots[(name, kind)]
                out[name][f"personal_minus_{kind}"] = round(float(out["personal"][kind] - out[name][kind]), 4)
                out[name][f"personal_minus_{kind}_ci"] = _interval(d)
    if boots_out is not None:
        boots_out.update(boots)
    for m in out.values():
        for k, v in list(m.items()):
            if isinstance(v, float) and not np.isfinite(v):
                m[k] = None
    return out


def includes_chance(ci: Optional[list[float]], chance: float) -> bool:
    return ci is None or ci[0] <= chance <= ci[1]


def verdict(n: int, metrics: dict) -> tuple[bool, str]:
    """(reliable, one plain sentence) from the personal model's Spearman on the relative label."""
    p = metrics.get("personal") or {}
    ci = p.get("spearman_ci")
    if n < MIN_EVALUATED:
        return False, (f"not enough posts yet to learn anything reliable (n = {n} posts predicted in time order; "
                       f"at least {MIN_EVALUATED} are needed before the ranking's interval can be told from chance)")
    if ci is None or includes_chance(ci, 0.0):
        shown = "" if ci is None else f" ({ci[0]:+.2f} to {ci[1]:+.2f})"
        return False, (f"not enough posts yet to learn anything reliable (n = {n}; the ranking's 95% interval"
                       f"{shown} includes chance)")
    return True, (f"ranks this creator's posts better than chance: Spearman {p['spearman']:+.2f} "
                  f"(95% interval {ci[0]:+.2f} to {ci[1]:+.2f}) on {n} posts it never saw, each predicted "
                  "from the posts before it")


def drivers(history: History, rows: np.ndarray, n_boot: int = BOOTSTRAP, seed: int = 0) -> list[dict]:
    """Top quarter vs bottom quarter (by the creator-relative label) of the out-of-sample posts `rows`:
    per input, the difference of means in the input's unit and in standard deviations, with an interval from
    the bootstrap's standard error (each quarter resampled on its own; never below the error the input's
    spread over all these posts gives for groups of these sizes), widened for the number of inputs
    compared (Bonferroni: 95% for all of them together, so chance alone rarely names a driver). Sorted
    strongest first; `driver` is True only when the interval excludes zero."""
    from statistics import NormalDist

    y = history.labels[rows]
    with_cues = bool(history.cues) and any(history.cues[i] for i in rows)
    names = feature_names(with_cues)
    metas = [meta_from_post(history.posts[i]) for i in rows]
    raw = raw_matrix(metas, names, [history.cues[i] for i in rows] if with_cues else None)
    if y.size < 8:
        return []
    extra = embedding_columns(history.embeddings, rows)
    if extra:
        names = names + list(extra)
        raw = np.column_stack([raw] + list(extra.values()))
    top = y >= np.quantile(y, 0.75)
    bottom = y <= np.quantile(y, 0.25)
    rng = np.random.default_rng(seed)
    found = []
    for j, name in enumerate(names):
        col = raw[:, j]
        known = np.isfinite(col)
        a, b = col[top & known], col[bottom & known]
        if a.size < 3 or b.size < 3 or np.unique(col[known]).size < 2:
            continue
        sd = float(np.std(col[known]))
        if sd <= 1e-12:
            continue
        boot = rng.choice(a, (n_boot, a.size)).mean(axis=1) - rng.choice(b, (n_boot, b.size)).mean(axis=1)
        # a quarter whose values all agree (a 0/1 input) has no bootstrap spread: never trust a smaller error
        # than the input's own spread over the posts gives for groups of these sizes
        se = max(float(np.std(boot)), sd * math.sqrt(1.0 / a.size + 1.0 / b.size))
        found.append((name, a, b, sd, se))
    z = NormalDist().inv_cdf(1 - 0.025 / max(1, len(found)))
    out = []
    for name, a, b, sd, se in found:
        diff = float(a.mean() - b.mean())
        lo, hi = diff - z * se, diff + z * se
        f = FEATURE_BY_NAME.get(name) or _embedding_feature(name)
        out.append({
            "input": name, "group": f.group, "unit": f.unit, "description": DRIVER_WORDS.get(name, f.description),
            "top_mean": round(float(a.mean()), 4), "bottom_mean": round(float(b.mean()), 4),
            "difference": round(diff, 4), "interval": [round(lo, 4), round(hi, 4)],
            "difference_sd": round(diff / sd, 3), "interval_sd": [round(lo / sd, 3), round(hi / sd, 3)],
            "n_top": int(a.size), "n_bottom": int(b.size), "inputs_compared": len(found),
            "driver": bool(lo > 0 or hi < 0),
        })
    out.sort(key=lambda d: (not d["driver"], -abs(d["difference_sd"])))
    return out


#: the principal components of each video embedding compared in the drivers analysis
DRIVER_COMPONENTS = 3
EMBEDDING_WORDS = {"frames": "the pictures (frame embedding, EfficientNet-Lite0)", "audio": "the sound (audio vector)"}


def embedding_columns(embeds: Optional[dict], rows: np.ndarray, k: int = DRIVER_COMPONENTS) -> dict:
    """{'frames_pc1': scores over `rows`, ...}: the top k principal components of each video embedding, fitted on
    the posts `rows` that have one (NaN for a post without), each signed so that its largest loading is positive."""
    from .model import _caption_components

    out = {}
    for name, e in (embeds or {}).items():
        e = np.asarray(e, np.float64)[rows]
        known = np.isfinite(e).all(axis=1)
        if known.sum() < 8:
            continue
        _, dirs, scores = _caption_components(e, min(k, int(known.sum()) - 1))
        spread = np.std(scores[known], axis=0)
        for j in range(dirs.shape[1]):
            if spread[j] <= 1e-6 * max(spread.max(), 1e-12):  # a direction the posts do not vary along:
                continue  # its scores are rounding noise, and in sd units noise looks like a difference
            sign = 1.0 if dirs[np.argmax(np.abs(dirs[:, j])), j] >= 0 else -1.0
            out[f"{name}_pc{j + 1}"] = np.where(known, sign * scores[:, j], np.nan)
    return out


def _embedding_feature(name: str):
    from types import SimpleNamespace

    block, pc = name.rsplit("_pc", 1)
    return SimpleNamespace(group=block, unit="(component score)",
                           description=f"{EMBEDDING_WORDS.get(block, block)}: principal component {pc}")


def driver_line(d: dict) -> str:
    more = "more" if d["difference"] > 0 else "less"
    lo, hi = d["interval_sd"]
    return (f"{d['description']}: top quarter {d['top_mean']:.3g} vs bottom {d['bottom_mean']:.3g} {d['unit']} "
            f"({more} by {abs(d['difference_sd']):.2f} sd, interval {lo:+.2f} to {hi:+.2f}, 95% over all "
            f"{d.get('inputs_compared', 1)} inputs compared)")


def evaluate_history(history: History, min_train: int = MIN_TRAIN, n_boot: int = BOOTSTRAP, seed: int = 0,
                     with_default: bool = True, progress: Progress = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED, boots_out: Optional[dict] = None,
                     general: Optional[GeneralPart] = None, compare_previous: bool = False,
                     with_caption: bool = True, caption: Optional[np.ndarray] = None,
                     shrink_general: bool = False) -> dict:
    """The whole evaluation of a creator's history: out-of-sample predictions, the four methods on both
    targets with intervals, the verdict, and the drivers. Fewer than min_train + 8 labelled posts gives a
    result with `reliable` False and nothing measured. With `with_default`, the general default model is a
    baseline; with `shrink_general` too, the personal model shrinks toward it (`general`, loaded when not
    given; measured on the shared creators it did not help on average, so it is off by default);
    `with_caption`: the caption's MiniLM embedding is an input too (`caption`, computed when not given).
    `compare_previous` adds the previous personal model (neither of those two) as the method 'previous'."""
    labelled = int(np.isfinite(history.labels).sum())
    result: dict = {"n_posts": len(history.posts), "n_labelled": labelled, "min_train": min_train, "k": history.k}
    if labelled < min_train + 8:
        result.update(n=0, reliable=False, summary=(
            f"not enough posts yet to learn anything reliable (n = {labelled} labelled posts; the time-ordered "
            f"evaluation needs at least {min_train + 8})"), relative={}, absolute={}, drivers=[], rows=[], pred=[])
        return result
    if with_default and shrink_general and general is None:
        general = GeneralPart.default([meta_from_post(p) for p in history.posts])
    if with_caption and caption is None:
        progress(0.0, "reading the captions (MiniLM)")
        caption = caption_embeddings(history)
    with _one_thread():
        ex = expanding_predictions(history, min_train, progress=lambda f, m: progress(0.8 * (f or 0), m),
                                   cancel=cancel, general=general if with_default and shrink_general else None,
                                   caption=caption if with_caption else None, embeds=history.embeddings)
    rows, rel_pred = ex["rows"], ex["pred"]
    typical = history.typical[rows]
    log_views = history.log_views[rows]
    rel = log_views - typical
    cap = raw_matrix([meta_from_post(history.posts[i]) for i in rows], ["n_chars"])[:, 0]
    cap = np.where(np.isfinite(cap), cap, 0.0)
    base_rel = {"personal": rel_pred, "rolling_median": np.zeros(rows.size), "caption_length": cap}
    base_abs = {"personal": typical + rel_pred, "rolling_median": typical, "caption_length": cap}
    if with_default:
        progress(0.82, "scoring the posts with the general default model")
        d = default_model_predictions(history, rows)
        if d is not None:
            base_rel["default_model"] = base_abs["default_model"] = d
    if compare_previous:
        with _one_thread():
            old = expanding_predictions(history, min_train, cancel=cancel)["pred"]
        base_rel["previous"], base_abs["previous"] = old, typical + old
    progress(0.85, "bootstrap intervals")
    rb: dict = {}
    ab: dict = {}
    result["relative"] = compare(rel, base_rel, n_boot, seed, cancel, rb)
    result["absolute"] = compare(log_views, base_abs, n_boot, seed, cancel, ab)
    if boots_out is not None:
        boots_out.update(relative=rb, absolute=ab)
    result["n"] = int(rows.size)
    result["reliable"], result["summary"] = verdict(int(rows.size), result["relative"])
    result["alphas"] = sorted(set(ex["alphas"]))
    if ex["general_weights"]:
        w = ex["general_weights"]
        result["general_weight_sd"] = {"first": w[0], "last": w[-1], "min": min(w), "max": max(w)}
    progress(0.95, "top quarter vs bottom quarter")
    result["drivers"] = drivers(history, rows, n_boot, seed)
    result["rows"], result["pred"] = rows.tolist(), [round(float(v), 5) for v in rel_pred]
    return result
