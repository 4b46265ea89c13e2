"""Where a collection stands, kept in the dataset itself (its `meta` table, key "collect:<source>"), so a
collection that is stopped, killed or blocked continues where it was when run again.

The state is saved after each page's posts are committed, in a transaction of its own. A kill between
the two leaves the state one page behind: that page is fetched again, and its posts merge (a post id is
stored once), so the dataset still holds every post once.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from ..errors import DataError

_PREFIX = "collect:"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class CollectState:
    source: str  # Source.key
    cursor: Any = 0  # the next page's cursor, as TikTok gave it
    search_id: str = ""
    exhausted: bool = False  # TikTok said there is nothing more
    resolved: dict = field(default_factory=dict)  # challenge id, secUid... looked up once
    ids: list[str] = field(default_factory=list)  # every post this collection stored, in order
    pages: int = 0
    failed_downloads: dict = field(default_factory=dict)  # post id -> why
    started_at: str = field(default_factory=now_iso)
    updated_at: Optional[str] = None

    @classmethod
    def from_json(cls, text: str) -> "CollectState":
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


def load_state(ds, source_key: str) -> Optional[CollectState]:
    """The saved state of this source's collection in dataset `ds`, or None."""
    try:
        row = ds.conn.execute("SELECT value FROM meta WHERE key = ?", (_PREFIX + source_key,)).fetchone()
    except sqlite3.Error as exc:
        raise DataError(f"{ds.path}: cannot read the collection's state ({exc})") from None
    if row is None or not row[0]:
        return None
    try:
        return CollectState.from_json(row[0])
    except (ValueError, TypeError):
        return None  # unreadable: start over (the posts themselves are safe in the dataset)


def save_state(ds, state: CollectState) -> None:
    """Write the state in one transaction of its own."""
    state.updated_at = now_iso()
    conn = ds.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                         (_PREFIX + state.source, state.to_json()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise DataError(f"{ds.path}: cannot save the collection's state ({exc})") from None


def forget_state(ds, source_key: str) -> None:
    try:
        ds.conn.execute("DELETE FROM meta WHERE key = ?", (_PREFIX + source_key,))
    except sqlite3.Error as exc:
        raise DataError(f"{ds.path}: cannot reset the collection's state ({exc})") from None


def all_states(ds) -> list[CollectState]:
    rows = ds.conn.execute("SELECT value FROM meta WHERE key LIKE ? ORDER BY key", (_PREFIX + "%",)).fetchall()
    out = []
    for (text,) in rows:
        try:
            out.append(CollectState.from_json(text))
        except (ValueError, TypeError):
            pass
    return out
