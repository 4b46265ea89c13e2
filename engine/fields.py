"""Numbers and post details as people type and read them, for the CLI's flags and the window's fields alike.

    read_count("12k") -> 12000.0;  fmt_count(12345) -> "12k";  fmt_number(0.4213) -> "0.42"
    meta_from_fields(caption="day 3 #guitar", followers="12k", sound="original") -> PostMeta
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Optional, Sequence, Union

from .errors import InputError
from .features.spec import PostMeta, sound_from_text

Count = Union[None, float, int, str]


def read_count(text: Optional[str]) -> Optional[float]:
    """'12000', '12,000', '12 000', '12k', '1.2M' -> a non-negative number; '' -> None. Raises InputError with
    an example otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    from .data.posts_csv import parse_count

    try:
        value = parse_count(text.replace(" ", ""))
    except ValueError:
        value = -1.0
    if value < 0:
        raise InputError(f"'{text}' is not a count (examples: 12000, 12k, 1.2M)")
    return value


def fmt_count(v: Optional[float], none: str = "–") -> str:
    """A count for people (whole): 1.2M, 34k, 5.6k, 789, 12; `none` for None or not finite."""
    return fmt_number(v if v is None or not math.isfinite(v) else round(v), none)


def fmt_number(v: Optional[float], none: str = "–") -> str:
    """A number for people: 1.2M, 34k, 5.6k, 789, 12.5, 0.42; `none` for None or not finite."""
    if v is None or not math.isfinite(v):
        return none
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}".removesuffix(".0") + "M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 1e3:
        return f"{v / 1e3:.1f}".removesuffix(".0") + "k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _count(v: Count) -> Optional[float]:
    return read_count(v) if isinstance(v, str) else (None if v is None else float(v))


def meta_from_fields(caption: Optional[str] = None, hashtags: Union[None, str, Sequence[str]] = None,
                     post_time: Optional[datetime] = None, followers: Count = None, following: Count = None,
                     likes: Count = None, videos: Count = None, sound: Optional[str] = None,
                     language: Optional[str] = None) -> PostMeta:
    """What a creator typed (a count as a number or as text: '12k'; hashtags as 'a, #b' or a list; sound as
    'original' or a track title) -> PostMeta. Raises InputError for a count that is not one."""
    if isinstance(hashtags, str):
        hashtags = hashtags.split(",")
    tags = [h.strip().lstrip("#") for h in hashtags or () if h.strip().lstrip("#")] or None
    music_title, music_original = sound_from_text(sound)
    return PostMeta(
        caption=(caption or "").strip() or None,
        hashtags=tags,
        post_time=post_time,
        followers=_count(followers),
        following=_count(following),
        author_likes=_count(likes),
        author_videos=_count(videos),
        music_title=music_title,
        music_original=music_original,
        language=(language or "").strip() or None,
    )
