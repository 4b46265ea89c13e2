"""learn_personal: a creator's history in, a personal model bundle out (a job: progress + cancel).

Steps: measure the content cues of the posts that have a video file; the time-ordered evaluation (the only
measures shown); the final model on every labelled post; the bundle (family 'personal': manifest, ONNX,
report.json, drivers.png). The bundle's score quantiles are the out-of-sample predictions of the creator's
own posts, so its 0-100 score reads "ranks above N% of your own posts".
"""
from __future__ import annotations

import json
import math
import os
from datetime import date
from typing import Optional

import numpy as np

from ..errors import DataError
from ..features.spec import meta_from_post
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .evaluate import BOOTSTRAP, MIN_TRAIN, METHOD_WORDS, caption_embeddings, driver_line, evaluate_history
from .history import History
from ..features.inputs import AUDIO_INPUT_DIM
from .model import FRAME_BACKBONE, FRAME_COUNT, GeneralPart, fit_ridge, to_onnx

FAMILY = "personal"
LABEL_TRANSFORM = "log1p-minus-rolling-median"


def _scaled(progress: Progress, lo: float, hi: float) -> Progress:
    return lambda f, m: progress(None if f is None else lo + (hi - lo) * f, m)


def video_needs(frame_dim: int = 1280) -> dict:
    """The per-video inputs the personal model may read, as a manifest's 'inputs' (engine.features.inputs):
    the mean frame embedding (FRAME_BACKBONE, FRAME_COUNT frames) and the audio vector."""
    return {"frames": {"shape": ["N", frame_dim], "backbone": FRAME_BACKBONE, "frame_count": FRAME_COUNT},
            "audio": {"shape": ["N", AUDIO_INPUT_DIM]}}


def measure_history_cues(history: History, device: str = "cpu", progress: Progress = no_progress,
                         cancel: CancelToken = NEVER_CANCELLED, embeddings: bool = True) -> None:
    """Set history.cues: the content cues of each post's video (None where it has none or it is unreadable;
    the unreadable are named in history.notes). Leaves cues None when no post has a video. With `embeddings`,
    history.embeddings too (video_needs: the frames' mean embedding and the audio vector, from the same decoding
    pass as the cues; NaN rows where a post has no measured video)."""
    from ..cues.measure import cue_values, measure_cues
    from ..errors import EngineError
    from ..features.inputs import measure_with_inputs

    paths = history.video_paths()
    todo = [i for i, p in enumerate(paths) if p is not None]
    if not todo:
        return
    if embeddings:  # the frame backbone is exported once into the user data folder: say so; where it cannot be
        # had, learn from the content cues only (and say why)
        from ..features.inputs import frame_embedder
        from ..models.backbones import BackboneUnavailable

        progress(0.0, "loading the frame backbone (EfficientNet-Lite0; exported on first use)")
        try:
            frame_embedder(FRAME_BACKBONE, device)
        except BackboneUnavailable as exc:
            history.notes.append(f"the videos' pictures and sound are not inputs: {exc}")
            embeddings = False
    cues: list[Optional[dict]] = [None] * len(paths)
    found: dict[int, dict] = {}
    bad = []
    for j, i in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(j / len(todo), f"measuring video {j + 1} of {len(todo)}")
        try:
            if embeddings:
                report, found[i], _ = measure_with_inputs(paths[i], video_needs(), device=device, cancel=cancel)
                cues[i] = cue_values(report)
            else:
                cues[i] = cue_values(measure_cues(paths[i], device=device, cancel=cancel))
        except EngineError as exc:
            if exc.__class__.__name__ == "Cancelled":
                raise
            bad.append(f"{paths[i].name} ({exc})")
    if bad:
        history.notes.append(f"{len(bad)} videos could not be measured: {'; '.join(bad[:5])}")
    history.cues = cues if any(cues) else None
    if found:
        history.embeddings = {}
        for name in video_needs():
            dim = next(iter(found.values()))[name].shape[-1]
            arr = np.full((len(paths), dim), np.nan, np.float32)
            for i, got in found.items():
                arr[i] = got[name].reshape(-1)
            history.embeddings[name] = arr


def plot_drivers(drivers: list[dict], creator: str, top: int = 12) -> bytes:
    """Horizontal bars: each input's top-minus-bottom-quarter difference in sd with its interval."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from ..training import _png

    shown = drivers[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(shown)) + 1))
    if shown:
        y = np.arange(len(shown))
        d = np.array([x["difference_sd"] for x in shown])
        lo = np.array([x["interval_sd"][0] for x in shown])
        hi = np.array([x["interval_sd"][1] for x in shown])
        colours = ["#2a9d8f" if x["driver"] else "#bbbbbb" for x in shown]
        ax.barh(y, d, color=colours)
        ax.errorbar(d, y, xerr=[d - lo, hi - d], fmt="none", ecolor="black", capsize=3, linewidth=1)
        ax.set_yticks(y, [x["description"] for x in shown])
        ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("top quarter minus bottom quarter (standard deviations, 95% interval)")
    ax.set_title(f"What separates {creator}'s best posts (grey: interval includes zero)")
    return _png(fig)


def learn_personal(history: History, out_dir: str | os.PathLike, name: Optional[str] = None,
                   measure_videos: bool = True, with_default: bool = True, min_train: int = MIN_TRAIN,
                   n_boot: int = BOOTSTRAP, device: str = "cpu", progress: Progress = no_progress,
                   cancel: CancelToken = NEVER_CANCELLED, with_caption: bool = True,
                   shrink_general: bool = False) -> dict:
    """Learn a creator's personal model and write its bundle to out_dir (replaced whole, atomically).

    Returns the report (also written as report.json in the bundle): the label in words, the evaluation
    against the three baselines with intervals, the verdict, and the drivers. Raises DataError when the
    history has too few labelled posts to fit anything (fewer than 5), Cancelled on cancel."""
    from ..models.bundle import write_bundle

    if measure_videos:
        measure_history_cues(history, device, _scaled(progress, 0.0, 0.4), cancel)
    y = history.labels
    labelled = np.flatnonzero(np.isfinite(y))
    if labelled.size < 5:
        raise DataError(f"{history.creator}: only {labelled.size} posts have a label (views and at least "
                        f"{3} earlier posts with views); a personal model needs more history")
    metas = [meta_from_post(p) for p in history.posts]
    caption = None
    if with_caption:
        progress(0.4, "reading the captions (MiniLM)")
        caption = caption_embeddings(history, device)
    general = GeneralPart.default(metas) if with_default and shrink_general else None
    ev = evaluate_history(history, min_train, n_boot, with_default=with_default,
                          progress=_scaled(progress, 0.4, 0.9), cancel=cancel, general=general,
                          with_caption=with_caption, caption=caption, shrink_general=shrink_general)
    cancel.raise_if_cancelled()
    progress(0.92, "fitting the final model on every post")
    cues = history.cues
    cap = None if caption is None else caption[labelled]
    embeds = {n: e[labelled] for n, e in (history.embeddings or {}).items()}
    fit = fit_ridge([metas[i] for i in labelled], y[labelled], [cues[i] for i in labelled] if cues else None,
                    general=general, caption=cap, embeds=embeds)
    if not fit.spec["features"]:
        raise DataError(f"{history.creator}: the posts do not differ in any input the personal model reads "
                        "(caption, time, sound, format, content); there is nothing to learn from")
    in_sample = fit.predict([metas[i] for i in labelled], [cues[i] for i in labelled] if cues else None, cap, embeds)
    oos = np.asarray(ev.get("pred") or [], np.float64)
    basis = oos if oos.size >= 20 and np.ptp(oos) > 0 else in_sample
    if np.ptp(basis) <= 0:
        basis = y[labelled]
    quantiles = [float(v) for v in np.quantile(basis, np.linspace(0, 1, 101))]
    resid = y[labelled] - in_sample
    label_words = (f"ln(1 + views) minus the median ln(1 + views) of the creator's previous {history.k} posts: how "
                   "much better or worse a post did than the creator typically did when it went out")
    typical_now = history.typical_now()
    times = [p.post_time for p in history.posts]
    report = {
        "family": FAMILY,
        "creator": history.creator,
        "source": history.source,
        "label": label_words,
        "n_posts": len(history.posts),
        "n_labelled": int(labelled.size),
        "n_videos": int(sum(1 for c in (cues or []) if c)),
        "first_post": times[0].isoformat(), "last_post": times[-1].isoformat(),
        "alpha": fit.alpha,
        "caption_components": fit.caption_components,
        "frame_components": int(fit.embed_components.get("frames", 0)),
        "audio_components": int(fit.embed_components.get("audio", 0)),
        "general_model": None if fit.general is None else dict(fit.general.describe(),
                                                                weight_sd=round(fit.general_std_coef, 4)),
        "evaluation": {k: v for k, v in ev.items() if k not in ("rows", "pred")},
        "reliable": ev["reliable"],
        "summary": ev["summary"],
        "drivers": ev["drivers"],
        "driver_lines": [driver_line(d) for d in ev["drivers"] if d["driver"]],
        "coefficients_sd": {f["name"]: round(float(w), 4) for f, w in zip(fit.spec["features"], fit.std_coef)},
        "notes": list(history.notes),
        "unmatched_rows": history.unmatched_rows,
        "unmatched_videos": history.unmatched_videos,
    }
    rel = ev.get("relative") or {}
    manifest = {
        "name": name or f"personal-{history.creator}",
        "family": FAMILY,
        "created": date.today().isoformat(),
        "model_file": "model.onnx",
        "backbone": None,
        "feature_spec": fit.spec,
        "inputs": fit.manifest_inputs(),
        "features": sorted({f["group"] for f in fit.spec["features"]}),
        "label": {"column": "views", "transform": LABEL_TRANSFORM, "k": history.k, "description": label_words,
                  "name": "views against the creator's typical",
                  "no_view_range_reason": "This personal model predicts views relative to the creator's typical "
                  f"views at the time (lately about {_count(typical_now)}), not a view count, so no view range "
                  "is given."},
        "training_data": {"name": history.source, "creator": history.creator, "n_posts": int(labelled.size),
                          "first_post": report["first_post"], "last_post": report["last_post"],
                          "licence": "the creator's own posts"},
        "metrics": {"scheme": "expanding window in time order", "relative": rel, "absolute": ev.get("absolute"),
                    "n": ev.get("n", 0)},
        "metrics_summary": {"time_split_model_spearman": (rel.get("personal") or {}).get("spearman"),
                            "time_split_model_auc_top25": (rel.get("personal") or {}).get("auc_top25")},
        "score": {"quantiles": quantiles, "basis": "the creator's own posts, each predicted from the posts "
                  "before it" if basis is oos else "the creator's own posts (fitted)"},
        "view_range": {"available": False},
        "personal": {
            "creator": history.creator, "reliable": ev["reliable"], "summary": ev["summary"],
            "typical_log_views": typical_now, "typical_views": None if typical_now is None else
            round(math.expm1(typical_now)),
            "residual_q25": float(np.quantile(resid, 0.25)), "residual_q75": float(np.quantile(resid, 0.75)),
            "drivers": [d for d in ev["drivers"] if d["driver"]][:12],
            "coefficients_sd": report["coefficients_sd"],
            "typical_caption_embedding": None if fit.caption_mean is None else
            [round(float(v), 6) for v in fit.caption_mean],
            "embedding_components": dict(fit.embed_components),
            "general_model": report["general_model"],
        },
        "notes": list(history.notes),
    }
    attachments = {"report.json": json.dumps(report, indent=1, default=str, ensure_ascii=False).encode("utf-8")}
    if ev["drivers"]:
        attachments["drivers.png"] = plot_drivers(ev["drivers"], history.creator)
    cancel.raise_if_cancelled()
    progress(0.97, "writing the bundle")
    model = to_onnx(fit)
    if fit.general is None:  # the typical post, so the Score page can say what the pictures and the sound add
        from ..explain import typical_post
        from ..runtime import make_session

        session = make_session(model, device="cpu")[0]
        manifest["typical"] = typical_post(manifest, lambda feeds: session.run(None, feeds)[0].ravel(),
                                           extra={n: fit.embed_mean[n][None] for n in fit.embed_coef})
    out = write_bundle(out_dir, {"model.onnx": model}, manifest, attachments)
    report["bundle"] = str(out)
    progress(1.0, "personal model written")
    return report


def report_lines(report: dict) -> list[str]:
    """The report as plain lines for the CLI (and the window's text view)."""
    ev = report["evaluation"]
    lines = [f"{report['creator']}: {report['n_posts']} posts ({report['n_labelled']} with a label"
             f"{', ' + str(report['n_videos']) + ' videos measured' if report['n_videos'] else ''})",
             f"  label: {report['label']}",
             f"  verdict: {report['summary']}"]
    if report.get("caption_components"):
        lines.append(f"  the caption's words: {report['caption_components']} principal components of its MiniLM embedding")
    for key, words in (("frame_components", "the pictures: {} principal components of the frames' EfficientNet-Lite0 "
                        "embedding"), ("audio_components", "the sound: {} principal components of the audio vector")):
        if report.get(key):
            lines.append("  " + words.format(report[key]))
    if report.get("general_model"):
        lines.append(f"  shrunk toward the general model '{report['general_model']['name']}' (weight "
                     f"{report['general_model']['weight_sd']:+.3f} per sd of its prediction)")
    for target, title in (("relative", "against the creator's typical views (which draft does better)"),
                          ("absolute", "ln(1 + views), trend included")):
        block = ev.get(target) or {}
        if not block:
            continue
        lines.append(f"  {title}, {ev['n']} posts predicted in time order:")
        for m, d in block.items():
            sp, ci = d.get("spearman"), d.get("spearman_ci")
            auc, aci = d.get("auc_top25"), d.get("auc_top25_ci")
            lines.append(f"    {METHOD_WORDS.get(m, m):32s} Spearman {_fmt(sp)} {_ci(ci)}   AUC top 25% {_fmt(auc)} "
                         f"{_ci(aci)}")
    if report["driver_lines"]:
        lines.append("  what separates the top quarter from the bottom quarter (out-of-sample posts):")
        lines += [f"    {s}" for s in report["driver_lines"][:10]]
    elif ev.get("drivers") is not None:
        lines.append("  no input separates the top quarter from the bottom quarter (every interval includes zero)")
    for n in report["notes"]:
        lines.append(f"  note: {n}")
    return lines


def _count(log_views: Optional[float]) -> str:
    return "unknown" if log_views is None else f"{math.expm1(log_views):,.0f}"


def _fmt(v) -> str:
    return "  n/a" if v is None else f"{v:+.3f}"


def _ci(ci) -> str:
    return "(n/a)" if not ci else f"({ci[0]:+.2f} to {ci[1]:+.2f})"
