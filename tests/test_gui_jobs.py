"""The GUI job runner frees what it has finished (issue 12, job bookkeeping): a job the page no longer holds is
gone, with its arguments, and hundreds of jobs leave the reference count of None where it was."""
from __future__ import annotations

import gc
import sys
import time
import weakref

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def wait_for(condition, timeout_s: float = 10.0) -> None:
    """Run the event loop until `condition()` holds. Not qtbot.waitUntil: each of its waits connects a timer,
    and PySide6 keeps a reference to None for every connection ever made, which would hide what is measured."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        QTest.qWait(2)


def _settle():
    for _ in range(3):
        QApplication.processEvents()
        gc.collect()


def test_finished_jobs_and_their_arguments_are_freed(qtbot, monkeypatch):
    from gui import jobs as jobs_module
    from gui.jobs import JobRunner

    # the failures' log records (kept by pytest, with references to None of their own) are not the runner's
    monkeypatch.setattr(jobs_module.log, "disabled", True)
    runner = JobRunner()

    class Payload:  # stands for a bundle or a report handed to a job
        pass

    def work(payload, i, progress, cancel):
        progress(0.5, "half way")
        if i % 3 == 1:
            raise ValueError("odd one")
        return i

    def run(n: int) -> tuple[list, list]:
        jobs, payloads, seen = [], [], []
        for i in range(n):
            payload = Payload()
            job = runner.submit(work, payload, i, name="work")
            # the pages' pattern: callbacks that hold the job itself
            job.on_result(lambda v, j=job: seen.append((j.name, v))).on_error(lambda m, j=job: seen.append(m))
            job.on_progress(lambda f, m, j=job: None).on_finished(lambda j: None)
            jobs.append(weakref.ref(job))
            payloads.append(weakref.ref(payload))
            wait_for(lambda: not runner.jobs)
            assert job.state == ("failed" if i % 3 == 1 else "done")
            del job, payload
        assert len(seen) == n
        return jobs, payloads

    run(10)
    _settle()
    before = sys.getrefcount(None)
    jobs, payloads = run(300)
    _settle()
    grown = sys.getrefcount(None) - before
    assert sum(r() is not None for r in jobs) == 0  # every job used to stay alive (300 of 300)
    assert sum(r() is not None for r in payloads) == 0
    # each job used to keep about 7 references to None (a Qt connection each, never released): +2,100 here
    assert abs(grown) < 100, grown


def test_a_held_job_keeps_its_outcome_after_it_ends(qtbot):
    from gui.jobs import JobRunner

    runner = JobRunner()
    job = runner.submit(lambda progress, cancel: {"answer": 42}, name="answer")
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert job.state == "done" and job.result_value == {"answer": 42} and not job.running
    late = []
    job.on_result(late.append)  # registered after the end: nothing runs again
    _settle()
    assert late == [] and not runner.jobs
