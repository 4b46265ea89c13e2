"""Adapters between the pages and engine.scoring: the model part of a score re-run without decoding.

A ScoreReport keeps the CueReport, MediaInfo and per-video model inputs of the file; when the creator edits
the caption, post time, followers or sound, only the bundle has to run again (a millisecond; tens of them when
a multimodal bundle embeds a new caption), so the Score page re-scores live, in a job. Plain Python, no Qt: the same numbers as engine.scoring.score_video for the same inputs.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

from engine.features.spec import PostMeta
from engine.fields import meta_from_fields


def make_meta(caption: str = "", post_time: Optional[datetime] = None, followers: str = "",
              sound: str = "") -> PostMeta:
    """The Score page's fields as PostMeta, read as the CLI reads its flags (engine.fields)."""
    return meta_from_fields(caption=caption, post_time=post_time, followers=followers, sound=sound)


def rescore(report, meta: PostMeta, bundle, progress=None, cancel=None, personal=None):
    """A copy of `report` with the model part re-run for new metadata; the cues and the per-video model inputs
    are reused as they are (only a changed caption is embedded again). A job function: the Score page runs it
    through the job runner, so the GUI thread never waits on a model. `personal`: the active personal bundle,
    whose reading goes beside the score.

    Raises InputError for impossible metadata."""
    from engine import scoring

    if cancel is not None:
        cancel.raise_if_cancelled()
    return scoring.rescore(report, meta, bundle, personal=personal)


#: frames in the Score page's strip, and their longer side in pixels
STRIP_FRAMES, STRIP_SIDE = 8, 180


def strip_images(frames) -> list:
    """SampledFrames as the strip shows them: a list of (time in s, RGB uint8 array)."""
    return [(f.time_s, f.image) for f in frames]


def sample_strip(path: str, n: int = STRIP_FRAMES, max_side: int = STRIP_SIDE, progress=None, cancel=None) -> list:
    """Frames for the Score page's strip when the page shows a report scored elsewhere (a Batch row): a list of
    (time in s, RGB uint8 array). A job function. (The page's own score job gets them from its decoding pass.)"""
    from engine import media
    from engine.features.inputs import strip_requests

    info = media.probe(path)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return strip_images(media.sample_frames(path, strip_requests(info, n, max_side), info=info))


def thumbnail(path: str, max_side: int = 96, progress=None, cancel=None):
    """One frame about a second in (or mid-way for short clips), RGB uint8, for table rows. A job function."""
    from engine import media

    info = media.probe(path)
    t = min(1.0, info.duration_s / 2)
    frames = media.sample_frames(path, [(t, max_side)], info=info)
    return frames[0].image if frames else None


def key_cues(report) -> str:
    """A short line of the cues a creator scans a table for."""
    parts = []
    cues = {c.name: c for c in report.cues.cues}
    a = cues.get("aspect")
    if a and a.value:
        parts.append("vertical" if a.value > 1.2 else "square" if a.value > 0.85 else "landscape")
    for name, fmt in (("cuts_per_min", "{:.0f} cuts/min"), ("hook_motion", "hook {:.2f}"),
                      ("faces", "faces {:.0f}%"), ("loudness", "{:.0f} LUFS")):
        c = cues.get(name)
        if c is not None and c.value is not None:
            parts.append(fmt.format(c.shown_value))
    return " · ".join(parts)


def short_name(path: str) -> str:
    return Path(path).name
