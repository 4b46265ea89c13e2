"""Issue 13 point 7 on the Score page: with no follower count, "Why this score" names the account the default
model assumed (the median account of SMP-Video, its training data)."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_gui import no_job_threads  # noqa: E402,F401  (fixtures; user_dirs and window are in conftest)


def test_the_score_page_shows_it(window, qtbot, tmp_path):
    from media_factory import make_video
    from test_gui_score_page import _scored

    page = window.score_page
    _scored(qtbot, page, make_video(tmp_path / "s.mp4", seconds=1.0))
    text = page.why.assumed.text()
    assert "No follower count: assumed the median account of its training data, SMP-Video" in text
    assert page.why.assumed.isVisibleTo(page)

