"""SMP-Video (the video track of the SMP Challenge 2025) -> posts CSV.

The data come as four JSONL files per split, joined on `pid` (posts, videos, popularity) and
`uid` (users); the test split has no popularity file. What goes where:

    post_content         -> caption (words joined by spaces), hashtags left empty: see _caption()
    post_time            -> post_time ("YYYY-MM-DD HH:MM"; the time zone is not stated)
    post_text_language   -> language ("un" = undetermined, kept as is)
    post_location        -> location (extra column: the poster's country code)
    video_duration/width/height -> duration_s, width, height
    music_title          -> music_title; music_original = it is an "original sound" (any language)
    user_follower_count  -> author_followers    user_following_count -> author_following
    user_likes_count     -> author_likes        user_video_count     -> author_videos
    popularity           -> popularity (extra column: SMP's label, a log-scale view count)

Never exported: `post_suggested_words` (TikTok's own search suggestions, filled in after posting and
strongly tied to how far the post travelled: a label leak), nor the post's own engagement (SMP has
none besides the label). The account counts are one snapshot per user taken when the data were
collected, i.e. after the post went out; a model trained on them must say so (see the manifest).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from ..errors import DataError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ..features.spec import is_original_sound
from .posts_csv import Post, parse_time, write_posts_csv

DATASET_NAME = "SMP-Video (SMP Challenge 2025, video track)"
LICENCE = "SMP Challenge community licence, research use"
SNAPSHOT_NOTE = (
    "account stats (followers, following, likes, videos) are one snapshot per user taken when the "
    "data were collected, after the posts were published; they include the reach of the posts themselves"
)

def _caption(post_content: Optional[str]) -> Optional[str]:
    """SMP's post_content is the caption's words and hashtags with every '#', space and punctuation mark
    replaced by commas ("Come,Tour,my,home,office,homedecor,fyp"). Where the caption's words end and the
    hashtags begin cannot be told reliably (a hashtag is a word too, and either may be in any case), so the
    whole token list becomes the caption, words joined by single spaces, and `hashtags` stays empty
    (unknown) rather than guessed. The feature spec reads caption and hashtags as one text, so a creator's
    "Come tour my office #homedecor #fyp" at scoring time gives the same tokens as this."""
    if post_content is None:
        return None
    words = [w.strip() for w in post_content.split(",") if w.strip()]
    return " ".join(words) if words else None


def _find_split_dir(smp_dir: Path) -> Path:
    if any(smp_dir.glob("SMP-Video_anonymized_posts_*.jsonl")):
        return smp_dir
    if (smp_dir / "train").is_dir():
        return smp_dir / "train"
    raise DataError(
        f"{smp_dir}: no SMP-Video files here; expected SMP-Video_anonymized_posts_<split>.jsonl "
        "(give the train/ or test/ folder)"
    )


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path.name}, line {n}: not JSON ({exc.msg})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return rows


def _num(v) -> Optional[float]:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def _count(v, stats: dict) -> Optional[float]:
    """An account count. A few of SMP's like counts above 2^31 were stored as signed 32-bit integers and
    wrapped round to negative numbers (-1194967296 is 3,100,000,000 likes on a 35M-follower account);
    those are unwrapped, and counted in stats["repaired_overflow"]."""
    x = _num(v)
    if x is not None and x < 0:
        if -(2**31) <= x:
            stats["repaired_overflow"] += 1
            return x + 2**32
        return None
    return x


def load_smp(
    smp_dir: str | os.PathLike,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[list[Post], dict]:
    """Read one SMP-Video split (its folder, or the dataset root for train/) as Posts + stats.

    video_path stays as SMP gives it, relative to the dataset root (the video files are not distributed).
    Raises DataError when files are missing or unreadable.
    """
    split_dir = _find_split_dir(Path(smp_dir))
    files = {}
    for kind in ("posts", "users", "videos", "popularity"):
        found = sorted(split_dir.glob(f"SMP-Video_anonymized_{kind}_*.jsonl"))
        files[kind] = found[0] if found else None
    if files["posts"] is None or files["users"] is None or files["videos"] is None:
        raise DataError(f"{split_dir}: SMP-Video posts, users and videos files are all needed")
    progress(0.0, f"reading {split_dir.name}")
    posts_raw = _read_jsonl(files["posts"])
    cancel.raise_if_cancelled()
    users = {u["uid"]: u for u in _read_jsonl(files["users"]) if "uid" in u}
    videos = {v["pid"]: v for v in _read_jsonl(files["videos"]) if "pid" in v}
    labels = {}
    if files["popularity"] is not None:
        labels = {p["pid"]: p.get("popularity") for p in _read_jsonl(files["popularity"]) if "pid" in p}
    cancel.raise_if_cancelled()

    posts: list[Post] = []
    stats = {
        "split": split_dir.name,
        "n_rows_in": len(posts_raw),
        "no_user": 0,
        "no_video": 0,
        "no_label": 0,
        "bad_time": 0,
        "no_caption": 0,
        "repaired_overflow": 0,
    }
    for i, rp in enumerate(posts_raw):
        if i % 500 == 0:
            cancel.raise_if_cancelled()
            progress(0.1 + 0.8 * i / max(1, len(posts_raw)), "joining posts, users and videos")
        pid, uid = rp.get("pid"), rp.get("uid")
        if not pid:
            continue
        u = users.get(uid)
        v = videos.get(pid)
        stats["no_user"] += u is None
        stats["no_video"] += v is None
        u = u or {}
        v = v or {}
        when = None
        if rp.get("post_time"):
            try:
                when = parse_time(str(rp["post_time"]))
            except ValueError:
                stats["bad_time"] += 1
        caption = _caption(rp.get("post_content"))
        stats["no_caption"] += caption is None
        music = v.get("music_title")
        music = music if isinstance(music, str) and music.strip() else None
        w, h = _num(v.get("video_width")), _num(v.get("video_height"))
        pop = _num(labels.get(pid)) if labels else None
        if labels and pop is None:
            stats["no_label"] += 1
        posts.append(
            Post(
                post_id=str(pid),
                author_id=str(uid) if uid else None,
                caption=caption,
                hashtags=None,
                post_time=when,
                duration_s=_num(v.get("video_duration")),
                width=int(w) if w else None,
                height=int(h) if h else None,
                music_title=music,
                music_original=is_original_sound(music),
                author_followers=_count(u.get("user_follower_count"), stats),
                author_following=_count(u.get("user_following_count"), stats),
                author_likes=_count(u.get("user_likes_count"), stats),
                author_videos=_count(u.get("user_video_count"), stats),
                language=(rp.get("post_text_language") or None),
                video_path=rp.get("video_path") or None,
                popularity=pop,
                location=(rp.get("post_location") or None),
            )
        )
    times = [p.post_time for p in posts if p.post_time is not None]
    stats.update(
        n_posts=len(posts),
        n_authors=len({p.author_id for p in posts if p.author_id}),
        n_labelled=sum(p.popularity is not None for p in posts),
        label_column="popularity" if labels else None,
        first_post=min(times).isoformat() if times else None,
        last_post=max(times).isoformat() if times else None,
        dataset=DATASET_NAME,
        licence=LICENCE,
        note=SNAPSHOT_NOTE,
    )
    progress(0.9, f"{len(posts)} posts read")
    return posts, stats


def import_smp(
    smp_dir: str | os.PathLike,
    out_csv: str | os.PathLike,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> dict:
    """Write one SMP-Video split (train/ or test/ folder) as a posts CSV; returns counts.

    SMP's label goes to the extra column `popularity`; `post_suggested_words` is never exported.
    SMP does not distribute the videos, so a row gets a video_path (relative to the CSV's folder) only when its
    video is there: importing the CSV into a dataset then lists no "video not found" problem for each of the
    4,000 videos that were never expected. `videos_present` and `videos_absent` count them.
    """
    split_dir = _find_split_dir(Path(smp_dir))
    posts, stats = load_smp(split_dir, progress, cancel)
    out_csv = Path(out_csv)
    root = split_dir.parent  # SMP's video_path is relative to the dataset root ("train/USER/VIDEO.mp4")
    present = absent = 0
    for p in posts:
        if p.video_path:
            target = (root / p.video_path).resolve()
            if target.is_file():
                present += 1
                p.video_path = os.path.relpath(target, out_csv.parent.resolve())
            else:
                absent += 1
                p.video_path = None
    cancel.raise_if_cancelled()
    write_posts_csv(out_csv, posts)
    stats.update(out_csv=str(out_csv), videos_present=present, videos_absent=absent, rows=len(posts))
    progress(1.0, f"wrote {len(posts)} posts to {out_csv.name}")
    return stats
