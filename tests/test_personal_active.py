"""An active personal model beside the general one (issue 13, "Make active"): its own slot in the user data
(an older settings file's personal model in the general slot is moved there), the report keeping the general
score and adding the personal reading with the inputs that push the draft up or down, `score --personal` and
`batch` showing both, and the Score page's "Your own posts" box with its "Stop using"."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data.posts_csv import write_posts_csv
from engine.features.spec import PostMeta
from test_cli_active_model import user_data as data  # noqa: F401  (fixture: an empty user data folder)

from test_personal import _history_posts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def personal(tmp_path_factory) -> Path:
    """A reliable personal bundle of 'maker', whose posts do better with more exclamation marks."""
    from engine.personal.history import from_posts_csv
    from engine.personal.learn import learn_personal

    d = tmp_path_factory.mktemp("personal")
    csv = write_posts_csv(d / "maker.csv", _history_posts(90, effect=0.6, seed=13))
    assert learn_personal(from_posts_csv(csv), d / "personal-maker", n_boot=200, with_default=False)["reliable"]
    return d / "personal-maker"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from media_factory import make_video

    return make_video(tmp_path_factory.mktemp("clip") / "draft.mp4", seconds=2.0, size=(216, 384))


# ----------------------------------------------------------------------------- the two slots


def test_a_personal_model_in_the_general_slot_is_moved_to_its_own(data, personal):
    from engine.models import active

    (data).mkdir(parents=True, exist_ok=True)
    (data / active.ACTIVE_FILE).write_text(json.dumps({"path": str(personal)}), encoding="utf-8")  # an old file
    choice = active.active_model()
    assert choice.is_default and choice.moved == personal and choice.path == active.default_bundle_path()
    assert not (data / active.ACTIVE_FILE).exists()  # moved, not left to be moved again
    assert active.active_personal().path == personal.resolve()
    assert active.active_model().moved is None  # said once
    assert any(line.startswith("Personal model: personal-maker") for line in active.describe_active_model())


def test_making_a_personal_model_active_keeps_the_general_one_and_stop_using_clears_it(data, personal, tmp_path):
    from engine.models import active
    from test_cli_active_model import copy_default

    general = copy_default(tmp_path / "mine", "my-general")
    assert active.set_active_model(general) is None
    note = active.set_active_model(personal)  # e.g. an old caller activating a personal bundle as THE model
    assert note and "is a personal model" in note
    assert active.active_model().path == general.resolve()  # the general model made active stays
    assert active.active_personal().path == personal.resolve()
    active.set_active_personal(None)  # "Stop using"
    assert active.active_personal().path is None and active.active_model().path == general.resolve()


# ----------------------------------------------------------------------------- the report


def test_the_general_score_is_unchanged_and_the_personal_reading_names_what_pushes_it(personal, clip):
    from engine.models.bundle import ModelBundle, default_bundle_path
    from engine.scoring import rescore, score_video

    general = ModelBundle.load(default_bundle_path(), device="cpu")
    mine = ModelBundle.load(personal, device="cpu")
    meta = PostMeta(caption="shop tour!!!")
    alone = score_video(clip, meta, bundle=general, device="cpu")
    both = score_video(clip, meta, bundle=general, device="cpu", personal=mine)
    assert alone.personal is None
    assert both.score == pytest.approx(alone.score) and both.model == alone.model
    assert [c.as_dict() for c in both.contributions] == [c.as_dict() for c in alone.contributions]
    own = both.personal
    assert own["model"] == "personal-maker" and own["reliable"]
    assert own["line"] == f"Against your own posts (maker): ranks above {round(own['percentile'])}% of them."
    up = {d["input"]: d for d in own["drivers"] if d["points"] > 0}
    assert "n_exclaims" in up and up["n_exclaims"]["label"] == "exclamation marks in the caption"
    assert up["n_exclaims"]["detail"].startswith("3 exclamation marks")
    assert json.loads(json.dumps(both.as_dict()))["personal"]["drivers"]  # in the JSON too
    # a caption typed later moves the personal reading; the drivers follow it
    calm = rescore(both, PostMeta(caption="shop tour"), general, device="cpu", personal=mine)
    assert calm.personal["percentile"] < own["percentile"]
    assert all(d["input"] != "n_exclaims" or d["points"] < 0 for d in calm.personal["drivers"])
    assert rescore(both, meta, general, device="cpu").personal is None  # no personal model given: none shown


def test_a_bundle_that_is_not_personal_is_refused_as_the_personal_one(clip):
    from engine.errors import BundleError
    from engine.models.bundle import ModelBundle, default_bundle_path
    from engine.scoring import score_video

    general = ModelBundle.load(default_bundle_path(), device="cpu")
    with pytest.raises(BundleError, match="not a personal model"):
        score_video(clip, None, bundle=general, device="cpu", personal=general)


# ----------------------------------------------------------------------------- the command line


def run(*args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {})),
                          timeout=300, cwd=ROOT)


def test_score_personal_shows_both_and_model_personal_is_redirected(personal, clip, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    plain = run("score", clip, "--caption", "tour!!!", "--json", "-q", env=env)
    both = run("score", clip, "--caption", "tour!!!", "--json", "-q", "--personal", personal, env=env)
    assert plain.returncode == 0 and both.returncode == 0, both.stderr
    a, b = json.loads(plain.stdout), json.loads(both.stdout)
    assert a["personal"] is None and b["score"] == a["score"] and b["model"] == a["model"]
    assert b["personal"]["creator"] == "maker" and b["personal"]["drivers"]
    text = run("score", clip, "--caption", "tour!!!", "-q", "--personal", personal, env=env)
    lines = text.stdout.splitlines()
    assert f"Virality score   {a['score']:.0f} / 100   (ranks above" in lines[1]
    assert lines[2].startswith("  Your own posts   Against your own posts (maker): ranks above")
    assert any(s.startswith("    pushes it up    exclamation marks in the caption: +") for s in lines)
    old = run("score", clip, "--caption", "tour!!!", "--json", "-q", "--model", personal, env=env)
    assert old.returncode == 0 and "is a personal model: its reading goes beside the general score" in old.stderr
    assert json.loads(old.stdout)["score"] == a["score"] and json.loads(old.stdout)["personal"]["drivers"]
    bad = run("score", clip, "-q", "--personal", clip.parent, env=env)
    assert bad.returncode != 0 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_batch_uses_the_active_personal_model_and_no_personal_leaves_it_out(personal, clip, tmp_path):
    import shutil

    env = {"XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    folder = tmp_path / "drafts"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(clip, folder / name)
    data = tmp_path / "xdg-data" / "Virality Studio"
    data.mkdir(parents=True)
    (data / "active_personal.json").write_text(json.dumps({"path": str(personal)}), encoding="utf-8")
    ranked = tmp_path / "ranked.csv"
    r = run("batch", folder, "--json", "-q", "--workers", "2", "--out", ranked, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["personal_model"] == "personal-maker"
    assert all(s["personal"]["creator"] == "maker" for s in out["scored"])
    # the CSV has the personal reading too, in columns after the cues (a reader by position finds the rest as before)
    header, *rows = list(csv.reader(open(ranked, encoding="utf-8")))
    assert header[-2:] == ["own_percentile", "own_reliable"] and header[-3] == out["scored"][0]["cues"][-1]["name"]
    own = {Path(s["path"]).name: s["personal"] for s in out["scored"]}
    for row in rows:
        cells = dict(zip(header, row))
        assert float(cells["own_percentile"]) == pytest.approx(own[Path(cells["path"]).name]["percentile"], abs=0.05)
        assert cells["own_reliable"] == "yes"
    r = run("batch", folder, "-q", "--workers", "1", env=env)
    assert "own: where each ranks among the posts of maker" in r.stdout and " own " in r.stdout
    r = run("batch", folder, "--json", "-q", "--no-personal", "--out", ranked, env=env)
    assert json.loads(r.stdout)["personal_model"] is None
    assert all(row["own_percentile"] == row["own_reliable"] == "" for row in csv.DictReader(open(ranked, encoding="utf-8")))
    assert all(s["personal"] is None for s in json.loads(r.stdout)["scored"])


# ----------------------------------------------------------------------------- the Score page


@pytest.fixture
def window_with_personal(qtbot, user_dirs, personal):
    """The window started with `personal` made active earlier (My posts' "Make active", remembered)."""
    pytest.importorskip("pytestqt")
    from engine.models.active import set_active_personal
    from gui.app import MainWindow

    set_active_personal(personal)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.shutdown()


def test_the_score_page_shows_the_personal_box_beside_the_general_score_and_stop_using_hides_it(
        qtbot, window_with_personal, clip):
    from PySide6.QtCore import Qt

    from engine.models.active import active_personal
    from test_gui_score_page import _scored

    w = window_with_personal
    page = w.score_page
    shown = _scored(qtbot, page, clip)
    assert w.model.is_default and shown.model == "virality-ensemble-smp-video"
    assert page.personal_box.isVisibleTo(page) and shown.personal["creator"] == "maker"
    assert page.score_label.text() == f"{shown.score:.0f}"  # the gauge is the general score
    assert "Against your own posts (maker): ranks above" in page.personal_line.text()
    assert "Personal model: personal-maker" in page.personal_model_label.text()
    qtbot.mouseClick(page.stop_personal_button, Qt.LeftButton)
    assert not page.personal_box.isVisibleTo(page) and page.shown.personal is None
    assert active_personal().path is None and w.model.personal_path is None
    page.caption_edit.setText("tour!!!")  # a re-score after "Stop using" brings no personal reading back
    qtbot.waitUntil(lambda: page.shown is not shown and not page.rescoring and not page._rescore_timer.isActive(),
                    timeout=60_000)
    assert page.shown.personal is None and not page.personal_box.isVisibleTo(page)


def _damaged_copy(personal: Path, where: Path, damage: str) -> tuple[Path, str]:
    """A copy of `personal` with its model file removed or its manifest edited; (the copy, the model file's name)."""
    import shutil

    broken = where / "personal-maker"
    shutil.copytree(personal, broken)
    manifest = json.loads((broken / "manifest.json").read_text(encoding="utf-8"))
    model_file = manifest["model_file"]
    if damage == "a file removed":
        (broken / model_file).unlink()
    else:
        manifest["files"][model_file]["sha256"] = "0" * 64
        (broken / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return broken, model_file


def _window_with_damaged_personal(qtbot, personal: Path, where: Path, damage: str):
    """The window started with a damaged copy of `personal` made active earlier; (the window, the model file)."""
    pytest.importorskip("pytestqt")
    from engine.models.active import set_active_personal
    from gui.app import MainWindow

    broken, model_file = _damaged_copy(personal, where, damage)
    set_active_personal(broken)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w, model_file


@pytest.mark.parametrize("damage", ["a file removed", "the manifest edited"])
def test_a_damaged_personal_model_leaves_the_general_score_shown_and_the_box_says_why(
        qtbot, user_dirs, personal, clip, tmp_path, damage):
    """The active personal model's bundle damaged after it was made active: the Score page still shows the general
    score (no "Could not score this file"), and the "Your own posts" box says plainly why the personal reading is
    missing and what to do; a re-score keeps both; "Stop using" clears it."""
    from PySide6.QtCore import Qt

    from engine.models.active import active_personal
    from test_gui_score_page import _scored

    w, model_file = _window_with_damaged_personal(qtbot, personal, tmp_path, damage)
    try:
        page = w.score_page
        shown = _scored(qtbot, page, clip)
        assert shown is not None and shown.personal is None and shown.model == "virality-ensemble-smp-video"
        assert page.score_label.text() == f"{shown.score:.0f}" and "Could not score" not in page.cues_label.text()
        assert page.personal_box.isVisibleTo(page)
        line = page.personal_line.text() + " " + page.personal_drivers.text()
        assert "cannot be used" in line and model_file in line, line
        assert "Make it again on My posts, or Stop using it" in line
        page.caption_edit.setText("tour!!!")  # a re-score: the general score again, the reason still said
        qtbot.waitUntil(lambda: page.shown is not shown and not page.rescoring and not page._rescore_timer.isActive(),
                        timeout=60_000)
        assert page.shown.personal is None and page.personal_box.isVisibleTo(page)
        assert "cannot be used" in page.personal_line.text() + page.personal_drivers.text()
        qtbot.mouseClick(page.stop_personal_button, Qt.LeftButton)
        assert not page.personal_box.isVisibleTo(page) and active_personal().path is None
        assert page.shown is not None and page.score_label.text() == f"{page.shown.score:.0f}"  # nothing lost
    finally:
        w.runner.shutdown()


def test_the_personal_model_reads_what_the_one_pass_measured(personal, clip, monkeypatch):
    """One decode: the cues are measured once and nothing decodes the file again for the personal model."""
    import engine.scoring as scoring
    from engine.features import inputs as per_video
    from engine.models.bundle import ModelBundle, default_bundle_path

    calls = []
    real = scoring.measure_cues
    monkeypatch.setattr(scoring, "measure_cues", lambda *a, **k: calls.append(1) or real(*a, **k))

    def no_second_pass(*_a, **_k):
        raise AssertionError("the file was decoded again")

    monkeypatch.setattr(per_video, "bundle_inputs", no_second_pass)
    monkeypatch.setattr(scoring.media, "sample_frames", no_second_pass)
    r = scoring.score_video(clip, None, bundle=ModelBundle.load(default_bundle_path(), device="cpu"), device="cpu",
                            personal=ModelBundle.load(personal, device="cpu"))
    assert calls == [1] and r.personal is not None and "personal" in r.timings


def test_an_input_left_empty_is_taken_as_the_creators_usual_not_as_a_missing_record(tmp_path, clip):
    """In the history, posts whose sound the export did not list did far worse, so the model learned "missing
    sound" as a strong effect; a draft whose Sound field is empty must not get it (it was 28% -> 5% of a real
    creator's posts): it is read as the creator's usual sound, and the line says so."""
    from dataclasses import replace as with_

    from engine.models.bundle import ModelBundle, default_bundle_path
    from engine.personal.history import from_posts_csv
    from engine.personal.learn import learn_personal
    from engine.scoring import score_video

    posts = _history_posts(90, effect=0.0, noise=0.3, seed=5)
    posts = [with_(p, music_title=None, music_original=None, views=round(p.views / 20)) if i % 4 == 0
             else with_(p, music_title="A Song - Someone", music_original=False) if i % 4 == 1
             else with_(p, music_title="original sound - maker", music_original=True) for i, p in enumerate(posts)]
    csv = write_posts_csv(tmp_path / "maker.csv", posts)
    learn_personal(from_posts_csv(csv), tmp_path / "p", n_boot=100, with_default=False)
    mine = ModelBundle.load(tmp_path / "p", device="cpu")
    assert "missing_music" in mine.manifest["feature_spec"]["indicators"]  # the history has missing sounds
    general = ModelBundle.load(default_bundle_path(), device="cpu")
    empty = score_video(clip, PostMeta(caption="shop tour"), bundle=general, device="cpu", personal=mine).personal
    own = score_video(clip, PostMeta(caption="shop tour", music_title="original sound", music_original=True),
                      bundle=general, device="cpu", personal=mine).personal
    assert empty["percentile"] == pytest.approx(own["percentile"], abs=0.5)
    assert "Not given, so taken as this creator's usual" in empty["line"] and "sound" in empty["line"]
    assert "Not given" not in own["line"] and empty["assumed"] and not own["assumed"]
    assert all(d["detail"] != "not given" for d in empty["drivers"])


def _batch_of_two(w, clip, tmp_path):
    """The Batch page of window `w` started (one worker) on a folder of two copies of `clip`: (page, its table
    model, the folder)."""
    import shutil

    folder = tmp_path / "drafts"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(clip, folder / name)
    w.show_page("Batch")
    page = w.batch_page
    page.workers.setValue(1)
    page.start_folder(str(folder))
    return page, page.table_model, folder


def test_the_batch_page_ranks_each_video_among_the_creators_own_posts_and_the_status_bar_names_both(
        qtbot, window_with_personal, clip, tmp_path):
    """As `batch` does on the command line: with a personal model active, each row says where the video ranks
    among the creator's own posts (and the CSV export has it); the status bar names both models. After "Stop
    using", neither the status bar nor the next batch has it."""
    from PySide6.QtCore import Qt

    w = window_with_personal
    label = w.model_label.text()
    assert label.startswith("Model: virality-ensemble-smp-video") and "Personal model: personal-maker" in label
    page, model, folder = _batch_of_two(w, clip, tmp_path)
    qtbot.waitUntil(lambda: not page.busy, timeout=180_000)
    assert [r.status for r in model.rows] == ["scored", "scored"]
    assert not page.table.isColumnHidden(model.OWN) and model.headerData(model.OWN, Qt.Horizontal) == "Own posts"
    assert page.personal_note.isVisibleTo(page) and "among the posts of maker" in page.personal_note.text()
    for i, row in enumerate(model.rows):
        own = row.report.personal
        assert own["creator"] == "maker" and own["reliable"]
        assert model.index(i, model.OWN).data() == f"{own['percentile']:.0f}%"
        assert model.index(i, model.OWN).data(Qt.ToolTipRole) == own["line"]
    out = tmp_path / "ranking.csv"
    assert page.export_csv(str(out)) == 2
    assert [r["own_reliable"] for r in csv.DictReader(open(out, encoding="utf-8"))] == ["yes", "yes"]

    w.score_page.stop_personal_button.click()
    assert "Personal" not in w.model_label.text()
    (folder / "b.mp4").unlink()
    page.start_folder(str(folder))
    qtbot.waitUntil(lambda: not page.busy, timeout=180_000)
    assert model.rows[0].status == "scored" and model.rows[0].report.personal is None
    assert page.table.isColumnHidden(model.OWN) and not page.personal_note.isVisibleTo(page)


@pytest.mark.parametrize("damage", ["a file removed", "the manifest edited"])
def test_a_damaged_personal_model_is_left_out_of_a_batch_with_the_reason_and_every_video_is_scored(
        qtbot, user_dirs, personal, clip, tmp_path, damage):
    """The active personal model's bundle damaged after it was made active: the Batch page says so plainly in its
    note line as the batch starts and scores every video with the general model (no "Own posts" column), rather
    than stopping the whole batch at the first video with the bundle's error."""
    w, model_file = _window_with_damaged_personal(qtbot, personal, tmp_path, damage)
    try:
        page, model, _ = _batch_of_two(w, clip, tmp_path)
        note = page.personal_note.text()
        assert page.personal_note.isVisibleTo(page) and note.startswith("Own posts left out: the personal model ")
        assert model_file in note and "Make it again on My posts, or Stop using it on the Score page." in note
        qtbot.waitUntil(lambda: not page.busy, timeout=180_000)
        assert [r.status for r in model.rows] == ["scored", "scored"]
        assert all(r.report.personal is None for r in model.rows) and page.table.isColumnHidden(model.OWN)
        assert not page.summary.text().startswith("Stopped by an error")
    finally:
        w.runner.shutdown()


def test_the_own_posts_cell_says_when_the_personal_model_is_not_a_prediction_and_sorts_it_below():
    """A chance-level personal model's rank shows as "(not a prediction)", greyed, below every real one (as the
    Score page never presents it as a prediction); a video scored without a personal model has an empty cell."""
    from types import SimpleNamespace

    from PySide6.QtCore import Qt

    from engine.scoring import BatchItem
    from gui.batch_page import SORT_ROLE, BatchTableModel
    from gui.theme import colors

    def report(name, own):
        return SimpleNamespace(path=name, score=50.0, meaningful=True, personal=own)

    model = BatchTableModel()
    for r in (report("sure.mp4", {"percentile": 20.4, "reliable": True, "line": "ranks above 20%"}),
              report("chance.mp4", {"percentile": 90.0, "reliable": False, "line": "not a prediction"}),
              report("none.mp4", None)):
        model.update_item(BatchItem(r.path, report=r))
    cell = {model.rows[i].path: model.index(i, model.OWN) for i in range(3)}
    assert [cell[n].data() for n in ("sure.mp4", "chance.mp4", "none.mp4")] == ["20%", "90% (not a prediction)", ""]
    assert cell["sure.mp4"].data(SORT_ROLE) > cell["chance.mp4"].data(SORT_ROLE) > cell["none.mp4"].data(SORT_ROLE)
    grey, coloured = (cell[n].data(Qt.ForegroundRole).name() for n in ("chance.mp4", "sure.mp4"))
    assert cell["chance.mp4"].data(SORT_ROLE) < 0 and grey == colors().muted != coloured
