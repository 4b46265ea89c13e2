"""Video download: yt-dlp (as a library) first, TikTokApi's own bytes as the fallback.

Files are named by post id (`<id>.mp4`) in the dataset's media folder (`<dataset name>-videos/` beside the
dataset file), never by caption. A download goes to a private partial folder, is checked (size limit,
engine.media.probe, duration limit), and only then renamed into place: a file in the media folder is
always a whole, decodable video. A failed check is retried (yt-dlp, then the fallback, `download_attempts`
times with backoff); a post whose every attempt fails is kept without a video and reported.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import Cancelled, MediaError
from ..jobs import NEVER_CANCELLED, CancelToken
from ..media import VIDEO_EXTENSIONS, probe
from .settings import CollectSettings

log = logging.getLogger(__name__)
_PARTIAL_PREFIX = ".partial-"


def media_folder(dataset_path: str | os.PathLike) -> Path:
    """Where a dataset's collected videos go: `<folder>/<dataset stem>-videos`."""
    p = Path(os.path.abspath(dataset_path))
    return p.parent / f"{p.stem}-videos"


def file_stem(post_id: str) -> str:
    """A post id as a file name: TikTok's ids are digits; anything else is reduced to safe characters."""
    pid = str(post_id).strip()
    if re.fullmatch(r"\d{1,40}", pid):
        return pid
    return re.sub(r"[^A-Za-z0-9_-]", "_", pid)[:80] or "post"


@dataclass
class Download:
    post_id: str
    path: Optional[Path] = None
    via: str = ""  # "yt-dlp", "TikTokApi", "already there"
    problem: Optional[str] = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.path is not None


class _Failed(Exception):
    pass


class _YtdlpLog:
    def __init__(self):
        self.last = ""

    def debug(self, msg):
        pass

    def info(self, msg):
        pass

    def warning(self, msg):
        log.debug("yt-dlp: %s", msg)

    def error(self, msg):
        self.last = str(msg).replace("ERROR: ", "", 1)[:300]
        log.debug("yt-dlp: %s", msg)


class VideoDownloader:
    """Downloads one post's video at a time. `session` (engine.collect.session.TikTokSession, optional)
    gives the fallback, the browser's user agent and the backoff waits."""

    def __init__(self, folder: Path, settings: CollectSettings, session=None,
                 cancel: CancelToken = NEVER_CANCELLED):
        self.folder = Path(folder)
        self.settings = settings
        self.session = session
        self.cancel = cancel
        self.folder.mkdir(parents=True, exist_ok=True)
        self._clean_old_partials()
        self.partial = Path(tempfile.mkdtemp(prefix=_PARTIAL_PREFIX, dir=self.folder))

    def close(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)

    def _clean_old_partials(self) -> None:
        """Partial folders of runs that were killed (an hour old: not a run going on beside this one)."""
        for p in self.folder.glob(_PARTIAL_PREFIX + "*"):
            try:
                if p.is_dir() and time.time() - p.stat().st_mtime > 3600:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass

    def existing(self, post_id: str) -> Optional[Path]:
        stem = file_stem(post_id)
        for p in sorted(self.folder.glob(stem + ".*")):
            if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file() and p.stat().st_size > 0:
                return p
        return None

    # -- one post -------------------------------------------------------------------------------------

    async def fetch(self, item: dict) -> Download:
        pid = str(item.get("id"))
        found = self.existing(pid)
        if found is not None:
            return Download(pid, found, "already there")
        s = self.settings
        duration = _number((item.get("video") or {}).get("duration"))
        if duration is not None and s.max_video_s and duration > s.max_video_s:
            return Download(pid, problem=f"{duration:g} s long, over the {s.max_video_s:g} s limit (not downloaded)")
        problems: list[str] = []
        attempts = max(1, s.download_attempts)
        for attempt in range(1, attempts + 1):
            self.cancel.raise_if_cancelled()
            for via, fetch in (("yt-dlp", self._via_ytdlp), ("TikTokApi", self._via_api)):
                try:
                    got = await fetch(item, file_stem(pid))
                except _Failed as exc:
                    problems.append(f"{via}: {exc}")
                    continue
                reason = self._check(got)
                if reason is None:
                    final = self.folder / f"{file_stem(pid)}{got.suffix.lower() or '.mp4'}"
                    os.replace(got, final)
                    return Download(pid, final, via, attempts=attempt)
                problems.append(f"{via}: {reason}")
                got.unlink(missing_ok=True)
            if attempt < attempts:
                await self._sleep(min(s.backoff_max_s, s.backoff_s * 2 ** (attempt - 1)))
        latest = list(dict.fromkeys(problems))[-3:]
        return Download(pid, problem=f"download failed after {attempts} tries: " + "; ".join(latest),
                        attempts=attempts)

    async def _sleep(self, seconds: float) -> None:
        if self.session is not None:
            await self.session.sleep(seconds)
        else:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                self.cancel.raise_if_cancelled()
                await asyncio.sleep(min(0.2, end - time.monotonic()))

    def _check(self, path: Path) -> Optional[str]:
        """None when the file is a whole video within the limits; else why not."""
        s = self.settings
        size = path.stat().st_size
        if s.max_video_mb and size > s.max_video_mb * 1e6:
            return f"{size / 1e6:.1f} MB, over the {s.max_video_mb:g} MB limit"
        try:
            info = probe(path)
        except MediaError as exc:
            return f"the file is not a whole video ({exc})"
        if s.max_video_s and info.duration_s > s.max_video_s:
            return f"{info.duration_s:.0f} s long, over the {s.max_video_s:g} s limit"
        return None

    # -- yt-dlp ---------------------------------------------------------------------------------------

    def video_url(self, item: dict) -> str:
        author = item.get("author")
        name = author.get("uniqueId") if isinstance(author, dict) else author
        return self.settings.video_url_template.format(id=item.get("id"), author=name or "")

    async def _via_ytdlp(self, item: dict, stem: str) -> Path:
        url = self.video_url(item)
        return await asyncio.to_thread(self._ytdlp_blocking, url, stem)

    def _ytdlp_blocking(self, url: str, stem: str) -> Path:
        try:
            import yt_dlp
            from yt_dlp.utils import DownloadCancelled, match_filter_func
        except ImportError:
            raise _Failed("yt-dlp is not installed (pip install yt-dlp)") from None
        s = self.settings

        def hook(d):
            if self.cancel.cancelled:
                raise DownloadCancelled("cancelled")

        logger = _YtdlpLog()
        headers = {"Referer": "https://www.tiktok.com/"}
        ua = self.session.headers.get("user-agent") if self.session is not None else None
        if ua:
            headers["User-Agent"] = ua
        opts = {
            "outtmpl": {"default": str(self.partial / f"{stem}.%(ext)s")},
            # TikTok offers H.264 and H.265: H.264 decodes everywhere.
            "format": "b[vcodec^=h264]/b[vcodec^=avc]/b",
            "quiet": True, "no_warnings": True, "noprogress": True, "noplaylist": True,
            "logger": logger, "progress_hooks": [hook],
            "retries": 2, "fragment_retries": 2, "extractor_retries": 1,
            "socket_timeout": s.download_timeout_s, "overwrites": True, "cachedir": False,
            "http_headers": headers,
        }
        if s.max_video_mb:
            opts["max_filesize"] = int(s.max_video_mb * 1e6)
        if s.max_video_s:
            opts["match_filter"] = match_filter_func(f"duration <=? {s.max_video_s:g}")
        if s.proxy:
            opts["proxy"] = s.proxy
        try:
            with yt_dlp.YoutubeDL(opts) as ydl:
                info = ydl.extract_info(url, download=True)
        except DownloadCancelled:
            self.cancel.raise_if_cancelled()
            raise _Failed("stopped") from None
        except Exception as exc:  # yt-dlp's DownloadError and friends
            raise _Failed(logger.last or str(exc)[:300]) from None
        self.cancel.raise_if_cancelled()
        paths = [Path(d["filepath"]) for d in (info or {}).get("requested_downloads") or () if d.get("filepath")]
        paths = [p for p in paths if p.is_file()] or [p for p in self.partial.glob(stem + ".*")
                                                      if p.is_file() and not p.name.endswith(".part")]
        if not paths:
            raise _Failed(logger.last or "no file came (over the size or duration limit, or no video in the post)")
        return paths[0]

    # -- TikTokApi's bytes ----------------------------------------------------------------------------

    async def _via_api(self, item: dict, stem: str) -> Path:
        if self.session is None or self.session.api is None or not self.session.api.sessions:
            raise _Failed("no TikTok session")
        video = item.get("video") or {}
        if not (video.get("downloadAddr") or video.get("playAddr")):
            raise _Failed("the post has no download address")
        api = self.session.api
        sess = api.sessions[0]
        saved = sess.headers
        sess.headers = dict(saved or {})  # Video.bytes() adds range/referer to the session's own headers
        dest = self.partial / f"{stem}.mp4"
        limit = self.settings.max_video_mb * 1e6 if self.settings.max_video_mb else None
        try:
            try:
                stream = await api.video(data=item).bytes(stream=True)
            except Exception as exc:
                raise _Failed(f"{type(exc).__name__}: {str(exc)[:200]}") from None

            async def copy():
                total = 0
                with open(dest, "wb") as fh:
                    async for chunk in stream:
                        total += len(chunk)
                        if limit and total > limit:
                            raise _Failed(f"over the {self.settings.max_video_mb:g} MB limit")
                        fh.write(chunk)
                return total

            try:
                total = await self.session._bounded(copy(), self.settings.download_timeout_s * 5)
            except asyncio.TimeoutError:
                raise _Failed("too slow (timed out)") from None
            except (_Failed, Cancelled):
                raise
            except Exception as exc:
                raise _Failed(f"{type(exc).__name__}: {str(exc)[:200]}") from None
            if not total:
                raise _Failed("an empty answer")
            return dest
        except _Failed:
            dest.unlink(missing_ok=True)
            raise
        finally:
            sess.headers = saved


def _number(x) -> Optional[float]:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None
