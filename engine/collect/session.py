"""A TikTok session: TikTokApi on a playwright-driven system browser, with pace, retries and renewal.

TikTokApi does the TikTok part: it opens tiktok.com in the browser, keeps the msToken, adds the session
parameters, signs each URL with TikTok's own page script (X-Bogus) and runs the request as a fetch()
inside the page, so it carries the browser's cookies and fingerprint. We call its `make_request` with
the same URLs and parameters its hashtag/user/search/sound/trending methods use, one page at a time,
because those iterators keep the paging cursor to themselves (a killed collection could not resume)
and retry with fixed sleeps that cannot be cancelled. Every request here waits for the pace (interval
plus jitter), is bounded by a timeout, and is retried with exponential backoff when the answer is empty,
unreadable, a captcha or a refusal; after the retries the session is renewed, and then Blocked is raised
with what to try.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from ..errors import Cancelled
from ..jobs import NEVER_CANCELLED, CancelToken
from .browser import find_browser
from .errors import Blocked, CollectError, MissingPackage, NotFound
from .settings import CollectSettings

log = logging.getLogger(__name__)

BASE = "https://www.tiktok.com"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--no-default-browser-check", "--disable-sync", "--disable-default-apps",
                "--disable-features=Translate,MediaRouter,OptimizationHints", "--metrics-recording-only",
                "--mute-audio", "--password-store=basic"]

#: TikTok's web API status codes. 10000: captcha; 10101-10114: server-side refusals (TikTokApi's error table
#: of old named 10113/10114 "shark"/"reflow" blocks). 10201-10235: the object does not exist, was removed,
#: is private or not shown in this region.
CAPTCHA_CODES = frozenset({10000})
NOT_FOUND_CODES = frozenset(range(10201, 10236))


def _status(data: dict) -> int:
    for key in ("statusCode", "status_code"):
        v = data.get(key)
        if v not in (None, ""):
            try:
                return int(v)
            except (TypeError, ValueError):
                return -1
    return 0


def parse_proxy(url: str) -> dict:
    """'http://user:pass@host:port' -> playwright's proxy settings."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise CollectError(f"proxy {url!r} is not a URL like http://host:port or socks5://host:port")
    server = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    out = {"server": server}
    if parts.username:
        out["username"] = unquote(parts.username)
        out["password"] = unquote(parts.password or "")
    return out


class _RecentLog(logging.Handler):
    """Keeps TikTokApi's last log lines (it logs every odd answer at ERROR) off the terminal."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: deque[str] = deque(maxlen=20)

    def emit(self, record):
        self.lines.append(record.getMessage()[:300])
        log.debug("TikTokApi: %s", record.getMessage()[:300])


class TikTokSession:
    """Use as `async with TikTokSession(settings, cancel) as s: data = await s.get(url, params, what)`."""

    def __init__(self, settings: CollectSettings, cancel: CancelToken = NEVER_CANCELLED):
        self.settings = settings
        self.cancel = cancel
        self.api = None
        self.requests = 0
        self.retried = 0
        self.renewals = 0
        self._next_at = 0.0
        self._recent = _RecentLog()
        self._browser = find_browser(settings.browser_path)

    async def __aenter__(self) -> "TikTokSession":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- the browser --------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            from TikTokApi import TikTokApi
        except ImportError:
            raise MissingPackage("TikTokApi (with playwright)") from None
        s = self.settings
        api = TikTokApi(logger_name="engine.collect.tiktokapi")
        api.logger.handlers.clear()
        api.logger.addHandler(self._recent)
        api.logger.propagate = False
        args = list(BROWSER_ARGS) + (["--headless=new"] if s.headless else [])
        try:
            await api.create_sessions(
                num_sessions=1, headless=False,  # headless comes from the argument above (new headless mode)
                ms_tokens=[s.ms_token] if s.ms_token else None,
                proxies=[parse_proxy(s.proxy)] if s.proxy else None,
                executable_path=self._browser, override_browser_args=args,
                page_factory=self._page_factory, timeout=int(s.navigation_timeout_s * 1000),
                sleep_after=1, enable_session_recovery=False)
        except CollectError:
            await self._quietly_close(api)
            raise
        except Exception as exc:
            await self._quietly_close(api)
            raise CollectError(self._start_failure(exc)) from None
        for sess in api.sessions:
            if not sess.headers:
                # TikTokApi copies the headers of the first request the page makes after it starts
                # listening; a quiet page leaves None, which fetch() refuses. The browser's own will do.
                try:
                    ua = await sess.page.evaluate("() => navigator.userAgent")
                except Exception:
                    ua = None
                sess.headers = {"accept": "*/*", "referer": BASE + "/", **({"user-agent": ua} if ua else {})}
        self.api = api

    def _start_failure(self, exc: Exception) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = self._browser or "playwright's Chromium"
        if "Executable doesn't exist" in str(exc) or "ENOENT" in str(exc):
            return f"the browser {where} could not be started ({text}); give another with --browser PATH"
        if not self.settings.headless and ("DISPLAY" in str(exc) or "display" in str(exc)):
            return f"a visible browser (--headed) needs a desktop session; none is available here ({text})"
        return (f"could not open tiktok.com in the browser {where} ({text}); check the internet connection, "
                "or try a proxy (--proxy http://host:port) or a visible browser (--headed)")

    async def _page_factory(self, context):
        if self.settings.context_hook is not None:
            await self.settings.context_hook(context)
        from TikTokApi.stealth import stealth_async

        page = await context.new_page()
        page.set_default_navigation_timeout(self.settings.navigation_timeout_s * 1000)
        await stealth_async(page)
        await page.goto(BASE + "/")
        return page

    @staticmethod
    async def _quietly_close(api) -> None:
        try:
            await api.close_sessions()
        except Exception:  # the browser may already be gone
            pass

    async def close(self) -> None:
        if self.api is not None:
            await self._quietly_close(self.api)
            self.api = None

    async def renew(self) -> None:
        """A fresh browser and context: new cookies, new device id."""
        log.info("renewing the TikTok session")
        self.renewals += 1
        await self.close()
        await self.start()

    @property
    def headers(self) -> dict:
        if self.api is None or not self.api.sessions:
            return {}
        return dict(self.api.sessions[0].headers or {})

    # -- waiting ------------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Sleep in short steps, so a cancel is seen within a fifth of a second."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.cancel.raise_if_cancelled()
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(0.2, left))

    async def _pace(self) -> None:
        await self.sleep(self._next_at - time.monotonic())
        s = self.settings
        self._next_at = time.monotonic() + s.min_interval_s + random.uniform(0.0, s.jitter_s)

    async def _bounded(self, coro, timeout: float):
        """Await `coro` for at most `timeout` seconds, giving up early on a cancel."""
        task = asyncio.ensure_future(coro)
        end = time.monotonic() + timeout
        try:
            while not task.done():
                if self.cancel.cancelled:
                    break
                left = end - time.monotonic()
                if left <= 0:
                    raise asyncio.TimeoutError()
                await asyncio.wait({task}, timeout=min(0.2, left))
            self.cancel.raise_if_cancelled()
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                try:
                    await task
                except BaseException:
                    pass

    def backoff(self, attempt: int) -> float:
        s = self.settings
        return min(s.backoff_max_s, s.backoff_s * (2 ** attempt)) + random.uniform(0.0, s.jitter_s)

    # -- requests -----------------------------------------------------------------------------------

    async def get(self, url: str, params: dict, what: str) -> dict:
        """One TikTok API answer (a dict). Raises NotFound (TikTok says the object does not exist), Blocked
        (every retry and renewal failed), Cancelled."""
        from playwright.async_api import Error as PlaywrightError
        from TikTokApi.exceptions import EmptyResponseException, InvalidJSONException

        s = self.settings
        problems: Counter = Counter()
        attempt = 0
        renewals = 0
        while True:
            await self._pace()
            self.requests += 1
            dead = False
            try:
                data = await self._bounded(self.api.make_request(url=url, params=dict(params), retries=1),
                                           s.request_timeout_s)
                problem = self._problem(data, what)
                if problem is None:
                    return data
            except EmptyResponseException:
                problem = "empty answers"
            except InvalidJSONException:
                problem = "answers that are not JSON (a refusal page or a cut-off answer)"
            except asyncio.TimeoutError:
                problem = f"no answer within {s.request_timeout_s:g} s"
            except PlaywrightError as exc:
                problem = f"the browser page failed ({str(exc).strip().splitlines()[0][:120]})"
                dead = True
            except (NotFound, Blocked, Cancelled):
                raise
            except TypeError as exc:
                # TikTokApi 7.3 raises InvalidJSONException() without its arguments: a TypeError
                if "TikTokException" not in str(exc):
                    raise
                problem = "answers that are not JSON (a refusal page or a cut-off answer)"
            except Exception as exc:  # TikTokApi raises bare Exceptions (no X-Bogus, no session)
                problem = f"{type(exc).__name__}: {str(exc).strip()[:160]}"
                dead = not (self.api and self.api.sessions)
            problems[problem] += 1
            attempt += 1
            self.retried += 1
            log.info("%s: %s (try %d)", what, problem, attempt)
            if attempt > s.retries or dead:
                log.info("%s: giving up on this session after: %s", what, problem)
                if renewals >= s.session_renewals:
                    worst, n = problems.most_common(1)[0]
                    raise Blocked(f"{what}: {sum(problems.values())} tries, {n} of them {worst}")
                renewals += 1
                attempt = 0
                await self.sleep(self.backoff(0))
                await self.renew()
                continue
            await self.sleep(self.backoff(attempt - 1))

    @staticmethod
    def _problem(data: Any, what: str) -> Optional[str]:
        if not isinstance(data, dict):
            return "answers that are not JSON objects"
        code = _status(data)
        if code == 0:
            return None
        if code in NOT_FOUND_CODES:
            msg = data.get("statusMsg") or data.get("status_msg") or "not found"
            raise NotFound(f"{what}: TikTok says it does not exist or is not public (status {code}: {msg})")
        if code in CAPTCHA_CODES:
            return "captcha pages"
        return f"status {code} ({data.get('statusMsg') or data.get('status_msg') or 'no message'})"
