"""What to collect: trending, a hashtag, a user, a search term, a sound; and how each is paged.

The URLs, parameters and answer keys are TikTokApi's (api/trending.py, hashtag.py, user.py, search.py,
sound.py); the cursor of each page is returned so the collection can save it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from ..errors import InputError
from .errors import NotFound

KINDS = ("trending", "hashtag", "user", "search", "sound")
PAGE_SIZE = 30
_SEARCH_CODE = ('{"tiktok":{"client_params_x":{"search_engine":{"ies_mt_user_live_video_card_use_libra":1,'
                '"mt_search_general_user_live_card":1}},"search_server":{}}}')


@dataclass(frozen=True)
class Source:
    kind: str
    value: str = ""

    @property
    def key(self) -> str:
        """Names this collection in the dataset's saved state."""
        v = self.value if self.kind in ("search", "sound") else self.value.lower()
        return f"{self.kind}:{v}" if self.value else self.kind

    @property
    def label(self) -> str:
        return {"trending": "trending", "hashtag": f"#{self.value}", "user": f"@{self.value}",
                "search": f"search {self.value!r}", "sound": f"sound {self.value}"}[self.kind]


def make_source(kind: str, value: Optional[str] = None) -> Source:
    """Check and normalise a source: '#guitar' -> hashtag guitar, a profile or music URL -> its name or id.
    Raises InputError."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InputError(f"unknown source {kind!r}; choose one of: {', '.join(KINDS)}")
    value = (value or "").strip()
    if kind == "trending":
        if value:
            raise InputError("trending takes no value")
        return Source(kind)
    if not value:
        raise InputError(f"{kind} needs a value, e.g. " + {"hashtag": "collect hashtag guitar",
                                                         "user": "collect user tiktok",
                                                         "search": 'collect search "street food"',
                                                         "sound": "collect sound 7016547803243022337"}[kind])
    if kind == "hashtag":
        m = re.search(r"tiktok\.com/tag/([^/?#&]+)", value)
        value = unquote(m.group(1)) if m else value.lstrip("#").strip()
        if not value or re.search(r"\s", value):
            raise InputError(f"hashtag {value!r}: a hashtag is one word, without spaces")
    elif kind == "user":
        m = re.search(r"tiktok\.com/@([\w.-]+)", value)
        value = m.group(1) if m else value.lstrip("@").strip()
        if not re.fullmatch(r"[\w.-]+", value):
            raise InputError(f"user {value!r}: give the name from the profile address (tiktok.com/@NAME)")
    elif kind == "sound":
        path = urlsplit(value).path if "://" in value else value
        m = re.search(r"(\d{6,})/?$", path)
        if not m:
            raise InputError(f"sound {value!r}: give the sound's id (the number at the end of its "
                             "tiktok.com/music/... address)")
        value = m.group(1)
    return Source(kind, value)


@dataclass
class Page:
    items: list[dict]
    cursor: Any
    has_more: bool
    search_id: str = ""


def _items(resp: dict, key: str) -> list[dict]:
    raw = resp.get(key) or []
    return [it for it in raw if isinstance(it, dict) and it.get("id") not in (None, "")]


async def resolve(session, source: Source, resolved: dict) -> dict:
    """Look up what paging needs (a hashtag's id, a user's secUid and counts); `resolved` holds what a
    previous run found, so a resumed collection does not ask again."""
    if resolved:
        return resolved
    if source.kind == "hashtag":
        resp = await session.get("https://www.tiktok.com/api/challenge/detail/",
                                 {"challengeName": source.value}, f"hashtag #{source.value}")
        ch = (resp.get("challengeInfo") or {}).get("challenge") or {}
        if not ch.get("id"):
            raise NotFound(f"#{source.value}: TikTok has no such hashtag (check the spelling)")
        return {"challenge_id": str(ch["id"])}
    if source.kind == "user":
        resp = await session.get("https://www.tiktok.com/api/user/detail/",
                                 {"secUid": "", "uniqueId": source.value}, f"user @{source.value}")
        info = resp.get("userInfo") or {}
        user = info.get("user") or {}
        if not user.get("secUid"):
            raise NotFound(f"@{source.value}: TikTok has no such user, or the account is private")
        stats = {k: info[s] for k, s in (("authorStats", "stats"), ("authorStatsV2", "statsV2"))
                 if isinstance(info.get(s), dict)}
        # author_stats: read now, used for this run's items only (the caller does not save it)
        return {"sec_uid": user["secUid"], "user_id": str(user.get("id") or ""), "author_stats": stats or None}
    return {}


async def fetch_page(session, source: Source, resolved: dict, cursor: Any, search_id: str) -> Page:
    """One page of items from `cursor`."""
    base = "https://www.tiktok.com/api"
    if source.kind == "trending":
        resp = await session.get(f"{base}/recommend/item_list/", {"from_page": "fyp", "count": PAGE_SIZE},
                                 "trending")
        return Page(_items(resp, "itemList"), cursor, bool(resp.get("hasMore", False)))
    if source.kind == "search":
        params = {"keyword": source.value, "cursor": cursor or 0, "from_page": "search",
                  "web_search_code": _SEARCH_CODE}
        if search_id:
            params["search_id"] = search_id
        resp = await session.get(f"{base}/search/item/full/", params, source.label)
        return Page(_items(resp, "item_list"), resp.get("cursor", cursor), bool(resp.get("has_more", False)),
                    str(resp.get("rid") or (resp.get("extra") or {}).get("logid") or search_id or ""))
    if source.kind == "hashtag":
        url, params = f"{base}/challenge/item_list/", {"challengeID": resolved["challenge_id"]}
    elif source.kind == "user":
        url, params = f"{base}/post/item_list/", {"secUid": resolved["sec_uid"]}
    else:
        url, params = f"{base}/music/item_list/", {"musicID": source.value}
    params.update({"count": PAGE_SIZE, "cursor": cursor or 0})
    resp = await session.get(url, params, source.label)
    return Page(_items(resp, "itemList"), resp.get("cursor", cursor), bool(resp.get("hasMore", False)))


async def user_stats(session, unique_id: str) -> Optional[dict]:
    """{'authorStats': ..., 'authorStatsV2': ...} of one account (user detail), or None when unknown."""
    resp = await session.get("https://www.tiktok.com/api/user/detail/", {"secUid": "", "uniqueId": unique_id},
                             f"user @{unique_id}")
    info = resp.get("userInfo") or {}
    out = {k: info[s] for k, s in (("authorStats", "stats"), ("authorStatsV2", "statsV2"))
           if isinstance(info.get(s), dict)}
    return out or None


async def item_detail(session, post_id: str) -> dict:
    """One post as TikTok shows it now (item detail): its itemStruct. Raises NotFound when removed/private."""
    resp = await session.get("https://www.tiktok.com/api/item/detail/", {"itemId": post_id}, f"post {post_id}")
    item = (resp.get("itemInfo") or {}).get("itemStruct")
    if not isinstance(item, dict) or not item.get("id"):
        raise NotFound(f"post {post_id}: TikTok returned no post (removed or private)")
    return item
