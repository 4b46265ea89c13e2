"""Every file the user names as an output goes through here (batch --out, dataset export, train --out,
import-smp, the window's Export CSV and Export bundle).

- check_output(): look at the destination BEFORE any work is done, and refuse, with one plain reason, a
  missing or read-only folder, a folder where a file goes, an input of the same run, a dataset, a video, or
  any existing file that is not of the kind we write (the last three can be overridden with force=True).
- atomic_file(): write to a temporary file in the destination's folder and rename it into place, with the
  mode a new file of the user's would get (umask), never mkstemp's 0600.
- safe_cell() / unsafe_cell(): spreadsheet-safe CSV cells (a leading quote before = + - @ tab CR) and back.
- printable(): file names that are not valid UTF-8 (carried as surrogateescape text, as os.listdir gives
  them) as plain text, their odd bytes shown as \\xNN, for JSON, CSV and the terminal.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional

from .errors import InputError

#: What an output can be: the kinds of file (and folder) we write.
KINDS = ("csv", "zip", "bundle")

#: The first bytes of files we never write over without force: datasets and videos.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_VIDEO_MAGIC = (b"\x1a\x45\xdf\xa3",  # Matroska / WebM
                b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"GIF8",
                b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")  # ASF / WMV
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class OutputError(InputError):
    """A destination that must not, or cannot, be written."""


def printable(text: str) -> str:
    """`text` with the bytes a non-UTF-8 file name carries (lone surrogates from surrogateescape) shown as
    \\xNN: always encodable as UTF-8, so JSON, CSV and the terminal take it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate outside U+DC80-U+DCFF: not from a file name
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def printable_tree(obj):
    """printable() applied to every string (keys too) in a JSON-like structure."""
    if isinstance(obj, str):
        return printable(obj)
    if isinstance(obj, dict):
        return {printable(k) if isinstance(k, str) else k: printable_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [printable_tree(v) for v in obj]
    return obj


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ tab or CR gets a leading single
    quote (as OWASP and spreadsheet-safe exporters do), unless it is a plain number such as -3.5. Names that
    are not valid UTF-8 are made printable. Other values pass unchanged."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    if value.startswith(_FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def unsafe_cell(value: Optional[str]) -> Optional[str]:
    """The text safe_cell() was given: drops the quote it adds (reading back a CSV we wrote)."""
    if value and value.startswith("'") and value[1:].startswith(_FORMULA_STARTS) and not _is_number(value[1:]):
        return value[1:]
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def safe_row(row):
    """safe_cell() on every cell of a row (a dict's values, or a list)."""
    if isinstance(row, dict):
        return {k: safe_cell(v) for k, v in row.items()}
    return [safe_cell(v) for v in row]


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a new file of the user's gets: 0666 less the umask (0644 with the usual umask 022)."""
    return 0o666 & ~_umask()


def _head(path: Path, n: int = 4096) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _is_video_file(path: Path, head: bytes) -> bool:
    from .media import is_video_name  # media imports PyAV: only when a file is there to look at

    return is_video_name(path) or head[4:8] == b"ftyp" or head.startswith(_VIDEO_MAGIC)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output(path: str | os.PathLike, kind: str, *, inputs: Iterable[str | os.PathLike] = (),
                 force: bool = False, what: str = "the output") -> Path:
    """Raise OutputError (one line) when `path` must not or cannot receive an output of `kind` ('csv', 'zip',
    or 'bundle', a folder); return it as a Path otherwise. Done before any work, so a run never fails at
    its end. `inputs`: the files the same run reads (never written over). `force` allows replacing a file
    that is not of the kind we write (a dataset, a video, another file), never an input, a folder or a
    device."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not os.fspath(path):
        raise OutputError(f"{what}: no file name given")
    p = Path(path)
    shown = printable(str(p))
    parent = Path(os.path.abspath(p)).parent
    if not parent.exists():
        raise OutputError(f"{shown}: the folder {printable(str(parent))} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"{shown}: {printable(str(parent))} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{shown}: the folder {printable(str(parent))} is read-only; choose another place")
    for src in inputs:
        if _same(p, Path(src)):
            raise OutputError(f"{shown}: is an input of this run; writing there would destroy it")
    if not os.path.lexists(p):
        return p
    try:
        st = os.stat(p)
    except OSError:  # a dangling symbolic link: writing would follow it somewhere else
        raise OutputError(f"{shown}: is a broken symbolic link; remove it or choose another name") from None
    if kind == "bundle":
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{shown}: is a file, not a model bundle folder; choose a new folder name")
        names = set(os.listdir(p))
        if names and "manifest.json" not in names and not force:
            raise OutputError(f"{shown}: is a folder that is not a model bundle; it would be replaced whole "
                              "(choose a new folder name, or pass --force)")
        if not os.access(p, os.W_OK):
            raise OutputError(f"{shown}: is read-only")
        return p
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: is a folder; give a file name ({shown}/name.{kind})")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{shown}: is not a regular file (a device, pipe or socket); choose a file name")
    head = _head(p)
    if head.startswith(_SQLITE_MAGIC):
        reason = "is a dataset"
    elif _is_video_file(p, head):
        reason = "is a video"
    elif kind == "zip":
        reason = None if head.startswith(_ZIP_MAGIC) or not head else "is not a .zip"
    else:
        reason = None if p.suffix.lower() == ".csv" and _is_text(head) else "is not a CSV file"
    if reason and not force:
        raise OutputError(f"{shown}: {reason}; it would be overwritten (choose another name, or pass --force)")
    return p


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut by the 4 KB read is still text
        return exc.start >= len(head) - 3
    return True


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", encoding: Optional[str] = "utf-8",
                newline: Optional[str] = "") -> Iterator[IO]:
    """Open a temporary file beside `path`; on a clean exit it is flushed, given the user's normal mode and
    renamed to `path` (so readers see the old file or the new one, never half of one); on an error it is
    removed and `path` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=os.path.abspath(path.parent))
    try:
        os.chmod(tmp, file_mode())
        binary = "b" in mode
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
