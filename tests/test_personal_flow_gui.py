"""The My posts flow in the window from the two sources tests/test_personal_gui.py does not drive (a folder of
videos with a platform's stats export, one author of a dataset), and the Score page with a personal model whose
ranking cannot be told from chance: no verdict and no rank presented as a prediction."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from engine.data.posts_csv import write_posts_csv  # noqa: E402
from test_gui import no_job_threads  # noqa: E402,F401  (fixtures; user_dirs and window are in conftest)
from test_personal import _history_posts  # noqa: E402
from test_personal_gui import page  # noqa: E402,F401  (fixture: the page with its runner)
from test_personal_sources import _tiktok_rows, _video  # noqa: E402


def _learn(qtbot, page, source: str, first: str, second: str = "", author: str = "") -> None:
    page.source.setCurrentIndex(page.source.findData(source))
    assert page.second.isVisibleTo(page) == (source == "videos")
    page.first.setText(first)
    page.second.setText(second)
    page.author.setText(author)
    qtbot.mouseClick(page.learn_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.job is None, timeout=120_000)


def test_a_folder_of_videos_and_a_tiktok_export_learn_and_list_what_was_not_matched(qtbot, page, user_dirs):
    stats = user_dirs / "Content.csv"
    stats.write_text("\n".join(_tiktok_rows(30)) + "\n", encoding="utf-8")
    folder = user_dirs / "my videos"
    _video(folder / "7410000000000000004.mp4")
    _video(folder / "stray.mp4")
    _learn(qtbot, page, "videos", str(folder), str(stats))
    assert page.report is not None, page.verdict.text()
    text = page.verdict.text()
    assert "read as TikTok Studio (Content export)" in text and "1 of 30 posts matched to a video" in text
    assert "1 videos without a stats row: stray.mp4" in text and page.report["unmatched_videos"] == ["stray.mp4"]
    assert page.report["n_videos"] == 1 and page.active_button.isEnabled()
    # the model is named after the creator the export names (@mak.er in its links), not the folder or the file
    assert page._out_dir() is None and Path(page.report["bundle"]).name == "personal-mak.er"


def test_one_author_of_a_dataset_in_the_window(qtbot, page, user_dirs):
    from engine.data.store import Dataset

    posts = _history_posts(60, effect=0.6, seed=21, author="maker") + _history_posts(25, seed=22, author="other")
    for p in posts[60:]:
        p.post_id = "o" + p.post_id
    ds = user_dirs / "d.sqlite"
    with Dataset.create(ds) as d:
        d.import_path(write_posts_csv(user_dirs / "two.csv", posts))
    _learn(qtbot, page, "dataset", str(ds), author="")
    assert "holds posts of 2 authors (maker, other); name the author" in page.verdict.text()
    _learn(qtbot, page, "dataset", str(ds), author="@maker")
    assert page.report is not None and page.report["creator"] == "maker" and page.report["n_posts"] == 60
    assert page._out_dir().name == "personal-maker"


def test_an_unreliable_personal_model_is_not_presented_as_a_prediction(window, qtbot, tmp_path):
    from engine.personal.history import from_posts_csv
    from engine.personal.learn import learn_personal
    from media_factory import make_video
    from test_gui_score_page import _scored

    csv = write_posts_csv(tmp_path / "maker.csv", _history_posts(40, effect=0.0, seed=3))
    bundle = tmp_path / "personal-maker"
    assert not learn_personal(from_posts_csv(csv), bundle, n_boot=200, with_default=False)["reliable"]
    page = window.score_page
    first = _scored(qtbot, page, make_video(tmp_path / "s.mp4", seconds=2.0))
    window.model.set_path(bundle)  # offered as the general model: it goes beside it
    assert window.model.personal_path == bundle and window.model.is_default
    window.personal_page.active_model_changed.emit(bundle)
    qtbot.waitUntil(lambda: not page.busy and page.shown is not None and page.shown is not first, timeout=120_000)
    assert f"Ranks above {first.score:.0f}%" in page.meaning.text()  # the general score is still said
    text = page.personal_line.text()
    assert "Not a prediction" in text and "ranks above" not in text
    assert "would rank above" in text and "this is not a prediction" in text
