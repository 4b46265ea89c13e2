"""Bundles that cannot give a meaningful score are refused at load with their reason, and a model that outputs
NaN is an error for that video, never a score (issue 10 §4)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.errors import BundleError
from engine.features.spec import PostMeta
from engine.models import bundle as bundle_mod
from engine.models.bundle import ModelBundle, sha256_bytes
from engine.scoring import score_many
from media_factory import make_video
from test_bundle import _edit_manifest, _tiny_bundle


def _graph(n_cols: int, bias: float = 2.0, input_type=None, out_cols: int = 1) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    w = np.full((n_cols, out_cols), 0.01, np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["num", "w"], ["z"]), helper.make_node("Add", ["z", "b"], ["prediction"])],
        "g",
        [helper.make_tensor_value_info("num", input_type or TensorProto.FLOAT, [None, n_cols])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, out_cols])],
        initializer=[numpy_helper.from_array(w.astype(np.float64) if input_type == TensorProto.DOUBLE else w, "w"),
                     numpy_helper.from_array(np.array([bias], np.float64 if input_type == TensorProto.DOUBLE
                                                      else np.float32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _replace_model(path: Path, blob: bytes) -> None:
    (path / "model.onnx").write_bytes(blob)
    _edit_manifest(path, lambda m: m["files"]["model.onnx"].update(sha256=sha256_bytes(blob)))


def _n_cols(path: Path) -> int:
    return len(json.loads((path / "manifest.json").read_text())["feature_spec"]["columns"])


@pytest.mark.parametrize("quantiles, message", [
    ([], "at least 2 numbers"),
    ([4.0], "at least 2 numbers"),
    (None, "at least 2 numbers"),
    (["low", "high"], "not finite numbers"),
    ([1.0, float("nan"), 3.0], "not finite numbers"),
    ([True, False], "not finite numbers"),
    (list(np.linspace(12.0, 2.0, 101)), "not in increasing order"),
    ([5.0] * 101, "all the same value"),
])
def test_unusable_score_quantiles_are_refused(tmp_path, quantiles, message):
    path = _tiny_bundle(tmp_path)
    _edit_manifest(path, lambda m: m["score"].update(quantiles=quantiles))
    with pytest.raises(BundleError, match=message):
        ModelBundle.load(path)


def test_negative_quantiles_are_refused_for_a_log_views_label(tmp_path):
    path = _tiny_bundle(tmp_path, label_column="views")
    _edit_manifest(path, lambda m: m["score"].update(quantiles=list(np.linspace(-3.0, 12.0, 101))))
    with pytest.raises(BundleError, match="negative"):
        ModelBundle.load(path)
    # a label that can be negative (a creator model's log ratio to their median) keeps them
    path = _tiny_bundle(tmp_path / "ratio")
    _edit_manifest(path, lambda m: m["score"].update(quantiles=list(np.linspace(-3.0, 3.0, 101))))
    ModelBundle.load(path)


def test_a_model_with_the_right_input_names_but_the_wrong_shape_is_refused_at_load(tmp_path):
    from onnx import TensorProto

    path = _tiny_bundle(tmp_path)
    _replace_model(path, _graph(_n_cols(path) + 3))
    with pytest.raises(BundleError, match=r"input 'num' is tensor\(float\) of shape \[None, \d+\]"):
        ModelBundle.load(path)
    _replace_model(path, _graph(_n_cols(path), input_type=TensorProto.DOUBLE))
    with pytest.raises(BundleError, match=r"tensor\(double\)"):
        ModelBundle.load(path)


def test_nan_output_is_an_error_for_that_video_never_a_score(tmp_path):
    path = _tiny_bundle(tmp_path)
    _replace_model(path, _graph(_n_cols(path), bias=float("nan")))
    b = ModelBundle.load(path)
    with pytest.raises(BundleError, match="gave nan instead of a prediction"):
        b.predict([PostMeta(followers=100)])
    video = make_video(tmp_path / "clip.mp4", seconds=1.0, size=(360, 640), audio=None)
    (item,) = list(score_many([video], bundle_path=path, workers=1, device="cpu"))
    assert not item.ok and "instead of a prediction" in item.error


def test_symlinked_bundle_files_are_refused(tmp_path):
    path = _tiny_bundle(tmp_path)
    outside = tmp_path / "elsewhere.onnx"
    os.replace(path / "model.onnx", outside)
    os.symlink(outside, path / "model.onnx")  # same bytes, same sha256: still not the bundle's own file
    with pytest.raises(BundleError, match="symbolic link"):
        ModelBundle.load(path)
    (path / "model.onnx").unlink()
    os.symlink("/dev/zero", path / "model.onnx")
    with pytest.raises(BundleError, match="symbolic link"):
        ModelBundle.load(path)
    other = _tiny_bundle(tmp_path / "b")
    os.replace(other / "manifest.json", tmp_path / "m.json")
    os.symlink(tmp_path / "m.json", other / "manifest.json")
    with pytest.raises(BundleError, match="symbolic link"):
        ModelBundle.load(other)


def test_oversized_bundle_files_are_refused_before_reading(tmp_path, monkeypatch):
    path = _tiny_bundle(tmp_path)
    size = (path / "model.onnx").stat().st_size
    monkeypatch.setattr(bundle_mod, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(BundleError, match=f"{size:,} bytes, more than"):
        ModelBundle.load(path)
    # in a zip too
    import shutil

    monkeypatch.setattr(bundle_mod, "MAX_FILE_BYTES", 1 << 30)
    z = Path(shutil.make_archive(str(tmp_path / "zipped"), "zip", path))
    ModelBundle.load(z)
    monkeypatch.setattr(bundle_mod, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(BundleError, match="more than"):
        ModelBundle.load(z)

