"""Faces: OpenCV's Haar cascade (frontal faces) on a few frames of moderate size.

A Haar cascade misses profiles and small faces and sometimes fires on texture; it is cheap.
Detections need several overlapping hits (MIN_NEIGHBOURS) to count. The detector is OpenCV's
CascadeClassifier.detectMultiScale reproduced in numpy (engine.cues.haar: the same boxes as OpenCV),
so OpenCV itself is not needed; only its cascade file is, shipped with the application as
<resources>/faces/haarcascade_frontalface_default.xml, or found in an installed opencv-python-headless
(cv2/data) in a source checkout.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..media import SampledFrame
from . import haar

CASCADE = "haarcascade_frontalface_default.xml"
SCALE_FACTOR = 1.15  # 1.1 finds a few more faces on the shared clips at 1.3x the cost
MIN_NEIGHBOURS = 5
MIN_FACE_PX = 24  # the cascade's own window

# The parsed cascade is read-only once built, so threads (batch scoring runs several jobs) share it.
_lock = threading.Lock()
_loaded: Optional[haar.HaarCascade] = None


def _resources_dir() -> Path:
    from engine import resources_dir

    return resources_dir()


def _opencv_data_dirs() -> list[Path]:
    """cv2/data of an installed opencv-python(-headless), found without importing cv2."""
    from engine import package_dirs

    return [d / "data" for d in package_dirs("cv2")]


def cascade_path() -> Path:
    """The cascade file: the application's own copy first, then OpenCV's. EngineError if neither exists."""
    candidates = [_resources_dir() / "faces" / CASCADE] + [d / CASCADE for d in _opencv_data_dirs()]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p.parent) for p in candidates)
    raise EngineError(
        f"the face detector's model {CASCADE} is missing (looked in {looked}); reinstall Virality Studio, "
        "or in a source checkout reinstall opencv-python-headless (pip install opencv-python-headless), which ships it"
    )


def _cascade() -> haar.HaarCascade:
    global _loaded
    with _lock:
        if _loaded is None:
            path = cascade_path()
            try:
                _loaded = haar.HaarCascade(path)
            except haar.CascadeError as e:
                raise EngineError(
                    f"the face detector could not be loaded from {path} ({e}); reinstall Virality Studio, "
                    "or in a source checkout reinstall opencv-python-headless"
                ) from e
        return _loaded


@dataclass(frozen=True)
class FaceResult:
    times: list[float]
    counts: list[int]  # faces found per frame
    largest: list[float]  # the largest face's share of the frame area per frame, 0 when none


def detect_faces(frames: Sequence[SampledFrame]) -> FaceResult:
    clf = _cascade()
    times, counts, largest = [], [], []
    for f in frames:
        grey = haar.equalize_hist(haar.rgb_to_grey(f.image))
        found = clf.detect(
            grey, scale_factor=SCALE_FACTOR, min_neighbors=MIN_NEIGHBOURS, min_size=(MIN_FACE_PX, MIN_FACE_PX)
        )
        found = np.asarray(found).reshape(-1, 4)
        area = float(grey.shape[0] * grey.shape[1])
        times.append(float(f.time_s))
        counts.append(int(len(found)))
        largest.append(float((found[:, 2] * found[:, 3]).max() / area) if len(found) else 0.0)
    return FaceResult(times, counts, largest)
