"""The posts CSV (engine.data.posts_csv) and the SMP-Video importer (engine.data.smp)."""
import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.data.posts_csv import COLUMNS, Post, parse_count, read_posts_csv, write_posts_csv
from engine.errors import DataError

TRICKY = [
    'plain, with "quotes", commas, and a\nnew line',
    "non-ASCII: café, Straße, 日本語, Ωμέγα, emoji 🎉🔥 and a tab\there",
    '"starts with a quote',
    "   leading and trailing spaces   ",
    "line one\r\nline two (CRLF inside)",
]


def _posts():
    posts = []
    for i, cap in enumerate(TRICKY):
        posts.append(
            Post(
                post_id=f"p{i}",
                author_id=f"a{i % 2}",
                caption=cap,
                hashtags=["fyp", "café", f"tag{i}"],
                post_time=datetime(2023, 7, 29, 18, 21) + timedelta(hours=i),
                duration_s=12.5 + i,
                width=720,
                height=1280,
                music_title='original sound - "Me, myself"',
                music_original=bool(i % 2),
                author_followers=1_234_567.0,
                author_following=12.0,
                author_likes=3.5e9,
                author_videos=321.0,
                language="en",
                views=100.0 * (i + 1),
                likes=10.0,
                comments=1.0,
                shares=0.0,
                saves=2.0,
                video_path=f"videos/clip {i}.mp4",
                popularity=8.5 + i / 10,
                location="FR",
            )
        )
    posts.append(Post(post_id="only-id"))
    posts.append(Post(post_id="aware", post_time=datetime(2023, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))))
    return posts


@pytest.mark.parametrize("bom", [False, True])
def test_round_trip_keeps_every_field(tmp_path, bom):
    posts = _posts()
    path = write_posts_csv(tmp_path / "posts.csv", posts, bom=bom)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == bom
    back = read_posts_csv(path)
    assert back.problems == []
    assert back.posts == posts
    assert back.skipped_rows == 0
    assert set(COLUMNS) <= set(back.columns)
    # video paths resolve against the CSV's folder
    assert back.posts[0].video_file(back.base_dir) == tmp_path / "videos" / "clip 0.mp4"
    assert back.posts[-2].video_file(back.base_dir) is None
    # no temporary files left behind
    assert [p.name for p in tmp_path.iterdir()] == ["posts.csv"]


def test_extra_columns_only_when_used(tmp_path):
    path = write_posts_csv(tmp_path / "p.csv", [Post(post_id="1", caption="x")])
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(COLUMNS)


def test_tolerant_read_bom_missing_columns_empty_cells_bad_numbers(tmp_path):
    text = (
        "\ufeffPost_ID,caption,author_followers,views,post_time,music_original,width,hashtags,mystery\n"
        "1,hello,\"12,345\",1.2K,2023-05-01T10:00:00Z,yes,720,\"#fyp, cats dogs\",?\n"
        "2,,,,,,,,\n"
        "3,bad numbers,lots,-5,yesterday,maybe,wide,,\n"
        ",no id,1,1,,,,,\n"
        "\n"
        "4,\"caption, with comma\",2.5M,,2023-05-01 10:00,0,,,\n"
    )
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    pf = read_posts_csv(path)
    ids = [p.post_id for p in pf.posts]
    assert ids == ["1", "2", "3", "4"]
    p1, p2, p3, p4 = pf.posts
    assert p1.author_followers == 12345 and p1.views == 1200
    assert p1.post_time == datetime(2023, 5, 1, 10, tzinfo=timezone.utc)
    assert p1.music_original is True and p1.width == 720
    assert p1.hashtags == ["fyp", "cats", "dogs"]
    assert p1.author_likes is None and p1.language is None  # columns absent -> None
    assert all(getattr(p2, f) is None for f in ("caption", "author_followers", "views", "post_time", "hashtags"))
    assert p3.author_followers is None and p3.views is None and p3.post_time is None and p3.width is None
    bad = {(pr.row, pr.column) for pr in pf.problems}
    assert {(4, "author_followers"), (4, "views"), (4, "post_time"), (4, "music_original"), (4, "width")} <= bad
    assert (5, "post_id") in bad and pf.skipped_rows == 1
    assert p4.author_followers == 2.5e6 and p4.caption == "caption, with comma"
    assert pf.unknown_columns == ("mystery",)
    assert "4 posts" in pf.summary()


def test_not_a_posts_csv(tmp_path):
    with pytest.raises(DataError, match="post_id"):
        p = tmp_path / "x.csv"
        p.write_text("a,b\n1,2\n", encoding="utf-8")
        read_posts_csv(p)
    with pytest.raises(DataError, match="no such file"):
        read_posts_csv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        read_posts_csv(empty)


def test_invalid_utf8_is_a_problem_not_a_crash(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes("post_id,caption\n1,caf\xe9\n".encode("latin-1"))
    pf = read_posts_csv(p)
    assert len(pf.posts) == 1 and pf.problems and "UTF-8" in pf.problems[0].message


def test_parse_count():
    assert parse_count("1,234") == 1234
    assert parse_count("12.5k") == 12500
    assert parse_count(" 3M ") == 3e6
    for bad in ("", "abc", "1,2", "nan", "inf"):
        with pytest.raises(ValueError):
            parse_count(bad)


# --------------------------------------------------------------------------------------------- SMP


def test_smp_import_train(smp_dir, tmp_path):
    from engine.data.smp import import_smp

    out = tmp_path / "smp_train.csv"
    stats = import_smp(smp_dir / "train", out)
    assert stats["n_posts"] == 4000 and stats["n_authors"] == 3488 and stats["n_labelled"] == 4000
    assert stats["label_column"] == "popularity"
    pf = read_posts_csv(out)
    assert len(pf.posts) == 4000
    assert "popularity" in pf.columns and "location" in pf.columns
    assert all(p.popularity is not None for p in pf.posts)
    assert all(p.views is None and p.likes is None for p in pf.posts)  # SMP has no engagement columns
    # the wrapped 32-bit like counts are repaired: no negative counts, so no problems
    assert pf.problems == []
    assert stats["repaired_overflow"] > 0
    assert max(p.author_likes for p in pf.posts) > 2**31
    # SMP does not distribute the videos: no row names a video that is not there, so importing the CSV into a
    # dataset lists no problem (it once listed 4,000 "video not found")
    assert stats["videos_present"] == 0 and stats["videos_absent"] == 4000
    assert all(p.video_path is None for p in pf.posts)
    from engine.data.store import Dataset

    with Dataset.create(tmp_path / "smp.db") as ds:
        result = ds.import_path(out)
    assert result.problems == [] and result.added == 4000

    text = out.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    assert "suggest" not in header.lower()
    # TikTok's suggested words (a label leak) appear nowhere: check the multi-word suggestions that are not
    # just the caption's own words
    with open(smp_dir / "train" / "SMP-Video_anonymized_posts_train.jsonl", encoding="utf-8") as fh:
        raw = [json.loads(line) for line in fh]
    by_id = {p.post_id: p for p in pf.posts}
    rows = {r["post_id"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    checked = 0
    for r in raw:
        content = (r.get("post_content") or "").lower()
        for s in r.get("post_suggested_words") or []:
            if " " in s and s.lower().replace(" ", ",") not in content and s.lower() not in content:
                row = dict(rows[r["pid"]])
                music = (row.pop("music_title") or "").lower()  # a suggestion may be the sound's own title
                if s.lower() not in music:
                    assert s.lower() not in ",".join(row.values()).lower()
                    checked += 1
    assert checked > 100
    first = by_id[raw[0]["pid"]]
    assert first.caption == " ".join(w for w in raw[0]["post_content"].split(",") if w)
    assert first.hashtags is None
    assert sum(p.music_original for p in pf.posts) > 1500  # "original sound" in several languages
    assert {p.language for p in pf.posts} >= {"en", "un"}


def test_smp_import_test_split_has_no_label(smp_dir, tmp_path):
    from engine.data.smp import import_smp

    stats = import_smp(smp_dir / "test", tmp_path / "t.csv")
    assert stats["n_posts"] == 2000 and stats["label_column"] is None
    pf = read_posts_csv(tmp_path / "t.csv")
    assert "popularity" not in pf.columns


def test_smp_missing_folder(tmp_path):
    from engine.data.smp import import_smp

    with pytest.raises(DataError, match="SMP-Video"):
        import_smp(tmp_path, tmp_path / "x.csv")
