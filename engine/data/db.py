"""What the dataset store's modules (engine.data.store, .ingest, .reads) share about SQLite: one transaction,
a user's message for an sqlite3 error, and timestamps as the store writes them."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..errors import DataError


def now_utc() -> datetime:
    """Now, in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso_utc(t: Optional[datetime]) -> Optional[str]:
    """ISO 8601 in UTC, to the second, as the store writes times (a time without a zone is taken as UTC)."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def sqlite_error(path: Path, exc: sqlite3.Error) -> DataError:
    """The DataError a user reads for an sqlite3 error on the dataset at `path`."""
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


@contextmanager
def transaction(conn: sqlite3.Connection, path: Path):
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception (KeyboardInterrupt included)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from None
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
        raise sqlite_error(path, exc) from None

