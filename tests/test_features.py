"""The feature spec (engine.features.spec): the contract between training and scoring."""
import math
from datetime import datetime

import numpy as np
import pytest

from engine.errors import BundleError, InputError
from engine.features import spec as fs
from engine.features.spec import PostMeta, build_inputs, fit_spec, normalise_text, raw_features


def _metas():
    return [
        PostMeta(caption="Come tour my office! #HomeDecor @jane ?", hashtags=["fyp"], post_time=datetime(2023, 7, 1, 23, 30),
                 followers=12000, following=300, author_likes=450000, author_videos=90, music_title="original sound",
                 language="en", duration_s=21, width=720, height=1280),
        PostMeta(caption="cats", followers=100, following=5, author_likes=900, author_videos=12,
                 music_title="Flowers", language="es", duration_s=9, width=1080, height=1080,
                 post_time=datetime(2023, 7, 3, 8, 0)),
        PostMeta(),  # nothing known
        PostMeta(caption="dogs and more dogs 🐶🐶", followers=5e6, following=None, author_likes=None, author_videos=None,
                 post_time=datetime(2023, 7, 4, 0, 15), duration_s=60, width=1080, height=1920, language="un"),
    ]


def _spec(metas=None):
    metas = metas or _metas()
    names = [f.name for f in fs.FEATURES]
    return fit_spec(fs.raw_matrix(metas, names), names)


def test_normalise_text_matches_smp_style_tokens():
    creator = normalise_text("Come tour my office! #HomeDecor #fyp 🏠", None)
    smp = normalise_text("Come tour my office HomeDecor fyp", None)
    assert creator == smp == "come tour my office homedecor fyp"
    assert normalise_text("a b", ["#x", "yz"]) == "yz"  # one-letter tokens dropped
    assert normalise_text("Café_crème ÉTÉ", None) == "café crème été"
    assert normalise_text(None, None) == ""
    # the ONNX graph splits on single spaces: no doubled, leading or trailing spaces ever
    t = normalise_text("  hello,,,  world!!  ", ["  tag  "])
    assert t == "hello world tag"


def test_raw_features_values():
    f = raw_features(_metas()[0])
    assert f["log_followers"] == pytest.approx(math.log1p(12000))
    assert f["log_likes_per_video"] == pytest.approx(math.log1p(450000 / 90))
    assert f["n_hashtags"] == 2 and f["n_mentions"] == 1 and f["n_questions"] == 1
    assert f["tag_bait"] == 1 and f["lang_en"] == 1 and f["music_original"] == 1
    assert f["aspect"] == pytest.approx(1280 / 720) and f["vertical"] == 1
    # cyclic time: 23:30 sits next to 00:15
    late, early = raw_features(_metas()[0]), raw_features(_metas()[3])
    d = math.hypot(late["hour_sin"] - early["hour_sin"], late["hour_cos"] - early["hour_cos"])
    assert d < 0.25
    empty = raw_features(PostMeta())
    assert all(v is None for k, v in empty.items()), {k: v for k, v in empty.items() if v is not None}


def test_music_original_from_title_in_other_languages():
    assert raw_features(PostMeta(music_title="sonido original - Raul"))["music_original"] == 1
    assert raw_features(PostMeta(music_title="Flowers"))["music_original"] == 0
    assert raw_features(PostMeta(music_title="Flowers", music_original=True))["music_original"] == 1


def test_missing_values_become_fill_values_and_indicators():
    spec = _spec()
    assert spec["name"] == fs.FEATURE_SPEC_NAME and spec["version"] == fs.FEATURE_SPEC_VERSION
    assert "missing_following" in spec["indicators"] and "missing_text" in spec["indicators"]
    cols = spec["columns"]
    inputs = build_inputs([PostMeta(followers=1000)], spec)
    num = inputs["num"]
    assert num.dtype == np.float32 and num.shape == (1, len(cols))
    row = dict(zip(cols, num[0]))
    assert row["missing_following"] == 1 and row["missing_followers"] == 0 and row["missing_text"] == 1
    fills = {f["name"]: f["fill"] for f in spec["features"]}
    assert row["log_following"] == pytest.approx(fills["log_following"], rel=1e-6)
    assert row["log_followers"] == pytest.approx(math.log1p(1000), rel=1e-6)
    assert not np.isnan(num).any()
    # NaN counts are unknown, like None
    same = build_inputs([PostMeta(followers=1000, following=float("nan"))], spec)["num"]
    assert np.array_equal(same, num)
    assert inputs["text"].shape == (1, 1) and inputs["text"][0, 0] == ""


def test_constant_and_unknown_features_are_left_out():
    metas = [PostMeta(caption="same words", followers=10 ** i) for i in range(5)]
    names = [f.name for f in fs.ALL_FEATURES]
    spec = fit_spec(fs.raw_matrix(metas, names), names)
    kept = [f["name"] for f in spec["features"]]
    assert kept == ["log_followers"]
    assert not spec["uses_cues"]
    assert spec["unused"]["cue_faces"] == "never known in the training data"
    assert spec["unused"]["n_words"].startswith("constant")
    assert spec["indicators"] == []


def test_same_input_same_features():
    spec = _spec()
    a = build_inputs(_metas(), spec)
    b = build_inputs(_metas(), spec)
    assert np.array_equal(a["num"], b["num"]) and (a["text"] == b["text"]).all()
    # a post's features do not depend on the other posts in the batch
    one = build_inputs(_metas()[1:2], spec)
    assert np.array_equal(one["num"][0], a["num"][1])


def test_cues_used_only_when_trained_with_them():
    metas = _metas()
    cues = [{"faces": 0.8, "loudness": -14.0}, {"faces": 0.1}, None, {"faces": 0.5, "loudness": -30.0}]
    names = [f.name for f in fs.ALL_FEATURES]
    with_cues = fit_spec(fs.raw_matrix(metas, names, cues), names)
    assert with_cues["uses_cues"] and "cue_faces" in with_cues["columns"]
    a = build_inputs(metas, with_cues, cues)["num"]
    j = with_cues["columns"].index("cue_faces")
    assert a[0, j] == pytest.approx(0.8) and a[2, with_cues["columns"].index("missing_cue_faces")] == 1
    plain = _spec()
    assert np.array_equal(build_inputs(metas, plain, cues)["num"], build_inputs(metas, plain)["num"])


def test_spec_version_mismatch_is_refused():
    spec = _spec()
    old = dict(spec, version=fs.FEATURE_SPEC_VERSION - 1)
    with pytest.raises(BundleError, match="version"):
        build_inputs(_metas(), old)
    with pytest.raises(BundleError, match="feature spec"):
        build_inputs(_metas(), dict(spec, name="something-else"))
    unknown = dict(spec, features=spec["features"] + [{"name": "future_feature", "fill": 0, "source": "x"}])
    with pytest.raises(BundleError, match="future_feature"):
        build_inputs(_metas(), unknown)
    with pytest.raises(BundleError, match="normalised"):
        build_inputs(_metas(), dict(spec, text={"input": "text", "normalisation": "other"}))


def test_impossible_metadata_is_an_input_error():
    with pytest.raises(InputError, match="followers"):
        build_inputs([PostMeta(followers=-5)], _spec())
    with pytest.raises(InputError, match="width"):
        raw_features(PostMeta(width=-1, height=100))


def test_labels_are_not_features():
    names = {f.name for f in fs.ALL_FEATURES}
    for label in ("views", "likes", "comments", "shares", "saves", "popularity"):
        assert not any(label == n or n.startswith(label + "_") for n in names)
    assert not hasattr(PostMeta(), "views")
