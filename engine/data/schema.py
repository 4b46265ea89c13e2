"""The dataset store's schema and its migrations (engine.data.store): MIGRATIONS[i] takes a store from schema
version i to i + 1."""
from __future__ import annotations

import sqlite3
from typing import Callable


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement: executescript() would COMMIT the caller's transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE authors (
            author_id TEXT PRIMARY KEY,
            followers REAL, following REAL, likes REAL, videos REAL,
            as_of TEXT
        );
        CREATE TABLE author_readings (
            reading_id INTEGER PRIMARY KEY,
            author_id TEXT REFERENCES authors(author_id) ON DELETE CASCADE,
            followers REAL, following REAL, likes REAL, videos REAL,
            as_of TEXT, source TEXT
        );
        CREATE INDEX author_readings_author ON author_readings(author_id);
        CREATE TABLE videos (
            video_id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            container TEXT, duration_s REAL, fps REAL, frame_count INTEGER,
            width INTEGER, height INTEGER, rotation INTEGER, codec TEXT,
            has_audio INTEGER, audio_codec TEXT, audio_channels INTEGER, audio_rate INTEGER,
            added_at TEXT NOT NULL
        );
        CREATE TABLE video_files (
            path TEXT PRIMARY KEY,
            video_id INTEGER NOT NULL REFERENCES videos(video_id) ON DELETE CASCADE,
            size_bytes INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, seen_at TEXT NOT NULL
        );
        CREATE TABLE posts (
            post_id TEXT PRIMARY KEY,
            author_id TEXT REFERENCES authors(author_id),
            caption TEXT, hashtags TEXT, post_time TEXT,
            duration_s REAL, width INTEGER, height INTEGER,
            music_title TEXT, music_original INTEGER, language TEXT, location TEXT,
            video_id INTEGER REFERENCES videos(video_id) ON DELETE SET NULL,
            video_path TEXT,
            author_reading_id INTEGER REFERENCES author_readings(reading_id) ON DELETE SET NULL,
            source TEXT NOT NULL,
            first_seen TEXT NOT NULL
        );
        CREATE INDEX posts_author ON posts(author_id);
        CREATE INDEX posts_video ON posts(video_id);
        CREATE TABLE labels (
            label_id INTEGER PRIMARY KEY,
            post_id TEXT NOT NULL REFERENCES posts(post_id) ON DELETE CASCADE,
            views REAL, likes REAL, comments REAL, shares REAL, saves REAL, popularity REAL,
            measured_at TEXT, age_hours REAL, source TEXT, imported_at TEXT NOT NULL
        );
        CREATE INDEX labels_post ON labels(post_id);
        CREATE TABLE features (
            sha256 TEXT NOT NULL, spec_version TEXT NOT NULL, backbone TEXT NOT NULL, name TEXT NOT NULL,
            shape TEXT NOT NULL, data BLOB NOT NULL, created_at TEXT NOT NULL,
            PRIMARY KEY (sha256, spec_version, backbone, name)
        );
        CREATE TABLE splits (
            name TEXT NOT NULL,
            post_id TEXT NOT NULL REFERENCES posts(post_id) ON DELETE CASCADE,
            fold INTEGER NOT NULL,
            PRIMARY KEY (name, post_id)
        );
        CREATE TABLE imports (
            import_id INTEGER PRIMARY KEY,
            format TEXT NOT NULL, path TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
            posts_added INTEGER NOT NULL, posts_merged INTEGER NOT NULL, labels_added INTEGER NOT NULL,
            videos_added INTEGER NOT NULL, problems INTEGER NOT NULL
        );
        """
    )


#: MIGRATIONS[i] takes a store from schema version i to i + 1, inside the caller's transaction.
#: A schema change is one more function appended here (never edit a released one).
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_to_v1]
