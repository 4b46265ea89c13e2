"""Writing into a dataset (engine.data.store.Dataset): an import is one transaction that adds posts, account and
label readings and videos, merging what is already there. A post id seen again updates the fields the new source
knows; a label or account reading identical to one already stored is not stored again; a video is its file's
sha256, whatever its name; a post made for a loose video gives way to the real post of that file."""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from ..errors import Cancelled, MediaError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress
from .db import iso_utc, now_utc, sqlite_error
from .importers import SourceBatch, SourcePost, read_source
from .posts_csv import Post

if TYPE_CHECKING:
    from .store import Dataset

_LABEL_FIELDS = ("views", "likes", "comments", "shares", "saves", "popularity")
_AUTHOR_FIELDS = ("author_followers", "author_following", "author_likes", "author_videos")
_PLACEHOLDER_PREFIX = "video:"


def _age_hours(measured_at: Optional[datetime], post_time: Optional[datetime]) -> Optional[float]:
    if measured_at is None or post_time is None:
        return None
    a = measured_at if measured_at.tzinfo else measured_at.replace(tzinfo=timezone.utc)
    b = post_time if post_time.tzinfo else post_time.replace(tzinfo=timezone.utc)
    hours = (a - b).total_seconds() / 3600.0
    if hours < -14.0:  # beyond any time-zone slack: the dates disagree
        return None
    return max(0.0, round(hours, 4))


#: control characters (NUL, escape, ...) a text field never needs; tab, newline and carriage return are kept
_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]}


def _text(x: Optional[str]) -> Optional[str]:
    """Imported text without control characters: a NUL byte in a caption is dropped, not stored and exported."""
    return None if x is None else str(x).translate(_CONTROLS)


def _num(x) -> Optional[float]:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


@dataclass
class ImportResult:
    """What one import did. `added`/`merged` count posts (merged: the post id was already there)."""

    format: str
    path: str
    added: int = 0
    merged: int = 0
    changed: int = 0  # merged posts whose stored fields the new source changed
    labels_added: int = 0
    videos_added: int = 0
    videos_merged: int = 0  # files whose content was already in the store (another name, or again)
    authors_added: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        s = (f"{self.added} posts added, {self.merged} merged ({self.changed} changed), "
             f"{self.labels_added} label readings added, "
             f"{self.videos_added} videos added")
        if self.videos_merged:
            s += f" ({self.videos_merged} already known)"
        if self.problems:
            s += f"; {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return s


@dataclass
class _FileInfo:
    """A video file resolved before the write transaction: its hash and, for new content, its probe."""

    ref: str
    sha256: str
    size: int
    mtime_ns: int
    probe: Optional[object] = None  # engine.media.MediaInfo, only when the content is new


class IngestMixin:
    """Dataset's imports. Uses what Dataset provides: path, conn, _read, _write, _ref, resolve."""

    def import_path(
        self,
        path: str | os.PathLike,
        format: Optional[str] = None,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Import a file or folder (format detected when None; see engine.data.importers.FORMATS).

        One transaction: on Cancelled, any error, or a kill, the store is left as it was.
        Raises DataError (unreadable source, busy or damaged store) or Cancelled."""
        batch = read_source(path, format, sub_progress(progress, 0.0, 0.1), cancel)
        return self.import_batch(batch, progress, cancel)

    def import_tiktok_items(
        self,
        items: Sequence[dict],
        base_dir: str | os.PathLike = ".",
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Import TikTok items already in memory (a collector's output), as one transaction."""
        from .tiktok import parse_items

        tf = parse_items(items, Path(base_dir))
        batch = SourceBatch("tiktok-json", Path(base_dir), tf.items, problems=list(tf.problems))
        return self.import_batch(batch, progress, cancel)

    def import_batch(self, batch: SourceBatch, progress: Progress = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED) -> ImportResult:
        """Write a SourceBatch: video files are hashed and probed first (outside the transaction, which
        then stays short), then everything is written in one transaction."""
        started = now_utc()
        result = ImportResult(format=batch.format, path=str(batch.path), notes=list(batch.notes))
        files = self._resolve_files(batch, result, progress, cancel)
        result.problems[:0] = batch.problems  # a streamed source knows its problems after this first pass
        read_at = started if batch.dated_at_import else None
        n = len(batch.posts) + len(batch.loose_videos)
        try:
            with self._write():
                w = _Writer(self, batch.format, started, result, files)
                for i, sp in enumerate(batch.posts):
                    cancel.raise_if_cancelled()
                    if i % 1000 == 0:
                        progress(0.5 + 0.5 * i / max(1, n), f"writing posts {i}/{len(batch.posts)}")
                    w.post(sp, sp.measured_at or read_at)
                for j, vf in enumerate(batch.loose_videos):
                    cancel.raise_if_cancelled()
                    w.loose_video(vf)
                    if j % 100 == 0:
                        progress(0.5 + 0.5 * (len(batch.posts) + j) / max(1, n), "adding videos without a row")
                w.finish_missing_summary(batch)
                cancel.raise_if_cancelled()
                self.conn.execute(
                    "INSERT INTO imports(format, path, started_at, finished_at, posts_added, posts_merged, "
                    "labels_added, videos_added, problems) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (batch.format, str(batch.path), iso_utc(started), iso_utc(now_utc()), result.added,
                     result.merged, result.labels_added, result.videos_added, len(result.problems)))
        except Cancelled:
            raise Cancelled("import cancelled; the dataset is unchanged") from None
        progress(1.0, result.summary())
        return result

    def _resolve_files(self, batch: SourceBatch, result: ImportResult, progress: Progress,
                       cancel: CancelToken) -> dict[Path, Optional[_FileInfo]]:
        """Hash (and, for content not yet stored, probe) every video file the batch names; None = absent
        or not a video (a problem is recorded)."""
        from ..media import probe

        # Only the files that exist are kept: a million rows naming absent videos (SMP ships none) must not
        # become a million paths in memory; an absent file is simply not in `out`.
        present: list[Path] = []
        seen: set[str] = set()
        named = (sp.video_file for sp in batch.posts if sp.video_file)
        for f in itertools.chain(named, batch.loose_videos):
            f = os.path.abspath(f)
            if f not in seen and os.path.isfile(f):
                seen.add(f)
                present.append(Path(f))
        out: dict[Path, Optional[_FileInfo]] = {}
        known_sha: set[str] = set()
        for i, f in enumerate(present):
            cancel.raise_if_cancelled()
            progress(0.1 + 0.4 * i / max(1, len(present)), f"hashing {f.name}")
            ref = self._ref(f)
            try:
                st = f.stat()
                cached = self._read(
                    "SELECT v.sha256 FROM video_files f JOIN videos v ON v.video_id = f.video_id "
                    "WHERE f.path = ? AND f.size_bytes = ? AND f.mtime_ns = ?", (ref, st.st_size, st.st_mtime_ns))
                sha = cached[0][0] if cached else sha256_file(f)
            except OSError as exc:
                result.problems.append(f"{f}: cannot be read ({exc.strerror or exc}); the post is kept without it")
                out[f] = None
                continue
            info = _FileInfo(ref, sha, st.st_size, st.st_mtime_ns)
            if sha not in known_sha and not self._read("SELECT 1 FROM videos WHERE sha256 = ?", (sha,)):
                try:
                    info.probe = probe(f)
                except MediaError as exc:
                    result.problems.append(f"{exc} (not added as a video)")
                    out[f] = None
                    continue
            known_sha.add(sha)
            out[f] = info
        return out


#: an import lists this many posts whose video is missing, and counts the rest
MAX_LISTED_MISSING = 1000


class _Writer:
    """The inside of one import transaction: merges posts, readings and videos."""

    def __init__(self, ds: "Dataset", fmt: str, now: datetime, result: ImportResult,
                 files: dict[Path, Optional[_FileInfo]]):
        self.ds, self.c, self.fmt, self.result, self.files = ds, ds.conn, fmt, result, files
        self.now = iso_utc(now)
        self.missing: list[str] = []  # the first MAX_LISTED_MISSING of n_missing
        self.n_missing = 0
        self.authors_seen: set[str] = set()

    def _exec(self, sql: str, params: Sequence = ()):
        try:
            return self.c.execute(sql, params)
        except sqlite3.Error as exc:
            raise sqlite_error(self.ds.path, exc) from None

    # videos -----------------------------------------------------------------------------------------

    def video(self, file: Path) -> Optional[int]:
        info = self.files.get(Path(os.path.abspath(file)))
        if info is None:
            return None
        row = self._exec("SELECT video_id, path FROM videos WHERE sha256 = ?", (info.sha256,)).fetchone()
        if row is None:
            m = info.probe
            audio = m.audio_streams[0] if m is not None and m.audio_streams else None
            cur = self._exec(
                "INSERT INTO videos(sha256, path, size_bytes, container, duration_s, fps, frame_count, width, height, "
                "rotation, codec, has_audio, audio_codec, audio_channels, audio_rate, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.sha256, info.ref, info.size,
                 *((m.container, _num(m.duration_s), _num(m.fps), m.frame_count, m.width, m.height, m.rotation,
                    m.codec, int(m.has_audio)) if m is not None else (None,) * 9),
                 *((audio.codec, audio.channels, audio.sample_rate) if audio else (None,) * 3),
                 self.now))
            vid = cur.lastrowid
            self.result.videos_added += 1
        else:
            vid, old_path = row
            if self.ds.resolve(old_path) is None or not self.ds.resolve(old_path).is_file():
                self._exec("UPDATE videos SET path = ? WHERE video_id = ?", (info.ref, vid))  # the file moved
            if not self._exec("SELECT 1 FROM video_files WHERE path = ? AND video_id = ?", (info.ref, vid)).fetchone():
                self.result.videos_merged += 1
        self._exec("INSERT OR REPLACE INTO video_files(path, video_id, size_bytes, mtime_ns, seen_at) "
                   "VALUES (?, ?, ?, ?, ?)", (info.ref, vid, info.size, info.mtime_ns, self.now))
        return vid

    def loose_video(self, file: Path) -> None:
        """A video no row named: a post of its own, unless a post already has this content."""
        vid = self.video(file)
        if vid is None:
            return
        if self._exec("SELECT 1 FROM posts WHERE video_id = ?", (vid,)).fetchone():
            return
        info = self.files[Path(os.path.abspath(file))]
        m = info.probe
        post = Post(post_id=f"{_PLACEHOLDER_PREFIX}{info.sha256[:16]}")
        if m is not None:
            post.duration_s, post.width, post.height = _num(m.duration_s), m.width, m.height
        self.post(SourcePost(post=post), None, video_id=vid, video_ref=info.ref)

    # readings ---------------------------------------------------------------------------------------

    def author(self, p: Post, as_of: Optional[str]) -> Optional[int]:
        values = tuple(_num(getattr(p, f)) for f in _AUTHOR_FIELDS)
        if p.author_id is not None and p.author_id not in self.authors_seen:
            if not self._exec("SELECT 1 FROM authors WHERE author_id = ?", (p.author_id,)).fetchone():
                self._exec("INSERT INTO authors(author_id) VALUES (?)", (p.author_id,))
                self.result.authors_added += 1
            self.authors_seen.add(p.author_id)
        if all(v is None for v in values):
            return None
        row = self._exec(
            "SELECT reading_id FROM author_readings WHERE author_id IS ? AND followers IS ? AND following IS ? "
            "AND likes IS ? AND videos IS ? LIMIT 1", (p.author_id, *values)).fetchone()
        if row is not None:
            return row[0]
        rid = self._exec("INSERT INTO author_readings(author_id, followers, following, likes, videos, as_of, source) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (p.author_id, *values, as_of, self.fmt)).lastrowid
        if p.author_id is not None:
            # The authors row holds the latest reading; a reading of unknown date never replaces a dated one.
            self._exec(
                "UPDATE authors SET followers = ?, following = ?, likes = ?, videos = ?, as_of = ? "
                "WHERE author_id = ? AND (as_of IS NULL OR (? IS NOT NULL AND ? >= as_of))",
                (*values, as_of, p.author_id, as_of, as_of))
        return rid

    def labels(self, p: Post, measured_at: Optional[datetime], new_post: bool) -> None:
        values = tuple(_num(getattr(p, f)) for f in _LABEL_FIELDS)
        if all(v is None for v in values):
            return
        if not new_post and self._exec("SELECT 1 FROM labels WHERE post_id = ? AND views IS ? AND likes IS ? AND comments IS ? "
                      "AND shares IS ? AND saves IS ? AND popularity IS ? LIMIT 1", (p.post_id, *values)).fetchone():
            return  # this reading is already stored (the same file imported again)
        self._exec("INSERT INTO labels(post_id, views, likes, comments, shares, saves, popularity, measured_at, "
                   "age_hours, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (p.post_id, *values, iso_utc(measured_at), _age_hours(measured_at, p.post_time), self.fmt,
                    self.now))
        self.result.labels_added += 1

    # posts ------------------------------------------------------------------------------------------

    _COLUMNS = ("author_id", "caption", "hashtags", "post_time", "duration_s", "width", "height", "music_title",
                "music_original", "language", "location", "video_id", "video_path", "author_reading_id")

    def post(self, sp: SourcePost, measured_at: Optional[datetime], video_id: Optional[int] = None,
             video_ref: Optional[str] = None) -> None:
        p = sp.post
        if sp.video_file is not None:
            video_id = self.video(sp.video_file)
            video_ref = self.ds._ref(sp.video_file)
            if video_id is None and not Path(sp.video_file).is_file():
                self.n_missing += 1
                if len(self.missing) < MAX_LISTED_MISSING:
                    self.missing.append(f"post {p.post_id}: video {sp.video_file} not found; kept without its video")
        reading = self.author(p, iso_utc(measured_at))
        values = {
            "author_id": p.author_id,
            "caption": _text(p.caption),
            "hashtags": json.dumps([_text(h) for h in p.hashtags], ensure_ascii=False) if p.hashtags is not None else None,
            "post_time": p.post_time.isoformat() if p.post_time is not None else None,
            "duration_s": _num(p.duration_s),
            "width": p.width,
            "height": p.height,
            "music_title": _text(p.music_title),
            "music_original": None if p.music_original is None else int(bool(p.music_original)),
            "language": _text(p.language),
            "location": _text(p.location),
            "video_id": video_id,
            "video_path": video_ref,
            "author_reading_id": reading,
        }
        old = self._exec(f"SELECT {', '.join(self._COLUMNS)} FROM posts WHERE post_id = ?", (p.post_id,)).fetchone()
        if old is None:
            cols = ("post_id",) + self._COLUMNS + ("source", "first_seen")
            self._exec(f"INSERT INTO posts({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       (p.post_id, *(values[k] for k in self._COLUMNS), self.fmt, self.now))
            self.result.added += 1
        else:
            # What the new source knows replaces what was stored; what it does not know is kept.
            merged = tuple(o if values[k] is None else values[k] for k, o in zip(self._COLUMNS, old))
            if merged != tuple(old):
                sets = ", ".join(f"{k} = ?" for k in self._COLUMNS)
                self._exec(f"UPDATE posts SET {sets} WHERE post_id = ?", (*merged, p.post_id))
                self.result.changed += 1
            self.result.merged += 1
        if video_id is not None and not p.post_id.startswith(_PLACEHOLDER_PREFIX):
            # A post of its own made earlier for this file (from a video folder) gives way to the real one.
            self._exec("DELETE FROM posts WHERE video_id = ? AND post_id LIKE ? AND post_id != ? AND source = ?",
                       (video_id, _PLACEHOLDER_PREFIX + "%", p.post_id, "video-folder"))
        self.labels(p, measured_at, new_post=old is None)

    def finish_missing_summary(self, batch: SourceBatch) -> None:
        if not self.n_missing:
            return
        if batch.videos_usually_absent:
            self.result.notes.append(
                f"{self.n_missing} of the videos the source names are not present (it ships metadata only); "
                "the posts are kept without them")
        else:
            self.result.problems.extend(self.missing)
            if self.n_missing > len(self.missing):
                self.result.problems.append(f"{self.n_missing - len(self.missing):,} more posts whose video was "
                                            "not found; kept without their video")
