"""A stand-in for tiktok.com inside the browser: playwright routes every TikTok URL to answers built from
the fixtures beside this file (the shapes TikTokApi and engine.collect parse); any other host is aborted,
except loopback. Faults can be queued per API path: "empty" (200, no body: TikTok's bot answer), "403"
(empty 403), "truncated" (JSON cut in the middle), "slow:SECONDS" (the normal answer, late), "captcha".
"""
from __future__ import annotations

import asyncio
import copy
import json
import threading
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
BASE_ID = 7301234567890000000
POSTED = 1700000000


def fixture(name: str):
    text = (HERE / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


def make_item(n: int, *, author: Optional[str] = None, author_stats: bool = True,
              video_base: Optional[str] = None, duration: int = 2, views: int = 1000) -> dict:
    """The recorded item with its own id, counts, author and (local) download address."""
    it = fixture("item.json")
    pid = str(BASE_ID + n)
    it["id"] = it["video"]["id"] = pid
    it["desc"] = f"riff number {n} #guitar #music"
    it["createTime"] = POSTED + 60 * n
    it["video"]["duration"] = duration
    if author:
        it["author"]["uniqueId"] = author
        it["author"]["id"] = str(6812345678900000000 + sum(map(ord, author)))
        it["author"]["secUid"] = f"MS4wLjABAAAA{author}"
    v = views + 7 * n
    it["stats"] = {"diggCount": v // 10, "shareCount": n, "commentCount": n + 1, "playCount": v,
                   "collectCount": n + 2}
    it["statsV2"] = {k: str(x) for k, x in it["stats"].items()}
    if not author_stats:
        del it["authorStats"], it["authorStatsV2"]
    if video_base:
        it["video"]["playAddr"] = it["video"]["downloadAddr"] = f"{video_base}/cdn/{pid}.mp4"
    return it


def post_id(n: int) -> str:
    return str(BASE_ID + n)


class FakeTikTok:
    def __init__(self, items: list[dict], page_size: int = 5, video_base: Optional[str] = None):
        self.items = items
        self.page_size = page_size
        self.video_base = video_base
        self.faults: dict[str, list[str]] = {}
        self.block: set[str] = set()  # paths that answer "empty" for ever (until removed)
        self.requests: list[tuple[str, dict]] = []
        self.reads: dict[str, int] = {}  # item detail reads per id
        self.gone: set[str] = set()  # ids item detail says do not exist
        self.lock = threading.Lock()

    def fault(self, path: str, *kinds: str) -> None:
        self.faults.setdefault(path, []).extend(kinds)

    # -- playwright ---------------------------------------------------------------------------------

    async def install(self, context) -> None:
        await context.route("**/*", self._route)

    async def _route(self, route, request):
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if host in ("127.0.0.1", "localhost"):
            return await route.continue_()
        if not (host == "tiktok.com" or host.endswith(".tiktok.com")):
            return await route.abort()
        if not parts.path.startswith("/api/"):
            return await route.fulfill(status=200, content_type="text/html", body=fixture("home.html"))
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.requests.append((parts.path, params))
            queued = self.faults.get(parts.path)
            fault = queued.pop(0) if queued else ("empty" if parts.path in self.block else None)
        if fault == "empty":
            return await route.fulfill(status=200, content_type="application/json", body="")
        if fault == "403":
            return await route.fulfill(status=403, body="")
        if fault == "captcha":
            return await route.fulfill(status=200, content_type="application/json",
                                       body=json.dumps({"statusCode": 10000, "status_code": 10000,
                                                        "statusMsg": "verify"}))
        body = json.dumps(self.answer(parts.path, params))
        if fault == "truncated":
            body = body[: len(body) // 2]
        elif fault and fault.startswith("slow:"):
            await asyncio.sleep(float(fault.split(":", 1)[1]))
        return await route.fulfill(status=200, content_type="application/json", body=body)

    # -- answers ------------------------------------------------------------------------------------

    def _list(self, params: dict, items_key="itemList", more_key="hasMore") -> dict:
        page = fixture("item_list.json")
        start = int(params.get("cursor") or 0)
        chunk = self.items[start: start + self.page_size]
        page.pop("itemList")
        page[items_key] = copy.deepcopy(chunk)
        page[more_key] = start + self.page_size < len(self.items)
        page["cursor"] = str(start + len(chunk))
        if more_key == "has_more":
            page.pop("hasMore", None)
            page["rid"] = "20231114224913SEARCHRID"
        return page

    def answer(self, path: str, params: dict) -> dict:
        if path == "/api/ping/":
            return {}
        if path == "/api/challenge/detail/":
            d = fixture("challenge_detail.json")
            d["challengeInfo"]["challenge"]["title"] = params.get("challengeName", "guitar")
            return d
        if path == "/api/user/detail/":
            d = fixture("user_detail.json")
            d["userInfo"]["user"]["uniqueId"] = params.get("uniqueId", "strummer_jo")
            return d
        if path in ("/api/challenge/item_list/", "/api/post/item_list/", "/api/music/item_list/"):
            return self._list(params)
        if path == "/api/search/item/full/":
            return self._list(params, "item_list", "has_more")
        if path == "/api/recommend/item_list/":
            page = fixture("item_list.json")
            page["itemList"] = copy.deepcopy(self.items[: self.page_size])
            self.items = self.items[self.page_size:] + self.items[: self.page_size]  # a feed goes round
            return page
        if path == "/api/item/detail/":
            pid = params.get("itemId")
            match = [it for it in self.items if it["id"] == pid]
            if not match or pid in self.gone:
                return fixture("not_found.json")
            with self.lock:
                self.reads[pid] = self.reads.get(pid, 0) + 1
                k = self.reads[pid]
            it = copy.deepcopy(match[0])
            it["stats"]["playCount"] += 1000 * k
            it["statsV2"]["playCount"] = str(it["stats"]["playCount"])
            return {"itemInfo": {"itemStruct": it}, "shareMeta": {}, "statusCode": 0, "status_code": 0}
        return fixture("not_found.json")
