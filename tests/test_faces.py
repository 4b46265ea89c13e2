"""The face cue's detector (CenterFace) against the hand-made boxes in tests/data/face_labels.json."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cues import faces
from engine.media import SampledFrame

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_faces  # noqa: E402

LABELS = json.loads((ROOT / "tests" / "data" / "face_labels.json").read_text())


def _scores(shared_video_paths, find):
    by_name = {p.name: p for p in shared_video_paths}
    labels = matched = fp = frames = 0
    per_clip = {}
    for name, truth in LABELS["clips"].items():
        if name not in by_name:
            continue
        got = [find(f.image).tolist() for f in bench_faces.face_frames(by_name[name])]
        assert len(got) == len(truth), name
        n_fp = 0
        for boxes, want in zip(got, truth):
            m, extra = bench_faces.match(boxes, want)
            labels, matched, n_fp = labels + len(want), matched + m, n_fp + extra
        per_clip[name] = sum(len(b) for b in got)
        fp, frames = fp + n_fp, frames + len(got)
    if not frames:
        pytest.skip("none of the labelled clips is in ../shared")
    return matched / labels, fp / frames, per_clip


def test_centerface_finds_the_labelled_faces_and_none_in_the_cartoon(shared_video_paths):
    recall, fp_per_frame, per_clip = _scores(shared_video_paths, faces.centerface_boxes)
    assert recall >= 0.75  # measured 36/43; the former Haar cascade found 6/43
    assert fp_per_frame <= 0.03  # measured 1 in 80 frames; Haar 3 in 80
    assert per_clip.get("bigbuckbunny.mp4", 0) == 0


def test_the_cue_runs_the_8bit_model_on_one_thread_and_it_agrees_with_the_float_one(shared_video_paths):
    """The 8-bit CenterFace (packaging/centerface_int8.py: about two thirds of the float model's CPU time) finds the
    same faces as the float model on frames other than the labelled ones (16 per clip, between the cue's): the same
    count on nearly every frame, the largest face's share of the frame within half a point on average."""
    from engine import media

    session = faces._centerface()
    assert Path(session._model_path).name.startswith(Path(faces.CENTERFACE_INT8).stem)  # or its optimised copy
    assert session.get_session_options().intra_op_num_threads == faces.THREADS == 1
    same = total = 0
    diffs = []
    for path in shared_video_paths:
        info = media.probe(path)
        times = [info.duration_s * (i + 0.3) / 16 for i in range(16)]
        for f in media.sample_frames(path, [(t, 384) for t in times], info=info):
            area = f.image.shape[0] * f.image.shape[1]
            got, want = faces.centerface_boxes(f.image), faces.centerface_boxes(f.image, exact=True)
            same += len(got) == len(want)
            total += 1
            largest = [float((b[:, 2] * b[:, 3]).max() / area) if len(b) else 0.0 for b in (got, want)]
            diffs.append(abs(largest[0] - largest[1]))
    print(f"\n8-bit against float CenterFace: face counts equal on {same}/{total} frames; largest face's share "
          f"differs by {np.mean(diffs):.4f} on average, {max(diffs):.4f} at most")
    assert same >= 0.95 * total  # measured 158/160
    assert np.mean(diffs) < 0.005  # measured 0.0009


def test_labels_cover_every_sampled_frame_with_sane_boxes():
    assert LABELS["about"] and len(LABELS["clips"]) >= 10
    for name, frames in LABELS["clips"].items():
        assert len(frames) == 8, name
        for boxes in frames:
            for x, y, w, h in boxes:
                assert 0 <= x and 0 <= y and 8 <= w <= 384 and 8 <= h <= 384 and x + w <= 385 and y + h <= 385
    assert sum(len(b) for f in LABELS["clips"].values() for b in f) >= 40


def test_odd_sized_frames_are_padded_not_stretched_and_boxes_stay_inside():
    rng = np.random.default_rng(3)
    for h, w in ((144, 193), (31, 45), (384, 216)):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        boxes = faces.centerface_boxes(img, threshold=0.0)  # every cell a box: exercises decoding and NMS
        assert boxes.shape[1] == 4 and len(boxes) > 0
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 0] + boxes[:, 2] <= w + 1e-3).all() and (boxes[:, 1] + boxes[:, 3] <= h + 1e-3).all()


def test_blank_frames_have_no_faces():
    frames = [SampledFrame(0.0, 0.0, 384, np.zeros((384, 216, 3), np.uint8)),
              SampledFrame(1.0, 1.0, 384, np.full((216, 384, 3), 200, np.uint8))]
    r = faces.detect_faces(frames)
    assert r.counts == [0, 0] and r.largest == [0.0, 0.0] and r.times == [0.0, 1.0]


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    keep = faces._nms(boxes, np.array([0.6, 0.9, 0.5]), 0.3)
    assert keep.tolist() == [1, 2]


def test_an_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="unknown face detector"):
        faces.detect_faces([], detector="dnn")
