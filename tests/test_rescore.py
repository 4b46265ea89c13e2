"""Live re-scoring with a bundle that reads the video (issue 12 §3): the report keeps the per-video model inputs
(frame embeddings, audio vector, caption embedding), a re-score for new typed fields decodes nothing and runs no
frame backbone (only a changed caption is embedded again) and gives the score a full score would, and the Score
page runs it in a job: rescore_now returns before the work is done, and a late answer for older fields is dropped.

The bundle is a tiny multimodal model trained on generated clips with GENERATED view counts: it proves the
mechanics, not that it predicts anything."""
from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from engine.features.spec import PostMeta  # noqa: E402
from engine.models.bundle import ModelBundle  # noqa: E402
from engine.scoring import rescore, score_video  # noqa: E402


@pytest.fixture(scope="module")
def mm(tmp_path_factory):
    """(bundle, its folder, a clip, the backbone folder): a multimodal bundle reading caption, frames and audio."""
    from engine.models.backbones import default_cache_dir
    from tiny_bundles import tiny_multimodal

    path, clips = tiny_multimodal(tmp_path_factory.mktemp("mm"))
    bundle = ModelBundle.load(path, device="cpu")
    assert {"caption", "frames", "audio"} <= set(bundle.extra_inputs)
    return bundle, path, clips[1], default_cache_dir()


class Counts:
    """Counts the expensive steps of scoring: opening a media file, decoding audio, the two backbones."""

    def __init__(self, monkeypatch):
        import av

        from engine import media
        from engine.models import backbones

        self.n = {"av.open": 0, "decode_audio": 0, "frame backbone": 0, "caption backbone": 0}
        self.threads: set[str] = set()
        for owner, name, key in ((av, "open", "av.open"), (media, "decode_audio", "decode_audio"),
                                 (backbones.FrameEmbedder, "embed", "frame backbone"),
                                 (backbones.CaptionEmbedder, "embed", "caption backbone")):
            monkeypatch.setattr(owner, name, self._counted(getattr(owner, name), key))

    def _counted(self, fn, key):
        def call(*a, **k):
            self.n[key] += 1
            self.threads.add(threading.current_thread().name)
            return fn(*a, **k)

        return call


def test_rescore_reuses_the_video_inputs_and_embeds_only_a_new_caption(mm, monkeypatch):
    bundle, _, clip, _ = mm
    first = PostMeta(caption="day one #test1", followers=2000)
    report = score_video(clip, first, bundle=bundle, device="cpu")
    kept = report.model_inputs
    assert kept is not None and {"caption", "frames", "audio"} <= set(kept.arrays)
    assert "model_inputs" not in report.as_dict()  # the JSON output is as it was

    counts = Counts(monkeypatch)
    more = PostMeta(caption="day one #test1", followers=900_000)  # the account only: no backbone at all
    r1 = rescore(report, more, bundle, device="cpu")
    assert counts.n == {"av.open": 0, "decode_audio": 0, "frame backbone": 0, "caption backbone": 0}
    assert r1.model_inputs.arrays["frames"] is kept.arrays["frames"]
    assert r1.model_inputs.arrays["caption"] is kept.arrays["caption"]

    typed = PostMeta(caption="a whole new caption #test2", followers=900_000)
    r2 = rescore(r1, typed, bundle, device="cpu")
    assert counts.n == {"av.open": 0, "decode_audio": 0, "frame backbone": 0, "caption backbone": 1}
    assert not np.array_equal(r2.model_inputs.arrays["caption"], kept.arrays["caption"])

    # the same numbers as scoring the file from scratch with those fields (which does decode it)
    for meta, got in ((more, r1), (typed, r2)):
        full = score_video(clip, meta, bundle=bundle, device="cpu")
        assert got.score == pytest.approx(full.score, abs=1e-6)
        assert got.prediction == pytest.approx(full.prediction, abs=1e-6)
    assert counts.n["av.open"] > 0 and counts.n["frame backbone"] == 2  # the counters do see a full score


def test_rescore_computes_anew_for_a_bundle_with_other_inputs(mm, monkeypatch):
    """Inputs kept for another input spec (another frame count, another backbone) are not reused."""
    from dataclasses import replace

    bundle, _, clip, _ = mm
    report = score_video(clip, PostMeta(caption="x"), bundle=bundle, device="cpu")
    stale = replace(report, model_inputs=replace(report.model_inputs, spec="another bundle's inputs"))
    counts = Counts(monkeypatch)
    again = rescore(stale, PostMeta(caption="x"), bundle, device="cpu")
    assert counts.n["frame backbone"] == 1 and counts.n["caption backbone"] == 1
    assert again.score == pytest.approx(report.score, abs=1e-6)


# ----------------------------------------------------------------------------------------- the Score page


@pytest.fixture
def page(mm, qtbot, user_dirs, monkeypatch):
    """A Score page with the multimodal bundle active, showing `clip` scored, every job ended."""
    pytest.importorskip("pytestqt")
    from engine.models import export_backbones
    from gui.jobs import JobRunner
    from gui.model import ActiveModel
    from gui.score_page import ScorePage
    from test_gui_jobs import wait_for

    bundle, path, clip, backbones = mm
    monkeypatch.setattr(export_backbones, "default_cache_dir", lambda: backbones)  # the backbones already made
    runner = JobRunner()
    model = ActiveModel(path)
    model._bundle = bundle
    p = ScorePage(runner, model)
    qtbot.addWidget(p)
    p.show_report(score_video(clip, PostMeta(), bundle=bundle, device="cpu"))
    wait_for(lambda: not runner.jobs and not p._rescore_timer.isActive() and p.shown is not None, 60)
    yield p
    runner.shutdown()


def fill(page, caption=None, followers=None) -> None:
    """Type into the fields without starting the page's own debounce timer (the test calls rescore_now)."""
    for edit, text in ((page.caption_edit, caption), (page.followers_edit, followers)):
        if text is not None:
            edit.blockSignals(True)
            edit.setText(text)
            edit.blockSignals(False)


def test_typing_rescores_in_a_job_without_decoding_the_video_again(page, mm, monkeypatch):
    from gui import scoring as adapt
    from test_gui_jobs import wait_for

    bundle = mm[0]
    before = page.shown
    counts = Counts(monkeypatch)
    gate = threading.Event()
    real = adapt.rescore

    def held(*a, **k):  # the model work waits until the test lets it go
        assert gate.wait(30)
        return real(*a, **k)

    monkeypatch.setattr(adapt, "rescore", held)
    fill(page, "finally a caption #test2", "40k")
    page.rescore_now()  # returns at once: on the GUI thread this would wait on the gate for 30 s and fail
    assert page.rescoring and page.shown is before
    gate.set()
    wait_for(lambda: not page.rescoring and page.shown is not before, 30)
    want = real(page.report, page.current_meta(), bundle)
    assert page.shown.score == pytest.approx(want.score, abs=1e-9)
    assert page.score_label.text() == f"{want.score:.0f}" and "caption" in page.shown.inputs_used
    assert counts.n["av.open"] == 0 and counts.n["decode_audio"] == 0 and counts.n["frame backbone"] == 0
    assert counts.n["caption backbone"] >= 1
    assert threading.main_thread().name not in counts.threads  # the caption was embedded in the job's thread
    # the page keeps the new caption's embedding: changing the follower count embeds nothing again
    n, shown = counts.n["caption backbone"], page.shown
    fill(page, followers="41k")
    page.rescore_now()
    wait_for(lambda: not page.rescoring and page.shown is not shown, 30)
    assert counts.n["caption backbone"] == n
    assert page.shown.score == pytest.approx(real(page.report, page.current_meta(), bundle).score, abs=1e-9)


def test_a_late_answer_for_older_fields_is_dropped(page, mm, monkeypatch):
    from gui import scoring as adapt
    from test_gui_jobs import wait_for

    bundle = mm[0]
    real = adapt.rescore
    slow_gate, started = threading.Event(), threading.Event()

    def rescore(report, meta, b, progress=None, cancel=None, personal=None):
        if meta.caption == "old words":  # the first edit's job is slow
            started.set()
            assert slow_gate.wait(30)
        return real(report, meta, b, personal=personal)  # no cancel check: a job that does not notice is dropped all the same

    monkeypatch.setattr(adapt, "rescore", rescore)
    shows = []
    page.scored.connect(shows.append)
    fill(page, "old words", "5k")
    page.rescore_now()
    assert started.wait(30)
    fill(page, "new words #test1")
    page.rescore_now()
    wait_for(lambda: shows and shows[-1].model_inputs.caption == "new words #test1", 30)
    slow_gate.set()
    wait_for(lambda: not page.runner.jobs, 30)
    assert [r.model_inputs.caption for r in shows] == ["new words #test1"]
    want = real(page.report, page.current_meta(), bundle)
    assert page.shown.score == pytest.approx(want.score, abs=1e-9)
