"""The collection job: pages of a source -> (videos) -> the dataset, resumable, with progress and cancel."""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Optional

from ..data.store import Dataset, resolve_dataset_path
from ..errors import Cancelled, InputError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .download import VideoDownloader, media_folder
from .errors import NotFound
from .session import TikTokSession
from .settings import CollectSettings, load_settings
from .sources import Source, fetch_page, resolve, user_stats
from .state import CollectState, forget_state, load_state, now_iso, save_state

log = logging.getLogger(__name__)

#: Pages in a row that bring no post this collection has not stored: the source is going round in circles.
MAX_STALE_PAGES = 5


@dataclass
class CollectResult:
    """What a collection did. `collected`: distinct posts this collection (this source, all runs) holds."""

    source: str
    dataset: str
    wanted: int
    collected: int = 0
    stored_this_run: int = 0
    added: int = 0  # posts new to the dataset
    labels_added: int = 0
    pages: int = 0
    downloaded: int = 0
    download_failed: dict = field(default_factory=dict)
    without_author_stats: int = 0
    resumed: bool = False
    finished: bool = False  # the count was reached
    exhausted: bool = False  # TikTok has no more posts for this source
    requests: int = 0
    retries: int = 0
    renewals: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        s = (f"{self.source}: {self.collected}/{self.wanted} posts ({self.stored_this_run} stored this run, "
             f"{self.added} new to the dataset), {self.labels_added} label readings")
        if self.downloaded or self.download_failed:
            s += f", {self.downloaded} videos downloaded"
            if self.download_failed:
                s += f", {len(self.download_failed)} failed"
        return s


def open_or_create(dataset: str | os.PathLike) -> Dataset:
    path = resolve_dataset_path(dataset)
    return Dataset.open(path) if path.exists() else Dataset.create(path)


def has_author_stats(item: dict) -> bool:
    author = item.get("author")
    return any(isinstance(item.get(k), dict) and item[k] for k in ("authorStats", "authorStatsV2")) or (
        isinstance(author, dict) and isinstance(author.get("stats"), dict))


async def add_author_stats(session: TikTokSession, item: dict, cache: dict) -> bool:
    """Put the author's counts in `item` when TikTok left them out (one user lookup per author and run)."""
    if has_author_stats(item):
        return True
    if not session.settings.author_stats:
        return False
    author = item.get("author")
    name = author.get("uniqueId") if isinstance(author, dict) else author if isinstance(author, str) else None
    if not name:
        return False
    key = name.lower()
    if key not in cache:
        try:
            cache[key] = await user_stats(session, name)
        except NotFound:
            cache[key] = None
    if cache[key]:
        item.update(cache[key])
        return True
    return False


def collect(source: Source, dataset: str | os.PathLike, count: int = 100, *, download: bool = False,
            restart: bool = False, settings: Optional[CollectSettings] = None,
            progress: Progress = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> CollectResult:
    """Collect up to `count` posts of `source` into `dataset` (created when missing).

    Each page is stored through Dataset.import_tiktok_items (one transaction), dated by the time it was
    read, with the author's counts; with `download`, each post's video is fetched, checked and stored by
    post id in media_folder(dataset) first. Runs again with the same source continue where the last one
    stopped (`restart` forgets that and reads from the start; stored posts are never duplicated).

    Raises InputError (bad count), DataError (dataset), CollectError (no browser, no packages, no such
    hashtag/user: NotFound), Blocked (TikTok refuses the session; what was read is kept), Cancelled."""
    if not isinstance(count, int) or count < 1:
        raise InputError(f"count must be a whole number of posts >= 1 (got {count!r})")
    settings = settings or load_settings()
    ds = open_or_create(dataset)
    try:
        return asyncio.run(_Collection(source, ds, count, download, restart, settings, progress, cancel).run())
    finally:
        ds.close()


class _Collection:
    def __init__(self, source, ds, count, download, restart, settings, progress, cancel):
        self.source, self.ds, self.count, self.download = source, ds, count, download
        self.restart, self.settings, self.progress, self.cancel = restart, settings, progress, cancel
        self.result = CollectResult(source=source.label, dataset=str(ds.path), wanted=count)
        self.authors: dict = {}

    def _say(self, state: CollectState, what: str) -> None:
        n = len(state.ids)
        self.progress(min(1.0, n / self.count), f"{self.source.label}: {n}/{self.count} posts; {what}")

    async def run(self) -> CollectResult:
        r, key = self.result, self.source.key
        if self.restart:
            forget_state(self.ds, key)
        state = load_state(self.ds, key)
        r.resumed = state is not None and bool(state.ids)
        state = state or CollectState(source=key)
        r.collected = len(state.ids)
        if len(state.ids) >= self.count:
            r.finished = True
            r.notes.append(f"this dataset already holds {len(state.ids)} posts of {self.source.label}; "
                           "ask for a larger --count to collect more, or --restart to read it again")
            return r
        if state.exhausted:
            state.cursor, state.search_id, state.exhausted = 0, "", False
            r.notes.append("TikTok had no more posts last time; reading again from the start, "
                           "skipping the posts already collected")
        if r.resumed:
            r.notes.append(f"continuing a collection that has {len(state.ids)} posts")
        self._say(state, "opening TikTok in the browser")
        try:
            async with TikTokSession(self.settings, self.cancel) as session:
                downloader = (VideoDownloader(media_folder(self.ds.path), self.settings, session, self.cancel)
                              if self.download else None)
                try:
                    await self._pages(session, downloader, state)
                finally:
                    if downloader is not None:
                        downloader.close()
                    r.requests, r.retries, r.renewals = session.requests, session.retried, session.renewals
        except Cancelled:
            raise Cancelled(f"collection stopped; {len(state.ids)} posts of {self.source.label} are stored "
                            "(run the same command again to continue)") from None
        r.collected = len(state.ids)
        r.finished = r.collected >= self.count
        self.progress(1.0, r.summary())
        return r

    async def _pages(self, session: TikTokSession, downloader, state: CollectState) -> None:
        r = self.result
        resolved = dict(await resolve(session, self.source, state.resolved))
        own = resolved.pop("author_stats", None)
        if own:
            self.authors[self.source.value.lower()] = own
        state.resolved = resolved
        known = set(state.ids)
        stale = 0
        while len(state.ids) < self.count:
            self.cancel.raise_if_cancelled()
            self._say(state, f"reading page {r.pages + 1}")
            page = await fetch_page(session, self.source, resolved, state.cursor, state.search_id)
            seen_at = now_iso()
            r.pages += 1
            state.pages += 1
            new: list[dict] = []
            for it in page.items:
                pid = str(it["id"])
                if pid not in known and all(str(x["id"]) != pid for x in new):
                    new.append(it)
            take = new[: self.count - len(state.ids)]
            if take:
                stale = 0
                await self._store(session, downloader, state, take, seen_at)
                known.update(str(it["id"]) for it in take)
            else:
                stale += 1
            if len(take) == len(new):  # a page taken in part is read again next time, for the rest
                state.cursor, state.search_id = page.cursor, page.search_id
                state.exhausted = not page.has_more
            save_state(self.ds, state)
            r.collected = len(state.ids)
            if state.exhausted:
                r.exhausted = True
                if len(state.ids) < self.count:
                    r.notes.append(f"TikTok has no more posts for {self.source.label} "
                                   f"({len(state.ids)} collected)")
                    if not state.ids:
                        r.notes.append("no posts at all: if the website shows some, TikTok may be hiding them "
                                       "from this session; try --headed, a fresh --ms-token or --proxy")
                return
            if stale >= MAX_STALE_PAGES:
                r.notes.append(f"{stale} pages in a row brought no new posts; stopping at {len(state.ids)}")
                return

    async def _store(self, session, downloader, state: CollectState, take: list[dict], seen_at: str) -> None:
        r = self.result
        items = []
        for raw in take:
            it = dict(raw)
            it["collected_at"] = seen_at
            if not await add_author_stats(session, it, self.authors):
                r.without_author_stats += 1
            items.append(it)
        if downloader is not None:
            for i, it in enumerate(items):
                self._say(state, f"video {i + 1}/{len(items)} of this page")
                d = await downloader.fetch(it)
                if d.ok:
                    it["video_path"] = str(d.path)
                    state.failed_downloads.pop(d.post_id, None)
                    if d.via != "already there":
                        r.downloaded += 1
                else:
                    state.failed_downloads[d.post_id] = d.problem
                    r.download_failed[d.post_id] = d.problem
        self.cancel.raise_if_cancelled()
        res = self.ds.import_tiktok_items(items, base_dir=self.ds.folder)
        state.ids.extend(str(it["id"]) for it in items)
        r.stored_this_run += len(items)
        r.added += res.added
        r.labels_added += res.labels_added
        r.problems.extend(res.problems)
