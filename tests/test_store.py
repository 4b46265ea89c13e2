"""The dataset store (engine.data.store), its importers and the `dataset` CLI."""
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from media_factory import make_video

from engine.data import store as store_mod
from engine.data.importers import detect_format
from engine.data.posts_csv import Post, read_posts_csv, write_posts_csv
from engine.data.store import Dataset, default_dataset_dir, resolve_dataset_path
from engine.errors import Cancelled, DataError
from engine.jobs import CancelToken

ROOT = Path(__file__).resolve().parent.parent
TIKTOK_SAMPLE = Path(__file__).resolve().parent / "data" / "tiktok_items_sample.json"


def counts(ds):
    i = ds.info()
    return {k: i[k] for k in ("posts", "authors", "videos", "labels", "author_readings", "labelled_posts")}


@pytest.fixture
def ds(tmp_path):
    with Dataset.create(tmp_path / "store" / "d.sqlite") as d:
        yield d


# ----------------------------------------------------------------------------- posts CSV


def _sample_posts(clip_name="clips/a.mp4"):
    t = datetime(2024, 3, 1, 18, 30)
    return [
        Post("p1", author_id="alice", caption="  Day 3 of guitar, «ñ» 🎸\nsecond line", hashtags=["guitar", "fyp"],
             post_time=t, duration_s=12.5, width=1080, height=1920, music_title="original sound - alice",
             music_original=True, author_followers=1200, author_following=80, author_likes=30000,
             author_videos=41, language="en", views=15000, likes=900, comments=12, shares=3, saves=40,
             video_path=clip_name, location="GB"),
        Post("p2", author_id="alice", caption="day 4", post_time=datetime(2024, 3, 2, 9, 0, tzinfo=timezone.utc),
             author_followers=1250, author_following=80, author_likes=31000, author_videos=42, views=0.0,
             music_original=False, video_path="clips/missing.mp4"),
        Post("p3", author_id="bob", popularity=7.25, hashtags=["cats"], duration_s=1 / 3),
        Post("p4", author_followers=99),  # no author id, but account counts
        Post("p5"),  # nothing but an id: no label, no author
    ]


def test_posts_csv_round_trip_and_reimport(tmp_path):
    src = tmp_path / "export"
    make_video(src / "clips" / "a.mp4", seconds=1.0, size=(160, 288), audio=None)
    write_posts_csv(src / "posts.csv", _sample_posts())
    original = read_posts_csv(src / "posts.csv")
    assert not original.problems

    with Dataset.create(tmp_path / "d.sqlite") as ds:
        r = ds.import_path(src / "posts.csv")
        assert r.format == "posts-csv"
        assert (r.added, r.merged, r.videos_added) == (5, 0, 1)
        assert any("missing.mp4" in p and "p2" in p for p in r.problems), r.problems
        assert counts(ds) == {"posts": 5, "authors": 2, "videos": 1, "labels": 3, "author_readings": 3,
                              "labelled_posts": 3}
        (video,) = ds.videos()
        assert video.path == (src / "clips" / "a.mp4").resolve() and len(video.sha256) == 64
        assert (video.width, video.height, video.has_audio) == (160, 288, False)
        assert abs(video.duration_s - 1.0) < 0.1
        assert ds.post_videos()["p1"].sha256 == video.sha256

        assert ds.export_csv(src / "again.csv") == 5
        again = read_posts_csv(src / "again.csv")
        assert again.posts == original.posts
        # an export elsewhere still points at the same files
        ds.export_csv(tmp_path / "elsewhere" / "out.csv")
        moved = read_posts_csv(tmp_path / "elsewhere" / "out.csv")
        assert moved.posts[0].video_file(moved.base_dir).resolve() == (src / "clips" / "a.mp4").resolve()

        # the same file again: nothing changes
        before = counts(ds)
        r = ds.import_path(src / "posts.csv")
        assert (r.added, r.merged, r.changed, r.labels_added, r.videos_added) == (0, 5, 0, 0, 0)
        assert counts(ds) == before

        # later stats: a new label reading is appended, the latest is what posts() gives
        later = _sample_posts()
        later[0].views, later[0].likes = 40000, 2000
        later[0].caption = None  # unknown in the new file: the stored caption stays
        write_posts_csv(src / "later.csv", later)
        r = ds.import_path(src / "later.csv")
        assert (r.added, r.merged, r.labels_added) == (0, 5, 1)
        assert counts(ds) == dict(before, labels=4)
        p1 = next(p for p in ds.posts() if p.post_id == "p1")
        assert (p1.views, p1.likes, p1.caption) == (40000, 2000, original.posts[0].caption)
        assert [x.views for x in ds.label_readings("p1")] == [15000, 40000]


# ----------------------------------------------------------------------------- SMP-Video


def test_smp_import_counts_and_reimport_changes_nothing(tmp_path, smp_dir):
    path = tmp_path / "smp.sqlite"
    with Dataset.create(path) as ds:
        assert detect_format(smp_dir / "train") == "smp"
        r = ds.import_path(smp_dir / "train")
        assert (r.format, r.added) == ("smp", 4000)
        c = counts(ds)
        assert (c["posts"], c["authors"], c["labels"], c["videos"]) == (4000, 3488, 4000, 0)
        posts = list(ds.posts())
        assert all(p.popularity is not None for p in posts)
        assert all(p.views is None for p in posts)
        # SMP does not date its snapshot: stored as unknown, not as the import time
        assert {x.measured_at for x in ds.label_readings(posts[0].post_id)} == {None}
        r = ds.import_path(smp_dir)  # the dataset root works too
        assert (r.added, r.merged, r.changed, r.labels_added) == (0, 4000, 0, 0)
        assert counts(ds) == c
    # post_suggested_words never reach the store (a label leak)
    train = smp_dir / "train"
    rows = [json.loads(x) for x in (train / "SMP-Video_anonymized_posts_train.jsonl").read_text().splitlines()]
    music = (train / "SMP-Video_anonymized_videos_train.jsonl").read_text().lower()
    legit = " ".join((r.get("post_content") or "").replace(",", " ") for r in rows).lower() + music
    only_suggested = {w.lower() for r in rows[:400] for w in r.get("post_suggested_words") or ()
                      if len(w) > 6 and w.lower() not in legit}
    assert len(only_suggested) > 100
    dump = "\n".join(sqlite3.connect(path).iterdump()).lower()
    assert not [w for w in only_suggested if w in dump]
    assert "suggested" not in dump


# ----------------------------------------------------------------------------- TikTok JSON


def _by_id(ds):
    return {p.post_id: p for p in ds.posts()}


def test_tiktok_json_stats_and_string_stats_v2(ds):
    assert detect_format(TIKTOK_SAMPLE) == "tiktok-json"
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    r = ds.import_path(TIKTOK_SAMPLE)
    t1 = datetime.now(timezone.utc)
    assert (r.format, r.added, r.problems) == ("tiktok-json", 3, [])
    assert counts(ds) == {"posts": 3, "authors": 2, "videos": 0, "labels": 3, "author_readings": 3, "labelled_posts": 3}
    posts = _by_id(ds)

    a = posts["7384512093761234945"]  # plain `stats`, numbers
    assert (a.views, a.likes, a.comments, a.shares, a.saves) == (1830000, 201400, 1320, 8800, 15200)
    assert (a.author_id, a.author_followers, a.author_following, a.author_likes, a.author_videos) == \
        ("6812345678901234567", 152300, 311, 4100000, 412)
    assert a.post_time == datetime(2024, 6, 25, 8, 0, tzinfo=timezone.utc)
    assert a.hashtags == ["cooking", "knifeskills", "fyp"]
    assert (a.duration_s, a.width, a.height, a.music_original, a.language, a.location) == (34, 576, 1024, True, "en", "US")
    assert a.caption.startswith("3 knife skills")

    b = posts["7391122334455667788"]  # `statsV2`: counts are strings
    assert (b.views, b.likes, b.comments, b.shares, b.saves) == (45210, 3120, 41, 17, 288)
    assert all(isinstance(x, float) for x in (b.views, b.likes, b.author_followers))
    assert (b.author_followers, b.author_following, b.author_likes, b.author_videos) == (8810, 97, 120345, 58)
    assert b.hashtags == ["sourdough", "baking", "bread"]
    assert (b.music_title, b.music_original) == ("Golden Hour", False)

    c = posts["7402233445566778899"]  # both: V2's exact strings win
    assert (c.views, c.likes, c.author_followers) == (2147483648, 250511, 160123)
    assert c.music_original is True  # no `original` flag: read from the title

    # readings are dated by the item's collection time, else by the import
    (rb,) = ds.label_readings(b.post_id)
    assert rb.measured_at == datetime(2024, 7, 14, 8, 0, tzinfo=timezone.utc) and rb.age_hours == 32.0
    (ra,) = ds.label_readings(a.post_id)
    assert t0 <= ra.measured_at <= t1
    assert abs(ra.age_hours - (ra.measured_at - a.post_time).total_seconds() / 3600) < 1e-3
    assert len(ds.author_readings("6812345678901234567")) == 2

    # the same file again changes nothing; a later collection appends readings
    before = counts(ds)
    r = ds.import_path(TIKTOK_SAMPLE, format="tiktok-json")
    assert (r.added, r.merged, r.labels_added) == (0, 3, 0) and counts(ds) == before
    items = json.loads(TIKTOK_SAMPLE.read_text())["itemList"]
    items[1]["statsV2"]["playCount"] = "98000"
    items[1]["collected_at"] = "2024-07-20T08:00:00Z"
    r = ds.import_tiktok_items([items[1]])
    assert (r.added, r.merged, r.labels_added) == (0, 1, 1)
    assert _by_id(ds)[b.post_id].views == 98000
    assert ds.labels_at_age(30)[b.post_id].views == 45210
    assert ds.labels_at_age(24 * 7)[b.post_id].views == 98000
    assert {p.post_id: p.views for p in ds.posts(at_age_hours=30)}[b.post_id] == 45210


def test_tiktok_json_list_and_lines_forms(tmp_path):
    items = json.loads(TIKTOK_SAMPLE.read_text())["itemList"]
    (tmp_path / "list.json").write_text(json.dumps(items))
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    bad = dict(items[0], id=None)
    (tmp_path / "odd.json").write_text(json.dumps([bad, {"itemInfo": {"itemStruct": items[1]}}]))
    for name in ("list.json", "items.jsonl"):
        assert detect_format(tmp_path / name) == "tiktok-json"
        with Dataset.create(tmp_path / f"{name}.sqlite") as ds:
            assert ds.import_path(tmp_path / name).added == 3
            assert _by_id(ds)["7391122334455667788"].views == 45210
    with Dataset.create(tmp_path / "odd.sqlite") as ds:
        r = ds.import_path(tmp_path / "odd.json", format="tiktok-json")
        assert r.added == 1 and len(r.problems) == 1 and "no 'id'" in r.problems[0]


# ----------------------------------------------------------------------------- videos


def test_same_video_under_two_names_is_one_video(tmp_path, ds):
    folder = tmp_path / "clips"
    a = make_video(folder / "a.mp4", seconds=1.0, size=(128, 96), audio="sine")
    (folder / "sub").mkdir()
    shutil.copy(a, folder / "sub" / "copy of a.mp4")
    make_video(folder / "c.mp4", seconds=1.0, size=(96, 128), audio=None, moving=False)
    (folder / "notes.txt").write_text("not a video")

    assert detect_format(folder) == "video-folder"
    r = ds.import_path(folder)
    assert (r.videos_added, r.videos_merged, r.added) == (2, 1, 2), r
    assert counts(ds)["videos"] == 2 and counts(ds)["posts"] == 2
    assert all(p.post_id.startswith("video:") for p in ds.posts())
    sizes = sorted((p.width, p.height) for p in ds.posts())
    assert sizes == [(96, 128), (128, 96)]
    before = counts(ds)
    r = ds.import_path(folder)
    assert (r.added, r.videos_added, r.videos_merged) == (0, 0, 0) and counts(ds) == before

    # a posts CSV that names the copy: that post takes the video, the stand-in post goes
    write_posts_csv(tmp_path / "posts.csv", [Post("real1", views=10, video_path="clips/sub/copy of a.mp4")])
    r = ds.import_path(tmp_path / "posts.csv")
    assert (r.added, r.videos_added) == (1, 0)
    assert counts(ds)["posts"] == 2 and counts(ds)["videos"] == 2
    assert sorted(ds.post_videos()) == sorted(["real1", next(p for p in ds.post_videos() if p.startswith("video:"))])


def test_video_folder_with_csv_beside(tmp_path, ds):
    folder = tmp_path / "shoot"
    make_video(folder / "one.mp4", seconds=1.0, size=(64, 64), audio=None)
    make_video(folder / "two.mp4", seconds=1.5, size=(64, 64), audio=None)
    (folder / "broken.mp4").write_bytes(b"\x00" * 1000)
    write_posts_csv(folder / "posts.csv", [Post("first", caption="hello", views=5, video_path="one.mp4")])
    r = ds.import_path(folder)
    assert r.format == "video-folder"
    assert (r.added, r.videos_added) == (2, 2)  # 'first' + a post for two.mp4
    assert any("broken.mp4" in p for p in r.problems)
    vids = ds.post_videos()
    assert vids["first"].path.name == "one.mp4"
    assert counts(ds)["posts"] == 2


# ----------------------------------------------------------------------------- transactions


def _big_csv(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["post_id", "author_id", "caption", "views", "author_followers"])
        for i in range(n):
            w.writerow([f"big{i}", f"u{i % 5000}", f"caption number {i} #fyp", i * 3, 1000 + i % 5000])
    return path


KILL_CHILD = """
import sys
sys.path.insert(0, sys.argv[3])
from engine.data.store import Dataset
ds = Dataset.open(sys.argv[1])
def progress(fraction, message):
    print(message, flush=True)
ds.import_path(sys.argv[2], format="posts-csv", progress=progress)
print("FINISHED", flush=True)
"""


def test_kill_mid_import_leaves_the_previous_state(tmp_path):
    path = tmp_path / "k.sqlite"
    with Dataset.create(path) as ds:
        ds.import_path(TIKTOK_SAMPLE)
        before = counts(ds)
    big = _big_csv(tmp_path / "big.csv", 200_000)
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(path), str(big), str(ROOT)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    killed_at = None
    try:
        for line in child.stdout:
            if line.startswith("writing posts"):
                done = int(line.split()[2].split("/")[0])
                if done >= 20_000:
                    os.kill(child.pid, signal.SIGKILL)
                    killed_at = done
                    break
            assert not line.startswith("FINISHED"), "the import finished before it could be killed"
    finally:
        child.kill()
        child.wait(timeout=60)
    assert killed_at is not None, child.stderr.read()
    assert child.returncode == -signal.SIGKILL
    with Dataset.open(path) as ds:
        assert ds.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert counts(ds) == before
        # and the store still takes writes
        assert ds.import_path(_big_csv(tmp_path / "small.csv", 50)).added == 50
        assert counts(ds)["posts"] == before["posts"] + 50


def test_cancel_rolls_back_the_whole_import(tmp_path, ds):
    ds.import_path(TIKTOK_SAMPLE)
    before = counts(ds)
    big = _big_csv(tmp_path / "big.csv", 5000)
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("writing posts") and int(message.split()[2].split("/")[0]) >= 2000:
            token.cancel()
            with Dataset.open(ds.path) as reader:  # WAL: a reader sees the last committed state meanwhile
                seen.append(counts(reader))

    seen = []

    with pytest.raises(Cancelled, match="unchanged"):
        ds.import_path(big, progress=progress, cancel=token)
    assert counts(ds) == before and seen == [before]
    assert ds.info()["imports"] == 1


# ----------------------------------------------------------------------------- files and versions


def test_refuses_non_datasets_and_newer_schemas(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("my notes")
    with pytest.raises(DataError, match="refusing to overwrite"):
        Dataset.create(text)
    assert text.read_text() == "my notes"
    with pytest.raises(DataError, match="not a dataset"):
        Dataset.open(text)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DataError, match="not a Virality Studio dataset"):
        Dataset.open(other)
    with pytest.raises(DataError, match="refusing to overwrite"):
        Dataset.create(other)
    with pytest.raises(DataError, match="no such dataset"):
        Dataset.open(tmp_path / "absent.sqlite")

    path = tmp_path / "d.sqlite"
    Dataset.create(path).close()
    with pytest.raises(DataError, match="already exists"):
        Dataset.create(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(DataError, match=r"newer version.*v99.*up to v1"):
        Dataset.open(path)


def test_a_new_schema_version_is_one_more_migration(tmp_path, monkeypatch):
    path = tmp_path / "d.sqlite"
    with Dataset.create(path) as ds:
        ds.import_path(TIKTOK_SAMPLE)
    assert store_mod.schema_version() == 1

    def to_v2(conn):
        conn.execute("ALTER TABLE posts ADD COLUMN region TEXT")

    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [to_v2])
    with Dataset.open(path) as ds:
        assert ds.info()["schema_version"] == 2 and ds.info()["posts"] == 3
        assert "region" in [r[1] for r in ds.conn.execute("PRAGMA table_info(posts)")]

    def broken_v3(conn):
        conn.execute("ALTER TABLE posts ADD COLUMN x TEXT")
        raise RuntimeError("migration failed half way")

    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [broken_v3])
    with pytest.raises(RuntimeError):
        Dataset.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "x" not in [r[1] for r in conn.execute("PRAGMA table_info(posts)")]
    conn.close()


def test_wal_and_foreign_keys(ds):
    assert ds.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ds.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_dataset_paths(tmp_path):
    assert default_dataset_dir().name == "datasets" and "Virality Studio" in str(default_dataset_dir())
    assert resolve_dataset_path("cooking") == default_dataset_dir() / "cooking.sqlite"
    assert resolve_dataset_path(str(tmp_path / "x.sqlite")) == tmp_path / "x.sqlite"
    assert resolve_dataset_path("here.db") == Path("here.db")


# ----------------------------------------------------------------------------- features, splits, small datasets


def test_feature_cache(ds):
    frames = np.random.default_rng(0).standard_normal((16, 1280)).astype(np.float64)
    audio = np.arange(5, dtype=np.float32)
    assert ds.cached_features("ab" * 32, 1, "efficientnet_lite0") is None
    ds.put_features("ab" * 32, 1, "efficientnet_lite0", {"frames": frames, "audio": audio, "scalar": np.float32(2.5)})
    got = ds.cached_features("ab" * 32, 1, "efficientnet_lite0")
    assert set(got) == {"frames", "audio", "scalar"}
    assert got["frames"].dtype == np.float32 and got["frames"].shape == (16, 1280)
    np.testing.assert_array_equal(got["frames"], frames.astype(np.float32))
    assert got["scalar"].shape == () and float(got["scalar"]) == 2.5
    got["audio"][0] = 9  # a writable copy
    assert ds.cached_features("ab" * 32, 2, "efficientnet_lite0") is None
    assert ds.cached_features("ab" * 32, 1, "resnet50") is None
    ds.put_features("ab" * 32, 1, "efficientnet_lite0", {"audio": audio * 2})
    assert set(ds.cached_features("ab" * 32, 1, "efficientnet_lite0")) == {"audio"}
    raw = ds.conn.execute("SELECT data FROM features WHERE name = 'audio'").fetchone()[0]
    assert bytes(raw) == (audio * 2).astype("<f4").tobytes()  # raw float32, no pickle


def test_features_resume_list(tmp_path, ds):
    make_video(tmp_path / "v" / "a.mp4", seconds=1.0, size=(64, 64), audio=None)
    make_video(tmp_path / "v" / "b.mp4", seconds=1.0, size=(64, 64), audio=None, moving=False)
    ds.import_path(tmp_path / "v")
    todo = ds.videos_without_features(1, "efficientnet_lite0")
    assert len(todo) == 2
    ds.put_features(todo[0].sha256, 1, "efficientnet_lite0", {"frames": np.zeros((2, 3))})
    assert [v.sha256 for v in ds.videos_without_features(1, "efficientnet_lite0")] == [todo[1].sha256]
    assert len(ds.videos_without_features(1, "resnet50")) == 2


def test_one_author_one_post_no_labels(tmp_path, ds):
    assert counts(ds)["posts"] == 0 and list(ds.posts()) == []
    assert ds.export_csv(tmp_path / "empty.csv") == 0
    assert read_posts_csv(tmp_path / "empty.csv").posts == []
    write_posts_csv(tmp_path / "one.csv", [Post("only", author_id="me", caption="hi")])
    ds.import_path(tmp_path / "one.csv")
    info = ds.info()
    assert (info["posts"], info["authors"], info["labels"], info["labelled_posts"]) == (1, 1, 0, 0)
    (p,) = ds.posts()
    assert p.views is None and p.popularity is None
    assert ds.labels_at_age(24) == {}
    ds.set_split("time", {"only": 0})
    assert ds.split("time") == {"only": 0} and ds.split_names() == ["time"]
    with pytest.raises(DataError, match="not in the dataset"):
        ds.set_split("time", {"only": 0, "ghost": 1})
    assert ds.split("time") == {"only": 0}  # the failed write left the old split


# ----------------------------------------------------------------------------- CLI


CLI_SHIM = (
    "import argparse, sys\n"
    "from cli import dataset_cmd\n"
    "p = argparse.ArgumentParser(prog='virality-studio')\n"
    "s = p.add_subparsers(dest='command')\n"
    "dataset_cmd.register(s)\n"
    "a = p.parse_args(sys.argv[1:])\n"
    "sys.exit(a.func(a))\n"
)


def run_cli(*args):
    hooked = "dataset_cmd" in (ROOT / "cli" / "commands.py").read_text(encoding="utf-8")
    cmd = [sys.executable, str(ROOT / "main.py")] if hooked else [sys.executable, "-c", CLI_SHIM]
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([*cmd, "dataset", *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          cwd=ROOT, env=env, timeout=120)


def test_cli_dataset_commands(tmp_path):
    path = tmp_path / "cli.sqlite"
    r = run_cli("create", path)
    assert r.returncode == 0 and path.is_file(), r.stderr
    r = run_cli("import", path, TIKTOK_SAMPLE)
    assert r.returncode == 0, r.stderr
    assert "tiktok-json" in r.stdout and "3 posts added" in r.stdout
    r = run_cli("import", path, TIKTOK_SAMPLE, "--format", "tiktok-json", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["added"] == 0
    r = run_cli("info", path, "--json")
    info = json.loads(r.stdout)
    assert (info["posts"], info["authors"], info["videos"], info["labels"]) == (3, 2, 0, 3)
    r = run_cli("info", path)
    assert r.returncode == 0 and "posts" in r.stdout and "authors" in r.stdout
    r = run_cli("export", path, tmp_path / "out.csv")
    assert r.returncode == 0, r.stderr
    assert len(read_posts_csv(tmp_path / "out.csv").posts) == 3


@pytest.mark.parametrize("args", [
    ("info", "{tmp}/absent.sqlite"),
    ("create", "{tmp}/notes.txt"),
    ("import", "{tmp}/d.sqlite", "{tmp}/absent.csv"),
    ("import", "{tmp}/d.sqlite", "{tmp}/notes.txt"),
    ("import", "{tmp}/d.sqlite", "{tmp}/notes.txt", "--format", "tiktok-json"),
    ("export", "{tmp}/notes.txt", "{tmp}/o.csv"),
])
def test_cli_errors_are_one_line(tmp_path, args):
    (tmp_path / "notes.txt").write_text("hello")
    Dataset.create(tmp_path / "d.sqlite").close()
    r = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr
