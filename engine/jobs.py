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
