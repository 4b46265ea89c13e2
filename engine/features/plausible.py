"""Inputs no model can score meaningfully, and how a report words the ones outside a model's training range.

Two kinds (issue 10 §3):
- impossible values, whatever the model: more followers than the largest account on the platform, a post
  time before the platform existed or far in the future, a picture under 64 pixels on a side;
- values outside the [min, max] a model was trained on (engine.features.spec.OutOfRange): clipped for the
  prediction; far outside (a 2x2 video, a 3-hour clip, a 20,000-character caption) the score is flagged as
  not meaningful.
A flagged score is still computed (with the clipped inputs) but ranks after every meaningful one.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Callable, Optional, Sequence

from .spec import OutOfRange, PostMeta

#: TikTok's largest account had about 160 million followers in 2025; more than this is a typing error.
PLATFORM_MAX_FOLLOWERS = 250_000_000
#: TikTok (Douyin) launched in September 2016: no post is older.
PLATFORM_START = datetime(2016, 9, 1)
#: a planned post time more than this far ahead is not a plan.
MAX_PLAN_AHEAD = timedelta(days=366)
#: smaller than this on either side is not a picture anyone watches (the shortest side seen in SMP-Video is 240).
MIN_SIDE_PX = 64


def impossible_values(meta: PostMeta, now: Optional[datetime] = None) -> list[str]:
    """Plain-language reasons why this post's metadata cannot describe a real post; [] when it can."""
    out = []
    if meta.followers is not None and math.isfinite(meta.followers) and meta.followers > PLATFORM_MAX_FOLLOWERS:
        out.append(f"{_count(meta.followers)} followers is more than any account on the platform has (the largest"
                   " has about 160 million)")
    elif meta.followers is not None and not math.isfinite(meta.followers):
        out.append(f"the follower count ({meta.followers}) is not a number of people")
    t = meta.post_time
    if t is not None:
        naive = t.replace(tzinfo=None)  # the offset is hours; these limits are months (and astimezone overflows in 9999)
        now = now or datetime.now()
        if naive < PLATFORM_START:
            out.append(f"the post time {t:%Y-%m-%d} is before the platform existed (September 2016)")
        elif naive > now + MAX_PLAN_AHEAD:
            out.append(f"the post time {t:%Y-%m-%d} is more than a year ahead")
    w, h = meta.width, meta.height
    if w is not None and h is not None and 0 < min(w, h) < MIN_SIDE_PX:
        out.append(f"the video is {w}x{h} pixels, under {MIN_SIDE_PX} on a side")
    return out


def _count(v: float) -> str:
    return f"{v:,.0f}" if v < 1e15 else f"{v:.3g}"


def _expm1(v: float) -> float:
    return math.expm1(min(v, 700.0))


#: how a report names each input and turns its model value back into the user's unit
_WORDS: dict[str, tuple[str, Callable[[float], float], str]] = {
    "log_followers": ("followers", _expm1, "{:,.0f}"),
    "log_following": ("accounts followed", _expm1, "{:,.0f}"),
    "log_author_likes": ("account likes", _expm1, "{:,.0f}"),
    "log_author_videos": ("account videos", _expm1, "{:,.0f}"),
    "log_likes_per_video": ("likes per video", _expm1, "{:,.0f}"),
    "log_likes_per_follower": ("likes per follower", _expm1, "{:,.1f}"),
    "n_words": ("caption words", float, "{:,.0f}"),
    "n_chars": ("caption characters", float, "{:,.0f}"),
    "n_hashtags": ("hashtags", float, "{:,.0f}"),
    "n_mentions": ("mentions", float, "{:,.0f}"),
    "n_questions": ("question marks", float, "{:,.0f}"),
    "n_exclaims": ("exclamation marks", float, "{:,.0f}"),
    "n_emoji": ("emoji", float, "{:,.0f}"),
    "log_duration": ("seconds long", _expm1, "{:,.0f}"),
    "aspect": ("height / width", float, "{:.2f}"),
    "log_pixels": ("pixels", lambda v: math.exp(min(v, 700.0)), "{:,.0f}"),
}


def _one(o: OutOfRange, meta: Optional[PostMeta]) -> str:
    if o.feature == "log_pixels" and meta is not None and meta.width and meta.height:
        what = f"the video is {meta.width}x{meta.height} pixels"
        lo, hi = (_WORDS["log_pixels"][1](v) for v in (o.low, o.high))
        return f"{what} (it learned from {lo:,.0f} to {hi:,.0f} pixels)"
    name, back, fmt = _WORDS.get(o.feature, (o.feature.replace("_", " "), float, "{:.3g}"))
    value, lo, hi = (back(v) for v in (o.value, o.low, o.high))
    value_text = fmt.format(value) if abs(value) < 1e15 else f"{value:.3g}"
    return f"{value_text} {name} (it learned from {fmt.format(lo)} to {fmt.format(hi)})"


def out_of_range_note(found: Sequence[OutOfRange], meta: Optional[PostMeta] = None) -> Optional[str]:
    """One line for a report: which inputs were outside what the model learned from and were clipped."""
    if not found:
        return None
    parts = "; ".join(_one(o, meta) for o in found)
    far = any(o.far for o in found)
    return (f"Outside what the model learned from, so clipped to its edge for the prediction: {parts}."
            + (" Far outside anything it learned from: the score is not meaningful." if far else ""))


def not_meaningful_reasons(meta: PostMeta, found: Sequence[OutOfRange], now: Optional[datetime] = None) -> list[str]:
    """Why this score is not meaningful ([] when it is): impossible values, and inputs far outside the model's
    training range."""
    reasons = impossible_values(meta, now)
    far = [_one(o, meta) for o in found if o.far]
    if far:
        reasons.append("far outside anything the model learned from: " + "; ".join(far))
    return reasons
