"""The personal model family: a ridge regression for one creator, small-sample by design.

Inputs: every pre-publication feature of the spec but the account group (caption traits, posting time,
sound, format) plus the content cues when the videos were measured; standardised, then a ridge whose
penalty is chosen by exact leave-one-out error on the training posts from a grid that starts strong
(few posts -> heavy shrinkage toward "as typical"). Fitted with numpy; exported as a two-node ONNX graph
(MatMul + Add, standardisation folded in), so the bundle runs like every other family and never pickles.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..features.spec import ALL_FEATURES, PostMeta, encode, fit_spec, raw_matrix

#: the ridge penalties tried (in units of standardised inputs); the smallest is already a strong shrink
ALPHAS = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
GROUPS = ("caption", "time", "sound", "format", "content")


def feature_names(with_cues: bool) -> list[str]:
    return [f.name for f in ALL_FEATURES if f.group in GROUPS and (with_cues or f.group != "content")]


@dataclass
class RidgeFit:
    """y ~ num @ coef + intercept, on the spec's encoded columns (float32 in, as ONNX reads them)."""

    spec: dict
    coef: np.ndarray
    intercept: float
    alpha: float
    mean: np.ndarray
    scale: np.ndarray
    std_coef: np.ndarray  # per standardised column: the change in the label for one sd

    def predict_num(self, num: np.ndarray) -> np.ndarray:
        return np.asarray(num, np.float64) @ self.coef + self.intercept

    def predict(self, metas: Sequence[PostMeta], cues: Optional[Sequence[Optional[dict]]] = None) -> np.ndarray:
        names = [f["name"] for f in self.spec["features"]]
        raw = raw_matrix(list(metas), names, cues if self.spec.get("uses_cues") else None)
        return self.predict_num(encode(raw, self.spec))


def _loo_ridge(x: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> tuple[float, np.ndarray]:
    """(best alpha, coefficients) for centred x, y by exact leave-one-out error (hat matrix via the SVD)."""
    n = x.shape[0]
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    uty = u.T @ y
    best = (np.inf, alphas[0], np.zeros(x.shape[1]))
    for a in alphas:
        d = s**2 / (s**2 + a)
        fitted = u @ (d * uty)
        h = (u**2) @ d + 1.0 / n  # + the intercept's leverage
        loo = np.mean(((y - fitted) / np.maximum(1e-9, 1.0 - h)) ** 2)
        if loo < best[0] - 1e-12:
            w = vt.T @ ((s / (s**2 + a)) * uty)
            best = (loo, a, w)
    return best[1], best[2]


def fit_ridge(metas: Sequence[PostMeta], y: np.ndarray, cues: Optional[Sequence[Optional[dict]]] = None,
              alphas: Sequence[float] = ALPHAS) -> RidgeFit:
    """Fit the personal model on posts with a label (y finite). Features constant in these posts are left
    out (fit_spec); with none left, the model predicts the mean label."""
    with_cues = cues is not None and any(c for c in cues)
    names = feature_names(with_cues)
    raw = raw_matrix(list(metas), names, list(cues) if with_cues else None)
    spec = fit_spec(raw, names, with_text=False)
    num = encode(raw[:, [names.index(f["name"]) for f in spec["features"]]], spec).astype(np.float64)
    y = np.asarray(y, np.float64)
    mean = num.mean(axis=0) if num.size else np.zeros(num.shape[1])
    scale = num.std(axis=0) if num.size else np.ones(num.shape[1])
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (num - mean) / scale
    ym = float(y.mean())
    if z.shape[1] == 0 or y.size < 3:
        alpha, w = float(alphas[-1]), np.zeros(z.shape[1])
    else:
        alpha, w = _loo_ridge(z, y - ym, alphas)
    coef = w / scale
    return RidgeFit(spec=spec, coef=coef, intercept=float(ym - mean @ coef), alpha=float(alpha), mean=mean,
                    scale=scale, std_coef=w)


def to_onnx(fit: RidgeFit) -> bytes:
    """The fit as an ONNX graph: num float32 [N, C] -> prediction float32 [N, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    c = len(fit.spec["columns"])
    w = numpy_helper.from_array(fit.coef.reshape(c, 1).astype(np.float32), "coef")
    b = numpy_helper.from_array(np.array([fit.intercept], np.float32), "intercept")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["num", "coef"], ["xw"]), helper.make_node("Add", ["xw", "intercept"], ["pred"])],
        "personal_ridge",
        [helper.make_tensor_value_info("num", TensorProto.FLOAT, ["N", c])],
        [helper.make_tensor_value_info("pred", TensorProto.FLOAT, ["N", 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="virality-personal")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
