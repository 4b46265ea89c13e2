"""The journal of a batch run (`<out>.partial`): each finished file, written as it finishes, so a killed batch
can be resumed, and a lock, so two batches writing the same output refuse rather than overwrite each other.

The file is JSON lines: a header {"journal": ..., "run": key} naming the model and the post details the scores
were made with, then one record per file, keyed by its path, size and modification time. A run with another
key (another model, other --followers...) starts the journal again; a file changed since it was scored is
scored again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from .outputs import OutputError, printable

JOURNAL_FORMAT = "virality-studio batch journal 1"


def file_key(path: str | os.PathLike) -> Optional[list]:
    """[size, mtime_ns] of a file, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def bundle_key(path: str | os.PathLike) -> str:
    """What identifies a model bundle: its manifest's content (a folder) or the file's size and time (a zip)."""
    p = Path(path)
    h = hashlib.sha256(os.fsencode(os.path.abspath(p)))
    try:
        if p.is_dir():
            h.update((p / "manifest.json").read_bytes())
        else:
            h.update(json.dumps(file_key(p)).encode())
    except OSError:
        pass
    return h.hexdigest()


def _lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class BatchJournal:
    """Open (creating or resuming) the journal beside `out` for a run identified by `run_key`, and lock it for
    this process until close(). Raises OutputError when another batch holds it."""

    def __init__(self, out: str | os.PathLike, run_key: str):
        self.path = Path(os.fspath(out) + ".partial")
        self.run_key = run_key
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"{printable(str(self.path))}: cannot be written ({exc.strerror or exc})") from None
        if not _lock(self._fd):
            os.close(self._fd)
            raise OutputError(f"{printable(str(out))}: another batch is writing this file now (its journal "
                              f"{printable(self.path.name)} is locked); wait for it or choose another --out")
        self.records: dict[str, dict] = {}
        self.discarded = 0  # records of another run found and dropped
        with open(self._fd, "rb", closefd=False) as fh:
            lines = fh.read().splitlines()
        header = _parse(lines[0]) if lines else None
        if header and header.get("journal") == JOURNAL_FORMAT and header.get("run") == run_key:
            for line in lines[1:]:
                rec = _parse(line)  # a line cut by the kill is dropped
                if rec and isinstance(rec.get("path"), str):
                    self.records[rec["path"]] = rec
        else:
            self.discarded = max(0, len(lines) - 1)
        self._fh = open(self._fd, "w", encoding="utf-8", closefd=False)
        self._fh.truncate(0)
        self._write({"journal": JOURNAL_FORMAT, "run": run_key})
        for rec in self.records.values():
            self._write(rec)
        self._fh.flush()

    def reusable(self, path: str | os.PathLike) -> Optional[dict]:
        """The record of `path` when it was scored by this run and has not changed since."""
        rec = self.records.get(os.fspath(path))
        if rec is not None and rec.get("key") == file_key(path):
            return rec
        return None

    def add(self, rec: dict) -> None:
        """Record one finished file (with its `key`), on disk at once."""
        self.records[rec["path"]] = rec
        self._write(rec)
        self._fh.flush()

    def _write(self, rec: dict) -> None:
        # ensure_ascii keeps the surrogates of a non-UTF-8 file name as \udcxx escapes, read back as they were
        self._fh.write(json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n")

    def close(self, remove: bool) -> None:
        """Release the lock; `remove`: the run finished and its output is written, the journal is done with."""
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        if remove and os.name != "nt":
            self.path.unlink(missing_ok=True)  # while still locked: no other batch can have opened it
        os.close(self._fd)
        if remove and os.name == "nt":  # Windows cannot remove an open file
            self.path.unlink(missing_ok=True)


def _parse(line: bytes) -> Optional[dict]:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None
