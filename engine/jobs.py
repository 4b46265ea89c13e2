"""The job protocol: a long job is a plain function taking a progress callback and a cancel token.

The CLI wraps a job in a progress bar, the GUI in a worker thread; tests call it directly.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import Cancelled

#: progress(fraction in [0, 1] or None when unknown, short message)
Progress = Callable[[Optional[float], str], None]


def no_progress(fraction: Optional[float], message: str) -> None:
    """A progress callback that ignores everything."""


def sub_progress(progress: Progress, lo: float, hi: float, prefix: str = "") -> Progress:
    """The progress callback of one part of a job that covers lo..hi of the whole: the part reports 0..1, the
    whole sees lo..hi; an unknown fraction (None) stays unknown; `prefix` goes before each message."""
    def sub(fraction: Optional[float], message: str) -> None:
        progress(None if fraction is None else lo + (hi - lo) * fraction, prefix + message)

    return sub


class CancelToken:
    """Set from any thread; the job calls raise_if_cancelled() between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
