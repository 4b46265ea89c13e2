"""A corrupted stretch in the middle of a file (issue 10 §3): the report says how many seconds could not be
decoded, and the cues rest on what was read (the sound after the damage still counts, the missing part is not
counted as silence)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import media
from engine.scoring import score_video
from media_factory import make_video


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("damage")
    good = make_video(folder / "good.mp4", seconds=10.0, size=(320, 240), cuts_at=(2, 4, 6, 8), gop=25)
    data = bytearray(good.read_bytes())
    lo, hi = int(len(data) * 0.35), int(len(data) * 0.6)  # about 3.5 s to 6.5 s of picture and sound
    data[lo:hi] = bytes(hi - lo)
    bad = folder / "damaged.mp4"
    bad.write_bytes(bytes(data))
    return good, bad


def test_undecodable_stretches_are_measured(damaged):
    good, bad = damaged
    for path, expected in ((good, 0.0), (bad, None)):
        info = media.probe(path)
        gaps, audio_gaps = [], []
        media.sample_frames(path, [(t / 5, 64) for t in range(50)], info=info, gaps=gaps)
        pcm = media.decode_audio(path, gaps=audio_gaps)
        if expected == 0.0:
            assert gaps == [] and audio_gaps == [] and pcm.size / 16000 == pytest.approx(10.0, abs=0.05)
        else:
            assert 2.0 <= media.total_seconds(gaps) <= 4.5
            assert 1.5 <= media.total_seconds(audio_gaps) <= 4.5
            assert pcm.size / 16000 > 6.0  # the sound after the damaged stretch is still decoded


def test_the_report_says_how_much_could_not_be_decoded(damaged):
    good, bad = damaged
    ok = score_video(good, device="cpu")
    hurt = score_video(bad, device="cpu")
    assert ok.cues.undecoded_s == 0.0 and not any("could not be decoded" in n for n in ok.notes)
    assert 2.0 <= hurt.cues.undecoded_s <= 4.5
    assert any(f"About {hurt.cues.undecoded_s:.1f} s of the file could not be decoded" in n for n in hurt.notes)
    assert json.loads(json.dumps(hurt.as_dict()))["undecoded_s"] == hurt.cues.undecoded_s
    # a steady tone throughout: what could not be decoded is not silence
    assert hurt.cues.value("silence_share") < 0.1
    assert ok.cues.value("loudness") == pytest.approx(hurt.cues.value("loudness"), abs=1.0)


def total(intervals):
    return media.total_seconds(intervals)


def test_total_seconds_merges_overlaps():
    assert total([]) == 0.0
    assert total([(4.0, 7.0), (4.5, 7.0), (1.0, 2.0), (6.5, 8.0)]) == pytest.approx(5.0)
