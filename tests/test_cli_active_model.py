"""The active model outside the window: engine.models.active (no Qt), `--version`, and `score` / `batch`
using it when no --model is given."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from media_factory import make_video

DEFAULT_NAME = "virality-ensemble-smp-video"


@pytest.fixture
def user_data(user_dirs):
    """The test's empty user data folder, here and in the subprocesses run_cli starts."""
    from engine.models import active

    return active.data_dir()


def copy_default(dest: Path, name: str) -> Path:
    from engine.models.active import default_bundle_path

    shutil.copytree(default_bundle_path(), dest)
    m = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    m["name"] = name
    (dest / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return dest


# ----------------------------------------------------------------------------- engine.models.active


def test_default_path_is_the_embedded_bundle_found_without_numpy():
    """active.default_bundle_path (which engine.models.bundle delegates to) is the embedded default model, and
    finding it loads no numpy (the CLI's --version and the About box use it before anything heavy)."""
    from engine.models import active
    from engine.models.bundle import ModelBundle

    path = active.default_bundle_path()
    assert path.resolve() == (ROOT / "resources" / "models" / "default").resolve()
    assert ModelBundle.load(path).name == DEFAULT_NAME
    code = ("import sys; from engine.models.active import default_bundle_path; p = default_bundle_path(); "
            "print((p / 'manifest.json').is_file(), 'numpy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False"]


def test_active_model_choice_round_trip(user_data, tmp_path):
    from engine.models import active

    assert active.active_model() == active.ActiveModelChoice(active.default_bundle_path(), True)
    run = copy_default(tmp_path / "run", "mine")
    active.set_active_model(run)
    assert active.active_model() == active.ActiveModelChoice(run.resolve(), False)
    assert json.loads((user_data / "active_model.json").read_text())["path"] == str(run.resolve())
    active.set_active_model(active.default_bundle_path())  # the built-in one clears the choice
    assert not (user_data / "active_model.json").exists()
    active.set_active_model(run)
    shutil.rmtree(run)  # a chosen bundle that has gone: the default, saying which one went
    assert active.active_model() == active.ActiveModelChoice(active.default_bundle_path(), True, gone=run.resolve())
    (user_data / "active_model.json").write_text("{damaged", encoding="utf-8")
    assert active.active_model_path() == active.default_bundle_path()


def test_summary_reads_a_zipped_bundle(tmp_path):
    from engine.models import active

    run = copy_default(tmp_path / "zipped-run", "zipped")
    archive = shutil.make_archive(str(tmp_path / "zipped-run"), "zip", tmp_path, "zipped-run")
    s = active.read_bundle_summary(archive)
    assert s.name == "zipped" and s.family == "ensemble" and not s.is_default
    assert s.spearman == pytest.approx(0.6751) and s.auc == pytest.approx(0.8068)
    assert active.read_bundle_summary(tmp_path / "nothing") is None
    assert active.read_bundle_summary(active.default_bundle_path()).is_default
    assert run.is_dir()


# ----------------------------------------------------------------------------- --version


def test_version_names_the_active_model_without_heavy_imports(user_data, tmp_path):
    code = ("import sys, json, main\n"
            "try:\n    main.main(['--version'])\nexcept SystemExit as e:\n    rc = e.code\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'PySide6', 'onnxruntime'})\n"
            "print('MODULES', json.dumps(bad)); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Virality Studio ")
    assert lines[1] == f"Active model: {DEFAULT_NAME} (the built-in default)"
    assert "family ensemble" in lines[2] and "created " in lines[2]
    assert lines[3].strip().endswith(str(Path("resources") / "models" / "default"))
    assert json.loads(lines[-1].split(" ", 1)[1]) == []

    from engine.models.active import set_active_model

    run = copy_default(tmp_path / "my-run", "my-model")
    set_active_model(run)
    out = run_cli("--version").stdout.splitlines()
    assert out[1] == "Active model: my-model (made active on the Train page)" and out[3].strip() == str(run.resolve())
    shutil.rmtree(run)
    out = run_cli("--version").stdout.splitlines()
    assert out[1].startswith(f"Active model: {DEFAULT_NAME} (the built-in default; the model made active")
    assert "has gone" in out[1]


# ----------------------------------------------------------------------------- score and batch


def test_score_without_model_uses_the_active_one(user_data, tmp_path):
    from engine.models.active import set_active_model

    clip = make_video(tmp_path / "clip.mp4", seconds=2.0, size=(240, 426))
    set_active_model(copy_default(tmp_path / "my-run", "my-active-model"))
    r = run_cli("score", clip, "--json", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"] == "my-active-model"


def test_an_active_model_that_cannot_load_stops_score_and_batch_in_one_line(user_data, tmp_path):
    from engine.models.active import default_bundle_path, set_active_model

    run = copy_default(tmp_path / "broken-run", "broken")
    (run / "model.onnx").unlink()
    set_active_model(run)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not scored: the model fails first")
    for args in (("score", clip), ("batch", tmp_path)):
        r = run_cli(*args, "-q")
        assert r.returncode == 2
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: the active model cannot be loaded"), r.stderr
        assert str(run.resolve()) in err[0] and "--model" in err[0] and "Traceback" not in r.stderr
    # --model still overrides: the built-in model loads, and batch gets as far as finding no videos
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("batch", empty, "--model", default_bundle_path(), "-q")
    assert r.returncode == 2 and "no video files found" in r.stderr and "active model" not in r.stderr


def test_score_help_says_what_the_default_model_is():
    r = run_cli("score", "--help")
    assert "active model" in r.stdout and "built-in model" in r.stdout
