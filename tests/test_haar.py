"""engine.cues.haar (Viola-Jones in numpy) against OpenCV's CascadeClassifier, the reference in the dev
environment: the face cue must find the very same faces without OpenCV in the application."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cues import faces, haar
from engine.errors import EngineError
from engine.media import SampledFrame

cv2 = pytest.importorskip("cv2")

ROOT = Path(__file__).resolve().parent.parent
PARAMS = dict(scaleFactor=faces.SCALE_FACTOR, minNeighbors=faces.MIN_NEIGHBOURS, minSize=(faces.MIN_FACE_PX,) * 2)


@pytest.fixture(scope="module")
def cascade():
    return haar.HaarCascade(faces.cascade_path())


@pytest.fixture(scope="module")
def reference():
    clf = cv2.CascadeClassifier(str(faces.cascade_path()))
    assert not clf.empty()
    return clf


def _ours(cascade, grey, min_neighbours=faces.MIN_NEIGHBOURS):
    return cascade.detect(grey, faces.SCALE_FACTOR, min_neighbours, (faces.MIN_FACE_PX, faces.MIN_FACE_PX))


def _opencv(clf, grey, min_neighbours=faces.MIN_NEIGHBOURS):
    found = clf.detectMultiScale(grey, **{**PARAMS, "minNeighbors": min_neighbours})
    return np.asarray(found, dtype=np.int64).reshape(-1, 4)


def _grey(rgb):
    return cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def _iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def _assert_same_faces(ours, ref):
    """Same number of faces, each of ours matching one of OpenCV's (IoU > 0.7), and in fact the same boxes."""
    assert len(ours) == len(ref), (ours.tolist(), ref.tolist())
    unmatched = [tuple(r) for r in ref.tolist()]
    for box in ours.tolist():
        best = max(unmatched, key=lambda r: _iou(box, r))
        assert _iou(box, best) > 0.7, (ours.tolist(), ref.tolist())
        unmatched.remove(best)
    assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, ref.tolist()))


def _resized(rgb, long_side):
    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _photos():
    """skimage photographs (the astronaut has a face, the others none) at frame sizes, and mirrored."""
    data = pytest.importorskip("skimage.data")
    for name in ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins"):
        img = getattr(data, name)()
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
        for side in (384, 256):
            small = _resized(img, side)
            yield f"{name}@{side}", small
            yield f"{name}@{side}-mirrored", np.ascontiguousarray(small[:, ::-1])


def _composites():
    """Frames with two or three faces: the astronaut's face pasted at several sizes onto other photos."""
    data = pytest.importorskip("skimage.data")
    face = data.astronaut()[20:240, 130:330]
    cases = [
        (data.coffee(), 384, 216, [(10, 10, 0.8, False), (220, 40, 0.6, True)]),
        (data.chelsea(), 384, 216, [(20, 30, 0.5, False), (150, 20, 0.7, False), (290, 60, 0.4, True)]),
        (data.rocket(), 216, 384, [(10, 10, 0.9, True), (40, 220, 0.6, False)]),
        (np.repeat(data.camera()[..., None], 3, axis=2), 384, 384, [(0, 0, 1.0, False), (200, 200, 0.8, True)]),
    ]
    for bg, w, h, placements in cases:
        canvas = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA)
        for x, y, s, mirrored in placements:
            f = np.ascontiguousarray(face[:, ::-1]) if mirrored else face
            f = cv2.resize(f, (round(200 * s), round(220 * s)), interpolation=cv2.INTER_AREA)
            canvas[y : y + f.shape[0], x : x + f.shape[1]] = f
        yield len(placements), canvas


# -- pixels ------------------------------------------------------------------------------------


def test_grey_is_opencv_bit_for_bit():
    v = np.arange(256, dtype=np.uint8)
    every_colour = np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(4096, 4096, 3)
    assert np.array_equal(haar.rgb_to_grey(every_colour), cv2.cvtColor(every_colour, cv2.COLOR_RGB2GRAY))
    rng = np.random.default_rng(3)
    for shape in ((1, 1, 3), (7, 13, 3), (216, 384, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(haar.rgb_to_grey(img), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))


def test_equalize_hist_is_opencv_bit_for_bit():
    rng = np.random.default_rng(4)
    images = [
        rng.integers(0, 256, (216, 384), dtype=np.uint8),
        rng.integers(100, 120, (97, 61), dtype=np.uint8),  # a narrow range
        (rng.random((150, 150)) ** 4 * 255).astype(np.uint8),  # skewed
        np.full((40, 30), 77, np.uint8),  # one value
        np.where(rng.random((33, 17)) < 0.3, 0, 255).astype(np.uint8),  # two values
        rng.integers(0, 256, (1, 1), dtype=np.uint8),
        rng.integers(0, 256, (5, 3), dtype=np.uint8),
    ]
    images += [cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for _, img in _photos()]
    for g in images:
        assert np.array_equal(haar.equalize_hist(g), cv2.equalizeHist(g))


def test_resize_is_opencv_linear_exact_bit_for_bit():
    rng = np.random.default_rng(5)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(24, 400, 2))
        img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        f = np.float32(faces.SCALE_FACTOR ** int(rng.integers(1, 16)))
        size = (max(1, int(np.rint(np.float32(w) / f))), max(1, int(np.rint(np.float32(h) / f))))
        ours = haar.resize_linear_exact(img, *size)
        assert np.array_equal(ours, cv2.resize(img, size, interpolation=cv2.INTER_LINEAR_EXACT)), (h, w, size)
    img = rng.integers(0, 256, (100, 60), dtype=np.uint8)  # exactly half: OpenCV's area shortcut
    ref = cv2.resize(img, (30, 50), interpolation=cv2.INTER_LINEAR_EXACT)
    assert np.array_equal(haar.resize_linear_exact(img, 30, 50), ref)


# -- the cascade -------------------------------------------------------------------------------


def test_the_opencv_cascade_file_is_read(cascade):
    assert cascade.window == (24, 24)
    sizes = [st.features.size for st in cascade.stages]
    assert len(sizes) == 25 and sizes[:3] == [9, 16, 27] and sum(sizes) == 2913
    first = cascade.stages[0]
    assert first.threshold == pytest.approx(-5.0425500869750977 - 1e-5, abs=1e-6)
    assert first.thresholds[0] == np.float32(-3.1511999666690826e-02)
    assert (first.left[0], first.right[0]) == pytest.approx((2.0875380039215088, -2.2172100543975830))


def test_a_bad_cascade_file_is_refused(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage><nothing/></opencv_storage>")
    with pytest.raises(haar.CascadeError):
        haar.HaarCascade(bad)
    with pytest.raises(haar.CascadeError):
        haar.HaarCascade(tmp_path / "absent.xml")


def test_stage_sums_shortcut_decides_as_the_exact_sum(cascade):
    """passes() adds the leaves in float32 and re-adds, in order and in float64, the windows near the
    threshold: it must decide exactly as OpenCV's ordered float64 sum, also right at the threshold."""
    rng = np.random.default_rng(6)
    for st in cascade.stages:
        T = st.features.size
        below = rng.random((T, 3000)) < rng.random()
        exact = np.cumsum(np.where(below, st.left[:, None], st.right[:, None]), axis=0)[-1]
        sorted_below = np.empty_like(below)
        sorted_below[np.asarray(st.row_of)] = below
        # the stage's own threshold, then thresholds right on some windows' sums and a hair either side
        hairs = [float(np.nextafter(exact[i], d)) for i in range(3) for d in (-np.inf, np.inf)]
        for threshold in [st.threshold] + exact[:3].tolist() + hairs:
            probe = dataclasses.replace(st, threshold=threshold)
            want = exact >= threshold
            assert np.array_equal(probe.passes(below), want)
            assert np.array_equal(probe.passes(sorted_below, st.row_of), want)


def test_group_rectangles_is_opencv():
    rng = np.random.default_rng(8)
    for _ in range(40):
        rects = []
        for _ in range(int(rng.integers(1, 6))):
            cx, cy, s = rng.integers(0, 300), rng.integers(0, 200), rng.integers(24, 120)
            for _ in range(int(rng.integers(1, 12))):
                j = rng.integers(-4, 5, 3)
                rects.append([int(cx + j[0]), int(cy + j[1]), int(s + j[2]), int(s + j[2])])
        rects = np.asarray(rects, np.int64)
        for threshold in (0, 1, 3, 5):
            ref, _ = cv2.groupRectangles(rects.astype(np.int32).tolist(), threshold, 0.2)
            ref = np.asarray(ref, np.int64).reshape(-1, 4)
            ours = haar.group_rectangles(rects, threshold, 0.2)
            assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, ref.tolist()))


# -- detections ---------------------------------------------------------------------------------


def test_raw_hits_are_opencv_s_exactly(cascade, reference):
    """Before grouping (minNeighbors=0) every window OpenCV accepts, at every scale, and no other."""
    for name, rgb in _photos():
        grey = _grey(rgb)
        ours, ref = _ours(cascade, grey, 0), _opencv(reference, grey, 0)
        assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, ref.tolist())), name


def test_faces_in_photos_are_opencv_s(cascade, reference):
    with_faces = 0
    for name, rgb in _photos():
        grey = _grey(rgb)
        ref = _opencv(reference, grey)
        _assert_same_faces(_ours(cascade, grey), ref)
        with_faces += name.startswith("astronaut") and len(ref) > 0
    assert with_faces == 4  # the astronaut at every size, mirrored or not
    for n_faces, rgb in _composites():
        grey = _grey(rgb)
        ref = _opencv(reference, grey)
        assert len(ref) == n_faces
        _assert_same_faces(_ours(cascade, grey), ref)


def test_faces_in_shared_video_frames_are_opencv_s(cascade, reference, shared_video_paths):
    """The frames the face cue gets (plan_frames' face series) from the shared clips."""
    from engine.cues.plan import plan_frames
    from engine.media import probe, sample_frames

    n_frames = n_faces = 0
    for path in shared_video_paths:
        info = probe(path)
        plan = plan_frames(info)
        for f in sample_frames(path, [plan.requests[i] for i in plan.face], info=info):
            grey = haar.equalize_hist(haar.rgb_to_grey(f.image))
            assert np.array_equal(grey, _grey(f.image))
            ref = _opencv(reference, grey)
            _assert_same_faces(_ours(cascade, grey), ref)
            n_frames += 1
            n_faces += len(ref)
    assert n_frames >= 8 and n_faces > 0


def test_face_free_frames_have_no_faces(cascade, reference):
    rng = np.random.default_rng(9)
    frames = [
        rng.integers(0, 256, (216, 384, 3), dtype=np.uint8),  # noise
        np.full((216, 384, 3), (200, 40, 90), np.uint8),  # flat colour
        np.zeros((384, 216, 3), np.uint8),
        np.broadcast_to(np.linspace(0, 255, 384, dtype=np.uint8)[None, :, None], (216, 384, 3)).copy(),  # ramp
        rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),  # smaller than the window
    ]
    for rgb in frames:
        grey = _grey(rgb)
        assert len(_ours(cascade, grey)) == 0 and len(_opencv(reference, grey)) == 0
    result = faces.detect_faces([SampledFrame(float(i), float(i), 384, f) for i, f in enumerate(frames)], detector="haar")
    assert result.counts == [0] * len(frames) and result.largest == [0.0] * len(frames)


# -- the face cue -------------------------------------------------------------------------------


def test_detect_faces_reports_what_opencv_found(reference):
    frames, expected_counts, expected_largest = [], [], []
    for i, (name, rgb) in enumerate(_photos()):
        if not name.startswith(("astronaut", "coffee")):
            continue
        ref = _opencv(reference, _grey(rgb))
        frames.append(SampledFrame(0.5 * i, 0.5 * i + 0.01, 384, rgb))
        expected_counts.append(len(ref))
        area = rgb.shape[0] * rgb.shape[1]
        expected_largest.append(float((ref[:, 2] * ref[:, 3]).max() / area) if len(ref) else 0.0)
    result = faces.detect_faces(frames, detector="haar")
    assert result.times == [f.time_s for f in frames]
    assert result.counts == expected_counts and result.largest == expected_largest
    assert sum(expected_counts) >= 4


def test_the_face_cue_does_not_load_opencv(tmp_path):
    data = pytest.importorskip("skimage.data")
    np.save(tmp_path / "frame.npy", _resized(data.astronaut(), 384))
    code = (
        "import sys, numpy as np; from engine.cues import faces; from engine.media import SampledFrame;"
        f"img = np.load({str(tmp_path / 'frame.npy')!r});"
        "r = faces.detect_faces([SampledFrame(0.0, 0.0, 384, img)]);"
        "print(r.counts[0], 'cv2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["1", "False"]


@pytest.fixture
def fresh_cascade(monkeypatch):
    monkeypatch.setattr(faces, "_loaded", None)
    yield
    faces._loaded = None


def test_a_missing_cascade_says_what_to_reinstall(monkeypatch, tmp_path, fresh_cascade):
    monkeypatch.setattr(faces, "_resources_dir", lambda: tmp_path / "resources")
    monkeypatch.setattr(faces, "_opencv_data_dirs", lambda: [tmp_path / "cv2" / "data"])
    with pytest.raises(EngineError, match="reinstall") as e:
        faces.detect_faces([SampledFrame(0.0, 0.0, 64, np.zeros((64, 64, 3), np.uint8))], detector="haar")
    assert faces.CASCADE in str(e.value) and "opencv-python-headless" in str(e.value)


def test_the_application_s_copy_of_the_cascade_comes_first(monkeypatch, tmp_path, fresh_cascade):
    shipped = tmp_path / "resources" / "faces" / faces.CASCADE
    shipped.parent.mkdir(parents=True)
    shipped.write_bytes(faces.cascade_path().read_bytes())
    monkeypatch.setattr(faces, "_resources_dir", lambda: tmp_path / "resources")
    assert faces.cascade_path() == shipped
    assert faces.detect_faces([SampledFrame(0.0, 0.0, 64, np.zeros((64, 64, 3), np.uint8))], detector="haar").counts == [0]
    assert faces._loaded.path == shipped
    # and without it, OpenCV's copy, found without importing cv2
    monkeypatch.setattr(faces, "_resources_dir", lambda: tmp_path / "elsewhere")
    assert faces.cascade_path().parent.name == "data" and faces.cascade_path().parent.parent.name == "cv2"
