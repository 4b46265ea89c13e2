"""What a dataset can import, and how each format becomes posts for the store.

Formats (FORMATS): `posts-csv` (engine.data.posts_csv), `smp` (an SMP-Video split folder, through
engine.data.smp.load_smp), `tiktok-json` (engine.data.tiktok) and `video-folder` (a folder of videos with
posts CSVs in it or one named like the folder beside it; a video no CSV row names becomes a post of its
own). detect_format() picks one from the path; read_source() reads it into a SourceBatch, which the
store (engine.data.store) writes in one transaction. Nothing here touches the store.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import DataError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ..media import VIDEO_EXTENSIONS
from .posts_csv import PostsReader, SourcePost, read_posts_csv
from .smp import SNAPSHOT_NOTE, load_smp
from .tiktok import load_tiktok_json, looks_like_tiktok

FORMATS: tuple[str, ...] = ("posts-csv", "smp", "tiktok-json", "video-folder")
_SMP_GLOB = "SMP-Video_anonymized_posts_*.jsonl"


@dataclass
class SourceBatch:
    format: str
    path: Path
    #: a list, or (posts-csv) a StreamedPosts that reads the file again on each pass
    posts: list[SourcePost] = field(default_factory=list)
    #: videos to keep as posts of their own unless some post already has the same file (video-folder)
    loose_videos: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: True when the source's counts are dated at import (a CSV export, a collection); False when their
    #: date is unknown and must stay unknown (SMP-Video's snapshot)
    dated_at_import: bool = True
    #: True when the source names videos that are normally absent (SMP-Video ships metadata only):
    #: missing files then make one summary line, not one problem per post
    videos_usually_absent: bool = False


def _is_smp_dir(path: Path) -> bool:
    return path.is_dir() and (any(path.glob(_SMP_GLOB)) or (path / "train").is_dir() and any((path / "train").glob(_SMP_GLOB)))


def _video_files(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                out.append(Path(root) / name)
    return out


def _sniff_json(path: Path) -> Optional[str]:
    """'tiktok-json', 'smp' (one SMP-Video JSONL file) or None."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.read(1 << 20)
    except (OSError, UnicodeDecodeError):
        return None
    candidates = [head]
    first_line = head.lstrip().split("\n", 1)[0]
    if first_line != head.strip():
        candidates.append(first_line)
    for text in candidates:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "pid" in obj and "uid" in obj:
            return "smp"
        if looks_like_tiktok(obj):
            return "tiktok-json"
    if path.name.startswith("SMP-Video_anonymized_"):
        return "smp"
    if head.lstrip().startswith(("[", "{")):
        try:  # the whole file, when the first megabyte was not enough
            obj = json.loads(path.read_text(encoding="utf-8-sig"))
            if looks_like_tiktok(obj):
                return "tiktok-json"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            pass
    return None


def detect_format(path: str | os.PathLike) -> str:
    """The format of a file or folder to import, one of FORMATS. Raises DataError when none fits."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if _is_smp_dir(path):
            return "smp"
        if _video_files(path):
            return "video-folder"
        csvs = sorted(path.glob("*.csv"))
        if csvs:
            raise DataError(
                f"{path}: a folder with CSV files but no videos; import the CSV file itself "
                f"(e.g. {csvs[0].name})"
            )
        raise DataError(
            f"{path}: nothing to import here; expected videos (a video folder), SMP-Video JSONL files, "
            "or give a posts CSV or TikTok JSON file"
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "posts-csv"
    if suffix in (".json", ".jsonl", ".ndjson"):
        fmt = _sniff_json(path)
        if fmt:
            return fmt
        raise DataError(
            f"{path}: JSON, but neither TikTok items (objects with id, desc, createTime, stats) nor "
            "SMP-Video records; pass --format if you know what it is"
        )
    if suffix in VIDEO_EXTENSIONS:
        raise DataError(f"{path}: a single video; import its folder instead (format video-folder)")
    raise DataError(
        f"{path}: unknown kind of file; give a posts CSV (.csv), TikTok item JSON (.json/.jsonl), "
        "an SMP-Video folder or a folder of videos, or pass --format"
    )


def _posts_csv(path: Path) -> tuple[list[SourcePost], list[str]]:
    pf = read_posts_csv(path)
    base = pf.base_dir.resolve()
    problems = [f"{path.name}: {p}" for p in pf.problems]
    if pf.unknown_columns:
        problems.append(f"{path.name}: columns not used: {', '.join(pf.unknown_columns)}")
    return [SourcePost(post=p, video_file=p.video_file(base)) for p in pf.posts], problems


class StreamedPosts:
    """The posts of a posts CSV as SourcePosts, read from the file again on each pass instead of held in
    memory (a 1 M-row file is 300 MB of text and several GB as objects). The first complete pass fills
    `problems` (the caller's list) and the count that len() gives."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.base = path.parent.resolve()
        self.problems = problems
        self._count: Optional[int] = None
        PostsReader(path).close()  # a file that is not a posts CSV is refused now, not mid-import

    def __iter__(self):
        with PostsReader(self.path) as reader:
            for p in reader:
                yield SourcePost(post=p, video_file=p.video_file(self.base))
        if self._count is None:
            self._count = reader.n_posts
            name = self.path.name
            self.problems.extend(f"{name}: {p}" for p in reader.problems)
            if reader.problem_count > len(reader.problems):
                self.problems.append(f"{name}: {reader.problem_count - len(reader.problems):,} more problems "
                                     "not listed")
            if reader.unknown_columns:
                self.problems.append(f"{name}: columns not used: {', '.join(reader.unknown_columns)}")

    def __len__(self) -> int:
        if self._count is None:
            for _ in self:
                pass
        return self._count

    def __bool__(self) -> bool:
        return len(self) > 0


def read_posts_csv_source(path: Path) -> SourceBatch:
    if path.is_dir():
        raise DataError(f"{path}: is a folder; a posts CSV is a file (or use --format video-folder)")
    batch = SourceBatch("posts-csv", path)
    batch.posts = StreamedPosts(path, batch.problems)
    return batch


def _smp_split_dir(path: Path) -> Path:
    if path.is_file():
        path = path.parent
    if any(path.glob(_SMP_GLOB)):
        return path
    if (path / "train").is_dir():
        return path / "train"
    raise DataError(
        f"{path}: no SMP-Video files here; expected SMP-Video_anonymized_posts_<split>.jsonl "
        "(give the train/ or test/ folder)"
    )


def read_smp_source(path: Path, progress: Progress, cancel: CancelToken) -> SourceBatch:
    split_dir = _smp_split_dir(path)
    posts, stats = load_smp(split_dir, progress, cancel)
    root = split_dir.parent  # SMP's video_path is relative to the dataset root ("train/USER/VIDEO.mp4")
    batch = SourceBatch("smp", split_dir, dated_at_import=False, videos_usually_absent=True)
    for p in posts:
        batch.posts.append(SourcePost(post=p, video_file=(root / p.video_path) if p.video_path else None))
    batch.notes.append(f"SMP-Video: {SNAPSHOT_NOTE}; their date is unknown and is stored as such")
    if stats.get("repaired_overflow"):
        batch.notes.append(f"SMP-Video: {stats['repaired_overflow']} account like counts stored as wrapped "
                           "32-bit integers were unwrapped")
    return batch


def read_tiktok_source(path: Path) -> SourceBatch:
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give the TikTok JSON file")
    tf = load_tiktok_json(path)
    return SourceBatch("tiktok-json", path, tf.items, problems=list(tf.problems))


def read_video_folder_source(path: Path) -> SourceBatch:
    if not path.is_dir():
        raise DataError(f"{path}: not a folder; the video-folder format takes a folder of videos")
    batch = SourceBatch("video-folder", path)
    csvs = sorted(path.glob("*.csv"))
    beside = path.parent / f"{path.name}.csv"
    if beside.is_file():
        csvs.append(beside)
    for csv_path in csvs:
        try:
            posts, problems = _posts_csv(csv_path)
        except DataError as exc:
            batch.problems.append(f"{csv_path.name}: not used ({exc})")
            continue
        batch.posts.extend(posts)
        batch.problems.extend(problems)
    batch.loose_videos = _video_files(path)
    if not batch.loose_videos and not batch.posts:
        raise DataError(f"{path}: no videos and no posts CSV in this folder")
    return batch


def read_source(
    path: str | os.PathLike,
    format: Optional[str] = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> SourceBatch:
    """Read a file or folder in `format` (detected when None) into a SourceBatch. Raises DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; one of: {', '.join(FORMATS)}")
    progress(None, f"reading {path.name} ({fmt})")
    if fmt == "posts-csv":
        return read_posts_csv_source(path)
    if fmt == "smp":
        return read_smp_source(path, progress, cancel)
    if fmt == "tiktok-json":
        return read_tiktok_source(path)
    return read_video_folder_source(path)
