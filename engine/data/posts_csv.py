"""The posts CSV: the one plain format for labelled (or unlabelled) posts.

One row per post. Every column but `post_id` is optional and may be left empty:

    post_id, author_id, caption, hashtags, post_time, duration_s, width, height, music_title,
    music_original, author_followers, author_following, author_likes, author_videos, language,
    views, likes, comments, shares, saves, video_path
    [popularity]   extra: a log-scale label (SMP-Video's), used when `views` is absent
    [location]     extra: the poster's country code, where known

- post_time: ISO 8601 ("2023-07-29T18:21", "2023-07-29 18:21", with or without an offset).
- hashtags: comma-separated, without '#' ("fyp,woodworking").
- music_original: true/false (also 1/0, yes/no).
- counts accept plain numbers and TikTok's short forms ("12.5K", "1.2M").
- video_path: relative to the CSV's folder (absolute paths are kept as they are).

Reading is tolerant: missing columns and empty cells give None; a cell that cannot be parsed
gives None and a counted `Problem`, never a crash; UTF-8 with or without a byte-order mark.
A file that is not a CSV of posts at all (no `post_id` column) raises DataError.
"""
from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Optional

from ..errors import DataError
from ..outputs import atomic_file, safe_row, unsafe_cell

COLUMNS: tuple[str, ...] = (
    "post_id",
    "author_id",
    "caption",
    "hashtags",
    "post_time",
    "duration_s",
    "width",
    "height",
    "music_title",
    "music_original",
    "author_followers",
    "author_following",
    "author_likes",
    "author_videos",
    "language",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "video_path",
)
#: Optional columns written only when some post has a value.
EXTRA_COLUMNS: tuple[str, ...] = ("popularity", "location")

#: Engagement of the post itself: labels, never model inputs (they do not exist before posting).
LABEL_COLUMNS: tuple[str, ...] = ("views", "likes", "comments", "shares", "saves", "popularity")

_FLOAT_COLUMNS = (
    "duration_s",
    "author_followers",
    "author_following",
    "author_likes",
    "author_videos",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
)
_INT_COLUMNS = ("width", "height")
_NON_NEGATIVE = set(_FLOAT_COLUMNS) | set(_INT_COLUMNS)


@dataclass
class Post:
    """One post. Every field but post_id may be None (unknown)."""

    post_id: str
    author_id: Optional[str] = None
    caption: Optional[str] = None
    hashtags: Optional[list[str]] = None
    post_time: Optional[datetime] = None
    duration_s: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None
    music_title: Optional[str] = None
    music_original: Optional[bool] = None
    author_followers: Optional[float] = None
    author_following: Optional[float] = None
    author_likes: Optional[float] = None
    author_videos: Optional[float] = None
    language: Optional[str] = None
    views: Optional[float] = None
    likes: Optional[float] = None
    comments: Optional[float] = None
    shares: Optional[float] = None
    saves: Optional[float] = None
    video_path: Optional[str] = None
    popularity: Optional[float] = None
    location: Optional[str] = None

    def video_file(self, csv_dir: str | os.PathLike) -> Optional[Path]:
        """The video's path resolved against the CSV's folder (None when the row names none)."""
        if not self.video_path:
            return None
        p = Path(self.video_path)
        return p if p.is_absolute() else Path(csv_dir) / p


@dataclass
class SourcePost:
    """One post as a source (a CSV, SMP-Video, TikTok JSON, a collection) gives it. `post` carries the labels
    and account counts of this reading; `video_file` is where its video should be (absolute; it may be
    missing); `measured_at` dates the label and account counts (None: the source does not say, the store
    then uses the batch's `read_at`)."""

    post: Post
    video_file: Optional[Path] = None
    measured_at: Optional[datetime] = None


@dataclass(frozen=True)
class Problem:
    """A cell (or row) that could not be used. `row` is the 1-based line of the record's start."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass
class PostsFile:
    """What read_posts_csv returns: the posts, the problems met, and the columns found."""

    path: Path
    posts: list[Post]
    problems: list[Problem] = field(default_factory=list)
    columns: tuple[str, ...] = ()
    unknown_columns: tuple[str, ...] = ()
    skipped_rows: int = 0  # rows dropped entirely (no post_id)
    problem_count: int = 0  # all problems met; `problems` keeps the first MAX_KEPT_PROBLEMS

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def summary(self) -> str:
        s = f"{len(self.posts)} posts"
        if self.skipped_rows:
            s += f", {self.skipped_rows} rows skipped"
        if self.problems:
            s += f", {max(self.problem_count, len(self.problems))} cells unreadable"
        return s


_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_count(text: str) -> float:
    """A number as people write counts: '1234', '1,234', '12.5K', '1.2M'. Raises ValueError."""
    t = text.strip().replace("_", "")
    mult = 1.0
    if t and t[-1].lower() in _SUFFIX:
        mult = _SUFFIX[t[-1].lower()]
        t = t[:-1].strip()
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    value = float(t) * mult
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def parse_time(text: str) -> datetime:
    """ISO 8601 date-time; 'Z' is accepted for UTC. Raises ValueError."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    return datetime.fromisoformat(t)


def parse_hashtags(text: str) -> list[str]:
    """'fyp, #cats,dogs' -> ['fyp', 'cats', 'dogs'] (also accepts space-separated '#a #b')."""
    parts = re.split(r"[,\s]+", text)
    return [p.lstrip("#").strip() for p in parts if p.lstrip("#").strip()]


def _cell(row: dict, name: str) -> Optional[str]:
    v = unsafe_cell(row.get(name))  # a cell we wrote spreadsheet-safe ("'=...") reads back as it was
    if v is None:
        return None
    v = v.strip() if name != "caption" else v
    return v if v.strip() else None


def _row_to_post(row: dict, line: int, problems: list[Problem]) -> Optional[Post]:
    pid = _cell(row, "post_id")
    if pid is None:
        problems.append(Problem(line, "post_id", "empty post_id; row skipped"))
        return None
    post = Post(post_id=pid.strip())
    for name in ("author_id", "music_title", "language", "video_path", "location"):
        v = _cell(row, name)
        setattr(post, name, v.strip() if v is not None else None)
    post.caption = _cell(row, "caption")
    v = _cell(row, "hashtags")
    if v is not None:
        post.hashtags = parse_hashtags(v)
    v = _cell(row, "post_time")
    if v is not None:
        try:
            post.post_time = parse_time(v)
        except ValueError:
            problems.append(Problem(line, "post_time", f"'{v}' is not an ISO 8601 date-time"))
    for name in _FLOAT_COLUMNS + _INT_COLUMNS + ("popularity",):
        v = _cell(row, name)
        if v is None:
            continue
        try:
            x = parse_count(v)
        except ValueError:
            problems.append(Problem(line, name, f"'{v}' is not a number"))
            continue
        if name in _NON_NEGATIVE and x < 0:
            problems.append(Problem(line, name, f"{v} is negative"))
            continue
        if name in _INT_COLUMNS:
            x = int(round(x))
        setattr(post, name, x)
    v = _cell(row, "music_original")
    if v is not None:
        low = v.strip().lower()
        if low in _TRUE:
            post.music_original = True
        elif low in _FALSE:
            post.music_original = False
        else:
            problems.append(Problem(line, "music_original", f"'{v}' is not true/false"))
    return post


#: A reader keeps this many problems (the first ones) and counts the rest: a million bad cells must not
#: become a million strings in memory.
MAX_KEPT_PROBLEMS = 1000


def read_posts_csv(path: str | os.PathLike) -> PostsFile:
    """Read a posts CSV. Raises DataError when the file is missing, unreadable or has no post_id column;
    every other defect is a Problem in the result. Holds every post in memory: for large files iterate
    a PostsReader instead."""
    with PostsReader(path) as reader:
        posts = list(reader)
    return reader.result(posts)


class PostsReader:
    """Streams the posts of a posts CSV one at a time, in constant memory whatever the file size.

    Opening checks the header (DataError as read_posts_csv); iterating yields Posts; afterwards
    `problems` (the first MAX_KEPT_PROBLEMS), `problem_count`, `problem_columns` (count per column),
    `skipped_rows` and `n_posts` describe the whole file. Use as a context manager, or close()."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.problem_columns: dict[str, int] = {}
        self.skipped_rows = 0
        self.n_posts = 0
        try:
            self._fh = open(self.path, "rb")
        except FileNotFoundError:
            raise DataError(f"{self.path}: no such file") from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        try:
            self._open_header()
        except BaseException:
            self._fh.close()
            raise

    def _lines(self):
        """The file's lines as text. UTF-8 never puts a newline byte inside a character, so a line of bytes
        decodes on its own; an undecodable line is decoded with replacements and reported once."""
        bad_reported = False
        first = True
        try:
            for raw in self._fh:
                if first:
                    raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    if not bad_reported:
                        self._problem(Problem(0, "*", "the file is not valid UTF-8; unreadable bytes were replaced"))
                        bad_reported = True
                    yield raw.decode("utf-8", errors="replace")
        except OSError as exc:
            raise DataError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None

    def _problem(self, problem: Problem) -> None:
        self.problem_count += 1
        self.problem_columns[problem.column] = self.problem_columns.get(problem.column, 0) + 1
        if len(self.problems) < MAX_KEPT_PROBLEMS:
            self.problems.append(problem)

    def _open_header(self) -> None:
        self._reader = csv.DictReader(self._lines())
        try:
            header = self._reader.fieldnames
        except csv.Error as exc:
            raise DataError(f"{self.path}: not a CSV file ({exc})") from None
        if not header:
            raise DataError(f"{self.path}: the file is empty; a posts CSV starts with a header row naming its columns")
        header = [h.strip().lstrip("\ufeff").lower() if h else "" for h in header]
        self._reader.fieldnames = header
        if "post_id" not in header:
            raise DataError(
                f"{self.path}: no 'post_id' column; a posts CSV needs a header row with at least post_id "
                f"(found: {', '.join(h for h in header if h) or 'nothing'})"
            )
        known = set(COLUMNS) | set(EXTRA_COLUMNS)
        self.columns = tuple(h for h in header if h in known)
        self.unknown_columns = tuple(h for h in header if h and h not in known)

    def __iter__(self):
        reader = self._reader
        row_problems: list[Problem] = []
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self._problem(Problem(line, "*", f"malformed CSV ({exc}); row skipped"))
                self.skipped_rows += 1
                continue
            if not any((v or "").strip() for k, v in row.items() if k is not None and isinstance(v, str)):
                continue  # a blank line
            if None in row:  # more cells than header columns
                self._problem(Problem(line, "*", "more cells than columns; extra cells ignored"))
            post = _row_to_post(row, line, row_problems)
            for pr in row_problems:
                self._problem(pr)
            row_problems.clear()
            if post is None:
                self.skipped_rows += 1
                continue
            self.n_posts += 1
            yield post

    @property
    def fraction_read(self) -> float:
        """How far into the file the reader is, 0-1 (for progress bars)."""
        try:
            return min(1.0, self._fh.tell() / max(1, os.fstat(self._fh.fileno()).st_size))
        except (OSError, ValueError):
            return 0.0

    def result(self, posts: list[Post]) -> PostsFile:
        return PostsFile(path=self.path, posts=posts, problems=self.problems, columns=self.columns,
                         unknown_columns=self.unknown_columns, skipped_rows=self.skipped_rows,
                         problem_count=self.problem_count)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "PostsReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fmt_number(x: Optional[float]) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    xf = float(x)
    if xf.is_integer() and abs(xf) < 1e15:
        return str(int(xf))
    return repr(xf)


def _post_to_row(post: Post) -> dict[str, str]:
    row: dict[str, str] = {}
    for name in COLUMNS + EXTRA_COLUMNS:
        v = getattr(post, name)
        if v is None:
            row[name] = ""
        elif name == "hashtags":
            row[name] = ",".join(h.lstrip("#").strip() for h in v if h and h.lstrip("#").strip())
        elif name == "post_time":
            row[name] = v.isoformat()
        elif name == "music_original":
            row[name] = "true" if v else "false"
        elif isinstance(v, (int, float)):
            row[name] = _fmt_number(v)
        else:
            row[name] = str(v)
    return row


def write_posts_csv(path: str | os.PathLike, posts: Iterable[Post], bom: bool = False) -> Path:
    """Write posts as a posts CSV (UTF-8, with a BOM when asked, e.g. for Excel).

    Extra columns (popularity, location) are written only when some post has a value. The file is
    written to a temporary name and renamed into place, so a crash never leaves half a file.
    """
    path = Path(path)
    posts = list(posts)
    extras = [c for c in EXTRA_COLUMNS if any(getattr(p, c) is not None for p in posts)]
    columns = list(COLUMNS) + extras
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, encoding="utf-8-sig" if bom else "utf-8") as fh:  # the user's mode, not 0600
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for p in posts:
            writer.writerow(safe_row(_post_to_row(p)))  # spreadsheet-safe: no cell starts a formula
    return path
