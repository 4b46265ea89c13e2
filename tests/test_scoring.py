"""Videos that must score, end to end in one process: odd sizes, no audio, 6-channel audio, a rotated
phone video, 4K at 60 fps and a 10-minute clip."""
import time

import pytest

from engine.jobs import CancelToken
from engine.errors import Cancelled
from engine.features.spec import PostMeta
from engine.scoring import rank, scan_folder, score_many, score_video
from media_factory import make_video


def _check(report, width=None, height=None):
    assert 0 <= report.score <= 100
    assert len(report.cues.cues) == 14
    if width:
        assert (report.info.width, report.info.height) == (width, height)
        aspect = report.cues.value("aspect")
        assert aspect == pytest.approx(height / width, rel=0.02)


def test_every_shared_video_scores(default_bundle, shared_video_paths):
    for p in shared_video_paths:
        r = score_video(p, PostMeta(followers=5000), bundle=default_bundle)
        _check(r)
        assert r.cues.value("duration") == pytest.approx(r.info.duration_s, rel=0.01)
        if not r.info.has_audio:
            assert r.cues.value("loudness") is None and r.cues.value("silence_share") == 1.0


def test_rotated_phone_video_scores_as_vertical(default_bundle, tmp_path):
    p = make_video(tmp_path / "phone.mp4", seconds=3.0, size=(640, 360), rotation=90)
    r = score_video(p, bundle=default_bundle)
    _check(r, 360, 640)
    assert "vertical" in r.cues.cue("aspect").text


@pytest.mark.slow
def test_4k_60fps_clip_scores(default_bundle, tmp_path):
    p = make_video(tmp_path / "uhd.mp4", seconds=1.0, fps=60, size=(3840, 2160), audio="sine", gop=60)
    r = score_video(p, bundle=default_bundle)
    _check(r, 3840, 2160)
    assert round(r.info.fps) == 60
    assert r.cues.value("resolution") == 2160


@pytest.mark.slow
def test_ten_minute_clip_scores_with_bounded_work(default_bundle, tmp_path):
    p = make_video(tmp_path / "long.mp4", seconds=600, fps=10, size=(160, 90), cuts_at=range(30, 600, 30),
                   audio="noise", audio_rate=16000, audio_channels=1, gop=250)
    t0 = time.perf_counter()
    r = score_video(p, bundle=default_bundle)
    _check(r, 160, 90)
    assert r.info.duration_s == pytest.approx(600, abs=1)
    # 19 scene changes in 10 minutes: ~1.9 a minute, seen even with coarse sampling
    assert 1.0 <= r.cues.value("cuts_per_min") <= 3.0
    assert time.perf_counter() - t0 < 120  # a sanity bound against reading every frame at full cost, not a speed goal


def test_more_reach_ranks_higher_and_missing_followers_is_said(default_bundle, tmp_path):
    p = make_video(tmp_path / "clip.mp4", seconds=2.0)
    small = score_video(p, PostMeta(followers=200, author_likes=1000, author_videos=50), bundle=default_bundle)
    big = score_video(p, PostMeta(followers=2e6, author_likes=5e7, author_videos=300), bundle=default_bundle)
    assert big.score > small.score
    none = score_video(p, None, bundle=default_bundle)
    assert any("follower" in n for n in none.notes)
    assert "followers" in none.inputs_missing


def test_batch_in_workers_ranks_and_cancel_stops(default_bundle, tmp_path):
    for i in range(4):
        make_video(tmp_path / f"v{i}.mp4", seconds=1.0 + i, size=(240, 320))
    scan = scan_folder(tmp_path)
    assert len(scan.videos) == 4
    items = list(score_many(scan.videos, PostMeta(followers=10_000), workers=2))
    assert sorted(i.path for i in items) == sorted(map(str, scan.videos)) and all(i.ok for i in items)
    ranked = rank(items)
    assert [i.report.score for i in ranked] == sorted((i.report.score for i in ranked), reverse=True)

    token = CancelToken()
    got = []
    with pytest.raises(Cancelled):
        for item in score_many(scan.videos * 5, workers=2, cancel=token):
            got.append(item)
            token.cancel()
    assert 1 <= len(got) < 20
