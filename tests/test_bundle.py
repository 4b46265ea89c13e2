"""Model bundles (engine.models.bundle) and the committed default bundle."""
import json
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.errors import BundleError
from engine.features import spec as fs
from engine.features.spec import PostMeta
from engine.models.bundle import BUNDLE_FORMAT_VERSION, ModelBundle, default_bundle_path, write_bundle

ROOT = Path(__file__).resolve().parent.parent


def _tiny_model(n_cols: int, followers_col: int) -> bytes:
    """prediction = 2 + 0.5 * log_followers, as an ONNX graph over the `num` input."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.zeros((n_cols, 1), np.float32)
    w[followers_col, 0] = 0.5
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["num", "w"], ["z"]), helper.make_node("Add", ["z", "b"], ["prediction"])],
        "tiny",
        [helper.make_tensor_value_info("num", TensorProto.FLOAT, [None, n_cols])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([2.0], np.float32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _tiny_bundle(tmp_path: Path, label_column="popularity", name="tiny") -> Path:
    metas = [PostMeta(followers=10 ** i, caption=f"w{i} words", duration_s=5 + i) for i in range(6)]
    metas.append(PostMeta())
    names = [f.name for f in fs.FEATURES]
    spec = fs.fit_spec(fs.raw_matrix(metas, names), names, with_text=False)
    j = spec["columns"].index("log_followers")
    label = {"column": label_column, "transform": "log1p" if label_column == "views" else "none",
             "description": label_column}
    manifest = {
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "family": "ensemble",
        "model_file": "model.onnx",
        "feature_spec": spec,
        "label": label,
        "score": {"quantiles": list(np.linspace(2.0, 12.0, 101))},
        "calibration": {"bin_mean_prediction": [3.0, 6.0, 9.0], "share_top25": [0.05, 0.2, 0.6]},
        "view_range": {"available": label_column == "views", "residual_q25": -0.7, "residual_q75": 0.6},
    }
    return write_bundle(tmp_path / name, {"model.onnx": _tiny_model(len(spec["columns"]), j)}, manifest)


def test_write_and_load(tmp_path):
    path = _tiny_bundle(tmp_path)
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "model.onnx"]
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no temporary folders left
    m = json.loads((path / "manifest.json").read_text())
    assert len(m["files"]["model.onnx"]["sha256"]) == 64
    b = ModelBundle.load(path, device="cpu")
    assert b.name == "tiny" and b.provider == "CPUExecutionProvider" and not b.uses_cues
    pred = b.predict([PostMeta(followers=1000), PostMeta(followers=1e6), PostMeta()])
    assert pred.shape == (3,) and pred.dtype == np.float64
    assert pred[0] == pytest.approx(2 + 0.5 * np.log1p(1000), rel=1e-5)
    assert pred[1] > pred[0]
    assert b.percentile(2.0) == 0 and b.percentile(12.0) == 100 and b.percentile(7.0) == pytest.approx(50)
    assert b.percentile(-5) == 0 and b.percentile(50) == 100
    assert b.viral_probability(6.0) == pytest.approx(0.2) and b.viral_probability(100) == pytest.approx(0.6)
    assert b.view_range(8.0) is None  # a popularity label cannot give views
    assert b.predict([]).shape == (0,)


def test_view_range_for_a_views_label(tmp_path):
    b = ModelBundle.load(_tiny_bundle(tmp_path, "views", "views-model"))
    lo, hi = b.view_range(np.log1p(10000))
    assert lo < 10000 < hi
    assert lo == pytest.approx(np.expm1(np.log1p(10000) - 0.7))


def test_zip_bundle(tmp_path):
    path = _tiny_bundle(tmp_path)
    z = tmp_path / "tiny.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in path.iterdir():
            zf.write(p, f"tiny/{p.name}")
    assert ModelBundle.load(z).predict([PostMeta(followers=5)]).shape == (1,)


def test_tampered_file_is_refused(tmp_path):
    path = _tiny_bundle(tmp_path)
    data = bytearray((path / "model.onnx").read_bytes())
    data[-3] ^= 0x01
    (path / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        ModelBundle.load(path)


def _edit_manifest(path: Path, fn) -> None:
    m = json.loads((path / "manifest.json").read_text())
    fn(m)
    (path / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(format_version=BUNDLE_FORMAT_VERSION + 1), "format version"),
        (lambda m: m["feature_spec"].update(version=fs.FEATURE_SPEC_VERSION + 1), "feature spec"),
        (lambda m: m.update(family="transformer-xl"), "family"),
        (lambda m: m.pop("label"), "lacks 'label'"),
        (lambda m: m["files"].update({"weights.pkl": {"sha256": "0" * 64}}), "unacceptable file name"),
        (lambda m: m["files"].update({"../model.onnx": {"sha256": "0" * 64}}), "unacceptable file name"),
        (lambda m: m["files"].update({"other.onnx": {"sha256": "0" * 64}}), "missing"),
        (lambda m: m.update(model_file="nothing.onnx"), "model_file"),
        (lambda m: m["calibration"].update(share_top25=[0.1, 2.0, 0.5]), "calibration shares"),
        (lambda m: m["calibration"].update(bin_mean_prediction=[9.0, 6.0, 3.0]), "not in increasing order"),
        (lambda m: m["feature_spec"]["features"][0].update(range=[5.0, 1.0]), "unusable training range"),
        (lambda m: m["feature_spec"]["features"][0].update(range=[0.0, "NaN"]), "unusable training range"),
    ],
)
def test_damaged_manifest_is_refused(tmp_path, edit, message):
    path = _tiny_bundle(tmp_path)
    _edit_manifest(path, edit)
    with pytest.raises(BundleError, match=message):
        ModelBundle.load(path)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="no model bundle"):
        ModelBundle.load(tmp_path / "nothing")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(BundleError):
        ModelBundle.load(tmp_path / "x.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="manifest.json"):
        ModelBundle.load(tmp_path / "empty")
    path = _tiny_bundle(tmp_path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not JSON"):
        ModelBundle.load(path)


class _Trap:
    """Unpickling this creates `sentinel`: the side effect a malicious pickle would have."""

    def __init__(self, sentinel: Path):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def test_loading_never_unpickles(tmp_path):
    sentinel = tmp_path / "unpickled"
    trap = pickle.dumps(_Trap(sentinel))
    pickle.loads(trap).close()  # the trap works: unpickling it creates the file
    assert sentinel.exists()
    sentinel.unlink()
    path = _tiny_bundle(tmp_path)
    for name in ("model.pkl", "model.joblib", "model.onnx.pkl", "weights.npy"):
        (path / name).write_bytes(trap)  # stray pickles beside the model, under the names a loader might try
    b = ModelBundle.load(path)
    b.predict([PostMeta(followers=3)])
    zipped = shutil.make_archive(str(tmp_path / "zipped"), "zip", path)
    ModelBundle.load(zipped).predict([PostMeta(followers=3)])
    assert not sentinel.exists()


def test_rewrite_replaces_whole_and_failure_keeps_old(tmp_path, monkeypatch):
    path = _tiny_bundle(tmp_path)
    before = (path / "manifest.json").read_bytes()
    import engine.models.bundle as bundle_mod

    def broken(data):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod, "sha256_bytes", broken)
    with pytest.raises(OSError):
        _tiny_bundle(tmp_path)
    monkeypatch.undo()
    assert (path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]
    with pytest.raises(BundleError):
        write_bundle(tmp_path / "bad", {"a/b.onnx": b""}, {})
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]


# ------------------------------------------------------------------------------- the default bundle


def test_default_bundle_is_small_and_documented(default_bundle):
    path = default_bundle_path()
    assert path == ROOT / "resources" / "models" / "default"
    size = sum(p.stat().st_size for p in path.iterdir())
    assert size < 5 * 1024 * 1024
    m = default_bundle.manifest
    assert m["family"] == "ensemble" and m["backbone"] is None
    td = m["training_data"]
    assert td["name"] == "SMP-Video (SMP Challenge 2025, video track)"
    assert td["n_posts"] == 4000 and td["n_authors"] == 3488
    assert "research use" in td["licence"]
    assert "snapshot" in td["account_stats_note"] and "after" in td["account_stats_note"]
    assert m["feature_spec"]["version"] == fs.FEATURE_SPEC_VERSION
    assert m["label"]["column"] == "popularity"
    assert len(m["score"]["quantiles"]) == 101
    assert "suggested" not in json.dumps(m["feature_spec"])


def test_default_bundle_meets_the_targets(default_bundle):
    metrics = default_bundle.manifest["metrics"]
    full = metrics["grouped_cv"]["full"]
    assert full["ensemble"]["spearman"] >= 0.66
    assert full["ensemble"]["auc_top25"] >= 0.80
    for name in ("ridge", "forest", "boosting", "knn", "mlp", "mean", "followers_only"):
        assert name in full
    assert full["ensemble"]["auc_top25"] > full["followers_only"]["auc_top25"]
    # with only the follower count given, still no worse than follower count alone
    for section in ("grouped_cv", "time_split"):
        fo = metrics[section]["followers_only"]
        assert fo["ensemble"]["spearman"] >= fo["followers_only"]["spearman"]
        assert fo["ensemble"]["auc_top25"] >= fo["followers_only"]["auc_top25"]
    assert metrics["time_split"]["full"]["ensemble"]["n"] == 800


def test_default_bundle_predicts_more_for_a_bigger_account(default_bundle):
    base = dict(caption="Three easy dinner recipes #food #fyp", music_title="original sound", language="en",
                duration_s=25, width=720, height=1280)
    small = PostMeta(followers=2_000, following=300, author_likes=30_000, author_videos=80, **base)
    big = PostMeta(followers=2_000_000, following=300, author_likes=30_000_000, author_videos=80, **base)
    p_small, p_big = default_bundle.predict([small, big])
    assert p_big > p_small + 1
    only_followers = default_bundle.predict([PostMeta(followers=1e3, **base), PostMeta(followers=1e6, **base)])
    assert only_followers[1] > only_followers[0]
    assert default_bundle.percentile(p_big) > default_bundle.percentile(p_small)
    assert 0 <= default_bundle.viral_probability(p_small) <= default_bundle.viral_probability(p_big) <= 1
    assert default_bundle.view_range(p_big) is None


def test_scoring_path_imports_no_sklearn_or_torch():
    code = (
        "import sys\n"
        "from engine.models.bundle import ModelBundle, default_bundle_path\n"
        "from engine.features.spec import PostMeta\n"
        "import engine.evaluate\n"
        "b = ModelBundle.load(default_bundle_path())\n"
        "p = b.predict([PostMeta(caption='hello world', followers=1000)])\n"
        "b.percentile(p[0]); b.viral_probability(p[0])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'torch', 'skl2onnx', 'onnx')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
