"""The suite never writes into the user's own data folder: tests/conftest.py gives the session (and the commands
it runs) a temporary one. Once the suite exported 109 MB of backbones into ~/.local/share/Virality Studio."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import conftest

ROOT = Path(__file__).resolve().parent.parent
#: every user folder the engine writes into, as JSON
FOLDERS = """
import json
from engine.collect.settings import settings_path
from engine.data.store import default_dataset_dir
from engine.models import active, backbones
print(json.dumps({"data": str(active.data_dir()), "models": str(active.models_dir()),
                  "datasets": str(default_dataset_dir()), "backbones": str(backbones.default_cache_dir()),
                  "collect settings": str(settings_path())}))
"""


def test_every_user_folder_of_the_engine_is_in_the_session_temporary_folder(capsys):
    exec(FOLDERS, {})
    folders = json.loads(capsys.readouterr().out)
    assert len(folders) == 5
    for what, path in folders.items():
        assert Path(path).is_relative_to(conftest.USER_DIRS), (what, path)
    assert not Path.home().resolve().is_relative_to(conftest.USER_DIRS.resolve())


def test_a_command_the_suite_runs_uses_it_too():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", FOLDERS], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    if sys.platform == "darwin":  # platformdirs reads no environment variable there: in-process only (conftest)
        return
    for what, path in json.loads(r.stdout).items():
        assert Path(path).is_relative_to(conftest.USER_DIRS), (what, path)
