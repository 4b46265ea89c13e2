"""`score` and `batch` as a user runs them, on inputs far outside what the model learned from (issue 10 §3,
issue 11 §2: a 144p landscape clip must be flagged, not ranked first)."""
import csv
import json
from pathlib import Path

from media_factory import make_video
from test_cli import run_cli


def test_batch_ranks_a_144p_landscape_clip_after_a_phone_clip_and_says_why(tmp_path):
    folder = tmp_path / "clips"
    make_video(folder / "a 144p.mp4", seconds=4.0, size=(176, 144), audio=None, moving=False)
    make_video(folder / "b phone.mp4", seconds=4.0, size=(360, 640))
    out = tmp_path / "ranked.csv"
    r = run_cli("batch", folder, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [Path(row["path"]).name for row in rows] == ["b phone.mp4", "a 144p.mp4"]
    assert rows[0]["not_meaningful"] == "" and "176x144" in rows[1]["not_meaningful"]


def test_score_flags_an_impossible_follower_count_in_json_and_text(tmp_path):
    video = make_video(tmp_path / "clip.mp4", seconds=2.0, size=(360, 640))
    r = run_cli("score", video, "--followers", "1e30", "--post-time", "1900-01-01T12:00", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert out["meaningful"] is False
    assert any("followers" in reason for reason in out["not_meaningful"])
    assert any("before the platform existed" in reason for reason in out["not_meaningful"])
    text = run_cli("score", video, "--followers", "1e30")
    assert text.returncode == 0 and "NOT MEANINGFUL" in text.stdout and "Traceback" not in text.stderr


def test_the_batch_page_sorts_a_flagged_score_below_the_meaningful_ones(qtbot, tmp_path):
    from gui.batch_page import SORT_ROLE, BatchTableModel
    from engine.scoring import BatchItem, score_video

    model = BatchTableModel()
    phone = score_video(make_video(tmp_path / "phone.mp4", 2.0, size=(360, 640)), device="cpu")
    qcif = score_video(make_video(tmp_path / "qcif.mp4", 2.0, size=(176, 144)), device="cpu")
    qcif.score, phone.score = 99.0, 10.0  # flagged but higher: still below
    for r in (qcif, phone):
        model.update_item(BatchItem(r.path, report=r))
    key = {Path(model.rows[i].path).name: model.index(i, model.SCORE).data(SORT_ROLE) for i in range(2)}
    assert key["phone.mp4"] > key["qcif.mp4"] > -1.0  # failures sort at -1
    status = {Path(model.rows[i].path).name: model.index(i, model.STATUS).data() for i in range(2)}
    assert status["phone.mp4"] == "scored" and status["qcif.mp4"].startswith("score not meaningful: ")
