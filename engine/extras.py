"""The optional extras (pyproject's [project.optional-dependencies]) a job needs, checked without importing
them: `missing("train")` is None when every package of the extra is installed, else one line that names the
extra and the pip command that installs it."""
from __future__ import annotations

from importlib.util import find_spec
from typing import Optional

#: Import names of each extra's packages (what a job imports when it starts).
EXTRAS = {
    "train": ("sklearn", "scipy", "skl2onnx", "onnx", "torch", "matplotlib"),
    "collect": ("TikTokApi", "playwright", "yt_dlp"),
}


def _installed(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing(extra: str) -> Optional[str]:
    """None when `extra` is installed; otherwise "needs the 'X' extra (not installed: a, b): pip install ..."."""
    absent = [name for name in EXTRAS[extra] if not _installed(name)]
    if not absent:
        return None
    return (f"needs the '{extra}' extra (not installed: {', '.join(absent)}): "
            f"pip install 'virality-studio[{extra}]'")
