"""The ONNX export of the virality ensemble (engine.models.ensemble; training side: imports skl2onnx and onnx).

One graph: the caption text's TF-IDF/SVD components computed inside it, then the members with non-zero weight
as one weighted VotingRegressor (skl2onnx), every name made canonical so that one model always gives the same
bytes. skl2onnx's tree converter is adjusted during export; the releases that adjustment is tested with are
pinned (SKL2ONNX_TESTED) and any other is refused with one line.

Floating point: the ONNX graph reads float32. The numeric features are float32 values (the spec rounds
them), the text components are computed in float64 in both scikit-learn and ONNX and rounded to float32,
and the tree thresholds are exported so that float32 comparisons equal scikit-learn's; the ONNX output
equals scikit-learn's within float32 summation error (~1e-6).
"""
from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..errors import BundleError

if TYPE_CHECKING:
    from .ensemble import TextModel, TrainedEnsemble

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
ONNX_INPUT_NUM = "num"
ONNX_INPUT_TEXT = "text"
ONNX_OUTPUT = "prediction"

#: the skl2onnx releases (major.minor) _exact_tree_thresholds is tested with; pyproject's train extra pins the same
SKL2ONNX_TESTED = ("1.20",)


def check_skl2onnx(version: Optional[str] = None, add_node=None) -> None:
    """Refuse, with one line saying what to install, a skl2onnx the exporter's patch is not tested with: the patch
    replaces a private function's argument by position, and on another release it could write a model that
    silently differs from scikit-learn's."""
    import inspect

    if version is None or add_node is None:
        import skl2onnx
        import skl2onnx.common.tree_ensemble as te

        version, add_node = skl2onnx.__version__, te.add_node
    params = list(inspect.signature(add_node).parameters)
    if ".".join(version.split(".")[:2]) not in SKL2ONNX_TESTED or params[13:14] != ["adjust_threshold_for_sklearn"]:
        raise BundleError(
            f"skl2onnx {version} is installed, but the ensemble's ONNX export is tested with skl2onnx "
            f"{' or '.join(v + '.x' for v in SKL2ONNX_TESTED)} only (it adjusts skl2onnx's tree converter): "
            f"pip install 'skl2onnx=={SKL2ONNX_TESTED[-1]}.*'")


@contextlib.contextmanager
def _exact_tree_thresholds():
    """skl2onnx 1.20 writes histogram-gradient-boosting thresholds rounded to float32 (a float32 input on the
    rounded side of a threshold then takes the other branch) and a Python bool where onnx>=1.16 wants an
    int. During export only, make every tree threshold the largest float32 <= scikit-learn's (exact for
    float32 inputs, as random forests already get) and the bool an int."""
    import skl2onnx.common.tree_ensemble as te

    check_skl2onnx()
    original = te.add_node

    def add_node(*args, **kwargs):
        if "nodes_missing_value_tracks_true" in kwargs:
            kwargs["nodes_missing_value_tracks_true"] = int(kwargs["nodes_missing_value_tracks_true"])
        if "adjust_threshold_for_sklearn" in kwargs:
            kwargs["adjust_threshold_for_sklearn"] = True
        elif len(args) > 13:
            args = args[:13] + (True,) + args[14:]
        return original(*args, **kwargs)

    te.add_node = add_node
    try:
        yield
    finally:
        te.add_node = original


def _tfidf_svd_nodes(text: TextModel, counts_name: str, out_name: str):
    """ONNX nodes for TfidfTransformer(sublinear_tf, l2) + TruncatedSVD, in float64 as scikit-learn computes
    them (skl2onnx's own converter takes ln(1 + tf) for sublinear tf and divides 0 by 0 on empty rows)."""
    from onnx import TensorProto, helper, numpy_helper

    idf = text.tfidf.idf_.astype(np.float64)
    comp_t = np.ascontiguousarray(text.svd.components_.T.astype(np.float64))
    inits = [
        numpy_helper.from_array(idf, "tx_idf"),
        numpy_helper.from_array(comp_t, "tx_components_t"),
        numpy_helper.from_array(np.array(0.0), "tx_zero"),
        numpy_helper.from_array(np.array(1.0), "tx_one"),
    ]
    n = helper.make_node
    nodes = [
        n("Cast", [counts_name], ["tx_c"], to=TensorProto.DOUBLE),
        n("Greater", ["tx_c", "tx_zero"], ["tx_pos"]),
        n("Max", ["tx_c", "tx_one"], ["tx_c1"]),  # log of >= 1 only: no -inf anywhere
        n("Log", ["tx_c1"], ["tx_log"]),
        n("Add", ["tx_log", "tx_one"], ["tx_log1"]),
        n("Where", ["tx_pos", "tx_log1", "tx_zero"], ["tx_tf"]),
        n("Mul", ["tx_tf", "tx_idf"], ["tx_w"]),
        n("ReduceSumSquare", ["tx_w"], ["tx_ss"], axes=[1], keepdims=1),
        n("Sqrt", ["tx_ss"], ["tx_norm"]),
        n("Equal", ["tx_norm", "tx_zero"], ["tx_isz"]),
        n("Where", ["tx_isz", "tx_one", "tx_norm"], ["tx_norm1"]),
        n("Div", ["tx_w", "tx_norm1"], ["tx_l2"]),
        n("MatMul", ["tx_l2", "tx_components_t"], ["tx_z"]),
        n("Cast", ["tx_z"], [out_name], to=TensorProto.FLOAT),
    ]
    return nodes, inits


def export_onnx(trained: TrainedEnsemble) -> bytes:
    """One ONNX graph: inputs `num` float32 [N, C] (+ `text` string [N, 1]), output `prediction` float32
    [N, 1] (the predicted label). Deterministic for a given model."""
    import onnx
    from onnx import TensorProto, compose, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.feature_extraction.text import CountVectorizer

    spec = trained.spec
    fit = trained.fit
    n_num = len(spec["columns"])
    n_txt = fit.text.n_components if spec.get("text") else 0
    with _exact_tree_thresholds(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vote = convert_sklearn(
            trained.voting(),
            initial_types=[("X", FloatTensorType([None, n_num + n_txt]))],
            target_opset=TARGET_OPSET,
        )
    vote = compose.add_prefix(vote, "ens_")
    nodes = []
    inits = []
    inputs = [helper.make_tensor_value_info(ONNX_INPUT_NUM, TensorProto.FLOAT, [None, n_num])]
    opsets = {o.domain: o.version for o in vote.opset_import}
    if n_txt:
        count = convert_sklearn(
            fit.text.count,
            initial_types=[(ONNX_INPUT_TEXT, StringTensorType([None, 1]))],
            options={CountVectorizer: {"separators": [" "]}},
            target_opset=TARGET_OPSET,
        )
        count = compose.add_prefix(count, "cnt_")
        inputs.append(helper.make_tensor_value_info(ONNX_INPUT_TEXT, TensorProto.STRING, [None, 1]))
        nodes.append(helper.make_node("Identity", [ONNX_INPUT_TEXT], [count.graph.input[0].name]))
        nodes.extend(count.graph.node)
        inits.extend(count.graph.initializer)
        tnodes, tinits = _tfidf_svd_nodes(fit.text, count.graph.output[0].name, "tx_out")
        nodes.extend(tnodes)
        inits.extend(tinits)
        nodes.append(helper.make_node("Concat", [ONNX_INPUT_NUM, "tx_out"], [vote.graph.input[0].name], axis=1))
        for o in count.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    else:
        nodes.append(helper.make_node("Identity", [ONNX_INPUT_NUM], [vote.graph.input[0].name]))
    nodes.extend(vote.graph.node)
    inits.extend(vote.graph.initializer)
    nodes.append(helper.make_node("Identity", [vote.graph.output[0].name], [ONNX_OUTPUT]))
    graph = helper.make_graph(
        nodes,
        "virality_ensemble",
        inputs,
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, [None, 1])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
        producer_name="virality-studio",
        producer_version="1",
    )
    model.ir_version = vote.ir_version
    _canonical_names(model)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _canonical_names(model) -> None:
    """Rename every node and inner tensor in order of appearance. skl2onnx numbers some names from
    process-wide counters (the kNN's Scan body), so the same model exported twice in one process would
    otherwise differ in bytes. Graph inputs and outputs keep their names."""
    from onnx import AttributeProto

    fixed = {i.name for i in model.graph.input} | {o.name for o in model.graph.output}
    names: dict[str, str] = {}
    counter = [0]

    def rename(name: str) -> str:
        if not name or name in fixed:
            return name
        if name not in names:
            names[name] = f"t{len(names)}"
        return names[name]

    def walk(graph) -> None:
        for t in graph.initializer:
            t.name = rename(t.name)
        for seq in (graph.input, graph.output, graph.value_info):
            for v in seq:
                v.name = rename(v.name)
        for node in graph.node:
            node.name = f"n{counter[0]}"
            counter[0] += 1
            node.input[:] = [rename(x) for x in node.input]
            node.output[:] = [rename(x) for x in node.output]
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    walk(attr.g)
                elif attr.type == AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        walk(g)

    walk(model.graph)
