"""Start-up: --version and score --help load no heavy library; a score's cue models load beside the rest.
(How long each takes is measured by benchmarks/bench_startup.py, not here.)"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from media_factory import make_video

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "av", "onnxruntime", "PySide6", "torch", "sklearn")
#: what a `score` with the built-in model has no use for: training and plotting libraries, Qt, OpenCV, numpy's
#: masked arrays (np.median imports numpy.ma for its NaN check: 12 ms of every cold score), and batch's process pool
NOT_FOR_SCORE = ("numpy.ma", "scipy", "pandas", "sklearn", "torch", "torchvision", "matplotlib", "PySide6", "cv2",
                 "PIL", "rapidocr", "tokenizers", "skl2onnx", "onnx", "multiprocessing", "concurrent.futures.process")


def test_version_and_help_import_nothing_heavy():
    code = (
        "import sys, runpy, io, contextlib\n"
        "for argv in (['main.py', '--version'], ['main.py', 'score', '--help']):\n"
        "    sys.argv = argv\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            runpy.run_path('main.py', run_name='__main__')\n"
        "        except SystemExit:\n"
        "            pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_start_loading_loads_the_cue_models_and_returns_at_once():
    from engine.cues import faces, measure, onscreen_text

    helper = measure.start_loading("cpu")
    assert not helper.daemon  # a process that ends meanwhile waits for it instead of aborting in ONNX Runtime
    helper.join(timeout=60)
    assert not helper.is_alive()
    assert faces._sessions.get(False) is not None and onscreen_text._models
    assert faces.detect_faces([]).counts == []
    assert measure.speech.speech_probabilities(np.zeros(measure.speech.WINDOW, np.float32)).shape == (1,)


def test_start_loading_swallows_a_bad_device_for_measure_cues_to_report():
    from engine.cues import measure

    helper = measure.start_loading("tpu")
    helper.join(timeout=60)
    assert not helper.is_alive()


def test_a_score_of_the_built_in_model_imports_only_what_it_uses(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", seconds=4.0, size=(360, 640), cuts_at=(1.0, 2.0, 3.0))
    code = (
        "import sys, io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    import main\n"
        f"    assert main.main(['score', {str(clip)!r}, '--json', '--device', 'cpu']) == 0\n"
        f"print(sorted(m for m in {NOT_FOR_SCORE!r} if m in sys.modules))\n"
        "from threadpoolctl import threadpool_info\n"  # after the list: sklearn's dependency, not the score's
        "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_NUM_THREADS", "_MAXIMUM_THREADS"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    modules, blas = out.stdout.splitlines()
    assert modules == "[]", modules
    assert blas == "[1]", blas  # numpy's BLAS started no thread pool (one_blas_thread)


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5, 1, 4, 2, 3], np.arange(10, dtype=np.float32) ** 1.5,
                                    np.random.default_rng(0).random(11), [0.1, 0.7, 0.2, 0.9]])
def test_median_is_numpys(values):
    from engine.cues.visual import median

    assert median(values) == float(np.median(values))


def _face_session_output(session) -> np.ndarray:
    x = np.random.default_rng(1).random((1, 3, 64, 96), dtype=np.float32)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_a_cpu_model_is_loaded_from_its_optimised_copy_with_the_same_outputs(tmp_path, monkeypatch):
    import onnxruntime as ort

    from engine import runtime
    from engine.cues.faces import centerface_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    copy = runtime.optimised_copy(str(centerface_path()))
    assert copy is not None and copy.is_relative_to(tmp_path) and not copy.exists()
    first, _ = runtime.make_session(centerface_path(), "cpu", threads=1)
    assert copy.is_file() and not list(copy.parent.glob("*.part.onnx"))  # written by the first session
    second, _ = runtime.make_session(centerface_path(), "cpu", threads=1)
    opts = second.get_session_options()
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the copy, not optimised again
    monkeypatch.setenv(runtime.CACHE_ENV, "0")
    assert runtime.optimised_copy(str(centerface_path())) is None
    plain, _ = runtime.make_session(centerface_path(), "cpu", threads=1)
    assert plain.get_session_options().graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    np.testing.assert_allclose(_face_session_output(second), _face_session_output(plain), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_face_session_output(first), _face_session_output(plain), rtol=1e-5, atol=1e-6)


def test_a_damaged_or_unwritable_copy_still_gives_a_session(tmp_path, monkeypatch):
    from engine import runtime
    from engine.cues.faces import centerface_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    copy = runtime.optimised_copy(str(centerface_path()))
    copy.parent.mkdir(parents=True, exist_ok=True)  # holds the model's content id already
    copy.write_bytes(b"not a model")
    session, _ = runtime.make_session(centerface_path(), "cpu", threads=1)
    assert _face_session_output(session).shape[0] == 1
    assert copy.stat().st_size > 1000  # made again
    shutil.rmtree(copy.parent)
    copy.parent.write_bytes(b"")  # a file where the folder should be: nothing can be written
    session, _ = runtime.make_session(centerface_path(), "cpu", threads=1)
    assert _face_session_output(session).shape[0] == 1


def test_copies_of_another_runtime_are_removed_when_a_new_copy_is_written(tmp_path, monkeypatch):
    """After an ONNX Runtime upgrade (or on another processor) the old copies are never loaded again: writing a
    new copy removes them, and the loose copies of the layout before the per-runtime folders, but not a folder
    where a copy is being written, nor anything when a session only loads its copy."""
    from engine import runtime
    from engine.cues.faces import centerface_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    real_key = runtime._machine_key()
    monkeypatch.setattr(runtime, "_machine_key", lambda: "1.0.0|x86_64|an older runtime")
    runtime.make_session(centerface_path(), "cpu", threads=1)
    old = runtime.optimised_copy(str(centerface_path()))
    assert old.is_file()
    root = old.parent.parent
    flat = root / "centerface-0123456789abcdef0123.onnx"  # the layout before the folders
    flat.write_bytes(b"old")
    writing = root / "feedfacefeedface"  # another process (another install) is writing a copy there
    writing.mkdir()
    (writing / "centerface-aaaaaaaaaaaaaaaaaaaa.onnx").write_bytes(b"copy")
    (writing / "centerface-bbbbbbbbbbbbbbbbbbbb.4242-7.part.onnx").write_bytes(b"half")
    loose_part = root / "model-cccccccccccccccccccc.4242-8.part.onnx"
    loose_part.write_bytes(b"half")

    monkeypatch.setattr(runtime, "_machine_key", lambda: real_key)
    runtime.make_session(centerface_path(), "cpu", threads=1)
    new = runtime.optimised_copy(str(centerface_path()))
    assert new.is_file() and new.parent != old.parent
    assert not old.parent.exists() and not flat.exists()
    assert sorted(p.name for p in writing.iterdir()) == ["centerface-aaaaaaaaaaaaaaaaaaaa.onnx",
                                                          "centerface-bbbbbbbbbbbbbbbbbbbb.4242-7.part.onnx"]
    assert loose_part.exists()

    stale = root / "0000000000000000"
    stale.mkdir()
    (stale / "centerface-dddddddddddddddddddd.onnx").write_bytes(b"old")
    runtime.make_session(centerface_path(), "cpu", threads=1)  # loads the copy: no listing, nothing removed
    assert (stale / "centerface-dddddddddddddddddddd.onnx").exists()


def test_text_detection_does_not_wait_for_the_recogniser(monkeypatch):
    from engine.cues import onscreen_text
    from engine.media import SampledFrame

    monkeypatch.setattr(onscreen_text, "_models", {})
    scan = onscreen_text.TextScan("cpu")
    scan.add(SampledFrame(0.0, 0.0, 0, np.zeros((64, 64, 3), np.uint8)))
    assert [k[0] for k in onscreen_text._models] == ["det"]  # the recogniser is made when a sample is read
    assert scan.result().lines == [0]


def test_score_ends_without_the_teardown_once_its_output_and_model_copies_are_whole(tmp_path):
    """A score's process ends at once after its output (main.QUICK_EXIT): the interpreter's teardown is skipped
    (an atexit hook never runs), yet the JSON is complete and the optimised model copies that the first score
    writes in its loader thread are whole (the thread is waited for)."""
    import json

    clip = make_video(tmp_path / "clip.mp4", seconds=3.0, size=(360, 640), cuts_at=(1.5,))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import atexit, pathlib\n"
        f"atexit.register(lambda: pathlib.Path({str(tmp_path / 'torn-down')!r}).write_text('yes'))\n")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=os.pathsep.join([str(hooks), str(ROOT)]))
    env.pop("VIRALITY_ONNX_CACHE", None)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "score", str(clip), "--json", "-q"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cues"]
    assert not (tmp_path / "torn-down").exists()
    copies = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "data").rglob("*.onnx"))
    assert copies == ["PP-OCRv6_det_small_int8", "PP-OCRv6_rec_small", "centerface_int8", "model", "silero_vad_seq"], copies
    assert not list((tmp_path / "data").rglob("*.part.onnx"))
    version = subprocess.run([sys.executable, str(ROOT / "main.py"), "--version"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and (tmp_path / "torn-down").read_text() == "yes"  # other commands end as usual


def test_one_copy_per_model_content_whatever_its_install_path(tmp_path, monkeypatch):
    """The same model file under two install paths (or reinstalled: a new time) shares one optimised copy, its
    content hashed once per path and time, not per session; an updated model of the same name replaces its old
    copy, never a copy being written."""
    import hashlib

    from engine import runtime
    from engine.cues.faces import centerface_path
    from engine.cues.speech import model_path as another_model

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    a, b = tmp_path / "install-a" / "centerface.onnx", tmp_path / "install-b" / "centerface.onnx"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copyfile(centerface_path(), p)
    runtime.make_session(a, "cpu", threads=1)
    copy = runtime.optimised_copy(str(a))
    assert copy.is_file()
    hashed = []
    real_sha = hashlib.sha256

    def counting(*args):
        h = real_sha(*args)
        if not args:  # a file hashed chunk by chunk
            hashed.append(1)
        return h

    monkeypatch.setattr(hashlib, "sha256", counting)
    runtime.make_session(b, "cpu", threads=1)
    assert runtime.optimised_copy(str(b)) == copy and len(hashed) == 1  # the other path: hashed once, same copy
    os.utime(a, ns=(1, 1))  # reinstalled: a new time
    runtime.make_session(a, "cpu", threads=1)
    runtime.make_session(b, "cpu", threads=1)
    runtime.make_session(a, "cpu", threads=1)
    assert len(hashed) == 2 and runtime.optimised_copy(str(a)) == copy
    onnx = sorted(p.name for p in copy.parent.glob("*.onnx"))
    assert onnx == [copy.name]

    writing = copy.with_name("centerface-ffffffffffffffffffff.123-4.part.onnx")
    writing.write_bytes(b"half")
    other = copy.with_name("centerface_other-ffffffffffffffffffff.onnx")  # another model: kept
    other.write_bytes(b"x")
    shutil.copyfile(another_model(), b)  # an updated model of the same name (another content)
    runtime.make_session(b, "cpu", threads=1)
    new = runtime.optimised_copy(str(b))
    assert new != copy and new.is_file() and not copy.exists()
    assert writing.exists() and other.exists()


def _tiny_model(k: float) -> bytes:
    """A small ONNX model (y = x + k) as bytes, its content different for each k, as a bundle's model is."""
    import onnx
    from onnx import TensorProto, helper

    const = helper.make_tensor("k", TensorProto.FLOAT, [1], [k])
    graph = helper.make_graph([helper.make_node("Add", ["x", "k"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [const])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def test_the_copies_of_models_given_as_bytes_are_bounded_to_the_most_recently_used(tmp_path, monkeypatch):
    """Each retrained bundle's model (given as bytes, named by its content) made a copy that stayed for good: now
    only the MAX_BYTES_COPIES most recently used stay (a session that loads one makes it recent), the oldest is
    removed as a new one is written, never a copy being written nor the copy of a model file."""
    from engine import runtime
    from engine.cues.faces import centerface_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    monkeypatch.setattr(runtime, "MAX_BYTES_COPIES", 3)
    models = [_tiny_model(float(k)) for k in range(5)]
    copies = [runtime.optimised_copy(m) for m in models]
    assert len({c.name for c in copies}) == 5 and all(c.name.startswith("model-") for c in copies)
    runtime.make_session(centerface_path(), "cpu", threads=1)  # a model file's copy: never counted or pruned
    named = runtime.optimised_copy(str(centerface_path()))
    for m in models[:3]:
        runtime.make_session(m, "cpu", threads=1)
    assert all(c.is_file() for c in copies[:3])
    now = time.time()
    for age, c in zip((300, 200, 100), copies[:3]):  # used in this order, a while ago
        os.utime(c, (now - age, now - age))
    writing = copies[0].with_name(copies[0].stem[:-1] + "f.4242-7.part.onnx")
    writing.write_bytes(b"half")
    os.utime(writing, (now - 900, now - 900))
    session, _ = runtime.make_session(models[0], "cpu", threads=1)  # loads its copy: now the most recent
    assert session.run(None, {"x": np.array([1.0], np.float32)})[0][0] == 1.0
    assert all(c.is_file() for c in copies[:3])  # loading prunes nothing
    runtime.make_session(models[3], "cpu", threads=1)  # a new copy: the least recently used one goes
    assert [c.is_file() for c in copies] == [True, False, True, True, False]
    runtime.make_session(models[4], "cpu", threads=1)
    assert [c.is_file() for c in copies] == [True, False, False, True, True]
    assert writing.exists() and named.is_file()
    session, _ = runtime.make_session(models[1], "cpu", threads=1)  # a pruned one is simply made again
    assert session.run(None, {"x": np.array([1.0], np.float32)})[0][0] == 2.0 and copies[1].is_file()
