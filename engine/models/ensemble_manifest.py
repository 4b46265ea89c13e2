"""The manifest of an ensemble bundle (engine.models.ensemble): what it records of the trained model: its inputs,
members and weights, label, held-out metrics, score quantiles, calibration, view range and the software that
made it (DESIGN contract 4)."""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Optional

from .ensemble_onnx import ONNX_OUTPUT, TARGET_OPSET

if TYPE_CHECKING:
    from .ensemble import EnsembleConfig, TrainedEnsemble


def config_dict(cfg: EnsembleConfig) -> dict:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def build_manifest(
    trained: TrainedEnsemble,
    name: str,
    training_data: dict,
    model_file: str = "model.onnx",
    created: Optional[str] = None,
) -> dict:
    """The manifest of a bundle holding `export_onnx(trained)` as `model_file` (sha256s are filled in by
    engine.models.bundle.write_bundle)."""
    from datetime import date

    import onnx
    import skl2onnx
    import sklearn

    from .bundle import BUNDLE_FORMAT_VERSION

    spec = trained.spec
    n_txt = trained.fit.text.n_components if spec.get("text") else 0
    full = trained.metrics["grouped_cv"]["full"]
    best = max((n for n in trained.weights), key=lambda n: full[n]["auc_top25"] or 0)
    used_groups = sorted({f["group"] for f in spec["features"]} | ({"caption"} if n_txt else set()))
    inputs = {
        "num": {"dtype": "float32", "shape": ["N", len(spec["columns"])], "columns": spec["columns"]},
    }
    if n_txt:
        inputs["text"] = {
            "dtype": "string",
            "shape": ["N", 1],
            "what": f"caption + hashtags normalised ({spec['text']['normalisation']}); the graph turns it into "
            f"{n_txt} TF-IDF/SVD components learned from {len(trained.fit.text.count.vocabulary_)} words",
        }
    view_range = (
        {"available": True, "residual_q25": trained.residual_quantiles["q25"],
         "residual_q75": trained.residual_quantiles["q75"],
         "what": "25th-75th percentile of out-of-fold errors around the prediction, back-transformed with expm1"}
        if trained.residual_quantiles
        else {"available": False,
              "reason": "the label is not a plain ln(1 + views): no view range can be given"}
    )
    return {
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "family": "ensemble",
        "created": created or date.today().isoformat(),
        "model_file": model_file,
        "backbone": None,
        "feature_spec": spec,
        "inputs": inputs,
        "inputs_used": {
            "groups": used_groups,
            "features": [f["name"] for f in spec["features"]],
            "caption_text_components": n_txt,
            "content_cues": bool(spec.get("uses_cues")),
            "never_inputs": "the post's own views, likes, comments, shares, saves (labels)",
        },
        "output": {"name": ONNX_OUTPUT, "dtype": "float32", "shape": ["N", 1], "what": "predicted label"},
        "label": trained.label,
        "members": {
            n: {"weight": trained.weights[n], "exported": trained.weights[n] > 0, "estimator": _describe(m)}
            for n, m in trained.fit.members.items()
        },
        "combination": "weighted sum of member predictions; weights = non-negative least squares on "
        "out-of-fold predictions (grouped by author), normalised to sum to 1",
        "training_data": training_data,
        "metrics": dict(
            trained.metrics,
            summary={
                "grouped_cv_ensemble_spearman": full["ensemble"]["spearman"],
                "grouped_cv_ensemble_auc_top25": full["ensemble"]["auc_top25"],
                "best_member": best,
                "ensemble_auc_gain_over_best_member": round(
                    (full["ensemble"]["auc_top25"] or 0) - (full[best]["auc_top25"] or 0), 4),
            },
            notes=[
                "all numbers on held-out posts: 5 folds grouped by author, and a time-ordered 80/20 split",
                "regimes: full = every account stat given; followers_only = only the follower count; "
                "no_account = no account stats",
                "ensemble in grouped CV: weights of fold k learned on the other folds' out-of-fold predictions",
                "mean = the training mean (ranks nothing); followers_only = least squares on ln(1 + followers)",
                "auc_top25: a post is positive when its label >= the 75th percentile of the training labels",
            ],
        ),
        "score": {
            "what": "percentile of the predicted label among the training posts' out-of-fold predictions",
            "quantiles": trained.quantiles,
        },
        "calibration": trained.calibration,
        "view_range": view_range,
        "training": {
            "config": config_dict(trained.cfg),
            "deterministic": f"fixed seeds (seed {trained.cfg.seed})",
            "software": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                         "onnx": onnx.__version__, "opset": TARGET_OPSET},
        },
    }


def _describe(est) -> str:
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        return " -> ".join(type(s).__name__ for _, s in est.steps)
    return type(est).__name__
