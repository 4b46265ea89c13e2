"""The dataset store: one SQLite file per dataset (standard library sqlite3, WAL journal).

Tables (schema v1; `PRAGMA user_version` holds the version, `PRAGMA application_id` marks the file):

    meta             key, value: created_at, created_by
    posts            post_id PK, author_id, caption, hashtags (JSON list), post_time (ISO 8601 as given),
                     duration_s, width, height, music_title, music_original, language, location,
                     video_id -> videos, video_path (where the source said the file is: relative to the
                     store's folder when inside it, else absolute), author_reading_id -> author_readings
                     (the account counts this post came with), source (format), first_seen
    authors          author_id PK, followers, following, likes, videos, as_of: the latest reading
    author_readings  every reading of an account's counts: reading_id, author_id (NULL when the source
                     named no author), followers, following, likes, videos, as_of (NULL: unknown), source
    videos           video_id, sha256 UNIQUE, path, size_bytes, probe: container, duration_s, fps,
                     frame_count, width, height, rotation, codec, has_audio, audio_codec, audio_channels,
                     audio_rate; added_at
    video_files      every name a video was seen under: path PK, video_id, size_bytes, mtime_ns (so an
                     unchanged file is not hashed twice)
    labels           every reading of a post's counts: label_id, post_id, views, likes, comments, shares,
                     saves, popularity, measured_at (ISO 8601 UTC; NULL: unknown), age_hours (measured_at
                     minus post_time; a post time without a zone is taken as UTC), source, imported_at
    features         cached features: sha256 (of the video file, or of any other input), spec_version,
                     backbone ('' for none), name, shape (JSON), data (raw little-endian float32)
    splits           name, post_id, fold
    imports          one row per import: format, path, times and counts

Every import is one transaction (BEGIN IMMEDIATE ... COMMIT): a cancel, an error, a crash or a kill
leaves the store as it was. Duplicates merge: a post id seen again updates the fields the new source
knows; a label or account reading identical to one already stored is not stored again; a video is
its file's sha256, whatever its name. Readers see the last committed state while an import runs (WAL).

A Dataset is used from one thread at a time; open one per thread for concurrent work.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import Cancelled, DataError, MediaError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress
from .importers import SourceBatch, SourcePost, read_source
from .posts_csv import Post, write_posts_csv
# the schema and its migrations have their own module; re-exported here
from .schema import MIGRATIONS, _migrate_to_v1, _run_script  # noqa: F401

#: 'VSDS' in the SQLite header: tells a dataset from any other SQLite file.
APPLICATION_ID = 0x56534453
DATASET_SUFFIX = ".sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_LABEL_FIELDS = ("views", "likes", "comments", "shares", "saves", "popularity")
_AUTHOR_FIELDS = ("author_followers", "author_following", "author_likes", "author_videos")
_AUTHOR_COLUMNS = ("followers", "following", "likes", "videos")
_PLACEHOLDER_PREFIX = "video:"


def schema_version() -> int:
    """The schema version this program writes (and the newest it reads): MIGRATIONS as this module holds it."""
    return len(MIGRATIONS)


# ----------------------------------------------------------------------------- small helpers


def default_dataset_dir() -> Path:
    """The per-user folder where named datasets live (created on first use by Dataset.create)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("Virality Studio", appauthor=False)) / "datasets"


def resolve_dataset_path(name_or_path: str | os.PathLike) -> Path:
    """A bare name ("cooking", no folder, no extension, not a file here) names a dataset in
    default_dataset_dir(); anything else is a path."""
    text = os.fspath(name_or_path)
    p = Path(text)
    if p.exists() or p.suffix or os.sep in text or "/" in text or (os.altsep and os.altsep in text):
        return p
    return default_dataset_dir() / f"{text}{DATASET_SUFFIX}"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso_utc(t: Optional[datetime]) -> Optional[str]:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def _age_hours(measured_at: Optional[datetime], post_time: Optional[datetime]) -> Optional[float]:
    if measured_at is None or post_time is None:
        return None
    a = measured_at if measured_at.tzinfo else measured_at.replace(tzinfo=timezone.utc)
    b = post_time if post_time.tzinfo else post_time.replace(tzinfo=timezone.utc)
    hours = (a - b).total_seconds() / 3600.0
    if hours < -14.0:  # beyond any time-zone slack: the dates disagree
        return None
    return max(0.0, round(hours, 4))


#: control characters (NUL, escape, ...) a text field never needs; tab, newline and carriage return are kept
_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]}


def _text(x: Optional[str]) -> Optional[str]:
    """Imported text without control characters: a NUL byte in a caption is dropped, not stored and exported."""
    return None if x is None else str(x).translate(_CONTROLS)


def _num(x) -> Optional[float]:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _sqlite_error(path: Path, exc: sqlite3.Error) -> DataError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return DataError(f"{path}: the dataset is busy (another program is writing to it); try again when it is done")
    if "disk is full" in text or "database or disk is full" in text:
        return DataError(f"{path}: the disk is full; free some space and run the import again (nothing was written)")
    if "not a database" in text or "malformed" in text:
        return DataError(f"{path}: the dataset file is damaged or not a dataset ({text})")
    if "readonly" in text or "unable to open" in text:
        return DataError(f"{path}: cannot write to the dataset ({text}); check the file's and folder's permissions")
    return DataError(f"{path}: dataset error ({text})")


# ----------------------------------------------------------------------------- what readers get


@dataclass(frozen=True)
class Video:
    video_id: int
    sha256: str
    path: Path  # absolute
    size_bytes: int
    duration_s: Optional[float]
    fps: Optional[float]
    width: Optional[int]
    height: Optional[int]
    codec: Optional[str]
    has_audio: Optional[bool]
    container: Optional[str] = None
    frame_count: Optional[int] = None
    rotation: Optional[int] = None

    @property
    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class LabelReading:
    post_id: str
    views: Optional[float]
    likes: Optional[float]
    comments: Optional[float]
    shares: Optional[float]
    saves: Optional[float]
    popularity: Optional[float]
    measured_at: Optional[datetime]  # None: unknown
    age_hours: Optional[float]
    source: Optional[str]


@dataclass
class ImportResult:
    """What one import did. `added`/`merged` count posts (merged: the post id was already there)."""

    format: str
    path: str
    added: int = 0
    merged: int = 0
    changed: int = 0  # merged posts whose stored fields the new source changed
    labels_added: int = 0
    videos_added: int = 0
    videos_merged: int = 0  # files whose content was already in the store (another name, or again)
    authors_added: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        s = (f"{self.added} posts added, {self.merged} merged ({self.changed} changed), "
             f"{self.labels_added} label readings added, "
             f"{self.videos_added} videos added")
        if self.videos_merged:
            s += f" ({self.videos_merged} already known)"
        if self.problems:
            s += f"; {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return s


@dataclass
class _FileInfo:
    """A video file resolved before the write transaction: its hash and, for new content, its probe."""

    ref: str
    sha256: str
    size: int
    mtime_ns: int
    probe: Optional[object] = None  # engine.media.MediaInfo, only when the content is new


# ----------------------------------------------------------------------------- the store


class Dataset:
    """A dataset file. Use Dataset.create(path) or Dataset.open(path); close() (or `with`) when done."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.folder = path.resolve().parent
        self._conn = conn

    # -- opening ------------------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DataError(f"{path}: the dataset's folder does not allow SQLite's WAL journal ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    @classmethod
    def create(cls, path: str | os.PathLike) -> "Dataset":
        """Make a new, empty dataset at `path` and open it. Raises DataError when something is already
        there (a dataset or any other file: nothing is overwritten)."""
        path = Path(path)
        if path.exists():
            if path.is_dir():
                raise DataError(f"{path}: is a folder; give a file name for the dataset (e.g. {path / 'posts.sqlite'})")
            if cls.is_dataset(path):
                raise DataError(f"{path}: a dataset already exists here; import into it, or pick another name")
            raise DataError(f"{path}: a file that is not a dataset is already there; refusing to overwrite it")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Built under a temporary name, then renamed: a kill during creation leaves no half dataset.
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".creating", dir=path.parent)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise DataError(f"{path.parent}: cannot create the dataset here ({exc.strerror or exc})") from None
        tmp_path = Path(tmp)
        try:
            conn = cls._connect(tmp_path)
            try:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                cls._migrate(conn, tmp_path, 0)
                with _transaction(conn, tmp_path):
                    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                     [("created_at", _iso_utc(_now())), ("created_by", _program_version())])
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            if path.exists():
                raise DataError(f"{path}: appeared while the dataset was being created; refusing to overwrite it")
            os.replace(tmp_path, path)
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc) from None
        finally:
            for p in (tmp_path, Path(f"{tmp_path}-wal"), Path(f"{tmp_path}-shm")):
                try:
                    p.unlink()
                except OSError:
                    pass
        return cls.open(path)

    @staticmethod
    def is_dataset(path: str | os.PathLike) -> bool:
        """True when `path` is a SQLite file marked as a Virality Studio dataset (reads the header only)."""
        try:
            with open(path, "rb") as fh:
                head = fh.read(100)
        except OSError:
            return False
        return (len(head) == 100 and head[:16] == _SQLITE_MAGIC
                and int.from_bytes(head[68:72], "big") == APPLICATION_ID)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Dataset":
        """Open an existing dataset, migrating an older schema. Raises DataError when the file is missing,
        is not a dataset, or was written by a newer version of the program."""
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: no such dataset; make one with 'dataset create {path}'")
        if path.is_dir():
            raise DataError(f"{path}: is a folder, not a dataset file")
        try:
            with open(path, "rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if head[:16] != _SQLITE_MAGIC:
            raise DataError(f"{path}: not a dataset (not a SQLite file)")
        if int.from_bytes(head[68:72], "big") != APPLICATION_ID:
            raise DataError(f"{path}: a SQLite file, but not a Virality Studio dataset")
        try:
            conn = cls._connect(path)
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc) from None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > schema_version():
                raise DataError(
                    f"{path}: this dataset was written by a newer version of Virality Studio (dataset schema "
                    f"v{version}; this version reads up to v{schema_version()}); update the program to open it"
                )
            if version < schema_version():
                cls._migrate(conn, path, version)
        except sqlite3.Error as exc:
            conn.close()
            raise _sqlite_error(path, exc) from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
        """Run MIGRATIONS[version:] in one transaction: all of them or none."""
        with _transaction(conn, path):
            current = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
            for step in MIGRATIONS[current:]:
                step(conn)
            conn.execute(f"PRAGMA user_version = {schema_version()}")

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DataError(f"{self.path}: the dataset is closed")
        return self._conn

    @contextmanager
    def _write(self):
        with _transaction(self.conn, self.path):
            yield self.conn

    def _read(self, sql: str, params: Sequence = ()) -> list:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from None

    # -- paths --------------------------------------------------------------------------------------

    def _ref(self, file: Path) -> str:
        """How the store names a file: relative (POSIX) to the store's folder when inside it, else absolute."""
        p = Path(os.path.abspath(file))
        try:
            p = p.resolve()
        except OSError:
            pass
        try:
            return p.relative_to(self.folder).as_posix()
        except ValueError:
            return str(p)

    def resolve(self, ref: Optional[str]) -> Optional[Path]:
        """A stored path back to an absolute one."""
        if not ref:
            return None
        p = Path(ref)
        return p if p.is_absolute() else self.folder / p

    # -- reading ------------------------------------------------------------------------------------

    def info(self) -> dict:
        """Counts: posts, authors, videos, labels (readings), and more detail for the CLI and the GUI."""
        one = lambda sql: self._read(sql)[0][0]  # noqa: E731
        first, last = self._read("SELECT min(post_time), max(post_time) FROM posts WHERE post_time IS NOT NULL")[0]
        sources = dict(self._read("SELECT source, count(*) FROM posts GROUP BY source ORDER BY source"))
        splits = dict(self._read("SELECT name, count(*) FROM splits GROUP BY name ORDER BY name"))
        return {
            "path": str(self.path),
            "schema_version": self._read("PRAGMA user_version")[0][0],
            "posts": one("SELECT count(*) FROM posts"),
            "authors": one("SELECT count(*) FROM authors"),
            "videos": one("SELECT count(*) FROM videos"),
            "labels": one("SELECT count(*) FROM labels"),
            "labelled_posts": one("SELECT count(DISTINCT post_id) FROM labels"),
            "posts_with_video": one("SELECT count(*) FROM posts WHERE video_id IS NOT NULL"),
            "author_readings": one("SELECT count(*) FROM author_readings"),
            "features": one("SELECT count(*) FROM (SELECT DISTINCT sha256, spec_version, backbone FROM features)"),
            "splits": splits,
            "sources": sources,
            "imports": one("SELECT count(*) FROM imports"),
            "first_post": first,
            "last_post": last,
        }

    _POST_SQL = """
        SELECT p.post_id, p.author_id, p.caption, p.hashtags, p.post_time, p.duration_s, p.width, p.height,
               p.music_title, p.music_original, p.language, p.location, p.video_path,
               CASE WHEN p.author_reading_id IS NULL THEN a.followers ELSE r.followers END,
               CASE WHEN p.author_reading_id IS NULL THEN a.following ELSE r.following END,
               CASE WHEN p.author_reading_id IS NULL THEN a.likes ELSE r.likes END,
               CASE WHEN p.author_reading_id IS NULL THEN a.videos ELSE r.videos END,
               l.views, l.likes, l.comments, l.shares, l.saves, l.popularity
        FROM posts p
        LEFT JOIN author_readings r ON r.reading_id = p.author_reading_id
        LEFT JOIN authors a ON a.author_id = p.author_id
        LEFT JOIN ({labels}) l ON l.post_id = p.post_id
        ORDER BY p.rowid
    """
    _LATEST_LABELS = """
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY post_id
                         ORDER BY measured_at IS NOT NULL DESC, measured_at DESC, label_id DESC) AS rn
                       FROM labels) WHERE rn = 1
    """
    _LABELS_AT_AGE = """
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY post_id
                         ORDER BY abs(age_hours - ?) , measured_at DESC, label_id DESC) AS rn
                       FROM labels WHERE age_hours IS NOT NULL) WHERE rn = 1
    """

    def posts(self, at_age_hours: Optional[float] = None) -> Iterator[Post]:
        """Every post, in import order, as engine.data.posts_csv.Post.

        Labels: the latest reading of each post, or, with `at_age_hours`, the reading whose age is closest
        to it (readings of unknown age are then not used). Account counts: the reading the post came
        with, else the author's latest. video_path: absolute."""
        if at_age_hours is None:
            sql, params = self._POST_SQL.format(labels=self._LATEST_LABELS), ()
        else:
            sql, params = self._POST_SQL.format(labels=self._LABELS_AT_AGE), (float(at_age_hours),)
        try:
            cur = self.conn.execute(sql, params)
            while True:
                rows = cur.fetchmany(1000)
                if not rows:
                    break
                for row in rows:
                    yield self._row_to_post(row)
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from None

    def _row_to_post(self, row) -> Post:
        (pid, author, caption, tags, when, dur, w, h, mtitle, morig, lang, loc, vpath,
         fol, fing, alikes, avids, views, likes, comments, shares, saves, pop) = row
        path = self.resolve(vpath)
        return Post(
            post_id=pid, author_id=author, caption=caption,
            hashtags=json.loads(tags) if tags is not None else None,
            post_time=datetime.fromisoformat(when) if when else None,
            duration_s=dur, width=w, height=h, music_title=mtitle,
            music_original=None if morig is None else bool(morig),
            author_followers=fol, author_following=fing, author_likes=alikes, author_videos=avids,
            language=lang, views=views, likes=likes, comments=comments, shares=shares, saves=saves,
            video_path=str(path) if path else None, popularity=pop, location=loc,
        )

    def labels_at_age(self, hours: float) -> dict[str, LabelReading]:
        """For each post with a reading of known age, the reading closest to `hours` after posting."""
        rows = self._read(
            f"SELECT post_id, views, likes, comments, shares, saves, popularity, measured_at, age_hours, source "
            f"FROM ({self._LABELS_AT_AGE})", (float(hours),))
        return {r[0]: _label(r) for r in rows}

    def label_readings(self, post_id: Optional[str] = None) -> list[LabelReading]:
        """Every label reading (of one post, or all), oldest first."""
        where, params = ("WHERE post_id = ?", (post_id,)) if post_id is not None else ("", ())
        rows = self._read(
            "SELECT post_id, views, likes, comments, shares, saves, popularity, measured_at, age_hours, source "
            f"FROM labels {where} ORDER BY post_id, measured_at IS NOT NULL, measured_at, label_id", params)
        return [_label(r) for r in rows]

    def author_readings(self, author_id: str) -> list[dict]:
        """Every reading of an account's counts, oldest first (as_of None: unknown)."""
        rows = self._read(
            "SELECT followers, following, likes, videos, as_of, source FROM author_readings WHERE author_id = ? "
            "ORDER BY as_of IS NOT NULL, as_of, reading_id", (author_id,))
        return [dict(zip(("followers", "following", "likes", "videos", "as_of", "source"), r)) for r in rows]

    _VIDEO_SQL = ("SELECT video_id, sha256, path, size_bytes, duration_s, fps, width, height, codec, has_audio, "
                  "container, frame_count, rotation FROM videos")

    def _video(self, r) -> Video:
        return Video(r[0], r[1], self.resolve(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                     None if r[9] is None else bool(r[9]), r[10], r[11], r[12])

    def videos(self) -> list[Video]:
        """Every video (one per distinct file content), in the order they were added."""
        return [self._video(r) for r in self._read(self._VIDEO_SQL + " ORDER BY video_id")]

    def post_videos(self) -> dict[str, Video]:
        """post_id -> its Video, for the posts that have a video file in the store."""
        rows = self._read(
            "SELECT p.post_id, v.video_id, v.sha256, v.path, v.size_bytes, v.duration_s, v.fps, v.width, v.height, "
            "v.codec, v.has_audio, v.container, v.frame_count, v.rotation "
            "FROM posts p JOIN videos v ON v.video_id = p.video_id ORDER BY p.rowid")
        return {r[0]: self._video(r[1:]) for r in rows}

    def export_csv(self, path: str | os.PathLike, at_age_hours: Optional[float] = None) -> int:
        """Write every post as a posts CSV (video paths relative to the CSV's folder); returns the count."""
        path = Path(path)
        out_dir = Path(os.path.abspath(path.parent))
        posts = list(self.posts(at_age_hours))
        for p in posts:
            if p.video_path:
                try:
                    p.video_path = Path(os.path.relpath(p.video_path, out_dir)).as_posix()
                except ValueError:  # another drive (Windows): keep it absolute
                    pass
        try:
            write_posts_csv(path, posts)
        except OSError as exc:
            raise DataError(f"{path}: cannot be written ({exc.strerror or exc})") from None
        return len(posts)

    # -- features -----------------------------------------------------------------------------------

    def put_features(self, sha256: str, spec_version, backbone: Optional[str],
                     arrays: Mapping[str, np.ndarray]) -> None:
        """Store named arrays (as float32) for one input, replacing what was cached under the same key."""
        rows = []
        now = _iso_utc(_now())
        for name, arr in arrays.items():
            a = np.asarray(arr, dtype="<f4", order="C")
            rows.append((sha256, str(spec_version), backbone or "", str(name), json.dumps(list(a.shape)),
                         sqlite3.Binary(a.tobytes()), now))
        with self._write() as c:
            c.execute("DELETE FROM features WHERE sha256 = ? AND spec_version = ? AND backbone = ?",
                      (sha256, str(spec_version), backbone or ""))
            c.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def cached_features(self, sha256: str, spec_version, backbone: Optional[str]) -> Optional[dict[str, np.ndarray]]:
        """The arrays put_features stored for this key (float32, writable), or None when none are cached."""
        rows = self._read("SELECT name, shape, data FROM features WHERE sha256 = ? AND spec_version = ? AND backbone = ?",
                          (sha256, str(spec_version), backbone or ""))
        if not rows:
            return None
        out = {}
        for name, shape, data in rows:
            out[name] = np.frombuffer(data, dtype="<f4").reshape(json.loads(shape)).astype(np.float32, copy=True)
        return out

    def videos_without_features(self, spec_version, backbone: Optional[str]) -> list[Video]:
        """The videos nothing is cached for under (spec_version, backbone): what an extraction still has to do."""
        rows = self._read(
            self._VIDEO_SQL + " WHERE sha256 NOT IN (SELECT sha256 FROM features WHERE spec_version = ? AND "
            "backbone = ?) ORDER BY video_id", (str(spec_version), backbone or ""))
        return [self._video(r) for r in rows]

    # Failed extractions live in the generic `meta` table (no schema change): key
    # "feature_failure/<spec_version>/<backbone>/<sha256>", value = the reason.
    _FAILURE_PREFIX = "feature_failure/"

    def put_feature_failure(self, sha256: str, spec_version, backbone: Optional[str], reason: str) -> None:
        """Record why features could not be computed for one input (replacing an earlier reason)."""
        key = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/{sha256}"
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(reason)))

    def feature_failures(self, spec_version, backbone: Optional[str]) -> dict[str, str]:
        """sha256 -> reason, for the inputs whose extraction under (spec_version, backbone) failed."""
        prefix = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/"
        rows = self._read("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
        return {k[len(prefix):]: v for k, v in rows}

    def clear_feature_failures(self, spec_version, backbone: Optional[str]) -> None:
        prefix = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/"
        with self._write() as c:
            c.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    # -- splits -------------------------------------------------------------------------------------

    def set_split(self, name: str, folds: Mapping[str, int]) -> None:
        """Store (replacing) the split `name`: post_id -> fold. Raises DataError for unknown post ids."""
        with self._write() as c:
            c.execute("DELETE FROM splits WHERE name = ?", (name,))
            try:
                c.executemany("INSERT INTO splits(name, post_id, fold) VALUES (?, ?, ?)",
                              [(name, str(pid), int(f)) for pid, f in folds.items()])
            except sqlite3.IntegrityError:
                known = {r[0] for r in c.execute("SELECT post_id FROM posts")}
                unknown = [p for p in folds if str(p) not in known]
                raise DataError(f"split '{name}': {len(unknown)} post ids are not in the dataset "
                                f"(e.g. {unknown[:3]})") from None

    def split(self, name: str) -> dict[str, int]:
        return dict(self._read("SELECT post_id, fold FROM splits WHERE name = ? ORDER BY rowid", (name,)))

    def split_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT name FROM splits ORDER BY name")]

    # -- importing ----------------------------------------------------------------------------------

    def import_path(
        self,
        path: str | os.PathLike,
        format: Optional[str] = None,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Import a file or folder (format detected when None; see engine.data.importers.FORMATS).

        One transaction: on Cancelled, any error, or a kill, the store is left as it was.
        Raises DataError (unreadable source, busy or damaged store) or Cancelled."""
        batch = read_source(path, format, sub_progress(progress, 0.0, 0.1), cancel)
        return self.import_batch(batch, progress, cancel)

    def import_tiktok_items(
        self,
        items: Sequence[dict],
        base_dir: str | os.PathLike = ".",
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Import TikTok items already in memory (a collector's output), as one transaction."""
        from .tiktok import parse_items

        tf = parse_items(items, Path(base_dir))
        batch = SourceBatch("tiktok-json", Path(base_dir), tf.items, problems=list(tf.problems))
        return self.import_batch(batch, progress, cancel)

    def import_batch(self, batch: SourceBatch, progress: Progress = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED) -> ImportResult:
        """Write a SourceBatch: video files are hashed and probed first (outside the transaction, which
        then stays short), then everything is written in one transaction."""
        started = _now()
        result = ImportResult(format=batch.format, path=str(batch.path), notes=list(batch.notes))
        files = self._resolve_files(batch, result, progress, cancel)
        result.problems[:0] = batch.problems  # a streamed source knows its problems after this first pass
        read_at = started if batch.dated_at_import else None
        n = len(batch.posts) + len(batch.loose_videos)
        try:
            with self._write():
                w = _Writer(self, batch.format, started, result, files)
                for i, sp in enumerate(batch.posts):
                    cancel.raise_if_cancelled()
                    if i % 1000 == 0:
                        progress(0.5 + 0.5 * i / max(1, n), f"writing posts {i}/{len(batch.posts)}")
                    w.post(sp, sp.measured_at or read_at)
                for j, vf in enumerate(batch.loose_videos):
                    cancel.raise_if_cancelled()
                    w.loose_video(vf)
                    if j % 100 == 0:
                        progress(0.5 + 0.5 * (len(batch.posts) + j) / max(1, n), "adding videos without a row")
                w.finish_missing_summary(batch)
                cancel.raise_if_cancelled()
                self.conn.execute(
                    "INSERT INTO imports(format, path, started_at, finished_at, posts_added, posts_merged, "
                    "labels_added, videos_added, problems) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (batch.format, str(batch.path), _iso_utc(started), _iso_utc(_now()), result.added,
                     result.merged, result.labels_added, result.videos_added, len(result.problems)))
        except Cancelled:
            raise Cancelled("import cancelled; the dataset is unchanged") from None
        progress(1.0, result.summary())
        return result

    def _resolve_files(self, batch: SourceBatch, result: ImportResult, progress: Progress,
                       cancel: CancelToken) -> dict[Path, Optional[_FileInfo]]:
        """Hash (and, for content not yet stored, probe) every video file the batch names; None = absent
        or not a video (a problem is recorded)."""
        from ..media import probe

        # Only the files that exist are kept: a million rows naming absent videos (SMP ships none) must not
        # become a million paths in memory; an absent file is simply not in `out`.
        present: list[Path] = []
        seen: set[str] = set()
        named = (sp.video_file for sp in batch.posts if sp.video_file)
        for f in itertools.chain(named, batch.loose_videos):
            f = os.path.abspath(f)
            if f not in seen and os.path.isfile(f):
                seen.add(f)
                present.append(Path(f))
        out: dict[Path, Optional[_FileInfo]] = {}
        known_sha: set[str] = set()
        for i, f in enumerate(present):
            cancel.raise_if_cancelled()
            progress(0.1 + 0.4 * i / max(1, len(present)), f"hashing {f.name}")
            ref = self._ref(f)
            try:
                st = f.stat()
                cached = self._read(
                    "SELECT v.sha256 FROM video_files f JOIN videos v ON v.video_id = f.video_id "
                    "WHERE f.path = ? AND f.size_bytes = ? AND f.mtime_ns = ?", (ref, st.st_size, st.st_mtime_ns))
                sha = cached[0][0] if cached else sha256_file(f)
            except OSError as exc:
                result.problems.append(f"{f}: cannot be read ({exc.strerror or exc}); the post is kept without it")
                out[f] = None
                continue
            info = _FileInfo(ref, sha, st.st_size, st.st_mtime_ns)
            if sha not in known_sha and not self._read("SELECT 1 FROM videos WHERE sha256 = ?", (sha,)):
                try:
                    info.probe = probe(f)
                except MediaError as exc:
                    result.problems.append(f"{exc} (not added as a video)")
                    out[f] = None
                    continue
            known_sha.add(sha)
            out[f] = info
        return out


def _label(r) -> LabelReading:
    return LabelReading(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                        datetime.fromisoformat(r[7]) if r[7] else None, r[8], r[9])


def _program_version() -> str:
    try:
        from .. import __version__

        return f"Virality Studio {__version__}"
    except ImportError:
        return "Virality Studio"


@contextmanager
def _transaction(conn: sqlite3.Connection, path: Path):
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception (KeyboardInterrupt included)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc) from None
    try:
        yield conn
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise _sqlite_error(path, exc) from None


#: an import lists this many posts whose video is missing, and counts the rest
MAX_LISTED_MISSING = 1000


class _Writer:
    """The inside of one import transaction: merges posts, readings and videos."""

    def __init__(self, ds: Dataset, fmt: str, now: datetime, result: ImportResult,
                 files: dict[Path, Optional[_FileInfo]]):
        self.ds, self.c, self.fmt, self.result, self.files = ds, ds.conn, fmt, result, files
        self.now = _iso_utc(now)
        self.missing: list[str] = []  # the first MAX_LISTED_MISSING of n_missing
        self.n_missing = 0
        self.authors_seen: set[str] = set()

    def _exec(self, sql: str, params: Sequence = ()):
        try:
            return self.c.execute(sql, params)
        except sqlite3.Error as exc:
            raise _sqlite_error(self.ds.path, exc) from None

    # videos -----------------------------------------------------------------------------------------

    def video(self, file: Path) -> Optional[int]:
        info = self.files.get(Path(os.path.abspath(file)))
        if info is None:
            return None
        row = self._exec("SELECT video_id, path FROM videos WHERE sha256 = ?", (info.sha256,)).fetchone()
        if row is None:
            m = info.probe
            audio = m.audio_streams[0] if m is not None and m.audio_streams else None
            cur = self._exec(
                "INSERT INTO videos(sha256, path, size_bytes, container, duration_s, fps, frame_count, width, height, "
                "rotation, codec, has_audio, audio_codec, audio_channels, audio_rate, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.sha256, info.ref, info.size,
                 *((m.container, _num(m.duration_s), _num(m.fps), m.frame_count, m.width, m.height, m.rotation,
                    m.codec, int(m.has_audio)) if m is not None else (None,) * 9),
                 *((audio.codec, audio.channels, audio.sample_rate) if audio else (None,) * 3),
                 self.now))
            vid = cur.lastrowid
            self.result.videos_added += 1
        else:
            vid, old_path = row
            if self.ds.resolve(old_path) is None or not self.ds.resolve(old_path).is_file():
                self._exec("UPDATE videos SET path = ? WHERE video_id = ?", (info.ref, vid))  # the file moved
            if not self._exec("SELECT 1 FROM video_files WHERE path = ? AND video_id = ?", (info.ref, vid)).fetchone():
                self.result.videos_merged += 1
        self._exec("INSERT OR REPLACE INTO video_files(path, video_id, size_bytes, mtime_ns, seen_at) "
                   "VALUES (?, ?, ?, ?, ?)", (info.ref, vid, info.size, info.mtime_ns, self.now))
        return vid

    def loose_video(self, file: Path) -> None:
        """A video no row named: a post of its own, unless a post already has this content."""
        vid = self.video(file)
        if vid is None:
            return
        if self._exec("SELECT 1 FROM posts WHERE video_id = ?", (vid,)).fetchone():
            return
        info = self.files[Path(os.path.abspath(file))]
        m = info.probe
        post = Post(post_id=f"{_PLACEHOLDER_PREFIX}{info.sha256[:16]}")
        if m is not None:
            post.duration_s, post.width, post.height = _num(m.duration_s), m.width, m.height
        self.post(SourcePost(post=post), None, video_id=vid, video_ref=info.ref)

    # readings ---------------------------------------------------------------------------------------

    def author(self, p: Post, as_of: Optional[str]) -> Optional[int]:
        values = tuple(_num(getattr(p, f)) for f in _AUTHOR_FIELDS)
        if p.author_id is not None and p.author_id not in self.authors_seen:
            if not self._exec("SELECT 1 FROM authors WHERE author_id = ?", (p.author_id,)).fetchone():
                self._exec("INSERT INTO authors(author_id) VALUES (?)", (p.author_id,))
                self.result.authors_added += 1
            self.authors_seen.add(p.author_id)
        if all(v is None for v in values):
            return None
        row = self._exec(
            "SELECT reading_id FROM author_readings WHERE author_id IS ? AND followers IS ? AND following IS ? "
            "AND likes IS ? AND videos IS ? LIMIT 1", (p.author_id, *values)).fetchone()
        if row is not None:
            return row[0]
        rid = self._exec("INSERT INTO author_readings(author_id, followers, following, likes, videos, as_of, source) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (p.author_id, *values, as_of, self.fmt)).lastrowid
        if p.author_id is not None:
            # The authors row holds the latest reading; a reading of unknown date never replaces a dated one.
            self._exec(
                "UPDATE authors SET followers = ?, following = ?, likes = ?, videos = ?, as_of = ? "
                "WHERE author_id = ? AND (as_of IS NULL OR (? IS NOT NULL AND ? >= as_of))",
                (*values, as_of, p.author_id, as_of, as_of))
        return rid

    def labels(self, p: Post, measured_at: Optional[datetime], new_post: bool) -> None:
        values = tuple(_num(getattr(p, f)) for f in _LABEL_FIELDS)
        if all(v is None for v in values):
            return
        if not new_post and self._exec("SELECT 1 FROM labels WHERE post_id = ? AND views IS ? AND likes IS ? AND comments IS ? "
                      "AND shares IS ? AND saves IS ? AND popularity IS ? LIMIT 1", (p.post_id, *values)).fetchone():
            return  # this reading is already stored (the same file imported again)
        self._exec("INSERT INTO labels(post_id, views, likes, comments, shares, saves, popularity, measured_at, "
                   "age_hours, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (p.post_id, *values, _iso_utc(measured_at), _age_hours(measured_at, p.post_time), self.fmt,
                    self.now))
        self.result.labels_added += 1

    # posts ------------------------------------------------------------------------------------------

    _COLUMNS = ("author_id", "caption", "hashtags", "post_time", "duration_s", "width", "height", "music_title",
                "music_original", "language", "location", "video_id", "video_path", "author_reading_id")

    def post(self, sp: SourcePost, measured_at: Optional[datetime], video_id: Optional[int] = None,
             video_ref: Optional[str] = None) -> None:
        p = sp.post
        if sp.video_file is not None:
            video_id = self.video(sp.video_file)
            video_ref = self.ds._ref(sp.video_file)
            if video_id is None and not Path(sp.video_file).is_file():
                self.n_missing += 1
                if len(self.missing) < MAX_LISTED_MISSING:
                    self.missing.append(f"post {p.post_id}: video {sp.video_file} not found; kept without its video")
        reading = self.author(p, _iso_utc(measured_at))
        values = {
            "author_id": p.author_id,
            "caption": _text(p.caption),
            "hashtags": json.dumps([_text(h) for h in p.hashtags], ensure_ascii=False) if p.hashtags is not None else None,
            "post_time": p.post_time.isoformat() if p.post_time is not None else None,
            "duration_s": _num(p.duration_s),
            "width": p.width,
            "height": p.height,
            "music_title": _text(p.music_title),
            "music_original": None if p.music_original is None else int(bool(p.music_original)),
            "language": _text(p.language),
            "location": _text(p.location),
            "video_id": video_id,
            "video_path": video_ref,
            "author_reading_id": reading,
        }
        old = self._exec(f"SELECT {', '.join(self._COLUMNS)} FROM posts WHERE post_id = ?", (p.post_id,)).fetchone()
        if old is None:
            cols = ("post_id",) + self._COLUMNS + ("source", "first_seen")
            self._exec(f"INSERT INTO posts({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       (p.post_id, *(values[k] for k in self._COLUMNS), self.fmt, self.now))
            self.result.added += 1
        else:
            # What the new source knows replaces what was stored; what it does not know is kept.
            merged = tuple(o if values[k] is None else values[k] for k, o in zip(self._COLUMNS, old))
            if merged != tuple(old):
                sets = ", ".join(f"{k} = ?" for k in self._COLUMNS)
                self._exec(f"UPDATE posts SET {sets} WHERE post_id = ?", (*merged, p.post_id))
                self.result.changed += 1
            self.result.merged += 1
        if video_id is not None and not p.post_id.startswith(_PLACEHOLDER_PREFIX):
            # A post of its own made earlier for this file (from a video folder) gives way to the real one.
            self._exec("DELETE FROM posts WHERE video_id = ? AND post_id LIKE ? AND post_id != ? AND source = ?",
                       (video_id, _PLACEHOLDER_PREFIX + "%", p.post_id, "video-folder"))
        self.labels(p, measured_at, new_post=old is None)

    def finish_missing_summary(self, batch: SourceBatch) -> None:
        if not self.n_missing:
            return
        if batch.videos_usually_absent:
            self.result.notes.append(
                f"{self.n_missing} of the videos the source names are not present (it ships metadata only); "
                "the posts are kept without them")
        else:
            self.result.problems.extend(self.missing)
            if self.n_missing > len(self.missing):
                self.result.problems.append(f"{self.n_missing - len(self.missing):,} more posts whose video was "
                                            "not found; kept without their video")
