"""Prepare resources/ocr/PP-OCRv6_det_small_int8.onnx: the text cue's CPU detector (engine/cues/onscreen_text.py).

    python packaging/ppocr_int8.py            # needs the rapidocr wheel (dev extra) and ../shared's videos

The rapidocr wheel's PP-OCRv6 small detector (PaddleOCR, Apache-2.0), quantised by ONNX Runtime's own static
quantiser: weights and activations in 8 bits (QDQ, one scale per tensor, min/max calibration), which the CPU runs
with integer kernels (VNNI where the CPU has it): about a quarter of the float model's CPU time at 640 px.
Calibration: two frames of each shared clip (at 30 % and 70 % of its length; the cue samples 12 %, 50 % and
85 %, tests/test_ppocr.py 8 % to 92 % in sixths), prepared as the detector prepares a frame (engine.cues.ppocr).
tests/test_ppocr.py::test_int8_detector_agrees_with_float checks the result against the float model. The result
is committed, so neither a checkout nor the build quantises; rerun this only to refresh it.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "resources" / "ocr"
CALIBRATION_AT = (0.3, 0.7)
NOTICE = """resources/ocr/PP-OCRv6_det_small_int8.onnx: the PP-OCRv6 small text detector of PaddleOCR
(https://github.com/PaddlePaddle/PaddleOCR, Apache License 2.0), as shipped in the PyPI wheel rapidocr
(https://github.com/RapidAI/RapidOCR, Apache License 2.0) as models/PP-OCRv6_det_small.onnx.
Changed here: quantised to 8 bits by ONNX Runtime's static quantiser (packaging/ppocr_int8.py).
"""


def calibration_frames(side: int, at) -> list[np.ndarray]:
    """RGB frames of every shared clip at the shares `at` of its length, longer side at most `side`."""
    from engine.media import probe, sample_frames

    videos = sorted((REPO.parent / "shared" / "data" / "videos").glob("*/*.mp4"))
    if not videos:
        raise SystemExit("error: no calibration clips in ../shared/data/videos")
    out = []
    for path in videos:
        info = probe(path)
        out += [f.image for f in sample_frames(path, [(info.duration_s * p, side) for p in at], info=info)]
    return out


def calibration_inputs(src: Path) -> list[np.ndarray]:
    from engine.cues import onscreen_text, ppocr
    from engine.cues.plan import TEXT_SIDE
    from engine.runtime import make_session

    det = ppocr.TextDetector(make_session(src, "cpu")[0], limit_side_len=onscreen_text.DET_LIMIT_SIDE)
    out = []
    for image in calibration_frames(TEXT_SIDE, CALIBRATION_AT):
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        h, w = det.input_size(*bgr.shape[:2])
        out.append(ppocr._to_tensor(ppocr.resize_linear(bgr, w, h)))
    return out


def quantise(src: Path, dst: Path, inputs: list[np.ndarray], input_name: str = "x", per_channel: bool = False,
             opset: int = 0) -> None:
    """ONNX Runtime's static quantiser (QDQ, 8-bit activations and weights, min/max calibration on `inputs`, fed as
    `input_name`); `per_channel`: one weight scale per output channel, which needs opset 13 (`opset`: the model is
    converted to it first)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(inputs)

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {input_name: x}

    with tempfile.TemporaryDirectory() as tmp:
        if opset:
            import onnx
            from onnx import version_converter

            converted = Path(tmp) / "opset.onnx"
            onnx.save(version_converter.convert_version(onnx.load(str(src)), opset), str(converted))
            src = converted
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # its symbolic shapes fail on these models
        quantize_static(str(pre), str(dst), Frames(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=per_channel)


def main() -> int:
    from engine import package_dirs
    from engine.cues import onscreen_text

    models = [d / "models" for d in package_dirs("rapidocr") if (d / "models" / onscreen_text.DET_MODEL).is_file()]
    if not models:
        raise SystemExit(f"error: {onscreen_text.DET_MODEL} not found: pip install 'rapidocr>=3.4,<4'")
    OUT.mkdir(parents=True, exist_ok=True)
    src, dst = models[0] / onscreen_text.DET_MODEL, OUT / onscreen_text.DET_MODEL_INT8
    quantise(src, dst, calibration_inputs(src))
    (OUT / "PP-OCR_NOTICE.txt").write_text(NOTICE)
    print(f"wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
