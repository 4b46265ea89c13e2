"""Sources of a creator's history (engine.personal.history): the platforms' own analytics exports (TikTok Studio,
Meta Business Suite for Instagram, YouTube Studio) read as stats tables, and stats rows matched to the files of a
folder of videos by a video_path cell, by an id in the file name, or by date (and duration), with what could not be
matched listed. The export headers are the documented ones cited in history.py."""
from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.data.posts_csv import Post, write_posts_csv
from engine.errors import DataError
from engine.personal.history import from_posts_csv, from_videos, match_videos, read_stats_table

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 1, 18, 0)

TIKTOK_HEADER = "Video title,Video link,Post time,Total likes,Total comments,Total shares,Total views"
IG_HEADER = ('"Post ID","Account ID","Account username","Account name",Description,"Duration (sec)",'
             '"Publish time",Permalink,"Post type","Data comment",Date,Views,Reach,Likes,Shares,Follows,Comments,Saves')
IG_HEADER_ES = ('"identificador de la publicación","Identificador de la cuenta","Nombre de usuario de la cuenta",'
                '"Nombre de la cuenta",Descripción,"Duración (segundos)","Hora de publicación","Enlace permanente",'
                '"Tipo de publicación","Comentario sobre los datos",Fecha,Visualizaciones,Alcance,"Me gusta",'
                '"Veces que se ha compartido",Seguidores,Comentarios,"Veces guardado"')


def _video(path: Path, seconds: float = 0.5) -> Path:
    from media_factory import make_video

    return make_video(path, seconds=seconds, size=(64, 48), audio=None)


def _tiktok_rows(n: int) -> list[str]:
    rows = [TIKTOK_HEADER]
    for i in range(n):
        t = T0 + timedelta(days=i)
        rows.append(f'"Take {i}, with a comma",https://www.tiktok.com/@mak.er/video/74100000000000000{i:02d},'
                    f'{t:%Y-%m-%d %H:%M:%S},1.2K,4,1,"{10_000 + 500 * i:,}"')
    return rows


def test_a_tiktok_studio_export_is_read_and_its_rows_matched_by_the_link_id_or_the_date(tmp_path):
    rows = _tiktok_rows(25)
    rows.append('"Year-less date",https://www.tiktok.com/@mak.er/video/7419999999999999999,10 de febrero,1,1,1,900')
    stats = tmp_path / "Content.csv"
    stats.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    folder = tmp_path / "videos"
    _video(folder / "7410000000000000003.mp4")  # the id in the link
    _video(folder / "mak.er_7410000000000000007_hd.mp4")
    _video(folder / f"{T0 + timedelta(days=12):%Y%m%d}_export.mp4")  # no duration in the export: the date alone
    _video(folder / "holiday.mp4")  # a video no row names
    h = from_videos(folder, stats)
    assert h.creator == "mak.er" and len(h.posts) == 25  # the year-less row has no time: left out, and said so
    p3 = next(p for p in h.posts if p.post_id == "7410000000000000003")
    assert p3.views == 11_500 and p3.likes == 1200 and p3.caption == "Take 3, with a comma"
    assert p3.post_time == T0 + timedelta(days=3)
    with_video = {p.post_id: Path(p.video_path).name for p in h.posts if p.video_path}
    assert with_video == {"7410000000000000003": "7410000000000000003.mp4",
                          "7410000000000000007": "mak.er_7410000000000000007_hd.mp4",
                          "7410000000000000012": f"{T0 + timedelta(days=12):%Y%m%d}_export.mp4"}
    assert h.unmatched_videos == ["holiday.mp4"] and len(h.unmatched_rows) == 23
    assert "7419999999999999999" in h.unmatched_rows
    notes = " | ".join(h.notes)
    assert "read as TikTok Studio" in notes and "'10 de febrero'" in notes and "1 posts have no post time" in notes
    assert "1 videos without a stats row: holiday.mp4" in notes


def test_an_instagram_export_keeps_the_reels_and_matches_by_post_id_shortcode_or_date_and_duration(tmp_path):
    rows = [IG_HEADER]
    for i in range(24):
        t = T0 + timedelta(days=i, minutes=7)
        kind = "IG image" if i % 6 == 5 else "IG reel"
        rows.append(f'1809831194023{i:04d},17841405640718718,maker.ig,"Maker",'
                    f'"Reel {i} ✨",{0 if kind == "IG image" else 1},"{t:%m/%d/%Y %H:%M}",'
                    f'https://www.instagram.com/reel/DaXy{i:02d}AbCd/,"{kind}",,Lifetime,"{4_570 + 100 * i:,}",3000,'
                    f'62,10,0,3,2')
    stats = tmp_path / "Mar-01-2026_Mar-24-2026.csv"
    stats.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    folder = tmp_path / "reels"
    _video(folder / "18098311940230000.mp4", seconds=1.0)  # the Post ID
    _video(folder / "Reel 1 [DaXy01AbCd].mp4", seconds=1.0)  # the permalink's shortcode, as downloaders name it
    day2 = T0 + timedelta(days=2)
    _video(folder / f"{day2:%Y-%m-%d} reel.mp4", seconds=1.0)  # date and duration
    h = from_videos(folder, stats)
    assert h.creator == "maker.ig" and len(h.posts) == 20  # 4 images left out
    assert all(p.post_id.startswith("1809831194023") for p in h.posts)
    first = h.posts[0]
    assert first.post_time == T0 + timedelta(minutes=7) and first.views == 4570 and first.duration_s == 1
    assert first.caption == "Reel 0 ✨" and first.saves == 2 and first.shares == 10
    assert sorted(Path(p.video_path).name for p in h.posts if p.video_path) == sorted(
        ["18098311940230000.mp4", "Reel 1 [DaXy01AbCd].mp4", f"{day2:%Y-%m-%d} reel.mp4"])
    assert not h.unmatched_videos and len(h.unmatched_rows) == 17
    assert any("4 rows that are not videos were left out (4 IG image)" in n for n in h.notes)


def test_the_spanish_instagram_export_reads_the_same(tmp_path):
    rows = [IG_HEADER_ES]
    for i in range(3):
        rows.append(f'100{i},9000000001,democreator,Demo,"Vídeo {i}",32,03/1{i}/2026 14:30,'
                    f'https://instagram.com/reel/example{i},"Reel de Instagram",,Total,"485,00{i}",312000,1,2,3,4,5')
    rows.append('1009,9000000001,democreator,Demo,"Foto",0,03/19/2026 14:30,https://instagram.com/p/x,'
                '"Publicación de Instagram",,Total,10,10,1,1,1,1,1')
    stats = tmp_path / "Contenido_Posts.csv"
    stats.write_text("\n".join(rows) + "\n", encoding="utf-16")  # Meta writes some exports in UTF-16
    st = read_stats_table(stats)
    assert st.layout.startswith("Meta Business Suite")
    assert [p.post_id for p in st.file.posts] == ["1000", "1001", "1002"]
    assert st.file.posts[2].views == 485_002 and st.file.posts[1].post_time == datetime(2026, 3, 11, 14, 30)
    assert st.file.posts[0].author_id == "democreator" and st.file.posts[0].duration_s == 32
    h = from_posts_csv(stats)  # an export also serves as a metadata-only history
    assert len(h.posts) == 3 and h.notes[0].startswith("read as Meta Business Suite")


def test_a_table_that_is_neither_says_which_layouts_are_known(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("Title,Plays\nx,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="TikTok Studio.*Meta Business Suite"):
        read_stats_table(bad)
    with pytest.raises(DataError, match="no such file"):
        read_stats_table(tmp_path / "missing.csv")


def _posts(n: int, **kw) -> list[Post]:
    return [Post(post_id=f"p{i}", author_id="me", post_time=T0 + timedelta(days=i), views=1000.0 + i, **kw)
            for i in range(n)]


def test_names_with_accents_and_spaces_and_ids_that_prefix_others(tmp_path):
    folder = tmp_path / "vids"
    nfd = unicodedata.normalize("NFD", "Été à la plage.mp4")  # as macOS writes an accented name
    _video(folder / nfd)
    _video(folder / "clip p10.mp4")
    _video(folder / "clip_p1.mp4")
    _video(folder / "Ma vidéo (p2) finale.MP4")
    posts = _posts(11)
    posts[0].video_path = "Été à la plage.mp4"  # composed, relative to the videos folder, not the CSV's
    out, rows, left = match_videos(posts, folder, tmp_path / "elsewhere")
    got = {p.post_id: Path(p.video_path).name for p in out if p.video_path}
    # p1 takes clip_p1 and p10 takes "clip p10": an id matches whole words of a name, not a part of one
    assert got == {"p0": nfd, "p1": "clip_p1.mp4", "p10": "clip p10.mp4", "p2": "Ma vidéo (p2) finale.MP4"}
    assert left == [] and rows == ["p3", "p4", "p5", "p6", "p7", "p8", "p9"]
    # the outcome does not depend on the order of the rows
    out, rows, left = match_videos(list(reversed(_posts(11))), folder, tmp_path)
    assert {p.post_id for p in out if p.video_path} == {"p1", "p10", "p2"} and left == [nfd]


def test_one_file_two_ids_is_left_for_the_user_not_guessed(tmp_path):
    folder = tmp_path / "vids"
    _video(folder / "p1 and p2.mp4")
    out, rows, left = match_videos(_posts(3), folder, tmp_path)
    assert not any(p.video_path for p in out) and rows == ["p0", "p1", "p2"] and left == ["p1 and p2.mp4"]


def test_duplicate_dates_match_by_duration_or_not_at_all(tmp_path):
    folder = tmp_path / "vids"
    day = T0 + timedelta(days=1)
    _video(folder / f"{day:%Y-%m-%d}_a.mp4", seconds=1.0)
    _video(folder / f"{day:%Y-%m-%d}_b.mp4", seconds=3.0)
    posts = [Post(post_id="short", post_time=day, duration_s=1.0, views=1.0),
             Post(post_id="long", post_time=day + timedelta(hours=2), duration_s=3.0, views=1.0)]
    out, rows, left = match_videos(posts, folder, tmp_path)
    assert {p.post_id: Path(p.video_path).name for p in out} == {"short": f"{day:%Y-%m-%d}_a.mp4",
                                                                 "long": f"{day:%Y-%m-%d}_b.mp4"}
    # two posts of that day whose lengths both fit the same two files: neither is guessed
    posts = [Post(post_id="x", post_time=day, duration_s=1.0), Post(post_id="y", post_time=day, duration_s=1.2)]
    _video(folder / f"{day:%Y-%m-%d}_b.mp4", seconds=1.0)
    out, rows, left = match_videos(posts, folder, tmp_path)
    assert rows == ["x", "y"] and len(left) == 2
    # without durations (TikTok's export) a date matches only when one row and one file have it
    posts = [Post(post_id="u", post_time=day), Post(post_id="v", post_time=day + timedelta(hours=1))]
    _video(folder / f"{T0 + timedelta(days=5):%Y%m%d}.mp4")
    out, rows, left = match_videos(posts + [Post(post_id="w", post_time=T0 + timedelta(days=5))], folder, tmp_path)
    assert rows == ["u", "v"] and Path(out[2].video_path).name == f"{T0 + timedelta(days=5):%Y%m%d}.mp4"


def test_learn_from_a_folder_and_a_tiktok_export_on_the_command_line(tmp_path):
    rows = _tiktok_rows(30)
    stats = tmp_path / "tiktok.csv"
    stats.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "videos"
    _video(folder / "7410000000000000004.mp4")
    _video(folder / "stray.mp4")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "learn", "--videos", str(folder), "--stats",
                        str(stats), "--out", str(tmp_path / "b"), "--boot", "100", "--no-default", "--min-train",
                        "12"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "read as TikTok Studio (Content export)" in r.stdout
    assert "1 of 30 posts matched to a video" in r.stdout and "1 videos without a stats row: stray.mp4" in r.stdout


def test_a_history_without_any_view_count_says_why_it_cannot_be_learned(tmp_path):
    from engine.personal.history import make_history

    posts = [Post(post_id=f"s{i}", author_id="USER1", post_time=T0 + timedelta(days=i), popularity=7.5)
             for i in range(12)]
    with pytest.raises(DataError, match="none of the 12 posts of 'USER1' has a view count .*SMP-Video's popularity"):
        make_history("USER1", posts, tmp_path, "dataset smp.sqlite")


def test_a_dataset_of_one_creator_needs_no_author(tmp_path):
    from engine.data.store import Dataset
    from engine.personal.history import from_dataset

    csv = write_posts_csv(tmp_path / "mine.csv", _posts(8))
    with Dataset.create(tmp_path / "mine.sqlite") as ds:
        ds.import_path(csv)
    h = from_dataset(tmp_path / "mine.sqlite")
    assert h.creator == "me" and len(h.posts) == 8
