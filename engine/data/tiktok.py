"""TikTok item JSON (as TikTokApi returns it) -> posts with their label and account readings.

Accepted files: a JSON list of items, an object with "itemList" (or "items"), one item, a video-detail
response ({"itemInfo": {"itemStruct": ...}}), or JSON lines of any of these. What goes where:

    id                          -> post_id (TikTok's ids are 19-digit numbers: kept as text)
    desc                        -> caption
    createTime (unix seconds)   -> post_time (UTC)
    author.id (else authorId, author.uniqueId, or author as a plain string) -> author_id
    authorStatsV2 / authorStats {followerCount, followingCount, heartCount (or heart), videoCount}
                                -> author_followers, author_following, author_likes, author_videos
    statsV2 / stats {playCount, diggCount, commentCount, shareCount, collectCount}
                                -> views, likes, comments, shares, saves (labels, never inputs)
    video {duration, width, height}        -> duration_s, width, height
    music {title, original}                -> music_title, music_original
    challenges[].title, textExtra[].hashtagName -> hashtags (first spelling kept, no duplicates)
    textLanguage, locationCreated          -> language, location

The V2 blocks carry counts as strings ("12345"), exact where the plain blocks may be rounded; a count
present in both is taken from V2. When the item (or the file's top level) carries a collection time
(`collected_at`, `collectedAt` or `collectTime`: ISO 8601 or unix seconds) the readings are dated by it;
otherwise by the time of import. A local copy of the video is looked for in the item's `video_path`
(relative to the JSON file), else as <id>.<ext> beside the JSON file or in a videos/ folder there.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import DataError
from ..features.spec import is_original_sound
from .posts_csv import Post, SourcePost, parse_count, parse_time

COLLECTION_TIME_KEYS = ("collected_at", "collectedAt", "collectTime")
_VIDEO_PATH_KEYS = ("video_path", "videoPath", "local_path", "localPath")

_LABELS = {  # TikTok's stats key -> Post field
    "playCount": "views",
    "diggCount": "likes",
    "commentCount": "comments",
    "shareCount": "shares",
    "collectCount": "saves",
}
_AUTHOR = {  # authorStats key(s) -> Post field
    "followerCount": "author_followers",
    "followingCount": "author_following",
    "heartCount": "author_likes",
    "heart": "author_likes",
    "videoCount": "author_videos",
}


@dataclass
class TikTokFile:
    path: Path
    items: list[SourcePost]  # measured_at: the item's collection time, None when it states none
    problems: list[str] = field(default_factory=list)


def _to_time(value: Any) -> Optional[datetime]:
    """Unix seconds (number or numeric string; milliseconds are recognised) or ISO 8601 -> aware datetime."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = None
    if x is not None:
        if x <= 0:
            raise ValueError("not a time")
        if x > 1e11:  # milliseconds
            x /= 1000.0
        return datetime.fromtimestamp(x, tz=timezone.utc)
    t = parse_time(str(value))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _count(value: Any) -> Optional[float]:
    """A count as TikTok writes it: a number, or a string of one ("12345"; "1.2M" also read)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str) and value.strip():
        x = parse_count(value)  # ValueError on junk
    else:
        return None
    if x != x or x < 0:
        raise ValueError(f"{value!r} is not a count")
    return x


def _positive(value: Any) -> Optional[float]:
    try:
        x = _count(value)
    except ValueError:
        return None
    return x if x else None


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _unwrap(obj: Any) -> list[Any]:
    """The items inside one parsed JSON value."""
    if isinstance(obj, list):
        out: list[Any] = []
        for x in obj:
            inner = _unwrap(x) if isinstance(x, dict) and "id" not in x else []
            out.extend(inner or [x])  # a non-item stays, to be reported as a problem
        return out
    if isinstance(obj, dict):
        for key in ("itemList", "items", "item_list"):
            if isinstance(obj.get(key), list):
                top = {k: obj[k] for k in COLLECTION_TIME_KEYS if k in obj}
                return [dict(top, **it) if isinstance(it, dict) and top else it for it in obj[key]]
        if isinstance(obj.get("itemInfo"), dict) and isinstance(obj["itemInfo"].get("itemStruct"), dict):
            return [obj["itemInfo"]["itemStruct"]]
        if isinstance(obj.get("itemStruct"), dict):
            return [obj["itemStruct"]]
        if "id" in obj:
            return [obj]
    return []


def read_items(path: str | os.PathLike) -> list[Any]:
    """The raw item dicts of a TikTok JSON (or JSON lines) file. Raises DataError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (TikTok item JSON is UTF-8 text)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    try:
        return _unwrap(json.loads(text))
    except json.JSONDecodeError:
        pass
    items: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.extend(_unwrap(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path.name}, line {n}: not JSON ({exc.msg}); expected TikTok items as a JSON list, "
                "an object with 'itemList', or one item per line"
            ) from None
    return items


def _hashtags(item: dict) -> Optional[list[str]]:
    tags: list[str] = []
    seen: set[str] = set()
    names = [c.get("title") for c in item.get("challenges") or () if isinstance(c, dict)]
    names += [t.get("hashtagName") for t in item.get("textExtra") or () if isinstance(t, dict)]
    for name in names:
        if not isinstance(name, str):
            continue
        name = name.strip().lstrip("#").strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            tags.append(name)
    return tags or None


def _author_id(item: dict) -> Optional[str]:
    author = item.get("author")
    if isinstance(author, dict):
        for key in ("id", "uniqueId"):
            if author.get(key) not in (None, ""):
                return str(author[key])
    if item.get("authorId") not in (None, ""):
        return str(item["authorId"])
    if isinstance(author, str) and author.strip():
        return author.strip()
    return None


def _blocks(item: dict, plain: str, v2: str) -> list[dict]:
    """V2 first: its string counts are exact."""
    return [b for b in (item.get(v2), item.get(plain)) if isinstance(b, dict)]


def _fill_counts(post: Post, blocks: list[dict], mapping: dict, where: str, problems: list[str]) -> None:
    for key, name in mapping.items():
        if getattr(post, name) is not None:
            continue
        for block in blocks:
            if key not in block:
                continue
            try:
                value = _count(block[key])
            except ValueError:
                problems.append(f"{where}: {key} {block[key]!r} is not a count")
                continue
            if value is not None:
                setattr(post, name, value)
                break


def _video_file(item: dict, post_id: str, base_dir: Path) -> Optional[Path]:
    for key in _VIDEO_PATH_KEYS:
        v = item.get(key)
        if isinstance(v, str) and v.strip():
            p = Path(v)
            return p if p.is_absolute() else base_dir / p
    for folder in (base_dir, base_dir / "videos"):
        for ext in (".mp4", ".webm", ".mov", ".mkv"):
            p = folder / f"{post_id}{ext}"
            if p.is_file():
                return p
    return None


def parse_item(item: Any, where: str, base_dir: Path, problems: list[str]) -> Optional[SourcePost]:
    """One raw item -> SourcePost, or None (with a problem) when it has no id."""
    if not isinstance(item, dict):
        problems.append(f"{where}: not a JSON object; skipped")
        return None
    pid = item.get("id")
    if pid in (None, "") or isinstance(pid, (bool, dict, list)):
        problems.append(f"{where}: no 'id'; skipped")
        return None
    post = Post(post_id=str(pid).strip())
    where = f"{where} (id {post.post_id})"
    post.caption = _text(item.get("desc"))
    if item.get("createTime") not in (None, "", 0, "0"):
        try:
            post.post_time = _to_time(item["createTime"])
        except (ValueError, OverflowError, OSError):
            problems.append(f"{where}: createTime {item['createTime']!r} is not a unix time")
    post.author_id = _author_id(item)
    author = item.get("author") if isinstance(item.get("author"), dict) else {}
    author_blocks = _blocks(item, "authorStats", "authorStatsV2")
    if isinstance(author.get("stats"), dict):
        author_blocks.append(author["stats"])
    _fill_counts(post, author_blocks, _AUTHOR, where, problems)
    _fill_counts(post, _blocks(item, "stats", "statsV2"), _LABELS, where, problems)
    video = item.get("video") if isinstance(item.get("video"), dict) else {}
    post.duration_s = _positive(video.get("duration"))
    w, h = _positive(video.get("width")), _positive(video.get("height"))
    post.width = int(w) if w else None
    post.height = int(h) if h else None
    music = item.get("music") if isinstance(item.get("music"), dict) else {}
    post.music_title = _text(music.get("title"))
    original = music.get("original")
    post.music_original = original if isinstance(original, bool) else is_original_sound(post.music_title)
    post.hashtags = _hashtags(item)
    post.language = _text(item.get("textLanguage"))
    post.location = _text(item.get("locationCreated"))
    collected = None
    for key in COLLECTION_TIME_KEYS:
        if item.get(key) not in (None, ""):
            try:
                collected = _to_time(item[key])
            except (ValueError, OverflowError, OSError):
                problems.append(f"{where}: {key} {item[key]!r} is not a time; dated at import instead")
            break
    return SourcePost(post=post, video_file=_video_file(item, post.post_id, base_dir), measured_at=collected)


def load_tiktok_json(path: str | os.PathLike) -> TikTokFile:
    """Read a TikTok item JSON file. Raises DataError when it is not JSON or holds no items."""
    path = Path(path)
    raw = read_items(path)
    if not raw:
        raise DataError(
            f"{path}: no TikTok items found; expected a JSON list of items, an object with 'itemList', "
            "or one item per line"
        )
    return parse_items(raw, path.parent, path)


def parse_items(raw: Iterable[Any], base_dir: Path, path: Optional[Path] = None) -> TikTokFile:
    """Items already in memory (e.g. straight from a collector) -> TikTokFile."""
    problems: list[str] = []
    items = []
    for n, it in enumerate(raw, 1):
        parsed = parse_item(it, f"item {n}", Path(base_dir), problems)
        if parsed is not None:
            items.append(parsed)
    return TikTokFile(path=Path(path) if path else Path(base_dir), items=items, problems=problems)


def looks_like_tiktok(obj: Any) -> bool:
    """True when a parsed JSON value holds TikTok items (used by format detection)."""
    items = _unwrap(obj)
    return bool(items) and isinstance(items[0], dict) and "id" in items[0] and any(
        k in items[0] for k in ("desc", "createTime", "stats", "statsV2", "author", "video")
    )
