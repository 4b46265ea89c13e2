"""One creator's history: their past posts in time order, each with its creator-relative label.

The label (DESIGN.md, "Learn"): a post's ln(1 + views) minus the median ln(1 + views) of the creator's
previous k posts, i.e. how much better or worse the post did than the creator typically did at the time it
was posted. Account growth or decline moves the median, not the label, so it does not pass for a content
effect. Account counts (followers, likes ...) are never inputs of the personal model.

Three sources give a History: one author of a dataset (from_dataset), a posts CSV (from_posts_csv; the
collector's user source writes its posts into a dataset, read the same way), and a folder of the creator's
videos plus a stats table (from_videos).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..data.posts_csv import Post, read_posts_csv
from ..errors import DataError

#: the median of this many previous posts is the creator's typical views at the time
DEFAULT_K = 10
#: a post needs at least this many earlier posts with views before it gets a label
MIN_PREVIOUS = 3
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")


def _sort_key(p: Post) -> float:
    t = p.post_time
    if t is None:
        return math.inf
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()


def rolling_median(log_views: np.ndarray, k: int = DEFAULT_K, min_previous: int = MIN_PREVIOUS) -> np.ndarray:
    """For each post (in time order), the median of the previous k known values of log_views; NaN when fewer
    than `min_previous` earlier values are known. NaN entries (posts without views) are skipped, not counted."""
    out = np.full(log_views.size, np.nan)
    seen: list[float] = []
    for i, v in enumerate(log_views):
        if len(seen) >= min_previous:
            out[i] = float(np.median(seen[-k:]))
        if np.isfinite(v):
            seen.append(float(v))
    return out


@dataclass
class History:
    """A creator's posts sorted by post time (posts without a time are dropped, counted in `notes`)."""

    creator: str
    posts: list[Post]
    base_dir: Path
    k: int = DEFAULT_K
    source: str = ""
    #: per post, the content cues measured from its video (None where there is no video); set by learn
    cues: Optional[list[Optional[dict]]] = None
    notes: list[str] = field(default_factory=list)
    #: stats rows no video could be matched to, and videos no stats row could be matched to (from_videos)
    unmatched_rows: list[str] = field(default_factory=list)
    unmatched_videos: list[str] = field(default_factory=list)

    @property
    def log_views(self) -> np.ndarray:
        return np.array([math.log1p(p.views) if p.views is not None and math.isfinite(p.views) else np.nan
                         for p in self.posts], np.float64)

    @property
    def typical(self) -> np.ndarray:
        """The creator's typical ln(1 + views) when each post went out: the rolling median of the previous k."""
        return rolling_median(self.log_views, self.k)

    @property
    def labels(self) -> np.ndarray:
        """ln(1 + views) minus the typical value at the time; NaN where either is unknown."""
        return self.log_views - self.typical

    def typical_now(self) -> Optional[float]:
        """The median ln(1 + views) of the latest k posts with views (what a new post is compared with)."""
        lv = self.log_views
        known = lv[np.isfinite(lv)]
        return float(np.median(known[-self.k:])) if known.size else None

    def video_paths(self) -> list[Optional[Path]]:
        return [p.video_file(self.base_dir) if p.video_path else None for p in self.posts]


def make_history(creator: str, posts: Sequence[Post], base_dir: Path, source: str, k: int = DEFAULT_K) -> History:
    """Sort posts by time, drop those without a time or duplicated ids; DataError when nothing is left."""
    if k < 1:
        raise DataError(f"k must be at least 1 (got {k})")
    notes = []
    seen, kept = set(), []
    no_time = 0
    for p in posts:
        if p.post_id in seen:
            continue
        seen.add(p.post_id)
        if p.post_time is None:
            no_time += 1
            continue
        kept.append(p)
    if no_time:
        notes.append(f"{no_time} posts have no post time and were left out (the evaluation needs time order)")
    kept.sort(key=_sort_key)
    if not kept:
        raise DataError(f"{source}: no posts with a post time for '{creator}'; a history needs dated posts")
    no_views = sum(1 for p in kept if p.views is None)
    if no_views:
        notes.append(f"{no_views} posts have no views: they are used as 'previous posts' only where known")
    return History(creator=creator, posts=kept, base_dir=Path(base_dir), k=k, source=source, notes=notes)


def _pick_author(posts: Sequence[Post], author: Optional[str], where: str) -> tuple[str, list[Post]]:
    authors = sorted({p.author_id for p in posts if p.author_id})
    if author is None:
        if len(authors) > 1:
            raise DataError(f"{where} holds posts of {len(authors)} authors ({', '.join(authors[:5])}"
                            f"{' ...' if len(authors) > 5 else ''}); name one with --author")
        return (authors[0] if authors else Path(where).stem), list(posts)
    wanted = author.lstrip("@").lower()
    mine = [p for p in posts if (p.author_id or "").lstrip("@").lower() == wanted]
    if not mine:
        raise DataError(f"{where} has no posts by '{author}' (authors there: {', '.join(authors[:5]) or 'none named'}"
                        f"{' ...' if len(authors) > 5 else ''})")
    return mine[0].author_id or author, mine


#: YouTube Studio's analytics export ("Table data.csv" of Advanced mode, by Content): its column -> the posts
#: CSV's. Its first data row is the channel's "Total".
YOUTUBE_STUDIO = {"Content": "post_id", "Video title": "caption", "Video publish time": "post_time",
                  "Duration": "duration_s", "Views": "views"}


def _read_youtube_studio(path: Path, rows: list[dict]):
    """Posts from YouTube Studio's export (see YOUTUBE_STUDIO); the Total row and unreadable cells are skipped."""
    from ..data.posts_csv import PostsFile, parse_count, parse_time

    posts = []
    for r in rows:
        pid = (r.get("Content") or "").strip()
        if not pid or pid.lower() == "total":
            continue
        when_text = (r.get("Video publish time") or "").strip()
        when = None
        for fmt in ("%b %d, %Y", "%d %b %Y", "%Y-%m-%d"):
            try:
                when = datetime.strptime(when_text, fmt)
                break
            except ValueError:
                continue
        if when is None and when_text:
            try:
                when = parse_time(when_text)
            except ValueError:
                when = None

        def num(col):
            try:
                return parse_count(r.get(col) or "")
            except ValueError:
                return None

        posts.append(Post(post_id=pid, caption=(r.get("Video title") or None), post_time=when,
                          duration_s=num("Duration"), views=num("Views")))
    return PostsFile(path=path, posts=posts, columns=tuple(YOUTUBE_STUDIO.values()))


def read_stats(path: str | os.PathLike):
    """A creator's stats table: a posts CSV, or a platform's own analytics export whose layout is known
    (YouTube Studio's, YOUTUBE_STUDIO). Raises DataError naming what was expected otherwise."""
    import csv

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if "post_id" not in header and {"Content", "Views"} <= set(header):
                return _read_youtube_studio(path, list(reader))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as a CSV ({exc})") from None
    return read_posts_csv(path)


def from_posts_csv(path: str | os.PathLike, author: Optional[str] = None, k: int = DEFAULT_K) -> History:
    """A creator's history from a posts CSV (one author's, or `author` of several) or a known analytics export."""
    pf = read_stats(path)
    creator, posts = _pick_author(pf.posts, author, str(path))
    h = make_history(creator, posts, pf.base_dir, f"{path}", k)
    if pf.problems:
        h.notes.append(f"{len(pf.problems)} cells of the CSV could not be read (left empty)")
    return h


def from_dataset(dataset: str | os.PathLike, author: str, k: int = DEFAULT_K) -> History:
    """One author's posts from a dataset (the store); the videos it holds are used where present."""
    from ..data.store import Dataset, resolve_dataset_path

    path = resolve_dataset_path(dataset)
    if not path.exists():
        raise DataError(f"{path}: no such dataset")
    with Dataset.open(path) as ds:
        posts = list(ds.posts())
    creator, mine = _pick_author(posts, author, str(path))
    return make_history(creator, mine, path.parent, f"dataset {path.name}", k)


# ------------------------------------------------------------------------- a folder of videos + stats


def _norm_id(s: str) -> str:
    return re.sub(r"[^0-9a-z]", "", s.lower())


def _duration(path: Path) -> Optional[float]:
    from .. import media

    try:
        return float(media.probe(path).duration_s)
    except Exception:  # an unreadable file is reported as unmatched, not fatal
        return None


def match_videos(posts: Sequence[Post], folder: Path, csv_dir: Path, duration_tolerance_s: float = 1.0
                 ) -> tuple[list[Post], list[str], list[str]]:
    """Give each stats row its video in `folder`: by a `video_path` cell that names an existing file, by the
    post id in a file name, or, for a row with a post time and a duration, the only unclaimed video whose
    date (in its name, YYYY-MM-DD or YYYYMMDD, else its modification day) is the post's date and whose
    duration is within `duration_tolerance_s`. Returns (posts with video_path set where matched, the ids of
    rows left without a video, the names of videos left without a row)."""
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    claimed: set[Path] = set()
    out, unmatched = [], []
    by_stem = {}
    for v in videos:
        by_stem.setdefault(_norm_id(v.stem), []).append(v)
    pending = []
    for p in posts:
        found = None
        if p.video_path:
            f = p.video_file(csv_dir)
            if f is not None and f.is_file():
                found = f
        if found is None and p.post_id:
            pid = _norm_id(p.post_id)
            cands = [v for v in videos if v not in claimed and pid and pid in _norm_id(v.stem)]
            if len(cands) == 1:
                found = cands[0]
        if found is None:
            pending.append(p)
            out.append(p)
            continue
        claimed.add(found.resolve() if found.exists() else found)
        claimed.add(found)
        p.video_path = str(found.resolve())
        out.append(p)

    def day_of(v: Path) -> Optional[str]:
        m = re.search(r"(20\d\d)[-_]?([01]\d)[-_]?([0-3]\d)", v.name)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        return datetime.fromtimestamp(v.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")

    durations: dict[Path, Optional[float]] = {}
    for p in pending:
        if p.post_time is None or p.duration_s is None:
            unmatched.append(p.post_id)
            continue
        day = p.post_time.strftime("%Y-%m-%d")
        cands = []
        for v in videos:
            if v in claimed or day_of(v) != day:
                continue
            if v not in durations:
                durations[v] = _duration(v)
            d = durations[v]
            if d is not None and abs(d - p.duration_s) <= duration_tolerance_s:
                cands.append(v)
        if len(cands) == 1:
            claimed.add(cands[0])
            p.video_path = str(cands[0].resolve())
        else:
            unmatched.append(p.post_id)
    left = [v.name for v in videos if v not in claimed and v.resolve() not in claimed]
    return out, unmatched, left


def from_videos(folder: str | os.PathLike, stats_csv: str | os.PathLike, author: Optional[str] = None,
                k: int = DEFAULT_K) -> History:
    """A creator's own videos (a folder) plus their stats (a posts CSV): rows matched to files, the
    unmatched listed on the History. Rows without a video still count as history (metadata only)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of videos")
    pf = read_stats(stats_csv)
    creator, posts = _pick_author(pf.posts, author, str(stats_csv))
    posts, unmatched_rows, unmatched_videos = match_videos(posts, folder, pf.base_dir)
    h = make_history(creator, posts, pf.base_dir, f"{folder} + {Path(stats_csv).name}", k)
    h.unmatched_rows, h.unmatched_videos = unmatched_rows, unmatched_videos
    n_vid = sum(1 for p in h.posts if p.video_path)
    h.notes.append(f"{n_vid} of {len(h.posts)} posts matched to a video in {folder.name}")
    if unmatched_rows:
        h.notes.append(f"{len(unmatched_rows)} stats rows without a video: {', '.join(unmatched_rows[:8])}"
                       f"{' ...' if len(unmatched_rows) > 8 else ''}")
    if unmatched_videos:
        h.notes.append(f"{len(unmatched_videos)} videos without a stats row: {', '.join(unmatched_videos[:8])}"
                       f"{' ...' if len(unmatched_videos) > 8 else ''}")
    return h


def from_account(handle: str, dataset: str | os.PathLike, count: int = 200, download: bool = True,
                 k: int = DEFAULT_K, progress=None, cancel=None) -> History:
    """Collect an account's posts (and, with `download`, their videos) with the collector's user source into
    `dataset`, then read that account's history from it. The store keys posts by TikTok's numeric author id,
    not the handle, so the account is the dataset's one author (or the one whose id is the handle); a
    dataset that holds several other accounts is refused. Raises InputError / DataError / the collector's."""
    from ..collect.collector import collect
    from ..collect.sources import make_source
    from ..data.store import Dataset, resolve_dataset_path
    from ..jobs import NEVER_CANCELLED, no_progress

    source = make_source("user", handle)
    collect(source, dataset, count=count, download=download, progress=progress or no_progress,
            cancel=cancel or NEVER_CANCELLED)
    path = resolve_dataset_path(dataset)
    with Dataset.open(path) as ds:
        posts = list(ds.posts())
    authors = sorted({p.author_id for p in posts if p.author_id})
    wanted = source.value.lower()
    mine = [a for a in authors if a.lower() == wanted]
    if not mine and len(authors) != 1:
        raise DataError(f"{path} holds posts of {len(authors)} accounts and none is named '{source.value}'; "
                        "collect into a new dataset (--collect-into)")
    author = mine[0] if mine else authors[0]
    h = make_history(source.value, [p for p in posts if p.author_id == author], path.parent,
                     f"@{source.value} (collected into {path.name})", k)
    return h
