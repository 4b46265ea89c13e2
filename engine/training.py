"""Training any model family from a dataset: `python main.py train --dataset D --model ... --out BUNDLE`.

    report = train_model("posts.sqlite", "multimodal", "bundles/mm", features=("account", "caption"))

Families: `ensemble` (engine.models.ensemble through engine.models.default.train_bundle), `multimodal` and
`video` (engine.models.neural). Feature groups: account, caption, time, sound, format, content (the
feature spec's groups), frames (frame backbone embeddings) and audio (the audio descriptor and audio cues);
`content_only` = content + frames + audio, what the file alone carries. Content cues, frames and audio
come from the dataset's feature cache (`dataset extract`); caption embeddings too, or are computed in
memory when not cached (the dataset is only read: a training never writes to it).

Evaluation, every family, on held-out posts only:
- folds grouped by author (no author on both sides), when the dataset has at least `folds` authors;
  otherwise (a creator's own history: one author) grouped folds are impossible and the folds are
  contiguous blocks of time instead; the report says which;
- a time-ordered holdout: trained on the earliest 80 %, measured on the latest 20 %;
- Spearman rho, MAE and AUC of the top quartile, beside a mean predictor and a followers-only baseline.
A JSON report and two PNG plots (learning curve; predicted versus actual, out of fold) are written into
the bundle, which is built in a temporary folder and moved into place (engine.models.bundle.write_bundle):
a training stopped or killed half way leaves any previous bundle and the dataset as they were.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import InputError
from .extract import DEFAULT_FRAMES
from .features import spec as fspec  # noqa: F401 (tests reach the spec through engine.training.fspec)
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress

# re-exported: the data, plots, report and neural training each have their own module now
from .training_data import (CONTENT_ONLY, GROUP_FIELDS, GROUPS, META_GROUPS, MODEL_FILE, MODELS,  # noqa: F401
                            ONNX_TOLERANCE, TIME_BLOCKS, VIDEO_GROUPS, TrainingSet, _block, _caption_matrix,
                            _folds, _followers, _has_label, _time_order, load_training_set, mask_meta,
                            parse_features, resolve_groups)
from .training_plots import _png, plot_learning_curve, plot_predicted_vs_actual  # noqa: F401
from .training_report import (REGIME_KEYS, _json_default, _report_common, _summary,  # noqa: F401
                              _training_data, _validation_check, dataset_inputs)
from .training_neural import (_augmented, _inner_split, _inputs_manifest, _num_names,  # noqa: F401
                              _regime_raws, _train_neural)


# ------------------------------------------------------------------------------------------ ensemble


def _ensemble_curve(data, cfg, seed: int, cancel: CancelToken = NEVER_CANCELLED) -> dict:
    """The boosting member's learning curve: MAE on one held-out fold (and on its training rows) after each
    boosting iteration (the ensemble's other members have no iterations to plot)."""
    from dataclasses import replace as dc_replace

    from .metrics import mae
    from .models import ensemble as ens

    c = dc_replace(cfg, members=("boosting",), regimes=("full",))
    design = ens.build_design(data, ("full",))
    folds = ens._group_folds(design.groups, c.folds, seed)
    te = folds[0]
    tr = np.setdiff1d(np.arange(design.y.size), te)
    fit = ens._fit_fold(design, tr, c, cancel)
    model = fit.members["boosting"]
    Xtr = ens._design_matrix(design, tr, fit.spec, fit.text)
    Xte = ens._design_matrix(design, te, fit.spec, fit.text)
    step = max(1, c.boost_iter // 100)
    curve = {"train_mae": [], "validation_mae": []}
    for i, (ptr, pte) in enumerate(zip(model.staged_predict(Xtr), model.staged_predict(Xte))):
        cancel.raise_if_cancelled()
        if i % step == 0:
            curve["train_mae"].append(round(mae(design.y[tr], ptr), 5))
            curve["validation_mae"].append(round(mae(design.y[te], pte), 5))
    return {"curve": curve, "every": step}


def _train_ensemble(ts: TrainingSet, out_dir, name: str, cfg_overrides: Optional[dict], seed: int,
                    progress: Progress, cancel: CancelToken) -> dict:
    from .models import ensemble as ens
    from .models.default import train_bundle

    cfg = ens.EnsembleConfig(**dict(cfg_overrides or {}, seed=seed))
    if "account" not in ts.groups:
        cfg = replace(cfg, regimes=("full",))  # the masked-account copies would all be the same rows
    if "caption" not in ts.groups:
        cfg = replace(cfg, with_text=False)
    data = ts.data
    if ts.scheme == "time":
        # One author: the trainer's "groups" become contiguous blocks of time (see the module docstring).
        order = _time_order(ts)
        block = np.empty(order.size, dtype=object)
        for b, rows in enumerate(np.array_split(order, min(TIME_BLOCKS, order.size))):
            block[rows] = f"time-block-{b:02d}"
        data = replace(data, groups=block)
        if not np.isfinite(data.times).all():
            rank = np.empty(order.size)
            rank[order] = np.arange(order.size)
            data = replace(data, times=rank * 86400.0)  # the time order above, as days from 1970
            ts.notes.append("some posts have no post time: the dataset's order stands in for the time order")

    def finish(trained, used, manifest, report):
        t = trained.metrics
        top = t["top25_threshold"]
        cv = t["grouped_cv"]["full"]
        pick = lambda b: {k: b[k] for k in ("ensemble", "mean", "followers_only") if k in b}  # noqa: E731
        metrics = {"top25_threshold": top, "scheme": ts.scheme,
                   "cv": {"what": "5 folds grouped by author" if ts.scheme == "grouped" else
                          "folds = contiguous blocks of time (one author: grouped folds impossible)",
                          **{("model" if k == "ensemble" else k): v for k, v in pick(cv).items()}}}
        if "time_split" in t:
            ts_full = t["time_split"].get("full", {})
            metrics["time_split"] = {("model" if k == "ensemble" else k): v for k, v in pick(ts_full).items()}
            metrics["time_split"].update({k: v for k, v in t["time_split"].items() if k not in REGIME_KEYS})
        curve = _ensemble_curve(used, cfg, seed, cancel)
        if "content" in ts.groups:
            manifest["extraction"] = ts.extraction
        val_rows = ens._group_folds(used.groups, cfg.folds, seed)[0]
        metas = [used.metas[i] for i in val_rows]
        cues = [used.cues[i] for i in val_rows] if used.cues is not None else None
        native = trained.predict_sklearn(metas, cues)
        rep = _report_common(ts, "ensemble", metrics, manifest, extra={
            "weights": trained.weights, "learning_curve": curve,
            "ensemble_metrics": t, "onnx_max_abs_diff_vs_sklearn": report["onnx_max_abs_diff"],
            "train_seconds": report["train_seconds"],
            "validation_check": _validation_check(ts, val_rows, native, None)})
        report["run"] = rep
        return {
            "report.json": json.dumps(rep, indent=1, default=_json_default).encode("utf-8"),
            "learning_curve.png": plot_learning_curve(
                curve["curve"], "ensemble: boosting member, one held-out fold",
                f"boosting iterations (x{curve['every']})", f"MAE ({ts.data.label['name']})"),
            "predicted_vs_actual.png": plot_predicted_vs_actual(
                used.y, trained.held_out_full, f"ensemble, out of fold ({ts.scheme})", ts.data.label["name"]),
        }

    report = train_bundle(ts.posts, out_dir, name, _training_data(ts), cfg, progress=progress, cancel=cancel,
                          finish=finish, data=data)
    out = report.pop("run")
    out.update(bundle=report["bundle"], bundle_bytes=report["bundle_bytes"], total_seconds=report["total_seconds"])
    return out


# ------------------------------------------------------------------------------------------ the job


def train_model(
    dataset,
    model: str,
    out_dir,
    features: Optional[Sequence[str]] = None,
    content_only: bool = False,
    backbone: str = "efficientnet_lite0",
    frames: int = DEFAULT_FRAMES,
    name: Optional[str] = None,
    ensemble_config: Optional[dict] = None,
    neural_config: Optional[dict] = None,
    seed: int = 0,
    device: str = "auto",
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> dict:
    """Train one model family on a dataset (a path or an open engine.data.store.Dataset) and write its
    bundle to out_dir. Returns the report (also saved in the bundle as report.json).

    Raises InputError (bad family, groups, options), DataError (a dataset that cannot be trained on:
    the message says what to do), BundleError (the export does not reproduce the model) or Cancelled.
    The dataset is only read; the bundle appears whole or not at all."""
    from .data.store import Dataset

    if model not in MODELS:
        raise InputError(f"unknown model family '{model}': choose from {', '.join(MODELS)}")
    progress(0.0, "reading the dataset")
    own = not isinstance(dataset, Dataset)
    ds = Dataset.open(Path(os.fspath(dataset))) if own else dataset
    try:
        folds = int((neural_config or {}).get("folds", (ensemble_config or {}).get("folds", 5)))
        ts = load_training_set(ds, model, features, content_only, backbone, frames, folds, device, progress)
    finally:
        if own:
            ds.close()
    cancel.raise_if_cancelled()
    name = name or f"{model}-{Path(ts.dataset['name']).stem}"
    sub = sub_progress(progress, 0.05, 1.0)
    if model == "ensemble":
        report = _train_ensemble(ts, out_dir, name, ensemble_config, seed, sub, cancel)
    else:
        from .models.neural import NeuralConfig

        cfg = NeuralConfig(**dict(neural_config or {}, seed=seed))
        report = _train_neural(ts, model, out_dir, name, cfg, backbone, frames, sub, cancel)
    return report
