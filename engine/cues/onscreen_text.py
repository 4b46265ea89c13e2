"""On-screen text: PP-OCR text detection (RapidOCR's ONNX models, shipped inside the rapidocr wheel)
on a few frames, then recognition of a few of the largest lines of one frame for a sample.

RapidOCR 3.x downloads a model whenever a model_path is left empty (it resolves one from
default_models.yaml). Every model path is therefore set explicitly to the files in the
installed package, so nothing is fetched at run time.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..media import SampledFrame
from ..runtime import providers_for

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
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

_lock = threading.Lock()  # RapidOCR keeps per-call flags on the instance: one call at a time
_engines: dict[bool, object] = {}


def _model_dir() -> Path:
    return Path(str(resources.files("rapidocr") / "models"))


def _engine(device: str):
    use_cuda = "CUDAExecutionProvider" in providers_for(device)
    eng = _engines.get(use_cuda)
    if eng is None:
        from rapidocr import RapidOCR

        models = _model_dir()
        missing = [m for m in (DET_MODEL, REC_MODEL) if not (models / m).is_file()]
        if missing:
            raise EngineError(
                f"the text detector's model {', '.join(missing)} is missing from {models}; "
                "reinstall rapidocr (pip install --force-reinstall 'rapidocr>=3.4,<4')"
            )
        eng = RapidOCR(
            params={
                "Global.log_level": "critical",
                "Global.use_cls": False,
                "Det.model_path": str(models / DET_MODEL),
                "Rec.model_path": str(models / REC_MODEL),
                "Cls.model_path": str(models / CLS_MODEL),
                "Det.limit_type": "max",
                "Det.limit_side_len": DET_LIMIT_SIDE,
                "EngineConfig.onnxruntime.use_cuda": use_cuda,
                # One thread: ONNX Runtime's spinning thread pool loses badly when the cores are
                # shared (the picture and sound sides run side by side, batch jobs in parallel).
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        _engines[use_cuda] = eng
    return eng


def warm_up(device: str = "auto") -> None:
    """Create the detection and recognition sessions now (RapidOCR creates them on first use)."""
    with _lock:
        eng = _engine(device)
        eng(np.zeros((64, 64, 3), np.uint8), use_det=True, use_cls=False, use_rec=False)
        eng(np.zeros((48, 160, 3), np.uint8), use_det=False, use_cls=False, use_rec=True)


@dataclass(frozen=True)
class TextResult:
    times: list[float]
    lines: list[int]  # text lines found per frame
    coverage: list[float]  # share of the frame area covered by text boxes
    sample: list[str]  # a few lines read from the frame with the most text


def _boxes(out, h: int, w: int) -> np.ndarray:
    boxes = getattr(out, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4, 2), np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4, 2)
    bh = np.ptp(boxes[:, :, 1], axis=1)
    bw = np.ptp(boxes[:, :, 0], axis=1)
    keep = (bh >= MIN_BOX_PX) & (bh <= MAX_BOX_HEIGHT * h) & (bw * bh <= MAX_BOX_AREA * h * w)
    return boxes[keep]


def detect_text(frames: Sequence[SampledFrame], device: str = "auto", read: bool = True) -> TextResult:
    times, lines, coverage = [], [], []
    best: Optional[tuple[float, np.ndarray, np.ndarray]] = None
    with _lock:
        eng = _engine(device)
        for f in frames:
            img = np.ascontiguousarray(f.image[:, :, ::-1])  # RapidOCR takes OpenCV's BGR order
            h, w = img.shape[:2]
            boxes = _boxes(eng(img, use_det=True, use_cls=False, use_rec=False), h, w)
            sizes = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1) if len(boxes) else np.zeros(0)
            cover = float(min(1.0, sizes.sum() / (h * w)))
            times.append(float(f.time_s))
            lines.append(int(len(boxes)))
            coverage.append(cover)
            if len(boxes) and (best is None or cover > best[0]):
                best = (cover, img, boxes)
        sample = _read(eng, best[1], best[2]) if (read and best is not None) else []
    return TextResult(times, lines, coverage, sample)


def _read(eng, img: np.ndarray, boxes: np.ndarray) -> list[str]:
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
        res = eng(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        for txt, score in zip(getattr(res, "txts", None) or (), getattr(res, "scores", None) or ()):
            txt = " ".join(str(txt).split())
            if len(txt) >= 2 and score >= REC_MIN_SCORE:
                out.append(txt)
    return out
