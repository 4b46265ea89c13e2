"""The Clips page: find clips in a long video in a job, show them as bands and rows, play one, export the ticked."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPointF, Qt

from media_factory import make_video


@pytest.fixture
def page(qtbot):
    from gui.clips_page import ClipsPage
    from gui.jobs import JobRunner

    runner = JobRunner()
    p = ClipsPage(runner, model=None)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    yield p
    runner.shutdown()


def _found(qtbot, page, tmp_path, seconds, cuts_at, count, length):
    """The plan the page shows for a made video (no sound) with shot cuts at `cuts_at`."""
    video = make_video(tmp_path / "long.mp4", seconds=seconds, cuts_at=cuts_at, audio=None)
    page.count.setValue(count)
    page.min_len.setValue(length[0])
    page.max_len.setValue(length[1])
    with qtbot.waitSignal(page.planned, timeout=120_000) as got:
        page.find(str(video), cache_dir=str(tmp_path / "cache"))
    return got.args[0]


def test_find_shows_bands_and_rows_then_exports_the_ticked(qtbot, page, tmp_path):
    plan = _found(qtbot, page, tmp_path, 40, [6, 13, 21, 27, 34], count=3, length=(5, 12))
    assert 1 <= len(plan.clips) <= 3
    assert page.list.count() == len(plan.clips)
    assert page.timeline.spans == [(c.start_s, c.end_s) for c in plan.clips]
    assert "no sound" in page.notes.text()
    first = plan.clips[0]
    assert page.list.item(0).text().startswith("1. ") and first.reasons[0] in page.list.item(0).text()
    # a click on the first band selects its row and moves the player to the clip's start
    x = page.timeline._x((first.start_s + first.end_s) / 2)
    qtbot.mouseClick(page.timeline, Qt.LeftButton, pos=QPointF(x, 12).toPoint())
    assert page.list.currentRow() == 0 and page.timeline.current == 0
    # nudge the second clip's end to the next boundary: it snaps to a cut, and the export uses the new span
    from engine.clips.finder import boundaries

    assert len(plan.clips) >= 2
    page.list.setCurrentRow(1)
    before = plan.clips[1]
    page.nudge_buttons[("end", 1)].click()
    after = page.plan.clips[1]
    ends = [b.time_s for b in boundaries(plan.analysis)[1]]
    assert after.end_s > before.end_s and after.end_s in ends and after.start_s == before.start_s
    assert page.timeline.spans[1] == (after.start_s, after.end_s)
    assert f"({after.duration_s:.0f} s)" in page.list.item(1).text()
    # untick the first, export the rest
    page.list.item(0).setCheckState(Qt.Unchecked)
    assert page.timeline.enabled[0] is False
    with qtbot.waitSignal(page.exported, timeout=120_000) as done:
        page.choose_export(str(tmp_path / "out"))
    result = done.args[0]
    assert len(result.files) == len(plan.clips) - 1
    written = json.loads((tmp_path / "out" / "clips.json").read_text())["clips"]
    assert [(r["start_s"], r["end_s"]) for r in written] == [(c.start_s, c.end_s) for c in page.plan.clips[1:]]
    assert written[0]["end_s"] == after.end_s
    assert all((tmp_path / "out" / f).is_file() for f in result.files)


def test_a_clicked_clip_plays_and_pauses_at_its_end_not_in_the_rest_of_the_video(qtbot, page, tmp_path):
    """It used to play on past the clip into the rest of the video. The player's own position signal (Qt
    Multimedia's where installed, the silent preview's otherwise) is what is checked."""
    plan = _found(qtbot, page, tmp_path, 12, [4, 8], count=2, length=(3, 4))
    player = page.player
    if not player.multimedia:  # the silent preview decodes its frames in a worker first
        qtbot.waitUntil(lambda: len(player._frames) > 0, timeout=60_000)
    i = next(k for k, c in enumerate(plan.clips) if c.end_s < plan.analysis.duration_s - 2)  # the video goes on
    clip = plan.clips[i]
    seen: list[float] = []
    player.position_changed.connect(seen.append)
    # a click on the clip's row plays it (older code only moved there: then it is Play that starts it)
    rect = page.list.visualItemRect(page.list.item(i))
    qtbot.mouseClick(page.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert page.list.currentRow() == i
    if player.play_button.text() == "Play":
        player.play_button.click()
    assert player.position() == pytest.approx(clip.start_s, abs=0.05)
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)  # Qt Multimedia: once it has loaded the file
    qtbot.waitUntil(lambda: not player.playing or player.position() > clip.end_s + 0.3,
                    timeout=int((clip.duration_s + 20) * 1000))
    assert not player.playing, f"played on to {player.position():.2f} s past the clip's end {clip.end_s:.2f} s"
    assert player.position() == pytest.approx(clip.end_s, abs=0.05)
    assert max(seen) <= clip.end_s + 0.05 and min(seen) >= clip.start_s - 0.05
    assert player.play_button.text() == "Play"
    # Play plays the clip again from its start
    player.play_button.click()
    assert player.position() == pytest.approx(clip.start_s, abs=0.05)
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)
    # a seek outside the clip (the slider) leaves it: the video plays on from there
    player.slider.setValue(int((clip.end_s + 0.5) * 1000))
    assert player.span is None and player.playing
    qtbot.waitUntil(lambda: player.position() > clip.end_s + 0.8, timeout=20_000)
    player.stop()


def test_a_file_the_finder_did_not_write_is_never_overwritten(tmp_path):
    from engine.clips.job import clip_name, make_clips, plan_clips
    from engine.errors import EngineError

    video = make_video(tmp_path / "long.mp4", seconds=30, cuts_at=[6, 13, 21], audio=None)
    plan = plan_clips(video, count=1, length=(5, 12), cache_dir=tmp_path / "cache")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / clip_name(1, plan.clips[0])
    mine.write_bytes(b"my own file")
    with pytest.raises(EngineError, match="was not written by 'clips'"):
        make_clips(video, out, count=1, length=(5, 12), cache_dir=tmp_path / "cache")
    assert mine.read_bytes() == b"my own file"
