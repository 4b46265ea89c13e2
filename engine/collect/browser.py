"""Find a Chromium-family browser the user already has, for playwright's `executable_path`.

Playwright's own browser downloads are not needed: Chromium, Google Chrome and Microsoft Edge all speak
the protocol playwright drives. Looked for, in order: the path given (argument or settings), then the
usual install places of each system, then the names on PATH, then a browser playwright downloaded itself.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Mapping, Optional

from .errors import CollectError

_PATH_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
               "microsoft-edge", "microsoft-edge-stable", "msedge", "chrome.exe", "msedge.exe")

_LINUX = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium",
          "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable", "/opt/google/chrome/chrome",
          "/usr/bin/microsoft-edge", "/opt/microsoft/msedge/msedge",
          "/var/lib/flatpak/exports/bin/org.chromium.Chromium",
          "/snap/bin/chromium")  # snap last: its confinement can refuse playwright's profile folder

_MAC_APPS = ("Google Chrome.app/Contents/MacOS/Google Chrome", "Chromium.app/Contents/MacOS/Chromium",
             "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
             "Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary")

_WINDOWS_RELATIVE = (r"Google\Chrome\Application\chrome.exe", r"Chromium\Application\chrome.exe",
                     r"Microsoft\Edge\Application\msedge.exe")


def candidate_paths(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The usual install places on this system, in the order they are tried."""
    if platform.startswith("win"):
        roots = [environ.get(k) for k in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA", "ProgramW6432")]
        roots += [r"C:\Program Files", r"C:\Program Files (x86)"]
        out: list[str] = []
        for rel in _WINDOWS_RELATIVE:
            for root in roots:
                if root:
                    p = f"{root.rstrip(chr(92))}\\{rel}"
                    if p not in out:
                        out.append(p)
        return out
    if platform == "darwin":
        home = environ.get("HOME", "")
        return [f"{base}/{app}" for app in _MAC_APPS for base in ("/Applications", f"{home}/Applications") if base]
    return list(_LINUX)


def _playwright_download(environ: Mapping[str, str], platform: str) -> Optional[str]:
    """A Chromium that `playwright install chromium` put in its cache, if any (None: let playwright look)."""
    root = environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if not root:
        if platform.startswith("win"):
            root = os.path.join(environ.get("LOCALAPPDATA", ""), "ms-playwright")
        elif platform == "darwin":
            root = os.path.join(environ.get("HOME", ""), "Library", "Caches", "ms-playwright")
        else:
            root = os.path.join(environ.get("HOME", ""), ".cache", "ms-playwright")
    try:
        return root if any(p.name.startswith("chromium") for p in Path(root).iterdir()) else None
    except OSError:
        return None


def find_browser(explicit: Optional[str] = None, *, platform: str = sys.platform,
                 environ: Mapping[str, str] = os.environ,
                 which: Callable[[str], Optional[str]] = shutil.which,
                 is_file: Callable[[str], bool] = os.path.isfile) -> Optional[str]:
    """The browser executable to launch.

    Returns a path, or None when only playwright's own downloaded Chromium is there (playwright then finds
    it). Raises CollectError when `explicit` is not a file, or when no browser is found at all."""
    if explicit:
        found = explicit if is_file(explicit) else which(explicit)
        if not found:
            raise CollectError(f"browser {explicit!r} not found; give the full path of chromium, chrome or msedge")
        return found
    for path in candidate_paths(platform, environ):
        if is_file(path):
            return path
    for name in _PATH_NAMES:
        found = which(name)
        if found:
            return found
    if _playwright_download(environ, platform):
        return None
    raise CollectError(
        "no Chromium, Google Chrome or Microsoft Edge found; install one (Debian/Ubuntu: "
        "'apt install chromium'; Windows and macOS: Google Chrome), or give its path with --browser PATH "
        "(or browser_path in the collection settings)")
