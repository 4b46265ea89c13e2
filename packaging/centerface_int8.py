"""Prepare resources/faces/centerface_int8.onnx: the face cue's detector (engine/cues/faces.py).

    python packaging/centerface_int8.py       # needs resources/faces/centerface.onnx (committed) and ../shared's videos

resources/faces/centerface.onnx (packaging/centerface.py) quantised by ONNX Runtime's own static quantiser, as
packaging/ppocr_int8.py quantises the text detector, but with one weight scale per output channel (converted to
opset 13 first, which that needs): with one scale per tensor the 8-bit model found 25 of the 43 hand-labelled faces
instead of 36. Calibration: four frames of each shared clip (at 20, 40, 60 and 80 % of its length; the face cue
samples 6 %, 19 %, ... 94 %, eighths' middles, which the labels of tests/data/face_labels.json are for), at the face
cue's size (engine.cues.plan.FACE_SIDE), prepared as engine.cues.faces prepares a frame. tests/test_faces.py checks
the result against the labels and the float model. The result is committed; rerun this only to refresh it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "packaging"))
CALIBRATION_AT = (0.2, 0.4, 0.6, 0.8)


def calibration_inputs() -> list[np.ndarray]:
    from engine.cues import faces
    from engine.cues.plan import FACE_SIDE
    from ppocr_int8 import calibration_frames

    return [faces.input_blob(image) for image in calibration_frames(FACE_SIDE, CALIBRATION_AT)]


def main() -> int:
    from engine.cues import faces
    from ppocr_int8 import quantise

    src = REPO / "resources" / "faces" / faces.CENTERFACE
    if not src.is_file():
        raise SystemExit(f"error: {src} not found: run packaging/centerface.py first")
    dst = src.with_name(faces.CENTERFACE_INT8)
    quantise(src, dst, calibration_inputs(), input_name=faces.INPUT, per_channel=True, opset=13)
    print(f"wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
