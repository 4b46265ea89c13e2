"""What every long CLI command shares: a progress bar, one-line errors, and Ctrl+C as a clean stop."""
from __future__ import annotations

import sys
from typing import Callable, Optional


def fail(message: str, code: int = 2) -> int:
    """Print one line, 'error: ...', on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


class Bar:
    """tqdm on stderr when it is a terminal (or --progress), silent otherwise; a progress callback.

    With `total`, the bar counts items (videos); without, it shows a percentage."""

    def __init__(self, args, desc: str, total: Optional[int] = None, unit: str = "it"):
        self._bar = None
        self._desc = desc
        self._total = total or 100
        self._counting = bool(total)
        if not getattr(args, "quiet", False) and (sys.stderr.isatty() or getattr(args, "progress", False)):
            from tqdm import tqdm

            fmt = ("{desc} {n_fmt}/{total_fmt}|{bar}| {elapsed}<{remaining}" if total
                   else "{percentage:3.0f}%|{bar}| {desc}")
            self._bar = tqdm(total=self._total, unit=unit, desc=desc, file=sys.stderr, leave=False,
                             dynamic_ncols=True, bar_format=fmt)

    def __call__(self, fraction, message):
        if self._bar is not None:
            if fraction is not None:
                n = fraction * self._total
                self._bar.n = int(round(n)) if self._counting else n
            self._bar.set_description_str(f"{self._desc}: {message[:50]}", refresh=False)
            self._bar.refresh()

    def close(self):
        if self._bar is not None:
            self._bar.close()


def run_job(args, job: Callable, desc: str, stopped: str):
    """Run job(progress, cancel) under a progress bar. Returns (result, None), or (None, exit code) after
    printing one line: `stopped` for Ctrl+C or a cancel (exit 130), the engine's message for an EngineError (2)."""
    from engine.errors import Cancelled, EngineError
    from engine.jobs import CancelToken

    bar = Bar(args, desc)
    token = CancelToken()
    try:
        return job(bar, token), None
    except KeyboardInterrupt:
        token.cancel()
        return None, fail(stopped, 130)
    except Cancelled:
        return None, fail(stopped, 130)
    except EngineError as exc:
        return None, fail(str(exc))
    finally:
        bar.close()
