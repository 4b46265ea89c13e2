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
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import InputError
from .extract import (AUDIO_CUES, AUDIO_DESCRIPTOR, AUDIO_INPUT_DIM, CAPTION_BACKBONE, DEFAULT_FRAMES,
                      audio_vector, cues_dict, load_video_features, video_spec_version)
from .features import spec as fspec
from .metrics import spearman as fold_spearman
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress

# re-exported: the data (engine.training_data) and the plots (engine.training_plots) have their own modules
from .training_data import (CONTENT_ONLY, GROUP_FIELDS, GROUPS, META_GROUPS, MODEL_FILE, MODELS,  # noqa: F401
                            ONNX_TOLERANCE, TIME_BLOCKS, VIDEO_GROUPS, TrainingSet, _block, _caption_matrix,
                            _folds, _followers, _has_label, _time_order, load_training_set, mask_meta,
                            parse_features, resolve_groups)
from .training_plots import _png, plot_learning_curve, plot_predicted_vs_actual  # noqa: F401


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


# ------------------------------------------------------------------------------------------ neural


def _num_names(ts: TrainingSet) -> list[str]:
    names = [f.name for f in fspec.FEATURES]
    if ts.data.cues is not None:
        names += [f.name for f in fspec.CUE_FEATURES]
    return names


def _regime_raws(ts: TrainingSet, cfg) -> tuple[list[str], list[np.ndarray], list[str]]:
    """The raw numeric features of every post as given ('full'), then under each of cfg.account_regimes that
    hides something the data has (none when the account group is not used): (names, raws, regimes)."""
    from .models import ensemble as ens

    names = _num_names(ts)
    raws, regimes = [fspec.raw_matrix(ts.data.metas, names, ts.data.cues)], ["full"]
    if "account" in ts.groups:
        for regime in cfg.account_regimes:
            masked = fspec.raw_matrix([ens.mask_account(m, regime) for m in ts.data.metas], names, ts.data.cues)
            if not np.array_equal(np.isnan(masked), np.isnan(raws[0])):
                raws.append(masked)
                regimes.append(regime)
    return names, raws, regimes


def _augmented(arrays: dict, names: list[str], raws: list[np.ndarray], train_posts: np.ndarray,
               fit_posts: np.ndarray, shares, seed: int) -> tuple[dict, np.ndarray, dict]:
    """The network's inputs over len(raws) copies of the posts (post i under regime j is row j * n + i), the rows
    to fit on, and the feature spec, learned from the training rows only (never from held-out posts).

    Fit rows: every fit post as it is, plus a seeded share of them under each masked regime; the
    early-stopping rows (training posts not fitted on) stay unmasked. The spec is fitted on the same rows, so
    it gets a missing_<stat> indicator for each stat a regime hides."""
    n = raws[0].shape[0]
    rng = np.random.default_rng(seed)
    fit_posts = np.asarray(fit_posts)
    fit_idx, spec_parts = [fit_posts], [raws[0][np.asarray(train_posts)]]
    for j in range(1, len(raws)):
        share = float(shares[j - 1]) if j - 1 < len(shares) else 0.0
        pick = np.sort(rng.choice(fit_posts, size=int(round(share * fit_posts.size)), replace=False))
        fit_idx.append(pick + j * n)
        spec_parts.append(raws[j][pick])
    spec = fspec.fit_spec(np.vstack(spec_parts), names, with_text=False)
    cols = [names.index(f["name"]) for f in spec["features"]]
    out = {k: (np.concatenate([v] * len(raws)) if len(raws) > 1 else v) for k, v in arrays.items() if k != "num"}
    if spec["columns"]:
        out["num"] = np.vstack([fspec.encode(raw[:, cols], spec) for raw in raws])
    return out, np.concatenate(fit_idx), spec


def _inner_split(ts: TrainingSet, rows: np.ndarray, cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training rows -> (fit rows, early-stopping validation rows): some authors (grouped) or the latest
    posts (time)."""
    from .models import ensemble as ens

    if ts.scheme == "grouped":
        k = max(2, int(round(1.0 / cfg.val_fraction)))
        val_local = ens._group_folds(ts.data.groups[rows], k, seed + 1)[0]
    else:
        order = np.argsort(np.argsort(_time_order(ts)))[rows]  # time rank of each row
        n_val = max(1, int(round(cfg.val_fraction * rows.size)))
        val_local = np.argsort(order, kind="stable")[-n_val:]
    mask = np.zeros(rows.size, bool)
    mask[val_local] = True
    return rows[~mask], rows[mask]


def _train_neural(ts: TrainingSet, family: str, out_dir, name: str, cfg, backbone: str, frames: int,
                  progress: Progress, cancel: CancelToken) -> dict:
    import onnxruntime as ort

    from .errors import BundleError
    from .explain import typical_post
    from .models import ensemble as ens
    from .models import neural
    from .models.bundle import BUNDLE_FORMAT_VERSION, write_bundle

    t0 = time.perf_counter()
    temporal = family == "video"
    y = ts.y
    n = y.size
    names, raws, regimes = _regime_raws(ts, cfg)
    shares = [cfg.regime_shares[list(cfg.account_regimes).index(r)] for r in regimes[1:]]
    y_all = np.tile(y, len(raws))
    top = float(np.quantile(y, 0.75))
    fol = _followers(ts)
    folds = _folds(ts, cfg.folds, cfg.seed)
    steps = len(folds) + 2
    step = [0]

    def sub(f, msg):
        progress(None if f is None else 0.02 + 0.9 * (step[0] + f) / steps, msg)

    def design(train_posts, fit_posts, seed):
        return _augmented(ts.arrays, names, raws, train_posts, fit_posts, shares, seed)

    # 1. cross-validation: out-of-fold predictions of every post, as given and under each masked regime
    oof = np.zeros((len(raws), n))
    mean_p = np.zeros(n)
    fol_p = np.zeros(n)
    best_epochs = []
    for k, te in enumerate(folds):
        tr = np.setdiff1d(np.arange(n), te)
        fit_rows, val_rows = _inner_split(ts, tr, cfg, cfg.seed + k)
        arrays, fit_idx, _ = design(tr, fit_rows, cfg.seed + k)
        res = neural.fit(arrays, y_all, fit_idx, val_rows, cfg, temporal,
                         lambda f, m, k=k: sub(f, f"fold {k + 1}/{len(folds)}: {m}"), cancel)
        best_epochs.append(res.best_epoch)
        for j in range(len(raws)):
            oof[j, te] = neural.predict(res, arrays, te + j * n)
        mean_p[te] = y[tr].mean()
        fol_p[te] = ens._followers_line(fol[tr], y[tr], fol[te])
        rho = fold_spearman(y[te], oof[0, te])
        sub(1.0, f"fold {k + 1}/{len(folds)} done, spearman={rho if rho is None else round(rho, 3)} on its held-out posts")
        step[0] += 1
    metrics = {"top25_threshold": round(top, 4), "scheme": ts.scheme,
               "cv": {"what": f"{len(folds)} folds grouped by author" if ts.scheme == "grouped" else
                      f"{len(folds)} folds = contiguous blocks of time (grouped folds impossible)",
                      **_block(y, {"model": oof[0], "mean": mean_p, "followers_only": fol_p}, top),
                      "best_epochs": best_epochs}}
    if len(raws) > 1:
        metrics["cv_account_masked"] = {
            "what": "the same held-out posts with account stats hidden, as a creator who gives only some enters "
                    "them (engine.models.ensemble.MASKS)",
            **{regimes[j]: _block(y, {"model": oof[j]}, top)["model"] for j in range(1, len(raws))}}
    oof = oof[0]

    # 2. time-ordered holdout
    order = _time_order(ts)
    n_tr = int(round(cfg.time_split * n))
    early, late = np.sort(order[:n_tr]), np.sort(order[n_tr:])
    if late.size >= 5 and early.size >= 10:
        fit_rows, val_rows = _inner_split(replace(ts, scheme="time"), early, cfg, cfg.seed)
        arrays, fit_idx, _ = design(early, fit_rows, cfg.seed)
        res = neural.fit(arrays, y_all, fit_idx, val_rows, cfg, temporal, lambda f, m: sub(f, f"time split: {m}"),
                         cancel)
        p = neural.predict(res, arrays, late)
        block = _block(y[late], {"model": p, "mean": np.full(late.size, y[early].mean()),
                                 "followers_only": ens._followers_line(fol[early], y[early], fol[late])}, top)
        tt = ts.data.times
        block.update(train_fraction=cfg.time_split, n_train_posts=int(early.size), n_test_posts=int(late.size))
        if np.isfinite(tt[late]).any():
            block.update(test_from=ens.iso_date(np.nanmin(tt[late])), test_to=ens.iso_date(np.nanmax(tt[late])))
        metrics["time_split"] = block
    step[0] += 1

    # 3. the final network: every post but an early-stopping validation set
    cancel.raise_if_cancelled()
    fit_rows, val_rows = _inner_split(ts, np.arange(n), cfg, cfg.seed)
    arrays, fit_idx, spec = design(np.arange(n), fit_rows, cfg.seed)
    final = neural.fit(arrays, y_all, fit_idx, val_rows, cfg, temporal, lambda f, m: sub(f, f"final: {m}"),
                       cancel)
    t_train = time.perf_counter() - t0
    progress(0.93, "exporting to ONNX")
    blob = neural.export_onnx(final, arrays)
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    feeds = {k: np.ascontiguousarray(arrays[k][val_rows], np.float32) for k in final.inputs}
    onnx_val = session.run(None, feeds)[0].ravel().astype(np.float64)
    native_val = neural.predict(final, arrays, val_rows)
    diff = float(np.max(np.abs(onnx_val - native_val))) if val_rows.size else 0.0
    if not diff <= ONNX_TOLERANCE:
        raise BundleError(f"the exported network differs from torch by {diff:.2e} (> {ONNX_TOLERANCE}); not written")
    cancel.raise_if_cancelled()

    # 4. the manifest, report and plots, then the bundle (temporary folder, moved into place)
    label = dict(ts.data.label, top25_threshold=round(top, 4))
    resid = y - oof
    manifest = {
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "family": family,
        "created": date.today().isoformat(),
        "model_file": MODEL_FILE,
        "backbone": backbone if "frames" in arrays else None,
        "frame_count": frames if "frames" in arrays else None,
        "caption_backbone": CAPTION_BACKBONE if "caption" in arrays else None,
        "extraction": ts.extraction or None,
        "feature_spec": spec,
        "inputs": _inputs_manifest(final, arrays, spec, backbone, frames, temporal),
        "output": {"name": neural.OUTPUT, "dtype": "float32", "shape": ["N", 1], "what": "predicted label"},
        "label": label,
        "training_data": _training_data(ts),
        "metrics": metrics,
        "score": {"what": "percentile of the predicted label among the training posts' out-of-fold predictions",
                  "quantiles": [round(float(q), 5) for q in np.quantile(oof, np.linspace(0, 1, 101))]},
        "calibration": ens._calibration(oof, y, top, 10),
        "view_range": ({"available": True, "residual_q25": round(float(np.quantile(resid, 0.25)), 4),
                        "residual_q75": round(float(np.quantile(resid, 0.75)), 4),
                        "what": "25th-75th percentile of out-of-fold errors around the prediction, expm1"}
                       if label.get("view_range") else
                       {"available": False, "reason": "the label is not a plain ln(1 + views)"}),
        "training": {"config": cfg.as_dict(), "epochs_run": final.epochs, "best_epoch": final.best_epoch,
                     "validation_rows": int(val_rows.size), "onnx_max_abs_diff_vs_torch": float(f"{diff:.3g}"),
                     "deterministic": f"fixed seed {cfg.seed} (CPU)", "software": neural.software(),
                     "missing_values": "metadata: training median + missing_<source> indicator (feature_spec); "
                                       "posts without an extracted video are not used when frames/audio are",
                     "account_regimes": regimes[1:]},
    }
    manifest["typical"] = typical_post(manifest, lambda feeds: session.run(None, feeds)[0].ravel(),
                                       extra={k: ts.arrays[k] for k in final.inputs if k != "num"})
    rep = _report_common(ts, family, metrics, manifest, extra={
        "learning_curve": final.curve, "best_epoch": final.best_epoch,
        "onnx_max_abs_diff_vs_torch": diff, "train_seconds": round(t_train, 1),
        "validation_check": _validation_check(ts, val_rows, native_val, onnx_val)})
    attachments = {
        "report.json": json.dumps(rep, indent=1, default=_json_default).encode("utf-8"),
        "learning_curve.png": plot_learning_curve(final.curve, f"{family}: final network", "epoch",
                                                  f"MSE ({ts.data.label['name']})", final.best_epoch),
        "predicted_vs_actual.png": plot_predicted_vs_actual(y, oof, f"{family}, out of fold ({ts.scheme})",
                                                            ts.data.label["name"]),
    }
    progress(0.97, "writing the bundle")
    out = write_bundle(out_dir, {MODEL_FILE: blob}, manifest, attachments)
    rep.update(bundle=str(out), bundle_bytes=sum(p.stat().st_size for p in out.iterdir()),
               total_seconds=round(time.perf_counter() - t0, 1))
    progress(1.0, f"bundle written to {out}")
    return rep


def _inputs_manifest(final, arrays, spec, backbone, frames, temporal) -> dict:
    from .extract import FRAME_SHORT_SIDE

    out = {}
    for n in final.inputs:
        shape = ["N"] + list(arrays[n].shape[1:])
        if n == "num":
            out[n] = {"dtype": "float32", "shape": shape, "columns": spec["columns"],
                      "what": "the feature spec's metadata (and content cue) columns, see feature_spec"}
        elif n == "caption":
            out[n] = {"dtype": "float32", "shape": shape, "backbone": CAPTION_BACKBONE,
                      "what": "all-MiniLM-L6-v2 embedding of the caption followed by the hashtags (with '#'), "
                              "engine.extract.caption_text"}
        elif n == "frames":
            out[n] = {"dtype": "float32", "shape": shape, "backbone": backbone, "frame_count": frames,
                      "spec_version": video_spec_version(frames),
                      "sampling": f"{frames} frames at the centres of {frames} equal slices of the video, decoded "
                                  f"with the short side at {FRAME_SHORT_SIDE} px (engine.extract.embed_frames)",
                      "what": "per-frame embeddings in time order" if temporal else "mean of the per-frame embeddings"}
        elif n == "audio":
            out[n] = {"dtype": "float32", "shape": shape, "descriptor": AUDIO_DESCRIPTOR,
                      "cues": list(AUDIO_CUES), "what": "engine.extract.audio_vector: the 40-number audio "
                      f"descriptor then the audio cues ({AUDIO_INPUT_DIM} numbers)"}
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
