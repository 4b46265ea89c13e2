"""engine.cues.visual's numpy colour conversions and resizing against OpenCV's (the reference, in the dev
environment): the cut and motion cues must read as they did when OpenCV computed them."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.cues import visual

cv2 = pytest.importorskip("cv2")


def _images():
    rng = np.random.default_rng(7)
    yield rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    # every RGB triple whose channels are multiples of 5: all hue branches, ties between channels, greys
    v = np.arange(0, 256, 5, dtype=np.uint8)
    yield np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(52 * 52, 52, 3)
    skimage_data = pytest.importorskip("skimage.data")
    yield skimage_data.astronaut()
    yield skimage_data.coffee()


def test_grey_and_hsv_are_bit_exact():
    for img in _images():
        assert np.array_equal(visual.rgb_to_grey(img), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
        assert np.array_equal(visual.rgb_to_hsv_u8(img), cv2.cvtColor(img, cv2.COLOR_RGB2HSV))


def test_histogram_is_exact():
    for img in _images():
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        ref = cv2.calcHist([hsv], [0, 1, 2], None, list(visual.HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel()
        assert np.array_equal(visual.hsv_histogram(img), ref)


@pytest.mark.parametrize("shape", [(90, 160), (360, 640), (427, 240), (16, 16), (17, 33)])
def test_area_resize_matches_inter_area(shape):
    g = np.random.default_rng(1).random(shape, dtype=np.float32)
    ref = cv2.resize(g, (16, 16), interpolation=cv2.INTER_AREA)
    # OpenCV accumulates in float32 in a different order: agreement to ~1e-4 of the 0-1 range
    assert np.abs(visual.area_resize(g, 16, 16) - ref).max() < 5e-4


def test_cut_features_on_real_frames_match_opencv(shared_video_paths):
    from engine import media
    from engine.cues.plan import plan_frames

    path = shared_video_paths[0]
    info = media.probe(path)
    plan = plan_frames(info)
    frames = media.sample_frames(path, [plan.requests[i] for i in plan.cut][:12], info=info)
    feat = visual.frame_features(frames)
    for i, f in enumerate(frames):
        hsv = cv2.cvtColor(f.image, cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([hsv], [0, 1, 2], None, list(visual.HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel()
        assert np.array_equal(feat.hists[i], h / max(1.0, float(h.sum())))
        g = cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        assert np.abs(feat.grids[i] - cv2.resize(g, (16, 16), interpolation=cv2.INTER_AREA)).max() < 5e-4


def test_visual_does_not_load_opencv():
    code = ("import sys, numpy as np; from engine.cues import visual; from engine.media import SampledFrame;"
            "img = np.zeros((36, 64, 3), np.uint8);"
            "f = visual.frame_features([SampledFrame(0.0, 0.0, 64, img), SampledFrame(0.5, 0.5, 64, img)]); visual.detect_cuts(f);"
            "print('cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_colour_falls_in_opencvs_histogram_bin():
    # hsv_histogram looks the bins up in folded tables (_joint_bin_tables): check them on all 2^24 colours
    r, g = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8), indexing="ij")
    th, ts, tv = visual._bin_tables(visual.HIST_BINS)
    for b in range(256):
        img = np.stack([r, g, np.full_like(r, b)], -1)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int64)
        want = (th[hsv[:, 0]] * visual.HIST_BINS[1] + ts[hsv[:, 1]]) * visual.HIST_BINS[2] + tv[hsv[:, 2]]
        assert np.array_equal(visual._hist_bins(img), want), b
