"""Collection stage: TikTok posts (TikTokApi + playwright on a system Chromium) and their videos (yt-dlp)
into a dataset.

    from engine.collect import collect, make_source, refresh
    result = collect(make_source("hashtag", "guitar"), "guitar.sqlite", 200, download=True,
                     progress=cb, cancel=token)
    refresh("guitar.sqlite", at_age_hours=168)

Both are jobs (engine.jobs): a progress callback and a CancelToken; a GUI runs them in a worker thread.
Nothing here imports TikTokApi, playwright or yt-dlp until a collection starts, so the rest of the program
works without the 'collect' extra.
"""
from .browser import find_browser
from .collector import CollectResult, collect
from .download import Download, VideoDownloader, media_folder
from .errors import Blocked, CollectError, MissingPackage, NotFound
from .refresh import RefreshResult, plan, refresh
from .settings import CollectSettings, load_settings, settings_path
from .sources import KINDS, Source, make_source
from .state import CollectState, all_states, load_state

__all__ = [
    "Blocked", "CollectError", "CollectResult", "CollectSettings", "CollectState", "Download", "KINDS",
    "MissingPackage", "NotFound", "RefreshResult", "Source", "VideoDownloader", "all_states", "collect",
    "find_browser", "load_settings", "load_state", "make_source", "media_folder", "plan", "refresh",
    "settings_path",
]
