"""The on-screen text cue runs RapidOCR's PP-OCR models with ONNX Runtime and numpy (engine.cues.ppocr),
without importing rapidocr, OpenCV or Pillow, so that the frozen scoring application can leave them out.

These tests check it against RapidOCR itself (installed in the dev environment), configured as
engine/cues/onscreen_text.py configured it before: the numpy pieces (bilinear resizing, connected
regions, minimum-area rectangles, pyclipper's offset) against OpenCV and pyclipper, and the whole cue
(line counts, coverage, the sample read) on frames of the shared videos and on frames with drawn text.
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.cues import onscreen_text, ppocr
from engine.cues.onscreen_text import REC_LINES, REC_MIN_SCORE, TextResult
from engine.cues.plan import TEXT_SIDE
from engine.errors import EngineError
from engine.media import SampledFrame, probe, sample_frames

from conftest import shared_videos

ROOT = Path(__file__).resolve().parent.parent
FRAMES_PER_VIDEO = 6


# --- the reference: RapidOCR as onscreen_text.py configured it -------------------------------------


@pytest.fixture(scope="module")
def reference():
    """RapidOCR with the configuration engine/cues/onscreen_text.py used before it ran the models itself."""
    pytest.importorskip("cv2")
    rapidocr = pytest.importorskip("rapidocr")
    import logging

    from rapidocr import RapidOCR

    models = Path(rapidocr.__file__).parent / "models"
    eng = RapidOCR(
        params={
            "Global.log_level": "critical",
            "Global.use_cls": False,
            "Det.model_path": str(models / onscreen_text.DET_MODEL),
            "Rec.model_path": str(models / onscreen_text.REC_MODEL),
            "Cls.model_path": str(models / onscreen_text.CLS_MODEL),
            "Det.limit_type": "max",
            "Det.limit_side_len": onscreen_text.DET_LIMIT_SIDE,
            "EngineConfig.onnxruntime.use_cuda": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
    return eng


def _reference_detect(eng, frames, read: bool = True) -> TextResult:
    """onscreen_text.detect_text as it was, on RapidOCR."""
    times, lines, coverage = [], [], []
    best = None
    for f in frames:
        img = np.ascontiguousarray(f.image[:, :, ::-1])  # RapidOCR takes OpenCV's BGR order
        h, w = img.shape[:2]
        boxes = onscreen_text._boxes(eng(img, use_det=True, use_cls=False, use_rec=False), h, w)
        sizes = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1) if len(boxes) else np.zeros(0)
        cover = float(min(1.0, sizes.sum() / (h * w)))
        times.append(float(f.time_s))
        lines.append(int(len(boxes)))
        coverage.append(cover)
        if len(boxes) and (best is None or cover > best[0]):
            best = (cover, img, boxes)
    sample = []
    if read and best is not None:
        _, img, boxes = best
        h, w = img.shape[:2]
        area = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1)
        chosen = sorted(np.argsort(-area)[:REC_LINES], key=lambda i: (boxes[i, :, 1].min(), boxes[i, :, 0].min()))
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
                    sample.append(txt)
    return TextResult(times, lines, coverage, sample)


def _reference_read(eng, rgb: np.ndarray) -> tuple[str, float]:
    res = eng(np.ascontiguousarray(rgb[:, :, ::-1]), use_det=False, use_cls=False, use_rec=True)
    return res.txts[0], float(res.scores[0])


# --- frames ----------------------------------------------------------------------------------------


def _frame(img: np.ndarray, t: float = 0.0) -> SampledFrame:
    return SampledFrame(requested_s=t, time_s=t, max_side=max(img.shape[:2]), image=np.ascontiguousarray(img))


def _draw(h: int, w: int, lines, background=None, seed: int = 0) -> np.ndarray:
    """An RGB frame with text drawn by Pillow: lines of (text, x, y, size, colour[, box colour])."""
    from PIL import Image, ImageDraw, ImageFont

    if background is None:
        ramp = np.linspace(40, 120, h, dtype=np.float32)[:, None, None]
        background = np.broadcast_to(ramp * np.array([0.6, 0.8, 1.0], np.float32), (h, w, 3)).astype(np.uint8)
    elif isinstance(background, tuple):
        background = np.full((h, w, 3), background, np.uint8)
    pic = Image.fromarray(np.ascontiguousarray(background))
    draw = ImageDraw.Draw(pic)
    for text, x, y, size, colour, *box in lines:
        font = ImageFont.load_default(size=size)
        if box:
            x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
            draw.rectangle((x0 - 8, y0 - 6, x1 + 8, y1 + 6), fill=box[0])
        draw.text((x, y), text, font=font, fill=colour)
    return np.asarray(pic.convert("RGB"))


def _photo(h: int, w: int) -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return ppocr.resize_linear(data.coffee(), w, h)


#: drawn frames: name -> (frame, the lines drawn, in reading order)
def _synthetic() -> dict[str, tuple[np.ndarray, list[str]]]:
    white, black, yellow = (255, 255, 255), (0, 0, 0), (255, 220, 0)
    return {
        # a phone caption: two white lines on a dark gradient
        "portrait": (_draw(640, 360, [("HELLO WORLD", 40, 180, 40, white), ("Follow for more", 40, 240, 34, white)]),
                     ["HELLO WORLD", "Follow for more"]),
        # a caption banner over a photograph
        "banner": (_draw(360, 640, [("Breaking news today", 60, 260, 40, black, white)], background=_photo(360, 640)),
                   ["Breaking news today"]),
        # a full-HD frame: detection scales it down to 640
        "full_hd": (_draw(1920, 1080, [("Big caption", 120, 400, 110, yellow), ("second line", 120, 1500, 90, white)]),
                    ["Big caption", "second line"]),
        # a small frame (QCIF)
        "small": (_draw(144, 176, [("Hi there", 20, 60, 14, white)]), ["Hi there"]),
        # a strip wider than 8:1: RapidOCR pads it top and bottom before detection (the cue drops its
        # line, taller than MAX_BOX_HEIGHT of the frame: the detector's boxes are compared below)
        "strip": (_draw(64, 900, [("a very wide strip of text", 20, 12, 34, black)], background=white), []),
        # lower than 30 px: RapidOCR enlarges it first (the same)
        "tiny": (_draw(28, 260, [("tiny line", 8, 2, 20, black)], background=white), []),
        # no text at all
        "photo": (_photo(480, 640), []),
        "black": (np.zeros((640, 360, 3), np.uint8), []),
    }


@pytest.fixture(scope="module")
def synthetic():
    pytest.importorskip("PIL")
    return _synthetic()


@pytest.fixture(scope="module")
def shared_frames():
    """FRAMES_PER_VIDEO frames of each shared video at the text cue's size (engine.cues.plan.TEXT_SIDE)."""
    paths = shared_videos()
    if not paths:
        pytest.skip("no shared videos (../shared is absent in a plain clone)")
    out = {}
    for path in paths:
        info = probe(path)
        times = [info.duration_s * (i + 0.5) / FRAMES_PER_VIDEO for i in range(FRAMES_PER_VIDEO)]
        out[path.name] = sample_frames(path, [(t, TEXT_SIDE) for t in times], info=info)
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


# --- the numpy pieces against OpenCV and pyclipper --------------------------------------------------


def test_resize_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    smooth = ppocr.resize_linear(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), 640, 480)
    noise = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    differing, total = 0, 0
    for img in (smooth, noise, smooth[:, :, 0].copy()):
        h, w = img.shape[:2]
        sizes = ((640, 352), (352, 640), (w, 352), (w // 2, h // 2), (177, 48), (1000, 48), (33, 31), (w * 2, h),
                 (7, 3))
        for size in sizes:
            ref = cv2.resize(img, size)
            got = ppocr.resize_linear(img, *size)
            assert got.shape == ref.shape and got.dtype == np.uint8
            diff = np.abs(ref.astype(int) - got)
            assert diff.max() <= 1, size
            differing += int((diff > 0).sum())
            total += diff.size
    assert differing / total < 0.002


def test_connected_regions_match_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    for density in (0.05, 0.3, 0.5, 0.7):
        mask = rng.random((120, 200)) < density
        n_ref, ref = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        labels, rows, starts, ends, n = ppocr.connected_regions(mask)
        got = np.full(mask.shape, -1)
        for lab, y, s, e in zip(labels, rows, starts, ends):
            got[y, s : e + 1] = lab
        assert (got >= 0).sum() == mask.sum()
        assert n == n_ref - 1
        # the same partition: each region of one labelling is one region of the other
        pairs = np.unique(np.stack([got[mask], ref[mask]]), axis=1)
        assert pairs.shape[1] == n


def test_min_area_rect_matches_opencv():
    """The same minimum area; the same rectangle unless several orientations tie (whole-pixel points
    often do), where OpenCV's float32 arithmetic picks one of them."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(2)
    same = 0
    for _ in range(300):
        a = rng.uniform(0, np.pi)
        pts = rng.normal(0, 1, (rng.integers(3, 40), 2)) * rng.uniform(1, 60, 2)
        pts = np.round(pts @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + 300)
        (_, (w, h), _) = cv2.minAreaRect(pts.astype(np.int32).reshape(-1, 1, 2))
        corners, side = ppocr.min_area_rect(pts)
        sides = _rect_sides(corners)
        assert min(sides) == pytest.approx(side, abs=1e-3)
        assert sides[0] * sides[1] == pytest.approx(w * h, rel=1e-4, abs=1e-2)
        same += abs(side - min(w, h)) < 1e-3
    assert same >= 0.95 * 300


def test_round_offset_matches_pyclipper():
    pyclipper = pytest.importorskip("pyclipper")
    rng = np.random.default_rng(3)
    for i in range(300):
        c, a = rng.uniform(0, 400, 2), rng.uniform(0, np.pi)
        u = np.array([np.cos(a), np.sin(a)])
        v = np.array([-u[1], u[0]])
        length, width = rng.uniform(3, 250), rng.uniform(3, 40)
        box = np.array([c - u * length / 2 - v * width / 2, c + u * length / 2 - v * width / 2,
                        c + u * length / 2 + v * width / 2, c - u * length / 2 + v * width / 2], np.float32)
        if i % 2:
            box = box[::-1].copy()
        if i % 5 == 0:
            box = np.round(box)  # upright and whole-pixel boxes are the common case
        delta = rng.uniform(1, 30)
        off = pyclipper.PyclipperOffset()
        off.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        ref = np.array(off.Execute(delta)).reshape(-1, 2)
        got = ppocr.round_offset(box, delta)
        # the same points, but for collinear ones Clipper's final union drops
        assert set(map(tuple, ref.astype(int).tolist())) <= set(map(tuple, got.astype(int).tolist()))
        assert ppocr.min_area_rect(got)[1] == pytest.approx(ppocr.min_area_rect(ref)[1], abs=1e-6)


def test_candidates_are_the_contours_opencv_finds():
    """One candidate per contour cv2.findContours(RETR_LIST) traces (regions and their holes), with the
    same minimum-area rectangle."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(4)
    for k in range(12):
        small = rng.random((12, 20)) < 0.45
        mask = ppocr.resize_linear(small.astype(np.uint8) * 255, 200, 120) > 127  # blobs, some with holes
        if k % 3 == 0:
            mask[30:60, 40:120] = True
            mask[40:50, 60:100] = False  # a ring: a region and one hole
        contours, _ = cv2.findContours(mask.astype(np.uint8) * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        ref = sorted(tuple(sorted(np.round(cv2.minAreaRect(c)[1], 2).tolist())) for c in contours)
        hulls = ppocr._candidate_hulls(mask)
        got = sorted(tuple(sorted(np.round(_rect_sides(ppocr.min_area_rect(h)[0]), 2).tolist())) for h in hulls)
        assert len(got) == len(ref)
        assert np.allclose(got, ref, atol=0.02)


def _extent(boxes: np.ndarray) -> np.ndarray:
    """Each box's axis-aligned extent (x0, y0, x1, y1), sorted."""
    b = boxes
    return np.sort(np.c_[b[:, :, 0].min(1), b[:, :, 1].min(1), b[:, :, 0].max(1), b[:, :, 1].max(1)], axis=0)


def _rect_sides(corners: np.ndarray) -> list[float]:
    c = corners.astype(np.float64)
    return [float(np.hypot(*(c[1] - c[0]))), float(np.hypot(*(c[3] - c[0])))]


def _model_stem(session) -> str:
    """The name of the model a session was made from, without the key of its graph-optimised copy
    (<stem>-<20 hex>.onnx in the user data folder, engine.runtime.optimised_copy), which later sessions load."""
    return re.sub(r"-[0-9a-f]{20}$", "", Path(session._model_path).stem)


@pytest.fixture
def float_detector(monkeypatch):
    """The cue with the float detector, the model RapidOCR runs: the tests against RapidOCR check the numpy steps
    around the model (the 8-bit detector the cue runs on the CPU is checked against the float one)."""
    model = onscreen_text._model  # the cue and _engine both take their models from _model
    monkeypatch.setattr(onscreen_text, "_model", lambda kind, device, exact=False: model(kind, device, exact=True))


def test_db_postprocess_matches_rapidocr(shared_frames, float_detector):
    """On the detector's own probability maps, the boxes of RapidOCR's DBPostProcess, within a pixel."""
    pytest.importorskip("cv2")
    from rapidocr.ch_ppocr_det.utils import DBPostProcess

    # RapidOCR's Det defaults (config.yaml), which onscreen_text.py left as they were
    ref = DBPostProcess(
        thresh=0.3, box_thresh=0.5, max_candidates=1000, unclip_ratio=1.6, use_dilation=True, score_mode="fast"
    )
    det, _ = onscreen_text._engine("cpu")
    exact = total = 0
    for frames in shared_frames.values():
        for f in frames:
            h, w = f.image.shape[:2]
            prob = det.probability_map(np.ascontiguousarray(f.image[:, :, ::-1]))
            got = det.boxes_from_map(prob, h, w)
            want = np.asarray(ref(prob[None, None], (h, w))[0], np.float32).reshape(-1, 4, 2)
            assert len(got) == len(want)
            if len(got):
                assert np.abs(_extent(got) - _extent(want)).max() <= 1
            exact += bool(len(got) == 0 or np.array_equal(_extent(got), _extent(want)))
            total += 1
    print(f"\nDB post-processing: boxes identical on {exact}/{total} frames, else within 1 px")
    assert exact >= 0.8 * total


# --- the cue against RapidOCR ------------------------------------------------------------------------


def test_detection_agrees_with_rapidocr_on_shared_videos(reference, shared_frames, float_detector):
    det, rec = onscreen_text._engine("cpu")
    agree = total = 0
    worst = 0.0
    t_old = t_new = 0.0
    samples_same = samples = 0
    for name, frames in shared_frames.items():
        t = time.perf_counter()
        want = _reference_detect(reference, frames)
        t_old += time.perf_counter() - t
        t = time.perf_counter()
        got = onscreen_text.detect_text(frames, "cpu")
        t_new += time.perf_counter() - t
        assert got.times == want.times
        agree += sum(a == b for a, b in zip(got.lines, want.lines))
        total += len(frames)
        worst = max(worst, float(np.max(np.abs(np.subtract(got.coverage, want.coverage)))))
        if want.sample or got.sample:
            samples += 1
            samples_same += got.sample == want.sample
            print(f"\n{name}: RapidOCR {want.sample}, ours {got.sample}", end="")
    print(f"\nline counts equal on {agree}/{total} frames; largest coverage difference {worst:.5f}; "
          f"samples equal on {samples_same}/{samples} videos; detect+read {t_old / total * 1e3:.0f} ms/frame "
          f"with RapidOCR, {t_new / total * 1e3:.0f} ms/frame now")
    assert agree >= 0.95 * total
    assert worst < 0.01
    assert samples_same >= 0.8 * samples


def test_int8_detector_agrees_with_float(shared_frames, synthetic):
    """On the CPU the cue detects with the 8-bit detector (packaging/ppocr_int8.py: a quarter of the float model's
    CPU time). On the shared videos' frames it finds text on the same frames as the float model (at most one in
    twenty differs), the same number of lines on most, the same share of the frame within a point; drawn captions
    are found line for line and read the same."""
    det, rec = onscreen_text._engine("cpu")
    exact, _ = onscreen_text._engine("cpu", exact=True)
    assert _model_stem(det.session) == Path(onscreen_text.DET_MODEL_INT8).stem
    assert _model_stem(exact.session) == Path(onscreen_text.DET_MODEL).stem

    def measure(detector, img):
        h, w = img.shape[:2]
        boxes = onscreen_text._boxes(detector(img), h, w)
        sizes = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1) if len(boxes) else np.zeros(0)
        return len(boxes), float(min(1.0, sizes.sum() / (h * w)))

    present = lines = total = 0
    diffs = []
    for frames in shared_frames.values():
        for f in frames:
            (n_float, cover_float), (n, cover) = measure(exact, f.image), measure(det, f.image)
            present += (n_float > 0) == (n > 0)
            lines += n_float == n
            total += 1
            diffs.append(abs(cover - cover_float))
    print(f"\n8-bit against float detector: text present/absent the same on {present}/{total} frames, line counts "
          f"on {lines}/{total}; coverage difference mean {np.mean(diffs):.4f}, largest {max(diffs):.4f}")
    assert present >= 0.95 * total
    assert lines >= 0.85 * total
    assert np.mean(diffs) < 0.005 and max(diffs) < 0.03
    for name, (img, drawn) in synthetic.items():
        got = onscreen_text.detect_text([_frame(img)], "cpu")
        assert got.lines[0] == len(drawn), (name, got)
        assert [_norm(s) for s in got.sample] == [_norm(s) for s in drawn[:REC_LINES]], (name, got)


def test_drawn_text_agrees_with_rapidocr(reference, synthetic, float_detector):
    for name, (img, drawn) in synthetic.items():
        frames = [_frame(img)]
        want = _reference_detect(reference, frames)
        got = onscreen_text.detect_text(frames, "cpu")
        assert got.lines == want.lines, name
        assert abs(got.coverage[0] - want.coverage[0]) < 0.005, name
        assert got.sample == want.sample, name
        assert got.lines[0] == len(drawn), (name, got)
        # a clear caption is read as drawn (the sample holds the REC_LINES largest lines, top to bottom)
        assert [_norm(s) for s in got.sample] == [_norm(s) for s in drawn[:REC_LINES]], (name, got)


def test_detector_boxes_agree_with_rapidocr(reference, synthetic, float_detector):
    """The detector's own boxes (before the cue's filter), through RapidOCR's resizing, padding of flat
    strips and enlarging of small pictures: the same count, the same place within a pixel."""
    det, _ = onscreen_text._engine("cpu")
    for name, (img, _) in synthetic.items():
        out = reference(np.ascontiguousarray(img[:, :, ::-1]), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(out, "boxes", None)
        want = np.zeros((0, 4, 2), np.float32) if boxes is None else np.asarray(boxes, np.float32)
        got = det(img)
        assert got.shape == want.shape, name
        assert np.abs(got - want).max(initial=0) <= 1.0, name


def test_recognition_agrees_with_rapidocr(reference):
    pytest.importorskip("PIL")
    texts = ["Hello", "Worst luck ever", "SKILLS FOR MIDFIELDERS", "2024 tips & tricks!", "Goodbye, plastic."]
    for i, text in enumerate(texts):
        for size in (12, 18, 28, 44, 70):
            line = (text, size // 2, size // 3, size, (255, 255, 255))
            img = _draw(size * 2, size * (len(text) + 2), [line], background=(20 * i, 30, 60))
            want_text, want_score = _reference_read(reference, img)
            got_text, got_score = onscreen_text._engine("cpu")[1](img)
            assert got_text == want_text, (text, size)
            assert got_score == pytest.approx(want_score, abs=0.01), (text, size)
            if size >= 28:
                assert _norm(got_text) == _norm(text)


# --- models, sessions, imports -----------------------------------------------------------------------


def test_model_files_are_looked_for_in_resources_then_the_rapidocr_wheel():
    dirs = ppocr.model_dirs()
    assert dirs[0] == ROOT / "resources" / "ocr"
    assert any((d / onscreen_text.DET_MODEL).is_file() for d in dirs)
    assert ppocr.find_model(onscreen_text.REC_MODEL).name == onscreen_text.REC_MODEL
    assert onscreen_text._model_dir() in dirs


def test_resources_folder_comes_first(tmp_path, monkeypatch):
    import engine

    fake_engine = tmp_path / "engine"
    fake_engine.mkdir()
    (tmp_path / "resources" / "ocr").mkdir(parents=True)
    (tmp_path / "resources" / "ocr" / onscreen_text.DET_MODEL).write_bytes(b"")
    monkeypatch.setattr(engine, "__file__", str(fake_engine / "__init__.py"))
    assert ppocr.find_model(onscreen_text.DET_MODEL) == tmp_path / "resources" / "ocr" / onscreen_text.DET_MODEL


def test_missing_model_is_an_engine_error(tmp_path, monkeypatch):
    monkeypatch.setattr(ppocr, "model_dirs", lambda: [tmp_path])
    monkeypatch.setattr(onscreen_text, "_models", {})
    with pytest.raises(EngineError, match="rapidocr"):
        onscreen_text.detect_text([_frame(np.zeros((64, 64, 3), np.uint8))], "cpu")


def test_sessions_are_created_once_per_provider_under_threads(monkeypatch):
    monkeypatch.setattr(onscreen_text, "_models", {})
    got = []
    threads = [threading.Thread(target=lambda: got.append(onscreen_text._engine("cpu"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g[0] is got[0][0] and g[1] is got[0][1] for g in got)
    assert sorted(onscreen_text._models) == [("det", "CPUExecutionProvider"), ("rec", "CPUExecutionProvider")]
    det, rec = got[0]
    assert det.session.get_providers() == ["CPUExecutionProvider"]
    assert _model_stem(det.session) == Path(onscreen_text.DET_MODEL_INT8).stem
    for model in (det, rec):
        opts = model.session.get_session_options()
        # one thread (two cost a quarter more CPU seconds for the same boxes: benchmarks/bench_text.py), which sleeps
        # when idle rather than spins (it shares the cores with the decoder)
        assert opts.intra_op_num_threads == onscreen_text.CPU_THREADS == 1 and opts.inter_op_num_threads == 1
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_detect_text_runs_in_parallel_threads(synthetic):
    frames = [_frame(img) for img, _ in synthetic.values()]
    alone = onscreen_text.detect_text(frames, "cpu")
    results = [None] * 3

    def run(i):
        results[i] = onscreen_text.detect_text(frames, "cpu")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == alone for r in results)


def test_no_opencv_pillow_or_rapidocr_is_imported(tmp_path, synthetic):
    """detect_text imports neither rapidocr nor OpenCV nor Pillow. engine.cues' __init__ imports every cue
    module (faces among them), so the package is stubbed to load onscreen_text alone."""
    img, drawn = synthetic["portrait"]
    np.save(tmp_path / "frame.npy", img)
    code = f"""
import sys, types
from pathlib import Path
import numpy as np
import engine
pkg = types.ModuleType("engine.cues")
pkg.__path__ = [str(Path(engine.__file__).parent / "cues")]
sys.modules["engine.cues"] = pkg
from engine.cues import onscreen_text
from engine.media import SampledFrame
onscreen_text.warm_up("cpu")
r = onscreen_text.detect_text([SampledFrame(0.0, 0.0, 640, np.load({str(tmp_path / 'frame.npy')!r}))], "cpu")
left_out = {{"cv2", "rapidocr", "PIL", "shapely", "pyclipper", "omegaconf", "scipy"}}
bad = sorted({{m.split(".")[0] for m in sys.modules}} & left_out)
print(r.lines, r.sample, bad)
sys.exit(1 if bad or not r.sample else 0)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert drawn[0].lower() in out.stdout.lower()

