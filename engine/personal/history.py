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
import unicodedata
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
    #: the video embeddings the personal model may read, {'frames': [N, 1280], 'audio': [N, 44]} (a row of NaN where
    #: the post has no video); set by learn with the cues, from the same decoding pass
    embeddings: Optional[dict] = None
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
    if no_views == len(kept):
        why = (" (it gives SMP-Video's popularity score, whose link to views is not stated, not views)"
               if any(p.popularity is not None for p in kept) else "")
        raise DataError(f"{source}: none of the {len(kept)} posts of '{creator}' has a view count{why}; the personal "
                        "label compares each post's views with the creator's typical views, so it needs them")
    if no_views:
        notes.append(f"{no_views} posts have no views: they are used as 'previous posts' only where known")
    if not any(p.author_followers for p in kept):
        account = _default_model_account()
        if account:
            notes.append("no post gives the account's follower count (the personal model never uses it), so the "
                         f"general default model in the comparison assumed {account} for each")
    return History(creator=creator, posts=kept, base_dir=Path(base_dir), k=k, source=source, notes=notes)


def _default_model_account() -> Optional[str]:
    """Which account the general default model assumes when no follower count is given (explain.assumed_account)."""
    import json

    from ..explain import assumed_account, training_data_name
    from ..models.active import default_bundle_path

    try:
        manifest = json.loads((default_bundle_path() / "manifest.json").read_text(encoding="utf-8"))
        return assumed_account(manifest["feature_spec"], training_data_name(manifest))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pick_author(posts: Sequence[Post], author: Optional[str], where: str) -> tuple[str, list[Post]]:
    authors = sorted({p.author_id for p in posts if p.author_id})
    if author is None:
        if len(authors) > 1:
            raise DataError(f"{where} holds posts of {len(authors)} authors ({', '.join(authors[:5])}"
                            f"{' ...' if len(authors) > 5 else ''}); name the author whose posts to learn from (--author)")
        return (authors[0] if authors else Path(where).stem), list(posts)
    wanted = author.lstrip("@").lower()
    mine = [p for p in posts if (p.author_id or "").lstrip("@").lower() == wanted]
    if not mine:
        raise DataError(f"{where} has no posts by '{author}' (authors there: {', '.join(authors[:5]) or 'none named'}"
                        f"{' ...' if len(authors) > 5 else ''})")
    return mine[0].author_id or author, mine


# ------------------------------------------------------------------ the platforms' own analytics exports


@dataclass(frozen=True)
class ExportLayout:
    """A platform's own per-post analytics export: for each field of a Post (plus `link` and `post_type`), the
    column headers it goes by (compared without case, spaces at the ends or a byte-order mark). A CSV whose header
    has a column for every field in `needs` (and no `post_id` column: a posts CSV wins) is read with it."""

    name: str
    columns: dict
    needs: tuple
    #: the formats of its publish-time column, tried in order before ISO 8601
    time_formats: tuple = ()
    #: post types kept when the export says (lower case, matched as words); others are left out and counted
    video_types: tuple = ()


#: YouTube Studio, Analytics > Advanced mode > Content > Export > "Table data.csv". Its first data row is the
#: channel's "Total". `Content` is the video id (as in youtube.com/watch?v=ID).
YOUTUBE_STUDIO = ExportLayout(
    "YouTube Studio (Table data.csv)",
    {"post_id": ("Content",), "caption": ("Video title",), "post_time": ("Video publish time",),
     "duration_s": ("Duration",), "views": ("Views",), "likes": ("Likes",)},
    needs=("post_id", "views"), time_formats=("%b %d, %Y", "%d %b %Y", "%Y-%m-%d"))

#: TikTok Studio (web), Analytics > Content > Download data. TikTok's own help (Creator Academy, "Understanding
#: your analytics", tiktok.com/creator-academy/en/article/tool-analytics-intro) lists the Content tab's metrics
#: but not the file's column names; those are taken from public parsers of the real file, which agree:
#: aroaxinping/tokpipe (src/tokpipe/ingest.py: "Video title", "Post time", "Total views", "Total likes",
#: "Total comments", "Total shares") and several that also read "Video link" (https://www.tiktok.com/@handle/
#: video/ID) and name the time column "Video publish time". The file has no duration column, and no video id
#: but inside the link, so rows are matched to files by that id, else by date alone (see match_videos).
TIKTOK_STUDIO = ExportLayout(
    "TikTok Studio (Content export)",
    {"link": ("Video link",), "caption": ("Video title",), "post_time": ("Post time", "Video publish time"),
     "views": ("Total views",), "likes": ("Total likes",), "comments": ("Total comments",),
     "shares": ("Total shares",), "saves": ("Add to favorites",)},
    needs=("views", "post_time"), time_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M",
                                                "%Y-%m-%d", "%b %d, %Y"))

#: Meta Business Suite, Insights > Content > Export (Instagram), one row per post. Meta's help pages describe the
#: export but not its columns; the layout is taken from public readers of the real file: the English header
#: "Post ID","Account ID","Account username","Account name",Description,"Duration (sec)","Publish time",
#: Permalink,"Post type","Data comment",Date,Views,Reach,Likes,Shares,Follows,Comments,Saves with publish
#: times as MM/DD/YYYY HH:MM (a test fixture of an insights-export reader in the public code index), and the
#: same 18 columns in Spanish (aroaxinping/instapipe, examples/sample_data.csv and src/instapipe/clean.py).
#: Post types other than reels and videos (images, carousels, stories) are left out: they are not videos.
META_INSTAGRAM = ExportLayout(
    "Meta Business Suite (Instagram content export)",
    {"post_id": ("Post ID", "Identificador de la publicación"),
     "author_id": ("Account username", "Nombre de usuario de la cuenta"),
     "caption": ("Description", "Descripción"), "duration_s": ("Duration (sec)", "Duración (segundos)"),
     "post_time": ("Publish time", "Hora de publicación"), "link": ("Permalink", "Enlace permanente"),
     "post_type": ("Post type", "Tipo de publicación"), "views": ("Views", "Visualizaciones"),
     "likes": ("Likes", "Me gusta"), "comments": ("Comments", "Comentarios"),
     "shares": ("Shares", "Veces que se ha compartido"), "saves": ("Saves", "Veces guardado")},
    needs=("post_id", "post_time", "link"), time_formats=("%m/%d/%Y %H:%M", "%m/%d/%Y"),
    video_types=("reel", "video"))

EXPORT_LAYOUTS = (YOUTUBE_STUDIO, TIKTOK_STUDIO, META_INSTAGRAM)

#: the ids a platform's link carries: TikTok's numeric video id, Instagram's shortcode, YouTube's video id
_LINK_IDS = (re.compile(r"/video/(\d+)"), re.compile(r"/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)"),
             re.compile(r"(?:[?&]v=|youtu\.be/|/shorts/)([A-Za-z0-9_-]{6,})"))
_LINK_HANDLE = re.compile(r"/@([A-Za-z0-9_.]+)")


def _key(header: str) -> str:
    return unicodedata.normalize("NFC", header.strip().lstrip("\ufeff").strip().strip('"')).casefold()


def _layout_columns(header: Sequence[str], layout: ExportLayout) -> Optional[dict]:
    """field -> column header of `header` for `layout`, or None when a needed field has no column."""
    by_key = {_key(h): h for h in header if h}
    found = {}
    for fld, names in layout.columns.items():
        for n in names:
            if _key(n) in by_key:
                found[fld] = by_key[_key(n)]
                break
    return found if all(f in found for f in layout.needs) else None


@dataclass
class Stats:
    """A stats table read: the posts, the other ids each post goes by (a link's id), what was noticed."""

    file: object  # PostsFile
    layout: str = "posts CSV"
    aliases: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _read_export(path: Path, rows: list[dict], cols: dict, layout: ExportLayout) -> Stats:
    from ..data.posts_csv import PostsFile, parse_count, parse_time

    def cell(r, fld):
        return (r.get(cols[fld]) or "").strip() if fld in cols else ""

    def when(text):
        for fmt in layout.time_formats:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        try:
            return parse_time(text)
        except ValueError:
            return None

    def num(text):
        try:
            return parse_count(text) if text else None
        except ValueError:
            return None

    posts, aliases, bad_time, other_types = [], {}, [], {}
    kinds = [cell(r, "post_type").casefold() for r in rows]
    is_video = [any(re.search(rf"\b{t}", k) for t in layout.video_types) for k in kinds]
    filter_types = bool(layout.video_types) and "post_type" in cols and any(is_video)
    for line, (r, video) in enumerate(zip(rows, is_video), start=2):
        pid, link = cell(r, "post_id"), cell(r, "link")
        if pid.casefold() == "total":  # YouTube Studio's channel total
            continue
        if not (pid or link or cell(r, "caption") or cell(r, "views")):
            continue  # an empty line
        if filter_types and not video:
            other_types[cell(r, "post_type") or "no type"] = other_types.get(cell(r, "post_type") or "no type", 0) + 1
            continue
        link_id = next((m.group(1) for rx in _LINK_IDS for m in [rx.search(link)] if m), None)
        pid = pid or link_id or f"row {line}"
        if link_id and link_id != pid:
            aliases[pid] = [link_id]
        text = cell(r, "post_time")
        t = when(text) if text else None
        if text and t is None:
            bad_time.append(text)
        handle = _LINK_HANDLE.search(link)
        posts.append(Post(post_id=pid, author_id=cell(r, "author_id") or (handle.group(1) if handle else None),
                          caption=cell(r, "caption") or None, post_time=t, duration_s=num(cell(r, "duration_s")),
                          views=num(cell(r, "views")), likes=num(cell(r, "likes")),
                          comments=num(cell(r, "comments")), shares=num(cell(r, "shares")),
                          saves=num(cell(r, "saves"))))
    notes = [f"read as {layout.name}"]
    if other_types:
        notes.append(f"{sum(other_types.values())} rows that are not videos were left out ("
                     + ", ".join(f"{n} {k}" for k, n in sorted(other_types.items())) + ")")
    if bad_time:
        notes.append(f"{len(bad_time)} publish times could not be read (e.g. '{bad_time[0]}'); export with full "
                     "dates (year included) so those posts can be placed in time")
    return Stats(PostsFile(path=path, posts=posts, columns=tuple(cols)), layout.name, aliases, notes)


def _csv_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Meta Business Suite writes some exports as UTF-16
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def read_stats_table(path: str | os.PathLike) -> Stats:
    """A creator's stats table: a posts CSV, or a platform's own analytics export whose layout is known
    (EXPORT_LAYOUTS: YouTube Studio, TikTok Studio, Meta Business Suite for Instagram). Raises DataError."""
    import csv
    import io

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        reader = csv.DictReader(io.StringIO(_csv_text(path), newline=""))
        header = reader.fieldnames or []
        if "post_id" not in [_key(h) for h in header]:
            for layout in EXPORT_LAYOUTS:
                cols = _layout_columns(header, layout)
                if cols is not None:
                    return _read_export(path, list(reader), cols, layout)
    except (OSError, UnicodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as a CSV ({exc})") from None
    try:
        return Stats(read_posts_csv(path))
    except DataError as exc:
        raise DataError(f"{exc} (nor is it a known analytics export: "
                        f"{', '.join(x.name for x in EXPORT_LAYOUTS)})") from None


def read_stats(path: str | os.PathLike):
    """The posts of a stats table (read_stats_table) as a PostsFile."""
    return read_stats_table(path).file


def from_posts_csv(path: str | os.PathLike, author: Optional[str] = None, k: int = DEFAULT_K) -> History:
    """A creator's history from a posts CSV (one author's, or `author` of several) or a known analytics export."""
    st = read_stats_table(path)
    pf = st.file
    creator, posts = _pick_author(pf.posts, author, str(path))
    h = make_history(creator, posts, pf.base_dir, f"{path}", k)
    h.notes[:0] = st.notes
    if pf.problems:
        h.notes.append(f"{len(pf.problems)} cells of the CSV could not be read (left empty)")
    return h


def from_dataset(dataset: str | os.PathLike, author: Optional[str] = None, k: int = DEFAULT_K) -> History:
    """One author's posts from a dataset (the store); the videos it holds are used where present. `author` may be
    left out when the dataset holds one author's posts (one collected with the user source, say)."""
    from ..data.store import Dataset, resolve_dataset_path

    path = resolve_dataset_path(dataset)
    if not path.exists():
        raise DataError(f"{path}: no such dataset")
    with Dataset.open(path) as ds:
        posts = list(ds.posts())
    creator, mine = _pick_author(posts, author, str(path))
    return make_history(creator, mine, path.parent, f"dataset {path.name}", k)


# ------------------------------------------------------------------------- a folder of videos + stats


def _tokens(s: str) -> list[str]:
    """Letters-and-digits runs of a name, accents folded and case ignored: 'Été_p01 [x]' -> ['ete', 'p01', 'x']."""
    folded = unicodedata.normalize("NFKD", s.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [t for t in re.split(r"[\W_]+", folded) if t]


def _names_id(stem_tokens: Sequence[str], want: Sequence[str]) -> bool:
    """True when an id's tokens (`want`, from _tokens) appear, in a row, among a file name's (so 'p1' does not
    match 'clip_p10')."""
    n = len(want)
    return bool(n) and any(list(stem_tokens[i:i + n]) == list(want) for i in range(len(stem_tokens) - n + 1))


def _duration(path: Path) -> Optional[float]:
    from .. import media

    try:
        return float(media.probe(path).duration_s)
    except Exception:  # an unreadable file is reported as unmatched, not fatal
        return None


def _named_file(p: Post, csv_dir: Path, folder: Path, videos: Sequence[Path]) -> Optional[Path]:
    """The file a `video_path` cell names: relative to the CSV's folder (or absolute), else relative to the videos
    folder, else a video in the folder of that name written another way (accents composed or decomposed, as
    macOS writes them, or another case)."""
    for f in (p.video_file(csv_dir), folder / p.video_path):
        if f is not None and f.is_file():
            return f
    want = unicodedata.normalize("NFC", Path(p.video_path.replace("\\", "/")).name).casefold()
    same = [v for v in videos if unicodedata.normalize("NFC", v.name).casefold() == want]
    return same[0] if len(same) == 1 else None


def _day_in_name(v: Path) -> Optional[str]:
    m = re.search(r"(20\d\d)[-_.]?([01]\d)[-_.]?([0-3]\d)", v.name)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def match_videos(posts: Sequence[Post], folder: Path, csv_dir: Path, duration_tolerance_s: float = 1.0,
                 aliases: Optional[dict] = None) -> tuple[list[Post], list[str], list[str]]:
    """Give each stats row its video in `folder`, in this order:
    1. a `video_path` cell that names an existing file (see _named_file);
    2. the post id (or another id the row goes by, `aliases`: a link's id) in a file name, as whole words of
       the name, and only when exactly one unclaimed file has it;
    3. for a row with a post time and a duration: the only unclaimed video whose date (in its name,
       YYYY-MM-DD or YYYYMMDD, else its modification day) is the post's date and whose duration is within
       `duration_tolerance_s`;
    4. for a row with a post time and no duration (TikTok's export has none): the only unclaimed video with
       that date in its name, when it is also the only row left of that date.
    Returns (the posts, with video_path set where matched; the ids of rows left without a video; the names of
    videos left without a row). Two rows of one date whose durations both fit are both left unmatched."""
    aliases = aliases or {}
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    tokens = {v: _tokens(v.stem) for v in videos}
    claimed: set[Path] = set()
    matched: dict[int, Path] = {}

    def claim(i: int, v: Path) -> None:
        claimed.add(v)
        matched[i] = v

    pending = list(range(len(posts)))
    # 1. the video_path column
    for i in list(pending):
        p = posts[i]
        f = _named_file(p, csv_dir, folder, videos) if p.video_path else None
        if f is not None:
            claim(i, next((v for v in videos if v.resolve() == f.resolve()), f))
            pending.remove(i)
    # 2. ids in file names: every row first looks for its candidates, so the outcome does not hang on row order
    having: dict[str, list[Path]] = {}  # token -> the unclaimed videos whose name has it
    for v in videos:
        if v not in claimed:
            for t in set(tokens[v]):
                having.setdefault(t, []).append(v)
    cands = {}
    for i in pending:
        wants = [w for w in (_tokens(x) for x in [posts[i].post_id, *aliases.get(posts[i].post_id, ())]) if w]
        cands[i] = [v for v in dict.fromkeys(v for w in wants for v in having.get(w[0], ()))
                    if any(_names_id(tokens[v], w) for w in wants)]
    wanted_by: dict[Path, list[int]] = {}
    for i, vs in cands.items():
        for v in vs:
            wanted_by.setdefault(v, []).append(i)
    for i, vs in cands.items():
        if len(vs) == 1 and len(wanted_by[vs[0]]) == 1:
            claim(i, vs[0])
            pending.remove(i)
    # 3. date and duration
    durations: dict[Path, Optional[float]] = {}

    def day_of(v: Path) -> str:
        return _day_in_name(v) or datetime.fromtimestamp(v.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")

    timed = [i for i in pending if posts[i].post_time is not None and posts[i].duration_s is not None]
    fits = {}
    for i in timed:
        day = posts[i].post_time.strftime("%Y-%m-%d")
        fits[i] = []
        for v in videos:
            if v in claimed or day_of(v) != day:
                continue
            if v not in durations:
                durations[v] = _duration(v)
            d = durations[v]
            if d is not None and abs(d - posts[i].duration_s) <= duration_tolerance_s:
                fits[i].append(v)
    taken: dict[Path, int] = {}
    for vs in fits.values():
        for v in vs:
            taken[v] = taken.get(v, 0) + 1
    for i, vs in fits.items():
        if len(vs) == 1 and taken[vs[0]] == 1:
            claim(i, vs[0])
            pending.remove(i)
    # 4. the date alone, where the stats give no duration
    undated = [i for i in pending if posts[i].post_time is not None and posts[i].duration_s is None]
    by_day: dict[str, list[int]] = {}
    for i in [i for i in pending if posts[i].post_time is not None]:
        by_day.setdefault(posts[i].post_time.strftime("%Y-%m-%d"), []).append(i)
    for i in undated:
        day = posts[i].post_time.strftime("%Y-%m-%d")
        vs = [v for v in videos if v not in claimed and _day_in_name(v) == day]
        if len(vs) == 1 and len(by_day[day]) == 1:
            claim(i, vs[0])
            pending.remove(i)

    out = []
    for i, p in enumerate(posts):
        if i in matched:
            p.video_path = str(matched[i].resolve())
        out.append(p)
    unmatched = [posts[i].post_id for i in pending]
    left = [v.name for v in videos if v not in claimed]
    return out, unmatched, left


def from_videos(folder: str | os.PathLike, stats_csv: str | os.PathLike, author: Optional[str] = None,
                k: int = DEFAULT_K) -> History:
    """A creator's own videos (a folder) plus their stats (a posts CSV or a known analytics export, see
    read_stats_table): rows matched to files (match_videos), the unmatched listed on the History. Rows without
    a video still count as history (metadata only)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of videos")
    st = read_stats_table(stats_csv)
    pf = st.file
    creator, posts = _pick_author(pf.posts, author, str(stats_csv))
    posts, unmatched_rows, unmatched_videos = match_videos(posts, folder, pf.base_dir, aliases=st.aliases)
    h = make_history(creator, posts, pf.base_dir, f"{folder} + {Path(stats_csv).name}", k)
    h.notes[:0] = st.notes
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
