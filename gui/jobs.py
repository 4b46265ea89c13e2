"""One job runner for the whole window: engine jobs run in QThreads behind a small fluent API.

    job = runner.submit(score_video, path, bundle=b)        # fn gets progress= and cancel= added
    job.on_progress(bar.update).on_result(page.show).on_error(page.fail)
    job.cancel()

An engine job is a plain function taking `progress(fraction, message)` and `cancel` (engine/jobs.py).
If it returns a generator (score_many), every yielded value arrives through on_item as it comes.

Why this shape: the worker thread only emits signals of the runner's private bridge object, which lives
in the GUI thread and was connected once when the runner was made, so callbacks registered right after
submit() never miss a signal, and every callback runs in the GUI thread. The runner keeps a reference to
each job until its thread has ended (a PySide6 object nothing references is deleted and its signals never
arrive), then forgets it and clears its callbacks and arguments, so a finished job is freed as soon as
the page drops it. No Qt connection is made per job: PySide6 keeps a reference for every connect() it
ever made (each one showed as a reference to None that never went away), and a connection from a bridge
to a job's slots is a cycle Python's collector cannot see, which kept every job ever run alive.
shutdown() cancels and waits for all jobs when the window closes.
"""
from __future__ import annotations

import inspect
import logging
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled, EngineError
from engine.jobs import CancelToken

log = logging.getLogger(__name__)


def user_message(exc: BaseException, what: str = "") -> str:
    """What the user reads for an exception: the engine's own message, or a plain sentence."""
    if isinstance(exc, EngineError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{what or 'the job'} ran out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        name = Path(exc.filename).name if getattr(exc, "filename", None) else ""
        return f"{name + ': ' if name else ''}{exc.strerror}"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{what or 'the job'} failed ({type(exc).__name__}{': ' + detail[:200] if detail else ''})"


class _Bridge(QObject):
    """One per runner, in the GUI thread; worker threads emit these (the job first) and Qt queues them over."""

    progress = Signal(object, object, str)
    item = Signal(object, object)
    result = Signal(object, object)
    error = Signal(object, str)
    cancelled = Signal(object)
    ended = Signal(object)  # the last signal of every job, after its outcome


class _Thread(QThread):
    def __init__(self, job: "Job"):
        super().__init__()
        self._job = job

    def run(self) -> None:  # the worker thread
        job = self._job
        b = job.runner._bridge
        try:
            out = job._fn(*job._args, progress=job._progress, cancel=job.token, **job._kwargs)
            if inspect.isgenerator(out):
                for value in out:
                    b.item.emit(job, value)
                    if job.token.cancelled:
                        out.close()
                        raise Cancelled()
                out = None
            if job.token.cancelled:
                raise Cancelled()
            b.result.emit(job, out)
        except Cancelled:
            b.cancelled.emit(job)
        except Exception as exc:  # never a traceback dialog: a sentence for the user, the trace in the log
            # the trace as text: a log record holding the exception would hold its frames, and the job with them
            log.error("job %s failed\n%s", job.name, traceback.format_exc())
            b.error.emit(job, user_message(exc, job.name))
        finally:
            b.ended.emit(job)


class Job(QObject):
    """A running engine job. Register callbacks with the on_* methods (each returns the job)."""

    finished = Signal(object)  # the Job, after result/error/cancel, once the thread has ended

    def __init__(self, runner: "JobRunner", fn: Callable, args: tuple, kwargs: dict, name: str):
        super().__init__()
        self.runner = runner
        self.name = name
        self.token = CancelToken()
        self.state = "running"  # running -> done | failed | cancelled
        self.error_message: Optional[str] = None
        self.result_value: Any = None
        self.started_at = time.perf_counter()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cbs: dict[str, list[Callable]] = {k: [] for k in ("progress", "item", "result", "error", "cancelled", "finished")}
        self._last_progress = 0.0
        self._thread = _Thread(self)

    # ---- fluent registration
    def on_progress(self, cb: Callable[[Optional[float], str], None]) -> "Job":
        self._cbs["progress"].append(cb)
        return self

    def on_item(self, cb: Callable[[Any], None]) -> "Job":
        self._cbs["item"].append(cb)
        return self

    def on_result(self, cb: Callable[[Any], None]) -> "Job":
        self._cbs["result"].append(cb)
        return self

    def on_error(self, cb: Callable[[str], None]) -> "Job":
        self._cbs["error"].append(cb)
        return self

    def on_cancelled(self, cb: Callable[[], None]) -> "Job":
        self._cbs["cancelled"].append(cb)
        return self

    def on_finished(self, cb: Callable[["Job"], None]) -> "Job":
        """Called last, after the thread has ended, whatever the outcome."""
        self._cbs["finished"].append(cb)
        return self

    # ---- control
    def cancel(self) -> None:
        self.token.cancel()

    @property
    def running(self) -> bool:
        return self._thread.isRunning() or self.state == "running"

    def wait(self, ms: int = -1) -> bool:
        return self._thread.wait(ms) if ms >= 0 else self._thread.wait()

    # ---- worker side
    def _progress(self, fraction: Optional[float], message: str) -> None:
        # Called in the worker thread; thinned to about 20 a second so a chatty job cannot flood the GUI.
        now = time.perf_counter()
        if fraction is None or fraction >= 1.0 or now - self._last_progress >= 0.05:
            self._last_progress = now
            self.runner._bridge.progress.emit(self, fraction, str(message))
        self.token.raise_if_cancelled()

    # ---- GUI side
    def _call(self, kind: str, *args) -> None:
        for cb in list(self._cbs[kind]):
            try:
                cb(*args)
            except Exception:  # a broken callback must not take the window down
                log.exception("callback for %s (%s) failed", self.name, kind)

    def _on_progress(self, fraction, message: str) -> None:
        if self.state == "running":
            self._call("progress", fraction, message)

    def _on_result(self, value) -> None:
        self.state, self.result_value = "done", value
        self._call("result", value)

    def _on_error(self, message: str) -> None:
        self.state, self.error_message = "failed", message
        self._call("error", message)

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self._call("cancelled")

    def _on_ended(self) -> None:
        if self.state == "running":  # the thread ended without a word (should not happen)
            self.state = "cancelled" if self.token.cancelled else "failed"
        self.runner._forget(self)
        self._call("finished", self)
        self.finished.emit(self)
        # the outcome (state, result_value, error_message) stays; what the job ran with and the callbacks
        # (which often hold the job itself) go, so that nothing but its last holder keeps it alive
        self._cbs = {k: [] for k in self._cbs}
        self._fn, self._args, self._kwargs = None, (), {}


class JobRunner(QObject):
    """Starts jobs and owns them until they end."""

    busy_changed = Signal(int)  # number of running jobs

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._jobs: set[Job] = set()
        b = self._bridge = _Bridge(self)
        b.progress.connect(self._progress)
        b.item.connect(self._item)
        b.result.connect(self._result)
        b.error.connect(self._error)
        b.cancelled.connect(self._cancelled)
        b.ended.connect(self._ended)

    def submit(self, fn: Callable, *args, name: str = "", **kwargs) -> Job:
        """Run fn(*args, progress=..., cancel=..., **kwargs) in a new thread; returns the Job at once."""
        job = Job(self, fn, args, kwargs, name or getattr(fn, "__name__", "job"))
        self._jobs.add(job)
        # below the GUI thread, so a busy job yields the CPU to repaints and clicks first
        job._thread.start(QThread.LowPriority)
        self.busy_changed.emit(len(self._jobs))
        return job

    # the bridge's signals, in the GUI thread, handed to their job
    @Slot(object, object, str)
    def _progress(self, job: Job, fraction, message: str) -> None:
        job._on_progress(fraction, message)

    @Slot(object, object)
    def _item(self, job: Job, value) -> None:
        job._call("item", value)

    @Slot(object, object)
    def _result(self, job: Job, value) -> None:
        job._on_result(value)

    @Slot(object, str)
    def _error(self, job: Job, message: str) -> None:
        job._on_error(message)

    @Slot(object)
    def _cancelled(self, job: Job) -> None:
        job._on_cancelled()

    @Slot(object)
    def _ended(self, job: Job) -> None:
        job._on_ended()

    def _forget(self, job: Job) -> None:
        job._thread.wait()
        self._jobs.discard(job)
        self.busy_changed.emit(len(self._jobs))

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel every job and wait for its thread; True when all ended within the time."""
        self.cancel_all()
        deadline = time.perf_counter() + timeout_ms / 1000
        ok = True
        for job in list(self._jobs):
            left = max(0, int((deadline - time.perf_counter()) * 1000))
            ok = job._thread.wait(left) and ok
        return ok
