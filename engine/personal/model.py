"""The personal model family: a ridge regression for one creator, small-sample by design.

Inputs: every pre-publication feature of the spec but the account group (caption traits, posting time,
sound, format) plus the content cues when the videos were measured; standardised, then a ridge whose
penalty is chosen by exact leave-one-out error on the training posts from a grid that starts strong
(few posts -> heavy shrinkage toward "as typical").

Shrinkage toward the general model: when the general default model is given (GeneralPart), its prediction
for each post is one more input, with the account held fixed at the creator's own (account stats are not
personal inputs), so what it brings is its reading of the caption (words included), time and format. That
input is penalised less than the others (its weight in the penalty is chosen with the penalty, by the same
leave-one-out error): with little evidence the personal model leans on the general one, and it departs from
it only where the creator's own posts say so.

Fitted with numpy; exported as ONNX: without the general part a two-node graph (MatMul + Add,
standardisation folded in); with it, the general model's own graph inside the personal one (its inputs
made from the personal inputs by one MatMul + Add), so the bundle stays one self-contained ONNX file.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..features.spec import ACCOUNT_SOURCES, ALL_FEATURES, PostMeta, encode, fit_spec, raw_matrix, texts

#: the ridge penalties tried (in units of standardised inputs); the smallest is already a strong shrink
ALPHAS = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
GROUPS = ("caption", "time", "sound", "format", "content")
#: how much less the general model's prediction is penalised than a personal input (1/scale**2 of the penalty)
GENERAL_SCALES = (1.0, 3.0, 10.0)
#: how many principal components of the caption's MiniLM embedding (fitted on the training posts) are inputs;
#: chosen with the penalty by leave-one-out error (0: the caption's words are not used)
CAPTION_COMPONENTS = (0, 5, 10)
CAPTION_DIM = 384
#: the per-video embeddings a personal model may read (ONNX inputs of the same names, as the multimodal family's):
#: the caption's MiniLM embedding, the mean EfficientNet-Lite0 embedding of the frames, the audio vector. Each is
#: reduced to this many principal components fitted on the training posts, the number chosen with the penalty by
#: leave-one-out error (0: the embedding is not used, so it costs nothing where it does not help)
EMBEDDINGS = {"caption": CAPTION_COMPONENTS, "frames": (0, 2, 4), "audio": (0, 2, 4)}
#: the frame backbone and the number of frames the personal model's frame input is the mean of
FRAME_BACKBONE = "efficientnet_lite0"
FRAME_COUNT = 16


def feature_names(with_cues: bool) -> list[str]:
    return [f.name for f in ALL_FEATURES if f.group in GROUPS and (with_cues or f.group != "content")]


ACCOUNT_NAMES = [f.name for f in ALL_FEATURES if f.group == "account"]


def account_matrix(metas: Sequence[PostMeta]) -> np.ndarray:
    """The account inputs of each post (raw, NaN where unknown), over ACCOUNT_NAMES."""
    return raw_matrix(list(metas), ACCOUNT_NAMES)


def latest_account(raw: np.ndarray) -> dict:
    """Each account input's latest known value in `raw` (posts in time order), None where never known."""
    out: dict = {}
    for j, n in enumerate(ACCOUNT_NAMES):
        known = np.flatnonzero(np.isfinite(raw[:, j]))
        out[n] = float(raw[known[-1], j]) if known.size else None
    return out


class GeneralPart:
    """The general default model as a part of a personal one: its ONNX graph, run on the personal inputs
    mapped to its own (mapping()), with the account fixed at the creator's (`account`, raw feature values;
    None where unknown: then the general model's typical account, as its own score assumes)."""

    def __init__(self, onnx_bytes: bytes, spec: dict, name: str, account: dict):
        from ..models.bundle import sha256_bytes
        from ..runtime import make_session

        self.onnx_bytes, self.spec, self.name, self.account = onnx_bytes, spec, name, dict(account)
        self.sha256 = sha256_bytes(onnx_bytes)
        self._session = make_session(onnx_bytes, device="cpu")[0]
        self.text_input = (spec.get("text") or {}).get("input")

    @classmethod
    def default(cls, metas: Sequence[PostMeta]) -> Optional["GeneralPart"]:
        """The built-in default model with the account of the latest post that gives one (None when the
        default bundle cannot be loaded)."""
        from ..errors import EngineError
        from ..models.active import default_bundle_path
        from ..models.bundle import ModelBundle

        try:
            bundle = ModelBundle.load(default_bundle_path(), device="cpu")
            data = (Path(bundle.path) / bundle.manifest["model_file"]).read_bytes()
        except (EngineError, OSError):
            return None
        return cls(data, bundle.manifest["feature_spec"], bundle.name, latest_account(account_matrix(metas)))

    def with_account(self, account: dict) -> "GeneralPart":
        """The same general model (one ONNX Runtime session) with another fixed account."""
        other = copy.copy(self)
        other.account = dict(account)
        return other

    def mapping(self, pspec: dict, names: Sequence[str], raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S, c) with general num = personal num @ S + c. A general input the personal spec has is passed
        through; one it lacks (constant for this creator, or never known) is the creator's value (`raw`: the
        training posts over `names`), else the general model's own fill; account inputs are `account`."""
        pcols = pspec["columns"]
        gfeats = self.spec["features"]
        gcols = self.spec["columns"]
        s = np.zeros((len(pcols), len(gcols)))
        c = np.zeros(len(gcols))
        unknown_sources = set()
        for j, f in enumerate(gfeats):
            n = f["name"]
            if f["group"] == "account":
                v = self.account.get(n)
                if v is None:
                    unknown_sources.add(f["source"])
            elif n in pcols:
                s[pcols.index(n), j] = 1.0
                continue
            else:
                col = raw[:, list(names).index(n)] if n in names else np.array([np.nan])
                known = col[np.isfinite(col)]
                v = float(np.median(known)) if known.size else None
                if v is None:
                    unknown_sources.add(f["source"])
            v = f["fill"] if v is None else v
            rng = f.get("range")
            c[j] = v if rng is None else min(max(v, rng[0]), rng[1])
        for j in range(len(gfeats), len(gcols)):
            ind = gcols[j]
            if ind in pcols and ind[len("missing_"):] not in ACCOUNT_SOURCES:
                s[pcols.index(ind), j] = 1.0
            else:
                c[j] = float(ind[len("missing_"):] in unknown_sources)
        return s, c

    def run(self, num: np.ndarray, text: Optional[np.ndarray], s: np.ndarray, c: np.ndarray) -> np.ndarray:
        feeds = {"num": (np.asarray(num, np.float64) @ s + c).astype(np.float32)}
        if self.text_input:
            feeds[self.text_input] = text
        return np.asarray(self._session.run(None, feeds)[0], np.float64).reshape(-1)

    def describe(self) -> dict:
        return {"name": self.name, "model_sha256": self.sha256, "account": self.account}


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
    general: Optional[GeneralPart] = None
    general_map: Optional[tuple[np.ndarray, np.ndarray]] = None
    general_coef: float = 0.0  # per unit of the general model's prediction
    general_std_coef: float = 0.0  # ... per sd of it over the training posts
    general_scale: float = 1.0  # the general input's penalty is alpha / general_scale**2
    #: per embedding input the fit reads (EMBEDDINGS: caption, frames, audio), its coefficient per dimension
    embed_coef: dict = field(default_factory=dict)
    #: ... the number of its principal components that are inputs (0 for one the fit does not read)
    embed_components: dict = field(default_factory=dict)
    #: ... its mean over the training posts: what a post without it (no caption, no video) is given
    embed_mean: dict = field(default_factory=dict)

    @property
    def caption_coef(self) -> Optional[np.ndarray]:
        return self.embed_coef.get("caption")

    @property
    def caption_components(self) -> int:
        return int(self.embed_components.get("caption", 0))

    @property
    def caption_mean(self) -> Optional[np.ndarray]:
        return self.embed_mean.get("caption")

    def predict_num(self, num: np.ndarray, text: Optional[np.ndarray] = None,
                    caption: Optional[np.ndarray] = None, embeds: Optional[dict] = None) -> np.ndarray:
        """The prediction from the encoded inputs; `embeds` {name: [N, D]} the embeddings (`caption` is one more)."""
        out = np.asarray(num, np.float64) @ self.coef + self.intercept
        if self.general is not None and self.general_map is not None:
            out = out + self.general_coef * self.general.run(num, text, *self.general_map)
        embeds = _with_caption(embeds, caption)
        for name, coef in self.embed_coef.items():
            out = out + np.asarray(embeds[name], np.float32).astype(np.float64) @ coef
        return out

    def predict(self, metas: Sequence[PostMeta], cues: Optional[Sequence[Optional[dict]]] = None,
                caption: Optional[np.ndarray] = None, embeds: Optional[dict] = None) -> np.ndarray:
        names = [f["name"] for f in self.spec["features"]]
        raw = raw_matrix(list(metas), names, cues if self.spec.get("uses_cues") else None)
        return self.predict_num(encode(raw, self.spec), texts(metas) if self.spec.get("text") else None,
                                embeds=self.fill(_with_caption(embeds, caption)))

    def filled(self, caption: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """Caption embeddings with the rows of posts without a caption (NaN) set to the creator's typical one."""
        return self.fill({"caption": caption}).get("caption")

    def fill(self, embeds: Optional[dict]) -> dict:
        """The embeddings {name: [N, D]} with the rows of posts without one (NaN) set to the creator's typical."""
        out = {}
        for name, e in (embeds or {}).items():
            mu = self.embed_mean.get(name)
            out[name] = e if e is None or mu is None else \
                np.where(np.isfinite(e).all(axis=1, keepdims=True), e, mu[None, :])
        return out

    def manifest_inputs(self) -> dict:
        """The bundle manifest's 'inputs': what the ONNX graph reads (to_onnx), so scoring computes each."""
        out = {"num": {"dtype": "float32", "shape": ["N", len(self.spec["columns"])], "columns": self.spec["columns"],
                       "what": "the feature spec's columns, see feature_spec"}}
        if self.general is not None:
            out["text"] = {"dtype": "string", "shape": ["N", 1], "what": "the normalised caption (general model)"}
        if self.caption_coef is not None:
            out["caption"] = {"dtype": "float32", "shape": ["N", CAPTION_DIM], "backbone": "minilm",
                              "what": "all-MiniLM-L6-v2 embedding of the caption followed by the hashtags (with '#'), "
                                      "engine.features.inputs.caption_text; a post without either gets the creator's "
                                      "typical caption embedding (personal.typical_caption_embedding)"}
        video = [n for n in ("frames", "audio") if n in self.embed_coef]
        if video:  # described as the multimodal family describes them (frames: the mean over the sampled frames)
            from types import SimpleNamespace

            from ..training_neural import _inputs_manifest

            arrays = {n: np.zeros((1, self.embed_coef[n].size), np.float32) for n in video}
            out.update(_inputs_manifest(SimpleNamespace(inputs=video), arrays, self.spec, FRAME_BACKBONE,
                                        FRAME_COUNT, False))
        return out

    def predict_raw(self, raw: np.ndarray, names: Sequence[str], text: Optional[np.ndarray] = None,
                    caption: Optional[np.ndarray] = None, embeds: Optional[dict] = None) -> np.ndarray:
        """predict() from the raw matrix over `names` (a superset of the spec's features)."""
        names = list(names)
        cols = [names.index(f["name"]) for f in self.spec["features"]]
        return self.predict_num(encode(raw[:, cols], self.spec), text if self.spec.get("text") else None, caption,
                                embeds)


def _with_caption(embeds: Optional[dict], caption: Optional[np.ndarray]) -> dict:
    out = dict(embeds or {})
    if caption is not None:
        out["caption"] = caption
    return out


def _loo_ridge(x: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> tuple[float, float, np.ndarray]:
    """(leave-one-out mean squared error, best alpha, coefficients) for centred x, y by exact leave-one-out
    error (hat matrix via the SVD)."""
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
    return best


def fit_ridge(metas: Sequence[PostMeta], y: np.ndarray, cues: Optional[Sequence[Optional[dict]]] = None,
              alphas: Sequence[float] = ALPHAS, general: Optional[GeneralPart] = None,
              caption: Optional[np.ndarray] = None, embeds: Optional[dict] = None) -> RidgeFit:
    """Fit the personal model on posts with a label (y finite). Features constant in these posts are left
    out (fit_spec); with none left, the model predicts the mean label. With `general`, the general model's
    prediction is one more input, penalised alpha / scale**2 with the scale from GENERAL_SCALES (chosen with
    alpha by leave-one-out error). With `caption` (each post's MiniLM caption embedding, [N, 384]; a row of
    NaN where the post has no caption), the first CAPTION_COMPONENTS principal components of it (fitted on
    these posts) are inputs too, their number chosen with the penalty; the same for each of `embeds` ({'frames':
    [N, D], 'audio': [N, 44]}, EMBEDDINGS; NaN rows where a post has no video)."""
    with_cues = cues is not None and any(c for c in cues)
    names = feature_names(with_cues)
    metas = list(metas)
    raw = raw_matrix(metas, names, list(cues) if with_cues else None)
    return fit_raw(raw, names, texts(metas) if general is not None else None, y, alphas, general, caption, embeds)


def _caption_components(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, the top-k principal directions [384, k], the posts' scores [N, k]) of the known embeddings; a post
    without a caption (NaN row) gets the mean, so scores 0."""
    known = np.isfinite(emb).all(axis=1)
    mu = emb[known].mean(axis=0) if known.any() else np.zeros(emb.shape[1])
    x = np.where(known[:, None], emb, mu) - mu
    xk = x[known]
    if xk.shape[0] < xk.shape[1]:  # the small side's eigenvectors (an SVD of the tall matrix is far slower)
        lam, u = np.linalg.eigh(xk @ xk.T)
        order = np.argsort(lam)[::-1][:k]
        p = xk.T @ (u[:, order] / np.sqrt(np.maximum(lam[order], 1e-12)))
    else:
        lam, v = np.linalg.eigh(xk.T @ xk)
        p = v[:, np.argsort(lam)[::-1][:k]]
    return mu, p, x @ p


def fit_raw(raw: np.ndarray, names: Sequence[str], text: Optional[np.ndarray], y: np.ndarray,
            alphas: Sequence[float] = ALPHAS, general: Optional[GeneralPart] = None,
            caption: Optional[np.ndarray] = None, embeds: Optional[dict] = None) -> RidgeFit:
    """fit_ridge on the raw matrix over feature_names() (and the posts' texts when `general` is given)."""
    names = list(names)
    use_general = general is not None and general.text_input == "text" and text is not None
    spec = fit_spec(raw, names, with_text=use_general)
    num = encode(raw[:, [names.index(f["name"]) for f in spec["features"]]], spec).astype(np.float64)
    y = np.asarray(y, np.float64)
    mean = num.mean(axis=0) if num.size else np.zeros(num.shape[1])
    scale = num.std(axis=0) if num.size else np.ones(num.shape[1])
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (num - mean) / scale
    ym = float(y.mean())
    g = gmap = None
    if use_general:
        gmap = general.mapping(spec, names, raw)
        g = general.run(num, text, *gmap)
    gm, gsd = (float(g.mean()), float(g.std())) if g is not None and g.size else (0.0, 0.0)
    nz = z.shape[1]
    blocks = {}  # name: (the numbers of components tried, mean, directions, standardised scores)
    for name, e in _with_caption(embeds, caption).items():
        if e is None or name not in EMBEDDINGS or np.isfinite(e).all(axis=1).sum() < 3:
            continue
        ks = tuple(k for k in EMBEDDINGS[name] if k < min(y.size - 2, e.shape[1]))
        if max(ks, default=0) == 0:
            continue
        mu, dirs, scores = _caption_components(np.asarray(e, np.float64), max(ks))
        sd = scores.std(axis=0)
        sd = np.where(sd > 1e-9, sd, 1.0)
        blocks[name] = (ks, mu, dirs / sd, scores / sd)
    nb = len(blocks)
    best = (np.inf, float(alphas[-1]), np.zeros(nz), 1.0, (0,) * nb)
    if y.size >= 3:
        for ks in itertools.product(*(b[0] for b in blocks.values())):
            zk = np.column_stack([z] + [b[3][:, :k] for b, k in zip(blocks.values(), ks)])
            for s in (GENERAL_SCALES if gsd > 1e-9 else (0.0,)):
                zz = zk if gsd <= 1e-9 else np.column_stack([zk, s * (g - gm) / gsd])
                if zz.shape[1] == 0:
                    continue
                loo, a, w = _loo_ridge(zz, y - ym, alphas)
                if loo < best[0] - 1e-12:
                    best = (loo, a, w, s, ks)
    _, alpha, w, gscale, ks = best
    width = nz + sum(ks) + (gsd > 1e-9)
    w = np.concatenate([w, np.zeros(width - w.size)]) if w.size < width else w
    gw = float(w[width - 1]) * gscale if gsd > 1e-9 else 0.0  # per sd of the general prediction
    gcoef = gw / gsd if gsd > 1e-9 else 0.0
    intercept = ym - gcoef * gm
    ecoef, ecomp, emean = {}, {}, {}
    at = nz
    for (name, (_, mu, dirs, _)), k in zip(blocks.items(), ks):
        ecomp[name] = int(k)
        if k:
            ecoef[name] = dirs[:, :k] @ w[at:at + k]
            emean[name] = mu
            intercept -= float(mu @ ecoef[name])
        at += k
    w = w[:nz]
    coef = w / scale
    return RidgeFit(spec=spec, coef=coef, intercept=float(intercept - mean @ coef), alpha=float(alpha),
                    mean=mean, scale=scale, std_coef=w, general=general if g is not None else None,
                    general_map=gmap, general_coef=gcoef, general_std_coef=gw, general_scale=float(gscale),
                    embed_coef=ecoef, embed_components=ecomp, embed_mean=emean)


def onnx_inputs(fit: RidgeFit) -> list[str]:
    """The inputs of the fit's ONNX graph: num, plus text (the general part) and each embedding it reads."""
    return ["num"] + (["text"] if fit.general is not None else []) + list(fit.embed_coef)


def to_onnx(fit: RidgeFit) -> bytes:
    """The fit as one ONNX graph: num float32 [N, C] (text string [N, 1] with the general part; caption [N, 384],
    frames [N, 1280], audio [N, 44], float32, for each embedding it reads) -> prediction float32 [N, 1]:
    pred = num @ coef + intercept [+ general_coef * general(num @ S + c, text)] [+ caption @ caption_coef]
    [+ frames @ frames_coef] [+ audio @ audio_coef].
    The general model's graph comes inside, its names prefixed 'general/'."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    ncol = len(fit.spec["columns"])
    arrays = [(fit.coef.reshape(ncol, 1), "coef"), (np.array([fit.intercept]), "intercept")]
    inputs = [helper.make_tensor_value_info("num", TensorProto.FLOAT, ["N", ncol])]
    nodes = [helper.make_node("MatMul", ["num", "coef"], ["xw"]), helper.make_node("Add", ["xw", "intercept"], ["ridge"])]
    last, inits, opsets, ir = "ridge", [], [helper.make_opsetid("", 13)], 8
    if fit.general is not None:
        gen = compose.add_prefix(onnx.load_from_string(fit.general.onnx_bytes), "general/")
        g = gen.graph
        s, c = fit.general_map
        arrays += [(s, "general_map"), (c, "general_const"), (np.array([fit.general_coef]), "general_coef")]
        inits += list(g.initializer) + [numpy_helper.from_array(np.array([-1, 1], np.int64), "column")]
        text_name = fit.spec["text"]["input"]
        inputs.append(helper.make_tensor_value_info(text_name, TensorProto.STRING, ["N", 1]))
        nodes += [helper.make_node("MatMul", ["num", "general_map"], ["general_mapped"]),
                  helper.make_node("Add", ["general_mapped", "general_const"], ["general/num"])]
        if "general/" + text_name in {i.name for i in g.input}:
            nodes.append(helper.make_node("Identity", [text_name], ["general/" + text_name]))
        nodes += list(g.node) + [
            helper.make_node("Reshape", [g.output[0].name, "column"], ["general_pred"]),
            helper.make_node("Mul", ["general_pred", "general_coef"], ["general_part"]),
            helper.make_node("Add", [last, "general_part"], ["with_general"])]
        last, opsets, ir = "with_general", list(gen.opset_import), gen.ir_version
    for name, coef in fit.embed_coef.items():
        arrays.append((coef.reshape(-1, 1), f"{name}_coef"))
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", coef.size]))
        nodes += [helper.make_node("MatMul", [name, f"{name}_coef"], [f"{name}_part"]),
                  helper.make_node("Add", [last, f"{name}_part"], [f"with_{name}"])]
        last = f"with_{name}"
    nodes.append(helper.make_node("Identity", [last], ["pred"]))
    inits += [numpy_helper.from_array(np.asarray(a, np.float32), n) for a, n in arrays]
    graph = helper.make_graph(nodes, "personal_ridge", inputs,
                              [helper.make_tensor_value_info("pred", TensorProto.FLOAT, ["N", 1])], initializer=inits)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="virality-personal")
    model.ir_version = ir
    onnx.checker.check_model(model)
    return model.SerializeToString()
