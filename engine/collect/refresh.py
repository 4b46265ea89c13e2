"""Refresh: read again the counts of posts already in a dataset, so their labels can be taken at a
fixed age (Dataset.labels_at_age / export --at-age). The store keeps every reading with its time."""
from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from ..errors import Cancelled, InputError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .collector import add_author_stats, open_or_create
from .errors import NotFound
from .session import TikTokSession
from .settings import CollectSettings, load_settings
from .sources import item_detail
from .state import now_iso

BATCH = 10  # posts per import transaction


@dataclass
class RefreshResult:
    dataset: str
    due: int = 0
    refreshed: int = 0
    labels_added: int = 0
    unavailable: dict = field(default_factory=dict)  # post id -> why (removed, private)
    pending: int = 0  # posts not yet at the age asked for
    next_due: Optional[str] = None
    no_post_time: int = 0
    cycles: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        s = f"{self.refreshed} of {self.due} posts read again, {self.labels_added} label readings added"
        if self.unavailable:
            s += f", {len(self.unavailable)} no longer available"
        if self.pending:
            s += f"; {self.pending} posts not old enough yet (next due {self.next_due})"
        return s


@dataclass
class Plan:
    due: list[str]
    pending: list[tuple[datetime, str]]  # (when due, post id), soonest first
    no_post_time: int


def plan(ds, at_age_hours: Optional[float] = None, min_gap_hours: float = 1.0,
         post_ids: Optional[Iterable[str]] = None, now: Optional[datetime] = None,
         skip: Iterable[str] = ()) -> Plan:
    """Which posts to read now.

    With `at_age_hours`: posts at least that old that have no reading at that age or later (run it
    again later, or with watch, and each post gets a reading just after it reaches the age). Without:
    every post whose latest reading is older than `min_gap_hours` (so a restarted refresh goes on
    where it stopped). Only TikTok posts (numeric ids)."""
    now = now or datetime.now(timezone.utc)
    wanted = None if post_ids is None else {str(p) for p in post_ids}
    skip = set(skip)
    readings: dict[str, list] = {}
    for r in ds.label_readings():
        readings.setdefault(r.post_id, []).append(r)
    due: list[tuple[datetime, str]] = []
    pending: list[tuple[datetime, str]] = []
    no_time = 0
    for p in ds.posts():
        pid = p.post_id
        if not re.fullmatch(r"\d+", pid) or pid in skip or (wanted is not None and pid not in wanted):
            continue
        rs = readings.get(pid, [])
        posted = p.post_time
        if posted is not None and posted.tzinfo is None:
            posted = posted.replace(tzinfo=timezone.utc)
        if at_age_hours is not None:
            if posted is None:
                no_time += 1
                continue
            if any(r.age_hours is not None and r.age_hours >= at_age_hours for r in rs):
                continue
            when = posted + timedelta(hours=at_age_hours)
            (due if when <= now else pending).append((when, pid))
        else:
            times = [r.measured_at if r.measured_at.tzinfo else r.measured_at.replace(tzinfo=timezone.utc)
                     for r in rs if r.measured_at is not None]
            latest = max(times) if times else None
            if latest is None or now - latest >= timedelta(hours=min_gap_hours):
                due.append((latest or datetime.min.replace(tzinfo=timezone.utc), pid))
    due.sort()
    pending.sort()
    return Plan([pid for _, pid in due], pending, no_time)


def refresh(dataset: str | os.PathLike, *, at_age_hours: Optional[float] = None, min_gap_hours: float = 1.0,
            limit: Optional[int] = None, post_ids: Optional[Iterable[str]] = None, watch: bool = False,
            settings: Optional[CollectSettings] = None, progress: Progress = no_progress,
            cancel: CancelToken = NEVER_CANCELLED) -> RefreshResult:
    """Read the current counts of the posts plan() picks and store them (a label reading each, dated now,
    with its age; the author's counts too). With `watch` (needs `at_age_hours`), keep going: sleep until
    the next post reaches the age, read it, until no post is waiting (the browser is closed while asleep).

    Raises InputError, DataError, CollectError, Blocked (what was read is kept), Cancelled."""
    if at_age_hours is not None and at_age_hours < 0:
        raise InputError("the age must be >= 0 hours")
    if watch and at_age_hours is None:
        raise InputError("watch needs an age (--at-age), to know when each post is due")
    if limit is not None and limit < 1:
        raise InputError("limit must be >= 1")
    settings = settings or load_settings()
    ds = open_or_create(dataset)
    result = RefreshResult(dataset=str(ds.path))
    ids = None if post_ids is None else list(post_ids)
    try:
        while True:
            p = plan(ds, at_age_hours, min_gap_hours, ids, skip=result.unavailable)
            result.no_post_time, result.pending = p.no_post_time, len(p.pending)
            result.next_due = p.pending[0][0].isoformat(timespec="seconds") if p.pending else None
            todo = p.due[: limit - result.refreshed] if limit is not None else p.due
            result.due += len(todo)
            if todo:
                result.cycles += 1
                asyncio.run(_read(ds, todo, settings, result, progress, cancel))
            if not watch or not p.pending or (limit is not None and result.refreshed >= limit):
                return result
            wait = (p.pending[0][0] - datetime.now(timezone.utc)).total_seconds()
            progress(None, f"{len(p.pending)} posts waiting; next due {result.next_due}")
            _sleep(max(0.0, wait) + 1.0, cancel)
    except Cancelled:
        raise Cancelled(f"refresh stopped; {result.refreshed} posts were read again and stored") from None
    finally:
        ds.close()


def _sleep(seconds: float, cancel: CancelToken) -> None:
    import time

    end = time.monotonic() + seconds
    while True:
        cancel.raise_if_cancelled()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.5, left))


async def _read(ds, todo: list[str], settings: CollectSettings, result: RefreshResult, progress: Progress,
                cancel: CancelToken) -> None:
    authors: dict = {}
    batch: list[dict] = []

    def flush():
        if batch:
            res = ds.import_tiktok_items(batch, base_dir=ds.folder)
            result.refreshed += len(batch)
            result.labels_added += res.labels_added
            result.problems.extend(res.problems)
            batch.clear()

    progress(0.0, "opening TikTok in the browser")
    async with TikTokSession(settings, cancel) as session:
        try:
            for i, pid in enumerate(todo):
                cancel.raise_if_cancelled()
                progress(i / len(todo), f"reading post {i + 1}/{len(todo)}")
                try:
                    item = await item_detail(session, pid)
                except NotFound as exc:
                    result.unavailable[pid] = str(exc)
                    continue
                item = dict(item, collected_at=now_iso())
                await add_author_stats(session, item, authors)
                batch.append(item)
                if len(batch) >= BATCH:
                    flush()
        finally:
            try:
                flush()  # what was read before a stop or a block is kept
            except Exception:
                if batch:
                    result.problems.append(f"{len(batch)} readings could not be stored")
    progress(1.0, result.summary())
