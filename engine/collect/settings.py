"""Collection settings: where the browser is, the ms_token, the proxy, and the pace of requests.

They come from, in order of precedence: what the caller passes (CLI options, the GUI), the `ms_token`
environment variable (for the token only), and the settings file `collect.json` in the per-user config
folder (platformdirs), whose keys are the field names below, e.g.

    {"ms_token": "...", "browser_path": "/usr/bin/chromium", "proxy": "http://user:pass@host:8080",
     "min_interval_s": 2.0}
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Optional

from ..errors import InputError

SETTINGS_FILE = "collect.json"
MS_TOKEN_ENV = "ms_token"


@dataclass(frozen=True)
class CollectSettings:
    ms_token: Optional[str] = None
    browser_path: Optional[str] = None  # None: found automatically (engine.collect.browser)
    headless: bool = True
    proxy: Optional[str] = None  # http://[user:pass@]host:port or socks5://host:port
    # Pace: every request waits until min_interval_s (+ up to jitter_s at random) after the previous one.
    min_interval_s: float = 1.5
    jitter_s: float = 1.5
    # Empty, refused or unreadable answers: retried `retries` times, waiting backoff_s * 2**n (+ jitter),
    # at most backoff_max_s; then the session is renewed (a fresh browser context) up to session_renewals
    # times before the collection stops with a message saying what to try.
    retries: int = 4
    backoff_s: float = 2.0
    backoff_max_s: float = 120.0
    session_renewals: int = 1
    request_timeout_s: float = 30.0
    navigation_timeout_s: float = 60.0
    # Items without the author's counts: look the author up (once per author and run).
    author_stats: bool = True
    # Downloads.
    max_video_mb: float = 200.0
    max_video_s: float = 600.0
    download_attempts: int = 3
    download_timeout_s: float = 60.0
    video_url_template: str = "https://www.tiktok.com/@{author}/video/{id}"
    # Not read from the file: a coroutine run on each new browser context before TikTok is opened
    # (routing, extra headers). The tests use it to answer TikTok's URLs locally.
    context_hook: Optional[Callable[[Any], Awaitable[None]]] = None

    def with_(self, **changes) -> "CollectSettings":
        """A copy with the given fields changed; None values leave a field as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_FILE_KEYS = {f.name for f in fields(CollectSettings)} - {"context_hook"}


def settings_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("Virality Studio", appauthor=False)) / SETTINGS_FILE


def load_settings(path: Optional[Path] = None, environ: Mapping[str, str] = os.environ,
                  **overrides) -> CollectSettings:
    """Settings from the file (absent: defaults), then the ms_token environment variable, then
    `overrides` (None values ignored). Raises InputError when the file is not valid JSON or has a bad value."""
    path = settings_path() if path is None else Path(path)
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: the collection settings cannot be read ({exc}); fix or delete the file") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: the collection settings must be a JSON object")
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            raise InputError(f"{path}: unknown settings {unknown}; known: {sorted(_FILE_KEYS)}")
        values.update(data)
    token = environ.get(MS_TOKEN_ENV) or environ.get(MS_TOKEN_ENV.upper())
    if token:
        values["ms_token"] = token
    settings = CollectSettings()
    try:
        settings = replace(settings, **values)
    except TypeError as exc:
        raise InputError(f"{path}: {exc}") from None
    settings = settings.with_(**overrides)
    _check(settings, path)
    return settings


def _check(s: CollectSettings, where: Path) -> None:
    for name in ("min_interval_s", "jitter_s", "backoff_s", "backoff_max_s", "request_timeout_s",
                 "navigation_timeout_s", "max_video_mb", "max_video_s", "download_timeout_s"):
        v = getattr(s, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            raise InputError(f"collection setting {name} must be a number >= 0 (got {v!r}; see {where})")
    for name in ("retries", "session_renewals", "download_attempts"):
        v = getattr(s, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise InputError(f"collection setting {name} must be a whole number >= 0 (got {v!r})")
    if "{id}" not in s.video_url_template:
        raise InputError("collection setting video_url_template must contain {id}")
