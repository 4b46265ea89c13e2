"""The scoring path (score, batch, evaluate, the cues) runs without SciPy, so the frozen scoring application
can leave it out. The numpy replacements are checked against SciPy itself (a dev and training dependency)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.cues import audio as audio_cues
from engine.cues import loudness

from media_factory import make_video

ROOT = Path(__file__).resolve().parent.parent


def _noise_and_sine(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * rng.standard_normal(t.size) + 0.5 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)


# --- K-weighting without scipy.signal ----------------------------------------------------------


@pytest.mark.parametrize("rate", [48000, 16000, 44100])
def test_sosfilt_equals_scipy(rate):
    signal = pytest.importorskip("scipy.signal")
    sos = loudness.k_weighting(rate)
    for x in (
        _noise_and_sine(3.3, rate),
        _noise_and_sine(0.05, rate, seed=1),  # shorter than the filter's settling length
        np.ones(7, np.float32),
        np.r_[1.0, np.zeros(3 * rate)],  # the impulse response, tail included
    ):
        ours, ref = loudness.sosfilt(sos, x), signal.sosfilt(sos, x.astype(np.float64))
        assert ours.shape == ref.shape and ours.dtype == np.float64
        assert np.abs(ours - ref).max() < 1e-9
    assert loudness.sosfilt(sos, np.zeros(0, np.float32)).size == 0


def test_sosfilt_over_many_chunks_equals_scipy():
    signal = pytest.importorskip("scipy.signal")
    rate = 48000
    x = _noise_and_sine(50, rate, seed=2)  # 2.4 M samples: several transform chunks, each of many blocks
    x[rate : 2 * rate] = 0.0  # a silent stretch right after loud audio: the decay must carry over
    sos = loudness.k_weighting(rate)
    assert np.abs(loudness.sosfilt(sos, x) - signal.sosfilt(sos, x.astype(np.float64))).max() < 1e-9


def test_loudness_figures_are_unchanged():
    signal = pytest.importorskip("scipy.signal")
    rate = 16000
    t = np.arange(5 * rate) / rate
    for x in (0.3 * np.sin(2 * np.pi * 997 * t), _noise_and_sine(4, rate)):
        y = signal.sosfilt(loudness.k_weighting(rate), x)
        z = np.array([np.mean(y[s : s + 6400] ** 2) for s in range(0, y.size - 6400 + 1, 1600)])
        _, ours = loudness.block_power(x, rate)
        assert np.abs(ours - z).max() < 1e-12
    assert loudness.integrated_loudness(0.3 * np.sin(2 * np.pi * 997 * t), rate) == pytest.approx(-13.47, abs=0.05)


def test_sosfilt_is_fast_on_long_audio():
    x = _noise_and_sine(600, 16000)  # ten minutes at the decode rate
    t = time.perf_counter()
    loudness.integrated_loudness(x, 16000)
    assert time.perf_counter() - t < 5.0  # ~0.2 s; a per-sample Python loop would take tens of seconds


# --- the music heuristic without scipy.ndimage -------------------------------------------------


def test_moving_mean_equals_uniform_filter1d_bit_for_bit():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(3)
    t = np.arange(16000 * 4) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    spec, _ = audio_cues._spectrogram(tone)  # real-like: dB spectra, float32
    cases = [spec[:, 6:256], rng.standard_normal((40, 250)).astype(np.float32), rng.standard_normal((5, 300)) * 1e3,
             rng.standard_normal((3, 5)), np.full((2, 20), -120.0, np.float32)]
    for band in cases:
        for size in (17, 3, 4):
            ref = ndimage.uniform_filter1d(band, size, axis=1, mode="nearest")
            ours = audio_cues.moving_mean(band, size)
            assert ours.dtype == ref.dtype and np.array_equal(ours, ref), (band.shape, size)


def test_row_dilation_equals_binary_dilation():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(4)
    for shape, p in (((50, 120), 0.05), ((7, 9), 0.5), ((1, 1), 1.0), ((3, 4), 0.0)):
        mask = rng.random(shape) < p
        ref = ndimage.binary_dilation(mask, structure=np.ones((1, 3), bool))
        assert np.array_equal(audio_cues.dilate_along_rows(mask), ref)


# --- the commands never load SciPy --------------------------------------------------------------


def _posts_csv(path: Path) -> Path:
    from engine.data.posts_csv import Post, write_posts_csv

    posts = []
    for i in range(12):
        followers = 10 ** (2 + i / 3)
        posts.append(Post(post_id=f"p{i}", author_id=f"a{i}", caption=f"post {i} #fyp", author_followers=followers,
                          author_likes=followers * 20, author_videos=100, author_following=50,
                          post_time=datetime(2023, 5, 1 + i, 18), duration_s=15, width=720, height=1280,
                          popularity=round(3 + 0.4 * i, 2)))
    write_posts_csv(path, posts)
    return path


def test_score_batch_and_evaluate_import_no_scipy(tmp_path):
    folder = tmp_path / "clips"
    video = make_video(folder / "clip.mp4", seconds=4.0, size=(360, 640), cuts_at=(2.0,), audio="noise")
    posts = _posts_csv(tmp_path / "posts.csv")
    code = (
        "import sys, json, main\n"
        "seen = {}\n"
        "for name, argv in %r:\n"
        "    rc = main.main(argv)\n"
        "    seen[name] = [rc, sorted(m for m in sys.modules if m.split('.')[0] == 'scipy')]\n"
        "print('SEEN', json.dumps(seen))\n"
    ) % ([("evaluate", ["evaluate", "--posts", str(posts), "--json"]),
          ("score", ["score", str(video), "--json", "-q"]),
          ("batch", ["batch", str(folder), "--json", "-q", "--workers", "1"])],)  # one file: in this process
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    seen = json.loads([line for line in r.stdout.splitlines() if line.startswith("SEEN ")][0][5:])
    assert seen == {"evaluate": [0, []], "score": [0, []], "batch": [0, []]}, (seen, r.stderr[-2000:])
