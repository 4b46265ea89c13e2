import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_VIDEOS = SHARED / "data" / "videos"
SMP_DIR = SHARED / "data" / "smp-video"


def shared_videos() -> list[Path]:
    return sorted(SHARED_VIDEOS.glob("*/*.mp4"))


@pytest.fixture
def shared_video_paths():
    paths = shared_videos()
    if not paths:
        pytest.skip(f"no shared videos at {SHARED_VIDEOS} (../shared is absent in a plain clone)")
    return paths


@pytest.fixture
def smp_dir():
    if not (SMP_DIR / "train").is_dir():
        pytest.skip(f"SMP-Video not found at {SMP_DIR} (../shared is absent in a plain clone)")
    return SMP_DIR
