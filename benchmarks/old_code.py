"""Run a benchmark's measurement on an older commit's code beside this tree's, for side-by-side figures.

    tree = code_at("cf9eeb5", work)                    # that commit's files, extracted once with git archive
    figures = run_on(tree, "bench_gui.py", ["--dataset", "--json", "--work", str(work)])

The measurement runs in its own process with the tree first on PYTHONPATH (`--code TREE` tells the
benchmark which tree it measures); its --json output is returned.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_at(rev: str, work: Path) -> Path:
    tree = Path(work) / f"code-{rev}"
    if not tree.exists():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True)
        if archive.returncode:
            raise SystemExit(f"error: git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
        tree.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def run_on(tree: Path, bench: str, args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / bench), *args, "--code", str(tree)],
                         env=env, capture_output=True, text=True)
    if res.returncode:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"error: {bench} failed on {tree.name}: {last}")
    return json.loads(res.stdout)
