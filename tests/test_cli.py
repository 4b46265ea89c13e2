"""The main job as a user runs it: `python main.py score|batch` in a subprocess, reading what it prints."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bad_inputs import make_bad_inputs, without_root_override
from conftest import ROOT, run_cli
from media_factory import make_video

CUE_NAMES = {
    "duration", "aspect", "resolution", "cuts_per_min", "hook_motion", "faces", "face_size", "onscreen_text",
    "brightness", "colourfulness", "loudness", "speech_share", "music_share", "silence_share",
}


@pytest.fixture(scope="module")
def sample_video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=4.0, size=(360, 640), cuts_at=(2.0,))


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory, sample_video):
    # A world-readable folder so that the unreadable file fails for its own mode, even for 'nobody'.
    d = tmp_path_factory.mktemp("bad")
    os.chmod(d, 0o755)
    os.chmod(d.parent, 0o755)
    os.chmod(d.parent.parent, 0o755)
    bad = make_bad_inputs(d / "inputs", sample_video)
    os.chmod(d / "inputs", 0o755)
    return bad


def test_score_json_has_the_promised_fields(sample_video):
    r = run_cli("score", sample_video, "--caption", "day 3 of learning guitar #guitar", "--followers", "12k", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert 0 <= out["score"] <= 100
    for key in ("views_low", "views_high", "model", "provider", "cues"):
        assert key in out
    assert out["provider"] in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert {c["name"] for c in out["cues"]} == CUE_NAMES
    for c in out["cues"]:
        assert set(c) >= {"name", "value", "unit", "text"} and c["text"]
    assert "followers" in out["inputs_used"] and "caption" in out["inputs_used"]
    # The default model predicts SMP's popularity, not views: no invented range.
    assert out["views_low"] is None and out["views_high"] is None
    assert any("view" in n for n in out["notes"])


def test_score_text_report_is_readable(sample_video):
    r = run_cli("score", sample_video, "--followers", "1.2M")
    assert r.returncode == 0, r.stderr
    assert "Virality score" in r.stdout and "Content cues" in r.stdout
    assert "cuts_per_min" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_more_followers_scores_higher(sample_video):
    scores = []
    for f in ("300", "30k", "3M"):
        r = run_cli("score", sample_video, "--followers", f, "--likes", str(float(f.rstrip("kM")) * {"k": 1e3, "M": 1e6}.get(f[-1], 1) * 20), "--videos", "100", "--json")
        assert r.returncode == 0, r.stderr
        scores.append(json.loads(r.stdout)["score"])
    assert scores[0] < scores[1] < scores[2]


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "half", "audio", "one_frame", "unreadable"])
def test_score_bad_input_gives_one_clear_line(bad_dir, kind):
    path = bad_dir["empty"].parent / "no such video.mp4" if kind == "missing" else bad_dir[kind]
    r = run_cli("score", path, prefix=without_root_override() if kind == "unreadable" else ())
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    expected = {"missing": "no such file", "empty": "empty", "text": "not a video", "half": "truncated",
                "audio": "audio file", "one_frame": "single frame", "unreadable": "permission denied"}[kind]
    assert expected in lines[0]


def test_score_path_with_spaces_and_accents(tmp_path, sample_video):
    p = tmp_path / "Mes vidéos" / "première prise – été.mp4"
    p.parent.mkdir()
    shutil.copyfile(sample_video, p)
    r = run_cli("score", p, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["path"] == str(p)


def test_batch_ranks_good_files_and_lists_each_bad_one(tmp_path, bad_dir, sample_video):
    folder = bad_dir["empty"].parent
    sub = folder / "sub folder"
    sub.mkdir(exist_ok=True)
    make_video(sub / "second.mp4", seconds=3.0, size=(480, 480), audio=None)
    shutil.copyfile(sample_video, folder / "good.mp4")
    out = tmp_path / "ranked.csv"
    r = run_cli("batch", folder, "-r", "--out", out, "--workers", "2", prefix=without_root_override())
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    scored = [row for row in rows if row["status"] == "scored"]
    skipped = {Path(row["path"]).name: row["reason"] for row in rows if row["status"] == "skipped"}
    assert {Path(r_["path"]).name for r_ in scored} == {"good.mp4", "second.mp4"}
    assert [int(r_["rank"]) for r_ in scored] == [1, 2]
    assert float(scored[0]["score"]) >= float(scored[1]["score"])
    for name in ("empty.mp4", "notes.mp4", "half download.mp4", "one frame.mp4", "locked.mp4"):
        assert name in skipped and skipped[name]
        assert name in r.stdout
    assert "permission denied" in skipped["locked.mp4"]
    assert "voice memo.m4a" not in skipped  # not a video by name: ignored and counted instead
    assert "not videos by name" in r.stdout
    assert not out.with_name("ranked.csv.partial").exists()


def test_batch_without_recursion_and_a_folder_of_2000_non_videos(tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    for i in range(2000):
        (folder / f"note {i}.txt").write_text("x")
    r = run_cli("batch", folder)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {folder}: no video files found among 2,000 files (add -r to look in subfolders)"


def test_score_a_folder_or_batch_a_file_says_which_command(tmp_path, sample_video):
    r = run_cli("score", tmp_path)
    assert r.returncode == 2 and "use 'batch'" in r.stderr
    r = run_cli("batch", sample_video)
    assert r.returncode == 2 and "use 'score'" in r.stderr


def test_bad_metadata_is_refused_by_the_parser(sample_video):
    r = run_cli("score", sample_video, "--followers", "lots")
    assert r.returncode == 2 and "is not a count" in r.stderr
    r = run_cli("score", sample_video, "--post-time", "next tuesday")
    assert r.returncode == 2 and "ISO 8601" in r.stderr


def test_scoring_imports_neither_torch_nor_sklearn(sample_video):
    code = (
        "import sys, json; sys.argv=['main.py','score',%r,'--json','--followers','5000'];"
        "import main; rc=main.main(sys.argv[1:]);"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('torch','sklearn','torchvision','PySide6')];"
        "print('MODULES', json.dumps(bad)); sys.exit(rc)"
    ) % str(sample_video)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("MODULES")][0]
    assert json.loads(line.split(" ", 1)[1]) == []


def test_version_flag():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("Virality Studio ")


def _to_closed_pipe(*args) -> subprocess.CompletedProcess:
    """`python main.py ARGS` with stdout a pipe whose reader has gone (as after `| head -1`), deterministically."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=300)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("how", [("score", "-q"), ("score", "-q", "--json", "--compact"), ("batch", "-q")])
def test_a_closed_stdout_ends_quietly_with_the_sigpipe_status(tmp_path, sample_video, how):
    """`score CLIP | head -1`: no BrokenPipeError traceback; the status is 141 (128 + SIGPIPE), as for any
    program a closed pipe stops. The compact JSON is written only at the flush on the way out."""
    command, *flags = how
    if command == "batch":
        shutil.copyfile(sample_video, tmp_path / "a.mp4")
    r = _to_closed_pipe(command, sample_video if command == "score" else tmp_path, *flags)
    assert (r.returncode, r.stderr) == (141, "")


def test_a_broken_pipe_that_is_not_stdout_still_fails_loudly():
    code = ("import sys, main\n"
            "def boom(argv): raise BrokenPipeError(32, 'a worker went')\n"
            "main._main = boom\n"
            "main.finish(main.main(['score', 'x.mp4']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1 and "BrokenPipeError: [Errno 32] a worker went" in r.stderr
