"""On-screen text: PP-OCR text detection on a few frames, then recognition of a few of the largest lines
of one frame for a sample.

The models are RapidOCR's ONNX files (PP-OCRv6 small detector and recogniser), run by engine.cues.ppocr
with ONNX Runtime and numpy: neither rapidocr nor OpenCV nor Pillow is imported, so the frozen
application leaves them out. The files are read from <resources>/ocr/ (the frozen application) or
from the installed rapidocr package's models folder (a source checkout); nothing is downloaded.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..media import SampledFrame
from ..runtime import make_session, providers_for
from . import ppocr

DET_MODEL = "PP-OCRv6_det_small.onnx"
#: the detector quantised to 8 bits (packaging/ppocr_int8.py), run on the CPU: a quarter of the float model's
#: CPU time, the same text found (tests/test_ppocr.py::test_int8_detector_agrees_with_float)
DET_MODEL_INT8 = "PP-OCRv6_det_small_int8.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"  # angle classifier: not used (frames are upright)
#: detection input: the longer side is scaled to this (rapidocr's default scales the *shorter*
#: side up to 736, which makes a 480x854 frame 736x1312 and four times slower)
DET_LIMIT_SIDE = 640
MIN_BOX_PX = 8  # text lines lower than this are noise at this size
#: a "line" taller than this share of the frame, or covering more than MAX_BOX_AREA of it, is a
#: false detection on texture (a ball's seams, foliage) rather than a caption
MAX_BOX_HEIGHT = 0.2
MAX_BOX_AREA = 0.2
REC_LINES = 2  # lines read for the sample (about 30 ms each on one core)
REC_MIN_SCORE = 0.75
#: intra-op threads of the CPU sessions: one. Two threads spent 1.84 CPU s for 1.31 s of wall time on the cue's 30
#: frames of the shared clips, one 1.47 CPU s (the same boxes): the work per frame is too small to split well, and the
#: cue runs beside decoding, faces and sound on cores that are busy anyway (benchmarks/bench_text.py prints both)
CPU_THREADS = 1

_lock = threading.Lock()  # guards the creation of the models; running them needs no lock
#: (kind, execution providers...) -> the TextDetector ("det") or TextRecognizer ("rec")
_models: dict[tuple[str, ...], object] = {}


def _model_dir() -> Path:
    """The folder the detection model is read from (see engine.cues.ppocr.model_dirs)."""
    return ppocr.find_model(DET_MODEL).parent


def _model(kind: str, device: str, exact: bool = False):
    """The detector ("det") or the recogniser ("rec") for `device`, created once per set of execution providers:
    each on its own, so that detection starts as soon as its model is there (a cold `score` creates the
    recogniser, which only the sample at the end needs, while the first frames are detected). On the CPU the
    detector is the 8-bit one, unless `exact` asks for the float model as RapidOCR runs it."""
    providers = tuple(providers_for(device))
    cpu = providers == ("CPUExecutionProvider",)
    int8 = kind == "det" and not exact and cpu
    key = (kind, *providers) + (("exact",) if exact and kind == "det" else ())
    with _lock:
        model = _models.get(key)
        if model is None:
            path = ppocr.find_model(REC_MODEL if kind == "rec" else DET_MODEL_INT8 if int8 else DET_MODEL)
            # On the CPU one thread (CPU_THREADS), not spinning: ONNX Runtime's spinning pool loses badly when the
            # cores are shared (the picture and sound sides run side by side); elsewhere the thread budget.
            session, _ = make_session(path, device, threads=CPU_THREADS if cpu else 0, spin=False)
            model = (ppocr.TextDetector(session, limit_side_len=DET_LIMIT_SIDE, limit_type="max") if kind == "det"
                     else ppocr.TextRecognizer(session))
            _models[key] = model
    return model


def _engine(device: str, exact: bool = False) -> tuple[ppocr.TextDetector, ppocr.TextRecognizer]:
    """The detector and recogniser for `device` (`exact`: the float detector, see _model)."""
    return _model("det", device, exact), _model("rec", device)


def warm_up(device: str = "auto") -> None:
    """Create the detection and recognition sessions now and run each once."""
    det, rec = _engine(device)
    det(np.zeros((64, 64, 3), np.uint8))
    rec(np.zeros((48, 160, 3), np.uint8))


@dataclass(frozen=True)
class TextResult:
    times: list[float]
    lines: list[int]  # text lines found per frame
    coverage: list[float]  # share of the frame area covered by text boxes
    sample: list[str]  # a few lines read from the frame with the most text


def _boxes(out, h: int, w: int) -> np.ndarray:
    """The detected boxes (an n x 4 x 2 array, or an object with .boxes) kept as text lines."""
    boxes = getattr(out, "boxes", out)
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4, 2), np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4, 2)
    bh = np.ptp(boxes[:, :, 1], axis=1)
    bw = np.ptp(boxes[:, :, 0], axis=1)
    keep = (bh >= MIN_BOX_PX) & (bh <= MAX_BOX_HEIGHT * h) & (bw * bh <= MAX_BOX_AREA * h * w)
    return boxes[keep]


class TextScan:
    """detect_text a frame at a time, so that frames can be handed over as they are decoded:
    add() each frame (detection runs at once), then result(). Creating it loads the detector, result() the
    recogniser (when reading)."""

    def __init__(self, device: str = "auto", read: bool = True) -> None:
        self._det = _model("det", device)
        self._device, self._read = device, read
        self.times: list[float] = []
        self.lines: list[int] = []
        self.coverage: list[float] = []
        self._best: Optional[tuple[float, np.ndarray, np.ndarray]] = None

    def add(self, f: SampledFrame) -> None:
        img = f.image
        h, w = img.shape[:2]
        boxes = _boxes(self._det(img), h, w)
        sizes = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1) if len(boxes) else np.zeros(0)
        cover = float(min(1.0, sizes.sum() / (h * w)))
        self.times.append(float(f.time_s))
        self.lines.append(int(len(boxes)))
        self.coverage.append(cover)
        if len(boxes) and (self._best is None or cover > self._best[0]):
            self._best = (cover, img, boxes)

    def result(self) -> TextResult:
        best = self._best
        sample = _read(_model("rec", self._device), best[1], best[2]) if (self._read and best is not None) else []
        return TextResult(self.times, self.lines, self.coverage, sample)


def detect_text(frames: Sequence[SampledFrame], device: str = "auto", read: bool = True) -> TextResult:
    """Text lines and their coverage on each frame; with `read`, the sample of the frame with the
    most text. Raises InputError for a bad device and EngineError when a model file is missing."""
    scan = TextScan(device, read)
    for f in frames:
        scan.add(f)
    return scan.result()


def _read(rec: ppocr.TextRecognizer, img: np.ndarray, boxes: np.ndarray) -> list[str]:
    """Recognise the REC_LINES largest lines, returned top to bottom."""
    h, w = img.shape[:2]
    area = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1)
    chosen = sorted(np.argsort(-area)[:REC_LINES], key=lambda i: (boxes[i, :, 1].min(), boxes[i, :, 0].min()))
    out = []
    for i in chosen:
        x0, y0 = np.floor(boxes[i].min(axis=0)).astype(int)
        x1, y1 = np.ceil(boxes[i].max(axis=0)).astype(int)
        crop = img[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
        if crop.size == 0:
            continue
        txt, score = rec(crop)
        txt = " ".join(str(txt).split())
        if len(txt) >= 2 and score >= REC_MIN_SCORE:
            out.append(txt)
    return out
