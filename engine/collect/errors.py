"""Errors of the collection stage; each message says what to do."""
from __future__ import annotations

from ..errors import EngineError

WHAT_TO_TRY = (
    "what to try: a fresh ms_token (open tiktok.com in your browser, copy the value of the msToken cookie, "
    "and set it with --ms-token or the ms_token environment variable), a visible browser (--headed), "
    "a proxy (--proxy http://host:port), or a slower pace (--interval 5); "
    "what was collected is saved: run the same command again to continue")


class CollectError(EngineError):
    """Collection could not start or go on (no browser, no playwright, a source that does not exist...)."""


class Blocked(CollectError):
    """TikTok keeps refusing this session (empty answers, captcha, unreadable pages) after every retry."""

    def __init__(self, detail: str):
        super().__init__(f"TikTok is refusing this session ({detail}); {WHAT_TO_TRY}")


class NotFound(CollectError):
    """The hashtag, user, sound or post does not exist (or is private)."""


class MissingPackage(CollectError):
    """TikTokApi, playwright or yt-dlp is not installed."""

    def __init__(self, name: str):
        super().__init__(f"{name} is not installed; collection needs the 'collect' extra: "
                         "pip install 'virality-studio[collect]' (TikTokApi, playwright, yt-dlp)")
