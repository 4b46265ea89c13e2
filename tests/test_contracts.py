"""DESIGN.md contracts: the engine is Qt-free and never unpickles; the layer contracts (import-linter)."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_ENGINE = ("PySide6", "PyQt5", "PyQt6", "shiboken6")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_never_imports_qt():
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & set(FORBIDDEN_IN_ENGINE))
                 for p in (ROOT / "engine").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_engine_module_loads_no_qt():
    mods = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "engine").rglob("*.py"))
    mods = [m.removesuffix(".__init__") for m in mods]
    code = ("import importlib, sys\nfor m in %r:\n    importlib.import_module(m)\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in %r))") % (mods, FORBIDDEN_IN_ENGINE)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_no_pickle_loading_anywhere_in_the_product():
    for folder in ("engine", "gui", "cli"):
        for p in (ROOT / folder).rglob("*.py"):
            names = _imports(p)
            assert not names & {"pickle", "joblib", "dill", "cloudpickle"}, p


# --- the layer contracts of docs/ARCHITECTURE.md, as import-linter checks them ([tool.importlinter] in
# pyproject.toml). Each run is a subprocess so that the packages are found on disk, not in sys.modules.
LINT = "import sys\nfrom importlinter.cli import lint_imports\nsys.exit(lint_imports(no_cache=True))"


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra: pip install -e '.[dev]'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", LINT], capture_output=True, text=True, cwd=root, env=env,
                          timeout=300)


def test_layer_contracts_hold():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 kept, 0 broken" in r.stdout


def test_layer_contracts_catch_a_violation(tmp_path):
    """The same contracts on a copy of the code with two imports that break them, one of each kind."""
    def only_code(folder, names):
        return [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir() or n == "__pycache__"]
    for pkg in ("engine", "gui", "cli"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=only_code)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "engine" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "\nfrom gui import theme  # noqa\n", encoding="utf-8")
    plan = tmp_path / "engine" / "cues" / "plan.py"
    plan.write_text(plan.read_text(encoding="utf-8") + "\n\ndef _late():\n    from ..data import smp  # noqa\n",
                    encoding="utf-8")
    r = _lint_imports(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "0 kept, 2 broken" in r.stdout
    assert "engine.errors -> gui.theme" in r.stdout
    assert "engine.cues.plan -> engine.data.smp" in r.stdout
