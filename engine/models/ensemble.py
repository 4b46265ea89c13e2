"""The virality ranking: a weighted ensemble of scikit-learn learners (training side; imports scikit-learn).

Scoring never imports this module: it loads the ONNX file this module exports (engine.models.bundle).

What is learned
- Inputs: the feature spec (engine.features.spec) over what a creator knows before posting, plus the
  caption text as TF-IDF -> truncated SVD components (learned here, exported inside the ONNX graph).
- Label: ln(1 + views) when the posts have views, else SMP-Video's `popularity` (already log-scale).
- Members: ridge (linear), random forest, histogram gradient boosting, k nearest neighbours (on the
  account features, on a capped de-duplicated set), and a small MLP. Their weights are non-negative
  least squares on out-of-fold predictions, normalised to sum to 1.
- Missing account stats: every post is also seen with only its follower count, and with no account
  stats at all (copies kept in the author's group), so that a creator who gives only some counts gets a
  prediction no worse than follower count alone.

How it is measured (all on held-out posts, never on training ones)
- 5 folds grouped by author (no author on both sides), and a time-ordered 80/20 split (the model and
  its weights learned on the earliest 80%, measured on the latest 20%);
- Spearman rho, AUC of the top quartile (label >= the 75th percentile of the training labels) and MAE;
- each member, the ensemble (weights cross-fitted: fold k's weights come from the other folds'
  out-of-fold predictions), a mean predictor and a followers-only baseline (linear on ln followers);
- in the full regime (every stat given) and with only followers given, and with no account stats.

The ONNX export (engine.models.ensemble_onnx) and the bundle's manifest (engine.models.ensemble_manifest) live
beside this module; their entry points (export_onnx, check_skl2onnx, build_manifest) are re-exported here.
"""
from __future__ import annotations

import contextlib
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..errors import DataError, InputError
from ..features import spec as fspec
from ..features.spec import PostMeta
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress
from ..metrics import spearman
# the ONNX export and the manifest have their own modules; re-exported here (the entry points training calls)
from .ensemble_manifest import build_manifest  # noqa: F401
from .ensemble_onnx import ONNX_INPUT_NUM, ONNX_INPUT_TEXT, check_skl2onnx, export_onnx  # noqa: F401

MEMBERS = ("ridge", "forest", "boosting", "knn", "mlp")
REGIMES = ("full", "followers_only", "no_account")


@dataclass
class EnsembleConfig:
    """Sizes are chosen so that the exported ONNX file stays small (the default bundle is committed)."""

    folds: int = 5
    seed: int = 0
    regimes: tuple[str, ...] = REGIMES
    regime_weights: tuple[float, ...] = (1.0, 0.5, 0.25)  # sample weight of each regime's rows, by REGIMES
    members: tuple[str, ...] = MEMBERS
    with_text: bool = True
    text_min_df: int = 3
    text_max_features: int = 2000
    text_components: int = 48
    ridge_alpha: float = 10.0
    forest_trees: int = 48
    forest_depth: int = 9
    forest_min_leaf: int = 15
    forest_max_features: float = 0.33
    boost_iter: int = 300
    boost_lr: float = 0.05
    boost_leaves: int = 15
    boost_min_leaf: int = 40
    boost_l2: float = 1.0
    knn_k: int = 80
    knn_max_rows: int = 2000
    mlp_hidden: tuple[int, ...] = (32,)
    mlp_alpha: float = 10.0
    mlp_max_iter: int = 300
    time_split: float = 0.8
    quantiles: int = 101
    calibration_bins: int = 10


# ------------------------------------------------------------------------------------------ data


@dataclass
class LabelledPosts:
    metas: list[PostMeta]
    y: np.ndarray
    groups: np.ndarray  # author ids (posts without an author are their own group)
    times: np.ndarray  # POSIX seconds, NaN when unknown
    label: dict
    cues: Optional[list[Optional[dict]]] = None
    skipped: dict = field(default_factory=dict)


def label_definition(column: str) -> dict:
    if column == "views":
        return {
            "name": "log views",
            "column": "views",
            "transform": "log1p",
            "description": "ln(1 + views of the post)",
            "view_range": True,
        }
    return {
        "name": "popularity",
        "column": "popularity",
        "transform": "none",
        "description": "SMP-Video popularity: a log-scale view count (the exact transform is not stated by "
        "the data, so it cannot be turned back into views)",
        "view_range": False,
        "no_view_range_reason": "This model predicts SMP-Video's popularity, a log-scale view measure whose exact "
        "transform the data does not state, so no view range is given.",
    }


def labelled_posts(posts: Sequence, cues: Optional[Sequence[Optional[dict]]] = None) -> LabelledPosts:
    """Posts (engine.data.posts_csv.Post) -> model inputs + label. The label is ln(1 + views) when any post
    has views (rows without views are then skipped), else `popularity`. Raises DataError when nothing is
    labelled."""
    has_views = any(p.views is not None for p in posts)
    column = "views" if has_views else "popularity"
    keep, skipped = [], {"no_label": 0}
    for i, p in enumerate(posts):
        v = p.views if has_views else p.popularity
        if v is None or not math.isfinite(float(v)) or (has_views and v < 0):
            skipped["no_label"] += 1
            continue
        keep.append(i)
    if len(keep) < 20:
        raise DataError(f"only {len(keep)} posts have a label ({column}); at least 20 are needed to train")
    y = np.array(
        [math.log1p(posts[i].views) if has_views else float(posts[i].popularity) for i in keep], np.float64
    )
    groups = np.array([posts[i].author_id or f"__post_{posts[i].post_id}" for i in keep], dtype=object)
    times = np.array(
        [posts[i].post_time.timestamp() if posts[i].post_time is not None else np.nan for i in keep], np.float64
    )
    return LabelledPosts(
        metas=[fspec.meta_from_post(posts[i]) for i in keep],
        y=y,
        groups=groups,
        times=times,
        label=label_definition(column),
        cues=[cues[i] for i in keep] if cues is not None else None,
        skipped=skipped,
    )


#: Which account stats each regime leaves out. The first three are trained on (every post is seen in each);
#: the rest are only measured, to check that a pattern never seen in training still beats follower count.
MASKS: dict[str, tuple[str, ...]] = {
    "full": (),
    "followers_only": ("following", "author_likes", "author_videos"),
    "no_account": ("followers", "following", "author_likes", "author_videos"),
    "followers_likes": ("following", "author_videos"),
    "followers_likes_videos": ("following",),
    "followers_following": ("author_likes", "author_videos"),
    "no_followers": ("followers",),
}
EVAL_ONLY_REGIMES = tuple(r for r in MASKS if r not in REGIMES)


def mask_account(meta: PostMeta, regime: str) -> PostMeta:
    """A copy of `meta` as a creator who gives only some account stats would enter it."""
    if regime not in MASKS:
        raise InputError(f"unknown regime {regime}")
    if not MASKS[regime]:
        return meta
    m = PostMeta(**{k: getattr(meta, k) for k in meta.__dataclass_fields__})
    for name in MASKS[regime]:
        setattr(m, name, None)
    return m


@dataclass
class Design:
    """The augmented training rows: every post once per regime."""

    raw: np.ndarray  # [R, F] raw features over `names`, NaN = missing
    names: list[str]
    texts: list[str]  # normalised caption text per row
    y: np.ndarray
    groups: np.ndarray
    post: np.ndarray  # index of the original post
    regime: np.ndarray  # index into REGIMES
    data: Optional[LabelledPosts] = None

    def masked(self, posts: np.ndarray, regime: str) -> "Design":
        """The given posts (indices into data) under another regime, as a design of their own."""
        metas = [mask_account(self.data.metas[i], regime) for i in posts]
        cues = [self.data.cues[i] for i in posts] if self.data.cues is not None else None
        return Design(
            raw=fspec.raw_matrix(metas, self.names, cues),
            names=self.names,
            texts=[fspec.normalise_text(m.caption, m.hashtags) for m in metas],
            y=self.data.y[posts],
            groups=self.data.groups[posts],
            post=posts,
            regime=np.full(posts.size, -1),
        )


def build_design(data: LabelledPosts, regimes: Sequence[str]) -> Design:
    names = [f.name for f in fspec.FEATURES]
    if data.cues is not None:
        names += [f.name for f in fspec.CUE_FEATURES]
    raws, texts, post, regime = [], [], [], []
    base_texts = [fspec.normalise_text(m.caption, m.hashtags) for m in data.metas]
    n = len(data.metas)
    for r in regimes:
        metas = [mask_account(m, r) for m in data.metas]
        raws.append(fspec.raw_matrix(metas, names, data.cues))
        texts += base_texts
        post.append(np.arange(n))
        regime.append(np.full(n, REGIMES.index(r)))
    post_a = np.concatenate(post)
    return Design(
        raw=np.vstack(raws),
        names=names,
        texts=texts,
        y=data.y[post_a],
        groups=data.groups[post_a],
        post=post_a,
        regime=np.concatenate(regime),
        data=data,
    )


# ------------------------------------------------------------------------------------------ text


class TextModel:
    """Normalised caption text -> float32-rounded TF-IDF/SVD components (fitted on training posts only)."""

    def __init__(self, cfg: EnsembleConfig):
        self.cfg = cfg
        self.count = None
        self.tfidf = None
        self.svd = None

    @property
    def n_components(self) -> int:
        return 0 if self.svd is None else int(self.svd.components_.shape[0])

    def fit(self, texts: Sequence[str]) -> "TextModel":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        self.count = CountVectorizer(
            lowercase=False,  # normalise_text already did (ONNX's StringNormalizer is locale-dependent)
            min_df=self.cfg.text_min_df,
            max_features=self.cfg.text_max_features,
            dtype=np.float64,
        )
        try:
            counts = self.count.fit_transform(list(texts))
        except ValueError:  # empty vocabulary: no caption word is common enough
            self.count = None
            return self
        vocab = counts.shape[1]
        k = min(self.cfg.text_components, vocab - 1, counts.shape[0] - 1)
        if k < 1:
            self.count = None
            return self
        self.tfidf = TfidfTransformer(sublinear_tf=True, norm="l2", use_idf=True, smooth_idf=True)
        weighted = self.tfidf.fit_transform(counts)
        self.svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=self.cfg.seed)
        self.svd.fit(weighted)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self.count is None:
            return np.zeros((len(texts), 0), np.float64)
        z = self.svd.transform(self.tfidf.transform(self.count.transform(list(texts))))
        return z.astype(np.float32).astype(np.float64)


# ------------------------------------------------------------------------------------------ members


def _account_columns(columns: Sequence[str]) -> list[int]:
    out = []
    for j, c in enumerate(columns):
        f = fspec.FEATURE_BY_NAME.get(c)
        if (f is not None and f.group == "account") or c in {f"missing_{s}" for s in fspec.ACCOUNT_SOURCES}:
            out.append(j)
    return out


def make_member(name: str, cfg: EnsembleConfig, columns: Sequence[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "ridge":
        return Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=cfg.ridge_alpha))])
    if name == "forest":
        return RandomForestRegressor(
            n_estimators=cfg.forest_trees,
            max_depth=cfg.forest_depth,
            min_samples_leaf=cfg.forest_min_leaf,
            max_features=cfg.forest_max_features,
            random_state=cfg.seed,
            n_jobs=-1,
        )
    if name == "boosting":
        return HistGradientBoostingRegressor(
            max_iter=cfg.boost_iter,
            learning_rate=cfg.boost_lr,
            max_leaf_nodes=cfg.boost_leaves,
            min_samples_leaf=cfg.boost_min_leaf,
            l2_regularization=cfg.boost_l2,
            early_stopping=False,
            random_state=cfg.seed,
        )
    if name == "knn":
        idx = _account_columns(columns) or list(range(len(columns)))
        return Pipeline(
            [
                ("select", ColumnTransformer([("account", "passthrough", idx)], remainder="drop")),
                ("scale", StandardScaler()),
                ("knn", KNeighborsRegressor(n_neighbors=cfg.knn_k, weights="uniform", algorithm="brute")),
            ]
        )
    if name == "mlp":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "mlp",
                    MLPRegressor(
                        hidden_layer_sizes=tuple(cfg.mlp_hidden),
                        alpha=cfg.mlp_alpha,
                        max_iter=cfg.mlp_max_iter,
                        early_stopping=True,
                        random_state=cfg.seed,
                    ),
                ),
            ]
        )
    raise InputError(f"unknown ensemble member '{name}' (known: {', '.join(MEMBERS)})")


FOREST_CHUNK = 4  # trees grown between two looks at the cancel token


class _CancellingLoss:
    """The boosting member's loss, seen through a wrapper that looks at the cancel token each time the
    booster asks it for gradients (once per boosting iteration); everything else is the loss itself."""

    def __init__(self, loss, cancel: CancelToken):
        self._inner, self._cancel = loss, cancel

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def gradient(self, *args, **kwargs):
        self._cancel.raise_if_cancelled()
        return self._inner.gradient(*args, **kwargs)

    def gradient_hessian(self, *args, **kwargs):
        self._cancel.raise_if_cancelled()
        return self._inner.gradient_hessian(*args, **kwargs)


def _watched(work, cancel: CancelToken, poll_s: float = 0.05):
    """work() in a helper thread, its result returned; Cancelled raised within poll_s of a cancel, leaving the
    helper to finish on its own (its result is dropped). For a step with nowhere to look at the token: the
    boosting member's binning of the features, which with sample weights takes 10-20 s on 2 busy cores."""
    box: dict = {}

    def run():
        try:
            box["out"] = work()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc

    helper = threading.Thread(target=run, name="ensemble member step", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(poll_s)
        if helper.is_alive():
            cancel.raise_if_cancelled()
    if "error" in box:
        raise box["error"]
    return box["out"]


@contextlib.contextmanager
def _cancel_hooks(name: str, model, cancel: CancelToken):
    """Let a long member fit stop within a boosting iteration or an MLP epoch when cancelled, without changing
    what it learns (the same iterations, the same random draws): the hooks are instance attributes over
    scikit-learn's per-iteration calls (and the boosting member's binning runs watched, see _watched), removed
    again after the fit (so nothing of them reaches the ONNX export). Where a scikit-learn version lacks the call hooked, the fit runs as before, checked only
    between members."""
    est = model.named_steps.get(name) if hasattr(model, "named_steps") else model
    hooked = []
    if cancel is not NEVER_CANCELLED and name == "boosting" and hasattr(est, "_get_loss"):
        loss, binning = est._get_loss, getattr(est, "_bin_data", None)
        est._get_loss = lambda *a, **k: _CancellingLoss(loss(*a, **k), cancel)
        hooked.append("_get_loss")
        if binning is not None:
            est._bin_data = lambda *a, **k: _watched(lambda: binning(*a, **k), cancel)
            hooked.append("_bin_data")
    elif cancel is not NEVER_CANCELLED and name == "mlp" and hasattr(est, "_update_no_improvement_count"):
        inner = est._update_no_improvement_count

        def per_epoch(*a, **k):
            cancel.raise_if_cancelled()
            return inner(*a, **k)

        est._update_no_improvement_count = per_epoch
        hooked.append("_update_no_improvement_count")
    yield  # a cancelled fit raises through here and its model is dropped, hooks and all
    for attr in hooked:
        del est.__dict__[attr]
    if isinstance(getattr(est, "_loss", None), _CancellingLoss):
        est._loss = est._loss._inner


def _fit_forest(model, X: np.ndarray, y: np.ndarray, kwargs: dict, cancel: CancelToken):
    """Grow the forest FOREST_CHUNK trees at a time (warm start), looking at the cancel token in between:
    scikit-learn draws each tree's seed as a single fit would, so the forest is the same."""
    total = model.n_estimators
    model.set_params(warm_start=True)
    for n in range(min(FOREST_CHUNK, total), total + FOREST_CHUNK, FOREST_CHUNK):
        cancel.raise_if_cancelled()
        model.set_params(n_estimators=min(n, total))
        model.fit(X, y, **kwargs)
        if n >= total:
            break
    return model.set_params(warm_start=False)


def fit_member(name: str, cfg: EnsembleConfig, columns: Sequence[str], X: np.ndarray, y: np.ndarray,
               sample_weight: Optional[np.ndarray] = None, cancel: CancelToken = NEVER_CANCELLED):
    """One member fitted on (X, y); with a cancel token, a long fit (forest, boosting, MLP) stops within a
    few trees, one boosting iteration or one epoch of it being cancelled (raises Cancelled)."""
    model = make_member(name, cfg, columns)
    if name == "knn":
        # Identical account vectors (one author's posts, the masked copies) would tie in distance, and ties
        # are broken differently by scikit-learn and ONNX Runtime: keep one row per distinct vector, with
        # the mean label, and cap the stored set (it is copied into the ONNX file).
        idx = _account_columns(columns) or list(range(len(columns)))
        _, first, inverse = np.unique(X[:, idx], axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        y_mean = np.bincount(inverse, weights=y) / np.bincount(inverse)
        rows = np.arange(first.size)
        if rows.size > cfg.knn_max_rows:
            rng = np.random.RandomState(cfg.seed)
            rows = np.sort(rng.choice(rows.size, cfg.knn_max_rows, replace=False))
        model.set_params(knn__n_neighbors=min(cfg.knn_k, rows.size))
        return model.fit(X[first[rows]], y_mean[rows])
    kwargs = {}
    if sample_weight is not None and not np.all(sample_weight == sample_weight[0]):
        step = {"ridge": "ridge__", "mlp": "mlp__"}.get(name, "")
        kwargs[f"{step}sample_weight"] = sample_weight
    with warnings.catch_warnings(), _cancel_hooks(name, model, cancel):
        warnings.simplefilter("ignore")  # MLP convergence notes
        if name == "forest" and cancel is not NEVER_CANCELLED:
            return _fit_forest(model, X, y, kwargs, cancel)
        return model.fit(X, y, **kwargs)


# ------------------------------------------------------------------------------------------ metrics


def metrics(y: np.ndarray, pred: np.ndarray, top_threshold: float) -> dict:
    """{"n", "spearman", "auc_top25", "mae"} of one predictor: engine.metrics.summary, the one implementation."""
    from ..metrics import summary

    return summary(y, pred, top_threshold)


def nnls_weights(P: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray] = None) -> np.ndarray:
    """Non-negative least squares weights of the member predictions, normalised to sum to 1."""
    from scipy.optimize import nnls

    s = np.ones(y.size) if sample_weight is None else np.sqrt(sample_weight)
    w, _ = nnls(P * s[:, None], y * s)
    if w.sum() <= 0:
        w = np.ones(P.shape[1])
    return w / w.sum()


# ------------------------------------------------------------------------------------------ training


@dataclass
class FoldFit:
    spec: dict
    text: TextModel
    columns: list[str]
    members: dict


def _fit_fold(design: Design, rows: np.ndarray, cfg: EnsembleConfig, cancel: CancelToken,
              progress=None) -> FoldFit:
    spec = fspec.fit_spec(design.raw[rows], design.names, with_text=cfg.with_text)
    text = TextModel(cfg)
    if cfg.with_text:
        # Fit the text model on each post once (the masked copies repeat its caption).
        first_rows = rows[design.regime[rows] == design.regime[rows].min()]
        text.fit([design.texts[i] for i in first_rows])
        if text.n_components == 0:
            spec["text"] = None
    X = _design_matrix(design, rows, spec, text)
    columns = spec["columns"] + [f"text_svd_{k}" for k in range(text.n_components)]
    members = {}
    for i, name in enumerate(cfg.members):
        cancel.raise_if_cancelled()
        if progress:
            progress(i / len(cfg.members), name)
        members[name] = fit_member(name, cfg, columns, X, design.y[rows], _row_weights(design, rows, cfg), cancel)
    return FoldFit(spec, text, columns, members)


def _row_weights(design: Design, rows: np.ndarray, cfg: EnsembleConfig) -> np.ndarray:
    return np.asarray(cfg.regime_weights, np.float64)[design.regime[rows]]


def _design_matrix(design: Design, rows: np.ndarray, spec: dict, text: TextModel) -> np.ndarray:
    names = [f["name"] for f in spec["features"]]
    idx = [design.names.index(n) for n in names]
    num = fspec.encode(design.raw[rows][:, idx], spec).astype(np.float64)
    z = text.transform([design.texts[i] for i in rows]) if spec.get("text") else np.zeros((rows.size, 0))
    return np.hstack([num, z])


def _predict_members(fit: FoldFit, design: Design, rows: np.ndarray) -> np.ndarray:
    X = _design_matrix(design, rows, fit.spec, fit.text)
    return np.column_stack([fit.members[n].predict(X) for n in fit.members])


def _followers_line(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Least squares of y on x = ln(1 + followers) over the rows that have it; the mean where x is unknown."""
    ok = ~np.isnan(x)
    mean = float(y.mean())
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return np.full(x_new.size, mean)
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return np.where(np.isnan(x_new), mean, intercept + slope * np.nan_to_num(x_new))


def _followers_baseline(design: Design, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
    j = design.names.index("log_followers")
    return _followers_line(design.raw[tr, j], design.y[tr], design.raw[te, j])


def _followers_baseline_on(design: Design, tr: np.ndarray, other: Design) -> np.ndarray:
    j = design.names.index("log_followers")
    return _followers_line(design.raw[tr, j], design.y[tr], other.raw[:, j])


def _group_folds(groups: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    """Fold index per distinct group, balanced by size, deterministic (independent of sklearn's version)."""
    uniq, inverse, counts = np.unique(groups.astype(str), return_inverse=True, return_counts=True)
    rng = np.random.RandomState(seed)
    order = rng.permutation(uniq.size)
    order = order[np.argsort(-counts[order], kind="stable")]  # big groups first, ties in random order
    load = np.zeros(n_folds)
    fold_of = np.empty(uniq.size, int)
    for g in order:
        k = int(np.argmin(load))
        fold_of[g] = k
        load[k] += counts[g]
    fold = fold_of[inverse.ravel()]
    return [np.flatnonzero(fold == k) for k in range(n_folds)]


@dataclass
class CVResult:
    oof: np.ndarray  # [R, n_members] out-of-fold member predictions
    ens_cross: np.ndarray  # [R] ensemble with cross-fitted weights
    baseline_followers: np.ndarray
    baseline_mean: np.ndarray
    fold: np.ndarray
    extra: dict = field(default_factory=dict)  # regime -> {name: predictions over all posts}


def _cross_validate(design: Design, rows: np.ndarray, cfg: EnsembleConfig, cancel: CancelToken,
                    progress, lo: float, hi: float, label: str,
                    extra_regimes: Sequence[str] = ()) -> CVResult:
    folds = _group_folds(design.groups[rows], cfg.folds, cfg.seed)
    R = rows.size
    oof = np.zeros((R, len(cfg.members)))
    fol = np.zeros(R)
    mean = np.zeros(R)
    fold_id = np.zeros(R, int)
    n_posts = len(design.data.metas) if design.data is not None else 0
    extra_oof = {r: np.zeros((n_posts, len(cfg.members))) for r in extra_regimes}
    extra_fol = {r: np.zeros(n_posts) for r in extra_regimes}
    extra_fold = np.full(n_posts, -1)
    for k, te_local in enumerate(folds):
        tr_local = np.setdiff1d(np.arange(R), te_local)
        span = (hi - lo) / len(folds)

        def member_progress(f, name, k=k):
            progress(lo + span * (k + f), f"{label}: fold {k + 1}/{len(folds)}, {name}")

        fit = _fit_fold(design, rows[tr_local], cfg, cancel, member_progress)
        oof[te_local] = _predict_members(fit, design, rows[te_local])
        fol[te_local] = _followers_baseline(design, rows[tr_local], rows[te_local])
        mean[te_local] = design.y[rows[tr_local]].mean()
        fold_id[te_local] = k
        te_posts = np.unique(design.post[rows[te_local]])
        extra_fold[te_posts] = k
        for r in extra_regimes:
            d = design.masked(te_posts, r)
            extra_oof[r][te_posts] = _predict_members(fit, d, np.arange(te_posts.size))
            extra_fol[r][te_posts] = _followers_baseline_on(design, rows[tr_local], d)
        cancel.raise_if_cancelled()
        # the fold's own held-out measure, for the Train page's per-fold plot (the weights come after all folds,
        # so the members are averaged here)
        full = te_local[design.regime[rows[te_local]] == REGIMES.index("full")]
        if full.size > 2:
            rho = spearman(design.y[rows[full]], oof[full].mean(axis=1))
            if rho is not None:
                progress(lo + span * (k + 1), f"{label}: fold {k + 1}/{len(folds)} done, spearman={rho:.3f} on its "
                                              "held-out posts (members averaged)")
    ens = np.zeros(R)
    fold_weights = []
    for k in range(len(folds)):
        other = fold_id != k
        w = nnls_weights(oof[other], design.y[rows][other], _row_weights(design, rows, cfg)[other])
        fold_weights.append(w)
        ens[fold_id == k] = oof[fold_id == k] @ w
    extra = {}
    for r in extra_regimes:
        e = np.zeros(n_posts)
        for k, w in enumerate(fold_weights):
            e[extra_fold == k] = extra_oof[r][extra_fold == k] @ w
        extra[r] = {"ensemble": e, "followers_only": extra_fol[r]}
    return CVResult(oof, ens, fol, mean, fold_id, extra)


def _constant_ranks_nothing(block: dict, regime: str) -> None:
    """A constant prediction ranks nothing; pooled over folds, its fold-to-fold wobble would read as a
    (meaningless) correlation, so it is reported as rho 0 and AUC 0.5. The followers baseline is such a
    constant where the regime hides the follower count."""
    constant = ["mean"] + (["followers_only"] if "followers" in MASKS.get(regime, ()) else [])
    for name in constant:
        if name in block:
            block[name].update(spearman=0.0, auc_top25=0.5)


def _report(design: Design, rows: np.ndarray, cv_preds: dict[str, np.ndarray], top: float) -> dict:
    """Metrics per regime for every predictor; rows are the evaluated rows (all regimes)."""
    out = {}
    for r_i, r in enumerate(REGIMES):
        sel = design.regime[rows] == r_i
        if not sel.any():
            continue
        out[r] = {name: metrics(design.y[rows][sel], p[sel], top) for name, p in cv_preds.items()}
        _constant_ranks_nothing(out[r], r)
    return out


@dataclass
class TrainedEnsemble:
    cfg: EnsembleConfig
    fit: FoldFit
    weights: dict[str, float]
    label: dict
    top_threshold: float
    metrics: dict
    quantiles: list[float]
    calibration: dict
    residual_quantiles: Optional[dict]
    n_posts: int
    n_authors: int
    oof_full: np.ndarray = field(repr=False, default=None)
    #: the ensemble's held-out predictions (weights cross-fitted), the ones grouped_cv['full']['ensemble'] measures
    held_out_full: np.ndarray = field(repr=False, default=None)

    @property
    def spec(self) -> dict:
        return self.fit.spec

    def voting(self):
        """The members with non-zero weight as one fitted VotingRegressor (what is exported)."""
        from sklearn.ensemble import VotingRegressor
        from sklearn.utils import Bunch

        names = [n for n in self.fit.members if self.weights[n] > 0]
        est = [self.fit.members[n] for n in names]
        vr = VotingRegressor(list(zip(names, est)), weights=np.array([self.weights[n] for n in names]))
        vr.estimators_ = est
        vr.named_estimators_ = Bunch(**dict(zip(names, est)))
        return vr

    def design_matrix(self, metas: Sequence[PostMeta], cues=None) -> np.ndarray:
        """The scikit-learn side's input: the same numbers the ONNX graph sees, in float64."""
        inputs = fspec.build_inputs(list(metas), self.spec, cues)
        num = inputs[ONNX_INPUT_NUM].astype(np.float64)
        if self.spec.get("text"):
            z = self.fit.text.transform([t[0] for t in inputs[ONNX_INPUT_TEXT]])
            return np.hstack([num, z])
        return num

    def predict_sklearn(self, metas: Sequence[PostMeta], cues=None) -> np.ndarray:
        return self.voting().predict(self.design_matrix(metas, cues))

    def member_predictions(self, metas: Sequence[PostMeta], cues=None) -> dict[str, np.ndarray]:
        X = self.design_matrix(metas, cues)
        return {n: m.predict(X) for n, m in self.fit.members.items()}


def _calibration(pred: np.ndarray, y: np.ndarray, top: float, bins: int) -> dict:
    """Prediction bins (equal counts) -> observed share of top-quartile posts, made non-decreasing
    (pool-adjacent-violators) so that a higher prediction never reads as a lower chance."""
    edges = np.quantile(pred, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, bins - 1)
    centres, shares, counts = [], [], []
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        centres.append(float(pred[sel].mean()))
        shares.append(float((y[sel] >= top).mean()))
        counts.append(int(sel.sum()))
    # pool adjacent violators, weighted by counts
    blocks = [[s, c, 1] for s, c in zip(shares, counts)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0]:
            s = (blocks[i][0] * blocks[i][1] + blocks[i + 1][0] * blocks[i + 1][1]) / (blocks[i][1] + blocks[i + 1][1])
            blocks[i] = [s, blocks[i][1] + blocks[i + 1][1], blocks[i][2] + blocks[i + 1][2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    smooth = [b[0] for b in blocks for _ in range(b[2])]
    return {
        "what": "share of training posts in the top quarter, by out-of-fold prediction (equal-count bins)",
        "bin_edges": [round(float(e), 4) for e in edges],
        "bin_mean_prediction": [round(c, 4) for c in centres],
        "bin_n": counts,
        "share_top25_observed": [round(s, 4) for s in shares],
        "share_top25": [round(s, 4) for s in smooth],
    }


def train_ensemble(
    data: LabelledPosts,
    cfg: Optional[EnsembleConfig] = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    evaluate: bool = True,
) -> TrainedEnsemble:
    """Cross-validate (grouped by author and time-ordered), learn the member weights on out-of-fold
    predictions and fit the final members on every post. Deterministic for a given cfg.seed."""
    cfg = cfg or EnsembleConfig()
    for m in cfg.members:
        if m not in MEMBERS:
            raise InputError(f"unknown ensemble member '{m}' (known: {', '.join(MEMBERS)})")
    regimes = tuple(r for r in REGIMES if r in cfg.regimes)
    if "full" not in regimes:
        raise InputError("the regimes must include 'full'")
    n_groups = len(set(data.groups.tolist()))
    if n_groups < cfg.folds:
        raise DataError(f"{n_groups} authors: too few for {cfg.folds} folds grouped by author")
    progress(0.0, "building features")
    design = build_design(data, regimes)
    all_rows = np.arange(design.y.size)
    full_rows = all_rows[design.regime == 0]
    top = float(np.quantile(data.y, 0.75))
    names = list(cfg.members)

    # 1. 5 folds grouped by author: out-of-fold predictions -> weights, metrics, quantiles, calibration
    cv = _cross_validate(design, all_rows, cfg, cancel, progress, 0.02, 0.55, "grouped CV",
                         extra_regimes=EVAL_ONLY_REGIMES if evaluate else ())
    weights = nnls_weights(cv.oof, design.y, _row_weights(design, all_rows, cfg))
    report: dict = {"top25_threshold": round(top, 4)}
    preds = {n: cv.oof[:, i] for i, n in enumerate(names)}
    preds.update(ensemble=cv.ens_cross, mean=cv.baseline_mean, followers_only=cv.baseline_followers)
    report["grouped_cv"] = _report(design, all_rows, preds, top)
    report["grouped_cv"]["folds"] = cfg.folds
    for r, p in cv.extra.items():
        report["grouped_cv"][r] = {n: metrics(data.y, v, top) for n, v in p.items()}
        _constant_ranks_nothing(report["grouped_cv"][r], r)
        report["grouped_cv"][r]["note"] = "account stats pattern not trained on: measured only"
    oof_full = (cv.oof @ weights)[design.regime == 0]

    # 2. time-ordered split: learn everything on the earliest posts, measure on the latest
    if evaluate and np.isfinite(data.times).sum() >= 10 * cfg.folds:
        cancel.raise_if_cancelled()
        t = np.where(np.isfinite(data.times), data.times, np.nanmin(data.times))
        order = np.argsort(t, kind="stable")
        n_train = int(round(cfg.time_split * order.size))
        early, late = order[:n_train], order[n_train:]
        tr = all_rows[np.isin(design.post, early)]
        te = all_rows[np.isin(design.post, late)]
        if len(set(design.groups[tr].tolist())) >= cfg.folds and late.size:
            inner = _cross_validate(design, tr, cfg, cancel, progress, 0.55, 0.8, "time split")
            w_time = nnls_weights(inner.oof, design.y[tr], _row_weights(design, tr, cfg))
            fit = _fit_fold(design, tr, cfg, cancel,
                            sub_progress(progress, 0.8, 0.87, "time split: final "))
            P = _predict_members(fit, design, te)
            tpreds = {n: P[:, i] for i, n in enumerate(names)}
            tpreds.update(
                ensemble=P @ w_time,
                mean=np.full(te.size, design.y[tr].mean()),
                followers_only=_followers_baseline(design, tr, te),
            )
            report["time_split"] = _report(design, te, tpreds, top)
            train_authors = set(data.groups[early].tolist())
            report["time_split"].update(
                train_fraction=cfg.time_split,
                n_train_posts=int(early.size),
                n_test_posts=int(late.size),
                test_from=iso_date(t[late].min()),
                test_to=iso_date(t[late].max()),
                test_posts_by_train_authors=int(sum(g in train_authors for g in data.groups[late].tolist())),
                weights={n: round(float(w), 4) for n, w in zip(names, w_time)},
            )

    # 3. the final members on every post
    cancel.raise_if_cancelled()
    final = _fit_fold(design, all_rows, cfg, cancel, sub_progress(progress, 0.87, 0.97, "final fit: "))
    y_full = design.y[full_rows]
    resid = y_full - oof_full
    residual_q = None
    if data.label["view_range"]:
        residual_q = {"q25": round(float(np.quantile(resid, 0.25)), 4),
                      "q75": round(float(np.quantile(resid, 0.75)), 4)}
    quantiles = [round(float(q), 5) for q in np.quantile(oof_full, np.linspace(0, 1, cfg.quantiles))]
    progress(0.98, "done")
    return TrainedEnsemble(
        cfg=cfg,
        fit=final,
        weights={n: round(float(w), 6) for n, w in zip(names, weights)},
        label=dict(data.label, top25_threshold=round(top, 4)),
        top_threshold=top,
        metrics=report,
        quantiles=quantiles,
        calibration=_calibration(oof_full, y_full, top, cfg.calibration_bins),
        residual_quantiles=residual_q,
        n_posts=len(data.metas),
        n_authors=len(set(data.groups.tolist())),
        oof_full=oof_full,
        held_out_full=cv.ens_cross[design.regime == 0],
    )


def iso_date(ts: float) -> str:
    """Unix seconds -> 'YYYY-MM-DD' (UTC), the dates of a time-split block."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(ts), tz=timezone.utc).strftime("%Y-%m-%d")
