"""The "My posts" page: learn from a posts CSV in a worker, show the verdict, the comparison and the drivers, make
the model active; a cancel stops it; and the Score page says where a draft ranks among the creator's own posts."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from engine.data.posts_csv import write_posts_csv  # noqa: E402
from test_gui import LONG, no_job_threads  # noqa: E402,F401  (a fixture; user_dirs and window are in conftest)
from test_personal import _history_posts  # noqa: E402


@pytest.fixture
def page(qtbot, user_dirs):
    from gui.jobs import JobRunner
    from gui.model import ActiveModel
    from gui.personal_page import PersonalPage
    from engine.models.active import default_bundle_path

    runner = JobRunner()
    p = PersonalPage(runner, ActiveModel(default_bundle_path()))
    qtbot.addWidget(p)
    yield p
    assert runner.shutdown()


def test_learn_from_a_posts_csv_show_the_results_and_make_it_active(qtbot, page, user_dirs):
    csv = write_posts_csv(user_dirs / "maker.csv", _history_posts(120, effect=0.6, seed=11))
    page.first.setText(str(csv))
    qtbot.mouseClick(page.learn_button, Qt.LeftButton)
    assert page.jobbar.isVisibleTo(page) and not page.learn_button.isEnabled()
    qtbot.waitUntil(lambda: page.job is None, timeout=120_000)
    assert page.report is not None, page.verdict.text()
    assert "better than chance" in page.verdict.text()
    assert page.table.rowCount() == 4 and page.table.item(0, 0).text() == "personal model"
    assert "exclamation marks" in page.drivers.text()
    assert not page.plot.pixmap().isNull()
    with qtbot.waitSignal(page.active_model_changed) as sig:
        qtbot.mouseClick(page.active_button, Qt.LeftButton)
    assert sig.args[0].name == "personal-maker" and page.model.personal_path == sig.args[0]
    assert page.model.get_personal().family == "personal"
    assert page.model.get().family != "personal"  # the general model stays the general one


def test_cancel_stops_the_job_and_a_bad_source_says_why(qtbot, page, user_dirs):
    csv = write_posts_csv(user_dirs / "maker.csv", _history_posts(300, effect=0.3, seed=12))
    page.first.setText(str(csv))
    qtbot.mouseClick(page.learn_button, Qt.LeftButton)
    qtbot.mouseClick(page.jobbar.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.job is None, timeout=120_000)
    assert page.report is None and page.verdict.text().startswith("Stopped")
    page.source.setCurrentIndex(1)  # a dataset, without an author
    page.first.setText(str(user_dirs / "missing.sqlite"))
    qtbot.mouseClick(page.learn_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.job is None, timeout=30_000)
    assert "no such dataset" in page.verdict.text() and "Traceback" not in page.verdict.text()


def test_the_score_page_says_where_a_draft_ranks_among_your_own_posts(window, qtbot, tmp_path):
    from engine.personal.history import from_posts_csv
    from engine.personal.learn import learn_personal
    from media_factory import make_video
    from test_gui_score_page import _scored

    csv = write_posts_csv(tmp_path / "maker.csv", _history_posts(90, effect=0.6, seed=13))
    bundle = tmp_path / "personal-maker"
    assert learn_personal(from_posts_csv(csv), bundle, n_boot=200, with_default=False)["reliable"]
    page = window.score_page
    first = _scored(qtbot, page, make_video(tmp_path / "s.mp4", seconds=2.0))
    assert not page.personal_box.isVisibleTo(page)  # no personal model: no box
    window.model.set_personal(bundle)
    window.personal_page.active_model_changed.emit(bundle)  # what its "Make active" emits
    qtbot.waitUntil(lambda: not page.busy and page.shown is not None and page.shown is not first, timeout=120_000)
    assert page.shown.personal is not None and page.personal_box.isVisibleTo(page)
    # the gauge and "Why this score" stay the general model's
    assert page.shown.score == pytest.approx(first.score) and page.score_label.text() == f"{first.score:.0f}"
    assert page.shown.contributions == first.contributions and page.shown.model == first.model
    assert f"Ranks above {first.score:.0f}% of the posts the model learned from" in page.meaning.text()
    n = f"{page.shown.personal['percentile']:.0f}"
    assert f"Against your own posts (maker): ranks above {n}% of them." in page.personal_line.text()
