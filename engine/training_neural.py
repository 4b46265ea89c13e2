"""Neural training (engine.training): the multimodal and video families, by phase (folds, time split,
final network, ONNX export)."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date

import numpy as np

from .extract import video_spec_version
from .features import spec as fspec
from .features.inputs import AUDIO_CUES, AUDIO_DESCRIPTOR, AUDIO_INPUT_DIM, CAPTION_BACKBONE, FRAME_SHORT_SIDE
from .metrics import spearman as fold_spearman
from .jobs import CancelToken, Progress

from .training_data import MODEL_FILE, ONNX_TOLERANCE, TrainingSet, _block, _folds, _followers, _time_order
from .training_plots import plot_learning_curve, plot_predicted_vs_actual
from .training_report import _validation_check, _json_default, _training_data, _report_common


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
    out = {}
    for n in final.inputs:
        shape = ["N"] + list(arrays[n].shape[1:])
        if n == "num":
            out[n] = {"dtype": "float32", "shape": shape, "columns": spec["columns"],
                      "what": "the feature spec's metadata (and content cue) columns, see feature_spec"}
        elif n == "caption":
            out[n] = {"dtype": "float32", "shape": shape, "backbone": CAPTION_BACKBONE,
                      "what": "all-MiniLM-L6-v2 embedding of the caption followed by the hashtags (with '#'), "
                              "engine.features.inputs.caption_text"}
        elif n == "frames":
            out[n] = {"dtype": "float32", "shape": shape, "backbone": backbone, "frame_count": frames,
                      "spec_version": video_spec_version(frames),
                      "sampling": f"{frames} frames at the centres of {frames} equal slices of the video, decoded "
                                  f"with the short side at {FRAME_SHORT_SIDE} px (engine.features.inputs.embed_frames)",
                      "what": "per-frame embeddings in time order" if temporal else "mean of the per-frame embeddings"}
        elif n == "audio":
            out[n] = {"dtype": "float32", "shape": shape, "descriptor": AUDIO_DESCRIPTOR,
                      "cues": list(AUDIO_CUES), "what": "engine.features.inputs.audio_vector: the 40-number audio "
                      f"descriptor then the audio cues ({AUDIO_INPUT_DIM} numbers)"}
    return out
