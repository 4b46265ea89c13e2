"""What the build does to make the frozen app smaller: float16-stored ONNX weights (packaging/onnx_weights.py)
and the ELF checks behind stripping and relinking (packaging/slim.py)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "packaging"))
import onnx_weights  # noqa: E402
import slim  # noqa: E402

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _mlp(path: Path) -> Path:
    """A small float32 MLP with two large weights, one small bias and one weight beyond float16's range."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.2, (64, 128)).astype(np.float32)
    w2 = rng.normal(0, 0.2, (128, 8)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 128).astype(np.float32)
    big = np.full((32, 64), 1e5, np.float32)  # beyond 65504: must stay float32
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"]),
             helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0)]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (b1, "b1"), (big, "big"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_halve_weights_stores_large_weights_as_float16_and_keeps_float32_compute(tmp_path):
    src = _mlp(tmp_path / "mlp.onnx")
    dst = tmp_path / "mlp16.onnx"
    converted, saved = onnx_weights.halve_weights(src, dst)
    assert converted == 2 and saved == (64 * 128 + 128 * 8) * 2  # w1, w2; not the bias, not the huge one
    model = onnx.load(str(dst))
    kinds = {i.name: i.data_type for i in model.graph.initializer}
    assert kinds["w1__fp16"] == onnx.TensorProto.FLOAT16 and kinds["b1"] == kinds["big"] == onnx.TensorProto.FLOAT
    assert src.stat().st_size - dst.stat().st_size >= 0.95 * saved
    x = np.random.default_rng(1).normal(size=(5, 64)).astype(np.float32)
    y32, s32 = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    y16, s16 = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    assert y16.dtype == np.float32 and s16 == s32 == np.float32(1e5 * 32 * 64)
    rel = np.abs(y16 - y32).max() / np.abs(y32).max()
    assert 0 < rel < 2e-3  # float16 rounding of the weights, nothing more


def test_halve_weights_on_the_shipped_text_detector(tmp_path):
    """The PP-OCR detector the installers ship: half the size, the same text map to 1e-3."""
    from importlib.util import find_spec

    spec = find_spec("rapidocr")
    if spec is None:
        pytest.skip("rapidocr is not installed")
    det = Path(list(spec.submodule_search_locations)[0]) / "models" / "PP-OCRv6_det_small.onnx"
    dst = tmp_path / det.name
    onnx_weights.halve_weights(det, dst)
    assert dst.stat().st_size < 0.55 * det.stat().st_size
    skimage_data = pytest.importorskip("skimage.data")
    img = skimage_data.astronaut()[:256, :256].astype(np.float32) / 255.0
    x = ((img - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
    a = ort.InferenceSession(str(det), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    b = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(a - b).max() < 1e-3


# --------------------------------------------------------------------------------------------- ELF


def _an_extension_module() -> Path:
    from importlib.util import find_spec

    return Path(find_spec("numpy._core._multiarray_umath").origin)  # a real shared library from a wheel


def test_load_segments_ok_accepts_real_libraries_and_refuses_a_misaligned_one(tmp_path):
    lib = _an_extension_module()
    assert slim.is_elf(lib) and slim.load_segments_ok(lib)
    assert not slim.is_elf(ROOT / "main.py") and not slim.load_segments_ok(ROOT / "main.py")
    bad = tmp_path / "bad.so"
    shutil.copy(lib, bad)
    data = bytearray(bad.read_bytes())
    e_phoff, = struct.unpack_from("<Q", data, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(e_phnum):
        at = e_phoff + i * e_phentsize
        if struct.unpack_from("<I", data, at)[0] == 1:  # the first PT_LOAD: shift its file offset by 16 bytes
            p_offset, = struct.unpack_from("<Q", data, at + 8)
            struct.pack_into("<Q", data, at + 8, p_offset + 16)
            break
    bad.write_bytes(bytes(data))
    assert not slim.load_segments_ok(bad)


@pytest.mark.skipif(shutil.which("strip") is None, reason="binutils' strip is not installed")
def test_strip_all_shrinks_and_keeps_libraries_loadable(tmp_path):
    internal = tmp_path / "_internal"
    internal.mkdir()
    from importlib.util import find_spec

    spec = find_spec("yaml._yaml") if find_spec("yaml") else None  # PyYAML's C extension keeps its symbols
    src = Path(spec.origin) if spec and spec.origin else None
    if src is None or not slim.is_elf(src):
        pytest.skip("PyYAML has no C extension here")
    lib = internal / src.name
    shutil.copy(src, lib)
    saved = slim.strip_all(internal, log=lambda m: None)
    assert saved > 0 and lib.stat().st_size == src.stat().st_size - saved
    assert slim.load_segments_ok(lib)
    code = (f"import yaml, importlib.util as u; s = u.spec_from_file_location('yaml._yaml', {str(lib)!r});"
            "m = u.module_from_spec(s); s.loader.exec_module(m); print(m.CParser.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "CParser", out.stderr


# --------------------------------------------------------------------------------------------- notices

import notices  # noqa: E402


def test_notices_list_what_was_collected_with_licence_texts(tmp_path):
    out = notices.write_notices(["numpy._core.multiarray", "av/video/frame.abi3.so", "engine.cues", "main"],
                                tmp_path / "THIRD_PARTY.txt", ffmpeg_libs=["libavcodec-0.so.62", "libx264-0.so.165"],
                                data_sources={"onnxruntime": "a test: shipped as data"})
    text = out.read_text(encoding="utf-8")
    heads = [line for line in text.splitlines() if "   licence: " in line]
    names = [h.split()[0].lower() for h in heads]
    assert names == ["av", "numpy", "onnxruntime"]  # sorted; our own package is not listed
    assert "shipped as data only: a test: shipped as data" in text
    assert "libx264-0.so.165" in text and "FFmpeg" in text
    # numpy's own licence text is copied in, not just named
    assert "Copyright (c)" in text and "NumPy Developers" in text
