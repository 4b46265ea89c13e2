"""Reading a dataset (engine.data.store.Dataset): posts with their labels and account counts, label and account
readings, videos, the posts CSV export, and the feature cache (features computed once per video file and spec)."""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, Mapping, Optional

import numpy as np

from ..errors import DataError
from .db import iso_utc, now_utc, sqlite_error
from .posts_csv import Post, write_posts_csv


@dataclass(frozen=True)
class Video:
    video_id: int
    sha256: str
    path: Path  # absolute
    size_bytes: int
    duration_s: Optional[float]
    fps: Optional[float]
    width: Optional[int]
    height: Optional[int]
    codec: Optional[str]
    has_audio: Optional[bool]
    container: Optional[str] = None
    frame_count: Optional[int] = None
    rotation: Optional[int] = None

    @property
    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class LabelReading:
    post_id: str
    views: Optional[float]
    likes: Optional[float]
    comments: Optional[float]
    shares: Optional[float]
    saves: Optional[float]
    popularity: Optional[float]
    measured_at: Optional[datetime]  # None: unknown
    age_hours: Optional[float]
    source: Optional[str]


def _label(r) -> LabelReading:
    return LabelReading(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                        datetime.fromisoformat(r[7]) if r[7] else None, r[8], r[9])


class ReadsMixin:
    """Dataset's queries and its feature cache. Uses what Dataset provides: path, conn, _read, _write, resolve."""

    def info(self) -> dict:
        """Counts: posts, authors, videos, labels (readings), and more detail for the CLI and the GUI."""
        one = lambda sql: self._read(sql)[0][0]  # noqa: E731
        first, last = self._read("SELECT min(post_time), max(post_time) FROM posts WHERE post_time IS NOT NULL")[0]
        sources = dict(self._read("SELECT source, count(*) FROM posts GROUP BY source ORDER BY source"))
        splits = dict(self._read("SELECT name, count(*) FROM splits GROUP BY name ORDER BY name"))
        return {
            "path": str(self.path),
            "schema_version": self._read("PRAGMA user_version")[0][0],
            "posts": one("SELECT count(*) FROM posts"),
            "authors": one("SELECT count(*) FROM authors"),
            "videos": one("SELECT count(*) FROM videos"),
            "labels": one("SELECT count(*) FROM labels"),
            "labelled_posts": one("SELECT count(DISTINCT post_id) FROM labels"),
            "posts_with_video": one("SELECT count(*) FROM posts WHERE video_id IS NOT NULL"),
            "author_readings": one("SELECT count(*) FROM author_readings"),
            "features": one("SELECT count(*) FROM (SELECT DISTINCT sha256, spec_version, backbone FROM features)"),
            "splits": splits,
            "sources": sources,
            "imports": one("SELECT count(*) FROM imports"),
            "first_post": first,
            "last_post": last,
        }

    _POST_SQL = """
        SELECT p.post_id, p.author_id, p.caption, p.hashtags, p.post_time, p.duration_s, p.width, p.height,
               p.music_title, p.music_original, p.language, p.location, p.video_path,
               CASE WHEN p.author_reading_id IS NULL THEN a.followers ELSE r.followers END,
               CASE WHEN p.author_reading_id IS NULL THEN a.following ELSE r.following END,
               CASE WHEN p.author_reading_id IS NULL THEN a.likes ELSE r.likes END,
               CASE WHEN p.author_reading_id IS NULL THEN a.videos ELSE r.videos END,
               l.views, l.likes, l.comments, l.shares, l.saves, l.popularity
        FROM posts p
        LEFT JOIN author_readings r ON r.reading_id = p.author_reading_id
        LEFT JOIN authors a ON a.author_id = p.author_id
        LEFT JOIN ({labels}) l ON l.post_id = p.post_id
        ORDER BY p.rowid
    """
    _LATEST_LABELS = """
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY post_id
                         ORDER BY measured_at IS NOT NULL DESC, measured_at DESC, label_id DESC) AS rn
                       FROM labels) WHERE rn = 1
    """
    _LABELS_AT_AGE = """
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY post_id
                         ORDER BY abs(age_hours - ?) , measured_at DESC, label_id DESC) AS rn
                       FROM labels WHERE age_hours IS NOT NULL) WHERE rn = 1
    """

    def posts(self, at_age_hours: Optional[float] = None) -> Iterator[Post]:
        """Every post, in import order, as engine.data.posts_csv.Post.

        Labels: the latest reading of each post, or, with `at_age_hours`, the reading whose age is closest
        to it (readings of unknown age are then not used). Account counts: the reading the post came
        with, else the author's latest. video_path: absolute."""
        if at_age_hours is None:
            sql, params = self._POST_SQL.format(labels=self._LATEST_LABELS), ()
        else:
            sql, params = self._POST_SQL.format(labels=self._LABELS_AT_AGE), (float(at_age_hours),)
        try:
            cur = self.conn.execute(sql, params)
            while True:
                rows = cur.fetchmany(1000)
                if not rows:
                    break
                for row in rows:
                    yield self._row_to_post(row)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None

    def _row_to_post(self, row) -> Post:
        (pid, author, caption, tags, when, dur, w, h, mtitle, morig, lang, loc, vpath,
         fol, fing, alikes, avids, views, likes, comments, shares, saves, pop) = row
        path = self.resolve(vpath)
        return Post(
            post_id=pid, author_id=author, caption=caption,
            hashtags=json.loads(tags) if tags is not None else None,
            post_time=datetime.fromisoformat(when) if when else None,
            duration_s=dur, width=w, height=h, music_title=mtitle,
            music_original=None if morig is None else bool(morig),
            author_followers=fol, author_following=fing, author_likes=alikes, author_videos=avids,
            language=lang, views=views, likes=likes, comments=comments, shares=shares, saves=saves,
            video_path=str(path) if path else None, popularity=pop, location=loc,
        )

    def labels_at_age(self, hours: float) -> dict[str, LabelReading]:
        """For each post with a reading of known age, the reading closest to `hours` after posting."""
        rows = self._read(
            f"SELECT post_id, views, likes, comments, shares, saves, popularity, measured_at, age_hours, source "
            f"FROM ({self._LABELS_AT_AGE})", (float(hours),))
        return {r[0]: _label(r) for r in rows}

    def label_readings(self, post_id: Optional[str] = None) -> list[LabelReading]:
        """Every label reading (of one post, or all), oldest first."""
        where, params = ("WHERE post_id = ?", (post_id,)) if post_id is not None else ("", ())
        rows = self._read(
            "SELECT post_id, views, likes, comments, shares, saves, popularity, measured_at, age_hours, source "
            f"FROM labels {where} ORDER BY post_id, measured_at IS NOT NULL, measured_at, label_id", params)
        return [_label(r) for r in rows]

    def author_readings(self, author_id: str) -> list[dict]:
        """Every reading of an account's counts, oldest first (as_of None: unknown)."""
        rows = self._read(
            "SELECT followers, following, likes, videos, as_of, source FROM author_readings WHERE author_id = ? "
            "ORDER BY as_of IS NOT NULL, as_of, reading_id", (author_id,))
        return [dict(zip(("followers", "following", "likes", "videos", "as_of", "source"), r)) for r in rows]

    _VIDEO_SQL = ("SELECT video_id, sha256, path, size_bytes, duration_s, fps, width, height, codec, has_audio, "
                  "container, frame_count, rotation FROM videos")

    def _video(self, r) -> Video:
        return Video(r[0], r[1], self.resolve(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                     None if r[9] is None else bool(r[9]), r[10], r[11], r[12])

    def videos(self) -> list[Video]:
        """Every video (one per distinct file content), in the order they were added."""
        return [self._video(r) for r in self._read(self._VIDEO_SQL + " ORDER BY video_id")]

    def post_videos(self) -> dict[str, Video]:
        """post_id -> its Video, for the posts that have a video file in the store."""
        rows = self._read(
            "SELECT p.post_id, v.video_id, v.sha256, v.path, v.size_bytes, v.duration_s, v.fps, v.width, v.height, "
            "v.codec, v.has_audio, v.container, v.frame_count, v.rotation "
            "FROM posts p JOIN videos v ON v.video_id = p.video_id ORDER BY p.rowid")
        return {r[0]: self._video(r[1:]) for r in rows}

    def export_csv(self, path: str | os.PathLike, at_age_hours: Optional[float] = None) -> int:
        """Write every post as a posts CSV (video paths relative to the CSV's folder); returns the count."""
        path = Path(path)
        out_dir = Path(os.path.abspath(path.parent))
        posts = list(self.posts(at_age_hours))
        for p in posts:
            if p.video_path:
                try:
                    p.video_path = Path(os.path.relpath(p.video_path, out_dir)).as_posix()
                except ValueError:  # another drive (Windows): keep it absolute
                    pass
        try:
            write_posts_csv(path, posts)
        except OSError as exc:
            raise DataError(f"{path}: cannot be written ({exc.strerror or exc})") from None
        return len(posts)

    # -- features -----------------------------------------------------------------------------------

    def put_features(self, sha256: str, spec_version, backbone: Optional[str],
                     arrays: Mapping[str, np.ndarray]) -> None:
        """Store named arrays (as float32) for one input, replacing what was cached under the same key."""
        rows = []
        now = iso_utc(now_utc())
        for name, arr in arrays.items():
            a = np.asarray(arr, dtype="<f4", order="C")
            rows.append((sha256, str(spec_version), backbone or "", str(name), json.dumps(list(a.shape)),
                         sqlite3.Binary(a.tobytes()), now))
        with self._write() as c:
            c.execute("DELETE FROM features WHERE sha256 = ? AND spec_version = ? AND backbone = ?",
                      (sha256, str(spec_version), backbone or ""))
            c.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def cached_features(self, sha256: str, spec_version, backbone: Optional[str]) -> Optional[dict[str, np.ndarray]]:
        """The arrays put_features stored for this key (float32, writable), or None when none are cached."""
        rows = self._read("SELECT name, shape, data FROM features WHERE sha256 = ? AND spec_version = ? AND backbone = ?",
                          (sha256, str(spec_version), backbone or ""))
        if not rows:
            return None
        out = {}
        for name, shape, data in rows:
            out[name] = np.frombuffer(data, dtype="<f4").reshape(json.loads(shape)).astype(np.float32, copy=True)
        return out

    def videos_without_features(self, spec_version, backbone: Optional[str]) -> list[Video]:
        """The videos nothing is cached for under (spec_version, backbone): what an extraction still has to do."""
        rows = self._read(
            self._VIDEO_SQL + " WHERE sha256 NOT IN (SELECT sha256 FROM features WHERE spec_version = ? AND "
            "backbone = ?) ORDER BY video_id", (str(spec_version), backbone or ""))
        return [self._video(r) for r in rows]

    # Failed extractions live in the generic `meta` table (no schema change): key
    # "feature_failure/<spec_version>/<backbone>/<sha256>", value = the reason.
    _FAILURE_PREFIX = "feature_failure/"

    def put_feature_failure(self, sha256: str, spec_version, backbone: Optional[str], reason: str) -> None:
        """Record why features could not be computed for one input (replacing an earlier reason)."""
        key = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/{sha256}"
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(reason)))

    def feature_failures(self, spec_version, backbone: Optional[str]) -> dict[str, str]:
        """sha256 -> reason, for the inputs whose extraction under (spec_version, backbone) failed."""
        prefix = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/"
        rows = self._read("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
        return {k[len(prefix):]: v for k, v in rows}

    def clear_feature_failures(self, spec_version, backbone: Optional[str]) -> None:
        prefix = f"{self._FAILURE_PREFIX}{spec_version}/{backbone or ''}/"
        with self._write() as c:
            c.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
