"""Nothing a user owns is destroyed by an output, batch runs neither fail late nor lose work, CSVs are
spreadsheet-safe (issue 10, sections 1, 2 and 5). engine.outputs, engine.journal and the commands that use them."""
import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bad_inputs import without_root_override
from media_factory import make_video
from test_cli import ROOT, run_cli

from engine.data.posts_csv import Post, read_posts_csv, write_posts_csv
from engine.data.store import Dataset
from engine.errors import EngineError
from engine.journal import BatchJournal
from engine.media import is_video_name
from engine.outputs import OutputError, check_output, printable, safe_cell, unsafe_cell
from engine.scoring import scan_folder

FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"http://x\")"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    for i in range(4):
        make_video(d / f"clip{i}.mp4", seconds=1.5 + 0.5 * i, size=(320, 240) if i % 2 else (240, 320))
    return d


def one_error_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ----------------------------------------------------------------------------- check_output


def test_check_output_refuses_what_it_must_not_write_over(tmp_path):
    video = make_video(tmp_path / "a.mp4", seconds=1.0)
    renamed = tmp_path / "holiday.dat"  # a video by content, whatever its name
    renamed.write_bytes(video.read_bytes())
    ds = Dataset.create(tmp_path / "d.sqlite")
    ds.close()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    cases = {
        tmp_path / "missing" / "out.csv": "does not exist",
        tmp_path: "is a folder",
        video: "is an input",
        tmp_path / "d.sqlite": "is a dataset",
        renamed: "is a video",
        notes: "is not a CSV",
        Path("/dev/null"): "not a regular file",
    }
    for path, reason in cases.items():
        with pytest.raises(OutputError, match=reason):
            check_output(path, "csv", inputs=[video])
    # --force replaces a file of another kind, never an input, a folder or a device
    assert check_output(notes, "csv", force=True) == notes
    assert check_output(renamed, "csv", force=True) == renamed
    for path in (video, tmp_path, Path("/dev/null")):
        with pytest.raises(OutputError):
            check_output(path, "csv", inputs=[video], force=True)
    (tmp_path / "old.csv").write_text("rank,path\n")
    assert check_output(tmp_path / "old.csv", "csv") == tmp_path / "old.csv"  # a CSV is replaced
    with pytest.raises(OutputError, match="is not a .zip"):
        check_output(notes, "zip")


def test_check_output_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match="not a model bundle"):
        check_output(docs, "bundle")
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", "bundle") == tmp_path / "empty"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    assert check_output(tmp_path / "old", "bundle") == tmp_path / "old"


def test_csv_cells_are_spreadsheet_safe_and_read_back():
    for text in FORMULAS:
        cell = safe_cell(text)
        assert cell == "'" + text
        assert unsafe_cell(cell) == text
    for text in ("-3.5", "+7", "plain", "a=b", "", "'quoted"):
        assert safe_cell(text) == text and unsafe_cell(text) == text
    assert safe_cell(12) == 12


def test_printable_escapes_the_bytes_of_a_non_utf8_name():
    name = os.fsdecode(b"clip\xff\xfe.mp4")
    shown = printable(name)
    assert shown == "clip\\xff\\xfe.mp4"
    shown.encode("utf-8")
    assert printable("caf\u00e9 \U0001f600.mp4") == "caf\u00e9 \U0001f600.mp4"


# ----------------------------------------------------------------------------- posts CSV / dataset export


def test_posts_csv_is_spreadsheet_safe_round_trips_and_gets_the_umask_mode(tmp_path):
    posts = [Post(post_id=f"p{i}", caption=text, music_title=text) for i, text in enumerate(FORMULAS)]
    posts.append(Post(post_id="n", caption="-5", author_followers=-0.0))
    out = tmp_path / "posts.csv"
    old = os.umask(0o022)
    try:
        write_posts_csv(out, posts)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # not mkstemp's 0600
    rows = read_rows(out)
    for row, text in zip(rows, FORMULAS):
        assert row["caption"] == "'" + text and row["music_title"] == "'" + text
    assert rows[-1]["caption"] == "-5"  # a number stays a number
    back = {p.post_id: p for p in read_posts_csv(out).posts}
    for i, text in enumerate(FORMULAS):
        assert back[f"p{i}"].caption == text


def test_control_characters_are_stripped_from_captions_on_import(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("post_id,caption,music_title\np1,\"good\x00 day\x1b[31m\nline two\",\"song\x07\"\n",
                   encoding="utf-8")
    with Dataset.create(tmp_path / "d.sqlite") as ds:
        ds.import_path(src, format="posts-csv")
        post = next(iter(ds.posts()))
    assert post.caption == "good day[31m\nline two"
    assert post.music_title == "song"


def test_dataset_export_never_destroys_the_dataset_or_a_video(tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("post_id,caption,views\np1,=cmd|' /C calc'!A0,10\np2,@SUM(1),20\n", encoding="utf-8")
    d = tmp_path / "d.sqlite"
    run_cli("dataset", "create", d)
    r = run_cli("dataset", "import", d, src)
    assert r.returncode == 0, r.stderr
    before = d.read_bytes()
    line = one_error_line(run_cli("dataset", "export", d, d))
    assert "input" in line
    assert d.read_bytes() == before
    video = make_video(tmp_path / "v.mp4", seconds=1.0)
    vbytes = video.read_bytes()
    assert "is a video" in one_error_line(run_cli("dataset", "export", d, video))
    assert video.read_bytes() == vbytes
    assert "does not exist" in one_error_line(run_cli("dataset", "export", d, tmp_path / "no" / "x.csv"))
    out = tmp_path / "out.csv"
    r = run_cli("dataset", "export", d, out, prefix=["sh", "-c", 'umask 022; exec "$@"', "sh"])
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    captions = sorted(row["caption"] for row in read_rows(out))
    assert captions == ["'=cmd|' /C calc'!A0", "'@SUM(1)"]
    r = run_cli("dataset", "export", d, video, "--force")  # asked for: replaced
    assert r.returncode == 0, r.stderr
    assert read_rows(video)[0]["post_id"] in ("p1", "p2")


def test_import_smp_and_train_refuse_their_destination_before_any_work(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=1.0)
    vbytes = video.read_bytes()
    smp = tmp_path / "smp" / "train"
    smp.mkdir(parents=True)
    assert "is a video" in one_error_line(run_cli("import-smp", smp.parent, video))
    assert video.read_bytes() == vbytes
    d = tmp_path / "d.sqlite"
    run_cli("dataset", "create", d)
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    line = one_error_line(run_cli("train", "--dataset", d, "--model", "ensemble", "--out", docs))
    assert "not a model bundle" in line
    assert (docs / "thesis.txt").read_text() == "years of work"
    assert "input" in one_error_line(run_cli("train", "--dataset", d, "--model", "ensemble", "--out", d))


# ----------------------------------------------------------------------------- batch --out


def test_batch_never_writes_over_its_input_and_checks_out_before_scoring(tmp_path, clips):
    target = clips / "clip0.mp4"
    before = target.read_bytes()
    line = one_error_line(run_cli("batch", clips, "--out", target, "--force", "-q"))
    assert "input" in line
    assert target.read_bytes() == before
    for out, reason in ((tmp_path / "missing" / "r.csv", "does not exist"), (tmp_path, "is a folder")):
        assert reason in one_error_line(run_cli("batch", clips, "--out", out, "-q"))
    ro = tmp_path / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        line = one_error_line(run_cli("batch", clips, "--out", ro / "r.csv", "-q", prefix=without_root_override()))
        assert "read-only" in line
    finally:
        os.chmod(ro, 0o755)
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.tmp"))


def test_batch_refuses_non_regular_files_and_lists_them(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "good.mp4", seconds=1.5)
    os.mkfifo(folder / "pipe.mp4")
    os.symlink("/dev/zero", folder / "zero.mp4")
    os.symlink(folder / "gone.mp4", folder / "broken.mp4")
    (folder / "=HYPERLINK(1).mp4").write_bytes(b"")  # empty: its reason starts with a formula
    scan = scan_folder(folder)
    assert [p.name for p in scan.videos] == ["=HYPERLINK(1).mp4", "good.mp4"]
    assert sorted(p.name for p, _ in scan.refused) == ["broken.mp4", "pipe.mp4", "zero.mp4"]
    out = tmp_path / "r.csv"
    r = run_cli("batch", folder, "--out", out, "--workers", "1", "-q", timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {Path(row["path"]).name: row for row in read_rows(out)}
    assert "named pipe" in rows["pipe.mp4"]["reason"]
    assert "device" in rows["zero.mp4"]["reason"] and "empty" not in rows["zero.mp4"]["reason"]
    assert "broken" in rows["broken.mp4"]["reason"]
    assert rows["=HYPERLINK(1).mp4"]["reason"].startswith("'=HYPERLINK(1).mp4: ")
    for name in ("pipe.mp4", "zero.mp4", "broken.mp4"):
        assert rows[name]["status"] == "skipped" and name in r.stdout
    # score on a FIFO answers at once instead of waiting for a writer
    line = one_error_line(run_cli("score", folder / "pipe.mp4", timeout=60))
    assert "named pipe" in line


def test_gif_counts_as_a_video_for_score_and_batch(tmp_path):
    import av
    import numpy as np

    gif = tmp_path / "loop.gif"
    with av.open(str(gif), "w") as c:
        s = c.add_stream("gif", rate=10)
        s.width, s.height, s.pix_fmt = 96, 96, "rgb8"
        for i in range(20):
            img = np.full((96, 96, 3), i * 10, np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    assert is_video_name(gif)
    assert scan_folder(tmp_path).videos == [gif]


def test_non_utf8_names_give_valid_json_and_a_written_csv(tmp_path, clips):
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(os.fsencode(str(folder)) + b"/clip\xff.mp4")
    os.link(clips / "clip1.mp4", odd)
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "score", odd, "--json"], capture_output=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="utf-8"), timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.decode("utf-8"))  # valid UTF-8 and valid JSON
    assert report["path"].endswith("clip\\xff.mp4")
    out = tmp_path / "r.csv"
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "batch", folder, "--out", out, "-q", "--json"],
                       capture_output=True, cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="utf-8"), timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.decode("utf-8"))["scored"][0]["path"].endswith("clip\\xff.mp4")
    assert read_rows(out)[0]["path"].endswith("clip\\xff.mp4")


# ----------------------------------------------------------------------------- resume, lock, workers


def _wait_for(pred, what, limit_s=120.0):
    deadline = time.monotonic() + limit_s
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def _journal_records(partial: Path) -> int:
    try:
        return max(0, len(partial.read_bytes().splitlines()) - 1)
    except OSError:
        return 0


def test_a_killed_batch_resumes_from_its_journal(tmp_path, clips):
    out = tmp_path / "r.csv"
    partial = tmp_path / "r.csv.partial"
    cmd = [sys.executable, str(ROOT / "main.py"), "batch", str(clips), "--out", str(out), "--workers", "1", "-q"]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _journal_records(partial) >= 1 or p.poll() is not None, "the first journal record")
    finally:
        p.kill()
        p.wait()
    done = _journal_records(partial)
    if not 1 <= done < 4:
        pytest.skip(f"the batch was killed with {done} of 4 files journalled")
    r = run_cli("batch", clips, "--out", out, "--workers", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert f"{done} of 4 videos were scored already" in r.stderr
    rows = read_rows(out)
    assert sorted(Path(row["path"]).name for row in rows) == [f"clip{i}.mp4" for i in range(4)]
    assert [int(row["rank"]) for row in rows] == [1, 2, 3, 4]
    assert not partial.exists()
    # a changed file, or another model setting, is scored again
    journal = BatchJournal(out, "another model")
    journal.add({"path": str(clips / "clip0.mp4"), "key": None, "score": 1.0})
    journal.close(remove=False)
    r = run_cli("batch", clips, "--out", out, "--workers", "1", "-q", "--followers", "5000")
    assert r.returncode == 0, r.stderr
    assert "scored already" not in r.stderr and "held 1 file(s) scored with another model" in r.stderr


def test_journal_keys_on_the_run_and_the_file(tmp_path, clips):
    out = tmp_path / "r.csv"
    j = BatchJournal(out, "model-A")
    video = clips / "clip2.mp4"
    from engine.journal import file_key

    j.add({"path": str(video), "key": file_key(video), "score": 50.0})
    j.close(remove=False)
    j = BatchJournal(out, "model-A")
    assert j.reusable(video)["score"] == 50.0
    assert j.reusable(clips / "clip3.mp4") is None
    j.close(remove=False)
    j = BatchJournal(out, "model-B")  # another model: nothing reused
    assert j.reusable(video) is None and j.discarded == 1
    j.close(remove=True)
    assert not Path(str(out) + ".partial").exists()


def test_two_batches_on_the_same_out_refuse_rather_than_overwrite(tmp_path, clips):
    out = tmp_path / "r.csv"
    held = BatchJournal(out, "another run")  # as a batch still running would hold it
    try:
        line = one_error_line(run_cli("batch", clips, "--out", out, "-q"))
        assert "another batch" in line
        assert not out.exists()
    finally:
        held.close(remove=False)
    with pytest.raises(EngineError, match="another batch"):
        a = BatchJournal(out, "x")
        try:
            BatchJournal(out, "x")
        finally:
            a.close(remove=True)


WORKER_SCRIPT = """
import os, sys, time
sys.path.insert(0, {root!r})
from engine.scoring import score_many
if __name__ == "__main__":
    for item in score_many(sys.argv[1:], workers=2):
        kids = open(f"/proc/{{os.getpid()}}/task/{{os.getpid()}}/children").read().split()
        print(" ".join(kids), flush=True)
        time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker pids from /proc")
def test_batch_workers_die_when_their_parent_is_killed(tmp_path, clips):
    script = tmp_path / "parent.py"
    script.write_text(WORKER_SCRIPT.format(root=str(ROOT)))
    videos = [str(clips / f"clip{i}.mp4") for i in range(4)] * 3
    p = subprocess.Popen([sys.executable, str(script), *videos], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        kids = [int(k) for k in p.stdout.readline().split()]
        kids = [k for k in kids if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert len(kids) == 2, kids  # the pool's two workers

    def all_gone():
        return all(not Path(f"/proc/{k}").exists() or "Z" in _state(k) for k in kids)

    _wait_for(all_gone, "the workers to end after their parent's SIGKILL", limit_s=30)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
