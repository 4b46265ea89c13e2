"""The bad inputs every front end must answer with a one-line reason (shared by CLI and engine tests)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import av
import numpy as np

from media_factory import make_audio_only, make_video


def make_one_frame(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24")
        for p in vs.encode(frame):
            out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def make_truncated(src: Path, dst: Path) -> Path:
    """The first half of a real mp4 (an interrupted download)."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def make_bad_inputs(folder: Path, real_video: Path) -> dict[str, Path]:
    """Every kind of bad file the brief names, keyed by a short id. 'unreadable' is chmod 000."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = {
        "empty": folder / "empty.mp4",
        "text": folder / "notes.mp4",
        "half": folder / "half download.mp4",
        "audio": folder / "voice memo.m4a",
        "one_frame": folder / "one frame.mp4",
        "unreadable": folder / "locked.mp4",
    }
    bad["empty"].write_bytes(b"")
    bad["text"].write_text("This is a shopping list, not a video.\n" * 20, encoding="utf-8")
    make_truncated(real_video, bad["half"])
    make_audio_only(bad["audio"])
    make_one_frame(bad["one_frame"])
    shutil.copyfile(real_video, bad["unreadable"])
    os.chmod(bad["unreadable"], 0)
    return bad


def without_root_override() -> list[str]:
    """A command prefix under which file modes apply even to root (CI runs as root, and root reads
    a chmod-000 file): setpriv drops the capabilities that let root bypass them."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            import pytest

            pytest.skip("running as root without setpriv: a chmod-000 file stays readable")
        return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    return []
