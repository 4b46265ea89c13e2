"""The 'Why this score' chart (gui.contributions), offscreen: what it shows is what the report says, and the
Score page shows it beside the ring, following each re-score."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from media_factory import make_video  # noqa: E402

from engine.features.spec import PostMeta  # noqa: E402
from engine.scoring import rescore, score_video  # noqa: E402
from gui.contributions import ContributionsChart, points_text  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory, default_bundle):
    clip = make_video(tmp_path_factory.mktemp("chart") / "clip.mp4", seconds=2.0, size=(360, 640))
    return score_video(clip, PostMeta(caption="my first video #fyp"), bundle=default_bundle,
                       device="cpu")


def test_points_text():
    assert [points_text(v) for v in (3.24, -12.0, 0.04, -0.04, 0.0)] == ["+3.2", "-12.0", "0.0", "0.0", "0.0"]


def test_chart_shows_the_reports_values_and_assumed_lines(qtbot, report, default_bundle):
    chart = ContributionsChart()
    qtbot.addWidget(chart)
    chart.resize(300, 300)
    chart.show()
    assert chart.isHidden() or not chart.shown()  # nothing before a report
    chart.set_report(report)
    assert chart.isVisible()
    assert chart.shown() == [(c.label, points_text(c.points)) for c in report.contributions]
    assert f"which scores {report.typical_score:.0f}" in chart.title.text()
    assert report.summary and chart.summary.text() == report.summary
    assert "about" in chart.assumed.text() and "No follower count" in chart.assumed.text()
    for c in report.contributions:
        assert c.label in chart.bars.toolTip()
    assert not chart.grab().isNull()  # paints without error
    # a new report replaces the bars; a report with the count given no longer lists it as assumed
    other = rescore(report, PostMeta(caption="my first video #fyp", followers=250), default_bundle, device="cpu")
    chart.set_report(other)
    assert chart.shown() == [(c.label, points_text(c.points)) for c in other.contributions]
    assert "No follower count" not in chart.assumed.text()
    chart.set_report(None)
    assert chart.shown() == [] and not chart.isVisible()


def test_score_page_shows_the_chart_for_each_report(window, report):
    page = window.score_page
    page._show(report)
    assert page.why.shown() == [(c.label, points_text(c.points)) for c in report.contributions]
    assert page.why.isVisible()
