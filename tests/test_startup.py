"""Start-up: --version and score --help load no heavy library; a score's cue models load beside the rest.
(How long each takes is measured by benchmarks/bench_startup.py, not here.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "av", "onnxruntime", "PySide6", "torch", "sklearn")


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
    assert faces._session is not None and onscreen_text._models
    assert faces.detect_faces([]).counts == []
    assert measure.speech.speech_probabilities(np.zeros(measure.speech.WINDOW, np.float32)).shape == (1,)


def test_start_loading_swallows_a_bad_device_for_measure_cues_to_report():
    from engine.cues import measure

    helper = measure.start_loading("tpu")
    helper.join(timeout=60)
    assert not helper.is_alive()
