"""Virality Studio engine: plain Python, never imports Qt (a test enforces it)."""
__version__ = "0.1.0"

from pathlib import Path as _Path


def resources_dir() -> _Path:
    """<app>/resources: the default model, and in an installer the files it ships (ocr/, faces/, backbones/,
    licenses/). Beside the engine package both in a checkout and in the frozen app."""
    return _Path(__file__).parent.parent / "resources"


def package_dirs(name: str) -> list[_Path]:
    """The folders of an installed package, found without importing it (importing cv2 or rapidocr loads
    OpenCV); empty when it is not installed or is a plain module."""
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return []
    return [_Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []
