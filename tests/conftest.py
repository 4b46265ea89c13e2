import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The suite never writes into the user's own data folder (~/.local/share/Virality Studio: datasets, the active
# model's choice, 109 MB of exported backbones) or settings: the whole session, and every command it runs in a
# subprocess, gets a temporary home for them, set before any test imports the engine. XDG_* is what platformdirs
# and QSettings read on Linux, APPDATA/LOCALAPPDATA on Windows; platformdirs itself is patched as well below, so
# in-process calls land there on macOS too. tests/test_user_data.py checks it.
USER_DIRS = Path(tempfile.mkdtemp(prefix="virality-tests-"))
for _var, _sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                   ("APPDATA", "appdata"), ("LOCALAPPDATA", "localappdata")):
    os.environ[_var] = str(USER_DIRS / _sub)


def _patch_platformdirs() -> None:
    """Where platformdirs does not follow XDG_* (macOS), send its answers to USER_DIRS; where it does (Linux, and
    a test that points XDG_DATA_HOME at its own tmp_path), leave them alone."""
    import platformdirs

    def follow(real, var, sub):
        def where(appname=None, *args, **kwargs):
            path = real(appname, *args, **kwargs)
            if Path(path).is_relative_to(os.environ.get(var) or USER_DIRS / sub):
                return path
            return str(USER_DIRS / sub / (appname or ""))
        return where

    platformdirs.user_data_dir = follow(platformdirs.user_data_dir, "XDG_DATA_HOME", "data")
    platformdirs.user_config_dir = follow(platformdirs.user_config_dir, "XDG_CONFIG_HOME", "config")


_patch_platformdirs()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(USER_DIRS, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_VIDEOS = SHARED / "data" / "videos"
SMP_DIR = SHARED / "data" / "smp-video"


def shared_videos() -> list[Path]:
    return sorted(SHARED_VIDEOS.glob("*/*.mp4"))


@pytest.fixture
def shared_video_paths():
    paths = shared_videos()
    if not paths:
        pytest.skip(f"no shared videos at {SHARED_VIDEOS} (../shared is absent in a plain clone)")
    return paths


@pytest.fixture
def smp_dir():
    if not (SMP_DIR / "train").is_dir():
        pytest.skip(f"SMP-Video not found at {SMP_DIR} (../shared is absent in a plain clone)")
    return SMP_DIR


def run_cli(*args, prefix=(), timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """`python main.py ARGS` from the repository root, its output captured as UTF-8 text; `prefix` goes before it
    (`timeout 5`, say) and the other keywords to subprocess.run (env: the environment, PYTHONIOENCODING added)."""
    env = dict(kwargs.pop("env", None) or os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([*prefix, sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=timeout, cwd=ROOT, **kwargs)


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    """Empty user data and settings folders for one test (the active model's choice, post details, Qt's
    settings), here and in the commands it runs; the test's tmp_path is returned."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # the engine and the CLI's tests run without Qt
        pass
    else:
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "xdg-config"))
    from engine.models import active

    if not active.data_dir().is_relative_to(tmp_path):
        pytest.skip("platformdirs does not follow XDG_DATA_HOME here")
    return tmp_path


@pytest.fixture
def window(qtbot, user_dirs):
    """The main window, shown, with its own user folders; its job runner is shut down after the test."""
    from gui.app import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.shutdown()


@pytest.fixture(scope="session")
def default_bundle():
    """The built-in model, on the CPU."""
    from engine.models.bundle import ModelBundle, default_bundle_path

    path = default_bundle_path()
    if not (path / "manifest.json").is_file():
        pytest.fail(f"the default bundle is missing at {path}: run `python main.py train-default`")
    return ModelBundle.load(path, device="cpu")
