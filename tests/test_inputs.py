"""The per-video model inputs (engine.features.inputs, issue 12 §2): one decoding pass per file per job. Scoring
with a bundle that reads the frames and the sound opens the file three times (probe, the picture pass, the sound
pass), exactly as scoring with a metadata model does, not again for the embeddings or for a preview strip; the
numbers from that shared pass are the numbers a pass of their own gives; `score` never goes through
engine.extract.

The bundle is a tiny multimodal model trained on generated clips with GENERATED view counts: it proves the
mechanics, not that it predicts anything."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from engine.features.spec import PostMeta  # noqa: E402
from engine.scoring import score_video  # noqa: E402
from test_rescore import Counts, mm  # noqa: E402,F401 (the tiny multimodal bundle)

ROOT = Path(__file__).resolve().parent.parent


def test_score_video_with_a_multimodal_bundle_decodes_the_file_once(mm, monkeypatch):
    bundle, _, clip, _ = mm
    counts = Counts(monkeypatch)
    got = []
    report = score_video(clip, PostMeta(caption="one pass #test1"), bundle=bundle, device="cpu", strip=8,
                         on_strip=got.append)
    # probe, the frames (cues + the 4 embedded frames + the strip) and the sound (cues + audio input): nothing more
    assert counts.n["av.open"] == 3
    assert counts.n["frame backbone"] == 1 and counts.n["caption backbone"] == 1
    assert {"caption", "frames", "audio"} <= set(report.model_inputs.arrays)
    (strip,) = got  # the strip came once, 8 small frames in time order
    assert len(strip) == 8 and all(max(f.image.shape[:2]) <= 180 for f in strip)
    assert [f.time_s for f in strip] == sorted(f.time_s for f in strip)


def test_the_shared_pass_gives_the_numbers_a_pass_of_its_own_gives(mm):
    """The frames and the sound taken from the cue pass embed to the same arrays as decoding them apart (the way
    extraction did before), so a model reads at scoring time what it was trained on."""
    from engine.features.inputs import bundle_inputs

    bundle, _, clip, _ = mm
    meta = PostMeta(caption="same numbers")
    report = score_video(clip, meta, bundle=bundle, device="cpu")
    apart = bundle_inputs(bundle.manifest, clip, meta, report.cues, report.info, device="cpu")
    alone = bundle_inputs(bundle.manifest, clip, meta, device="cpu")  # no report: the cues come in its one pass
    for name in ("caption", "frames", "audio"):
        np.testing.assert_allclose(report.model_inputs.arrays[name], apart[name], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone[name], apart[name], rtol=1e-5, atol=1e-6)


def test_score_reaches_its_report_without_engine_extract(mm):
    """With engine.extract made unimportable, `score` with a multimodal bundle still scores the file."""
    _, path, clip, cache = mm
    code = ("import sys; sys.modules['engine.extract'] = None\n"
            "from engine.features.spec import PostMeta\n"
            "from engine.models.bundle import ModelBundle\n"
            "from engine.scoring import score_video\n"
            f"b = ModelBundle.load({str(path)!r}, device='cpu')\n"
            f"r = score_video({str(clip)!r}, PostMeta(caption='x'), bundle=b, device='cpu')\n"
            "print(sorted(r.model_inputs.arrays), 'engine.extract' in sys.modules and sys.modules['engine.extract'])")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "['audio', 'caption', 'frames'] None"
