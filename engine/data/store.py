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

This module opens, creates and migrates a store and holds its splits; the rest of Dataset lives beside it:
engine.data.ingest (imports: adding and merging posts, readings, videos), engine.data.reads (queries, the
posts CSV export, the feature cache), engine.data.schema (tables and migrations), engine.data.db (transactions
and error messages).
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ..errors import DataError
from .db import iso_utc, now_utc, sqlite_error, transaction
from .ingest import ImportResult, IngestMixin, sha256_file  # noqa: F401  (re-exported: what imports return)
from .reads import LabelReading, ReadsMixin, Video  # noqa: F401  (re-exported: what reads return)
# the schema and its migrations have their own module; re-exported here
from .schema import MIGRATIONS, _migrate_to_v1, _run_script  # noqa: F401

#: 'VSDS' in the SQLite header: tells a dataset from any other SQLite file.
APPLICATION_ID = 0x56534453
DATASET_SUFFIX = ".sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"


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


def _program_version() -> str:
    try:
        from .. import __version__

        return f"Virality Studio {__version__}"
    except ImportError:
        return "Virality Studio"


# ----------------------------------------------------------------------------- the store


class Dataset(IngestMixin, ReadsMixin):
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
                with transaction(conn, tmp_path):
                    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                     [("created_at", iso_utc(now_utc())), ("created_by", _program_version())])
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            if path.exists():
                raise DataError(f"{path}: appeared while the dataset was being created; refusing to overwrite it")
            os.replace(tmp_path, path)
        except sqlite3.Error as exc:
            raise sqlite_error(path, exc) from None
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
            raise sqlite_error(path, exc) from None
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
            raise sqlite_error(path, exc) from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
        """Run MIGRATIONS[version:] in one transaction: all of them or none."""
        with transaction(conn, path):
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
        with transaction(self.conn, self.path):
            yield self.conn

    def _read(self, sql: str, params: Sequence = ()) -> list:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None

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
