"""Inputs outside what a model learned from (issue 10 §3, issue 11 §2): clipped, said, and flagged when absurd."""
from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.features import spec as fs
from engine.features.plausible import impossible_values
from engine.features.spec import PostMeta
from engine.scoring import BatchItem, rank, score_video
from media_factory import make_video

SMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "smp-video"


def _typical(**kw) -> PostMeta:
    base = dict(caption="day 3 of learning guitar #guitar", post_time=datetime(2023, 3, 4, 18, 30),
                followers=12_000, following=300, author_likes=90_000, author_videos=120,
                duration_s=30.0, width=720, height=1280, music_original=True, language="en")
    base.update(kw)
    return PostMeta(**base)


def test_training_stores_each_input_range():
    metas = [PostMeta(followers=10 ** i, duration_s=5 + i) for i in range(5)] + [PostMeta()]
    names = ["log_followers", "log_duration"]
    spec = fs.fit_spec(fs.raw_matrix(metas, names), names, with_text=False)
    got = {f["name"]: f["range"] for f in spec["features"]}
    assert got["log_followers"] == pytest.approx([math.log1p(1), math.log1p(10 ** 4)])
    assert got["log_duration"] == pytest.approx([math.log1p(5), math.log1p(9)])


def test_out_of_range_values_are_clipped_and_listed():
    spec = {"features": [{"name": "a", "range": [0.0, 10.0]}, {"name": "b"}]}
    raw = np.array([[-5.0, 99.0], [4.0, -1.0], [12.0, np.nan], [np.nan, 3.0]])
    clipped, found = fs.clip_to_ranges(raw, spec)
    assert clipped[:, 0].tolist()[:3] == [0.0, 4.0, 10.0] and math.isnan(clipped[3, 0])
    assert clipped[:, 1].tolist()[:2] == [99.0, -1.0]  # no stored range (an older bundle): left alone
    assert [[o.feature for o in row] for row in found] == [["a"], [], ["a"], []]
    assert not found[2][0].far and found[0][0].far  # 2 past a width of 10 is near; 5 past is far


def test_the_default_model_has_ranges_and_its_scores_are_unchanged_inside_them(default_bundle):
    feats = default_bundle.manifest["feature_spec"]["features"]
    assert all(len(f["range"]) == 2 and f["range"][0] <= f["fill"] <= f["range"][1] for f in feats)
    metas = [_typical(followers=10 ** k, author_likes=8 * 10 ** k, caption="word " * k) for k in range(1, 7)]
    metas.append(PostMeta())
    inputs, found = default_bundle.model_inputs(metas)
    assert found == [[] for _ in metas]
    spec = default_bundle.manifest["feature_spec"]
    unclipped = default_bundle._session.run(None, fs.build_inputs(metas, spec))[0].ravel()
    assert np.array_equal(default_bundle.predict(metas), unclipped.astype(np.float64))


@pytest.mark.skipif(not (SMP / "train").is_dir(), reason="needs ../shared/data/smp-video")
def test_the_default_model_scores_its_own_training_posts_as_before(default_bundle):
    from engine.data.smp import load_smp
    from engine.models.ensemble import labelled_posts

    metas = labelled_posts(load_smp(SMP / "train")[0], None).metas
    inputs, found = default_bundle.model_inputs(metas)
    assert not any(found)
    spec = default_bundle.manifest["feature_spec"]
    unclipped = default_bundle._session.run(None, fs.build_inputs(metas, spec))[0].ravel()
    assert np.array_equal(default_bundle.run(inputs), unclipped.astype(np.float64))


@pytest.mark.parametrize("meta, words", [
    (dict(followers=1e30), "more than any account"),
    (dict(post_time=datetime(1900, 1, 1)), "before the platform existed"),
    (dict(post_time=datetime(3000, 1, 1)), "more than a year ahead"),
    (dict(post_time=datetime(9999, 12, 31, 23, 59)), "more than a year ahead"),
    (dict(post_time=datetime.fromisoformat("9999-12-31T23:59-05:00")), "more than a year ahead"),
    (dict(width=2, height=2), "2x2 pixels"),
])
def test_impossible_values_are_named(meta, words):
    reasons = impossible_values(_typical(**meta))
    assert len(reasons) == 1 and words in reasons[0]
    assert impossible_values(_typical()) == []


def _verdict(bundle, meta):
    from engine.scoring import _verdict
    from engine.cues import CueReport

    return _verdict(bundle, "x.mp4", meta, CueReport(cues=[]), None, "cpu")


@pytest.mark.parametrize("meta, far_input", [
    (dict(followers=1e30), "log_followers"),
    (dict(caption="word " * 4000), "n_chars"),
    (dict(duration_s=3 * 3600.0, width=16, height=16), "log_duration"),
])
def test_absurd_inputs_are_clipped_and_the_score_flagged(default_bundle, meta, far_input):
    v = _verdict(default_bundle, _typical(**meta))
    assert v["not_meaningful"] and "not meaningful" in v["notes"][0]
    assert any(o["input"] == far_input and o["far"] for o in v["out_of_range"])
    assert sum("clipped to its edge" in n for n in v["notes"]) == 1  # one line for all clipped inputs
    # the prediction is the one for the clipped input: as if the value sat on the edge of the training range
    edge = {o["input"]: o["clipped_to"] for o in v["out_of_range"]}
    assert math.isfinite(v["prediction"]) and 0 <= v["score"] <= 100
    assert edge[far_input] == max(f["range"] for f in default_bundle.manifest["feature_spec"]["features"]
                                  if f["name"] == far_input)[1]


def test_a_typical_post_is_meaningful_and_carries_no_range_note(default_bundle):
    v = _verdict(default_bundle, _typical())
    assert v["not_meaningful"] == [] and v["out_of_range"] == []
    assert not any("clipped" in n or "meaningful" in n for n in v["notes"])


def test_a_slightly_outside_value_is_clipped_but_still_meaningful(default_bundle):
    v = _verdict(default_bundle, _typical(followers=200_000_000))  # a little above SMP's largest account
    assert v["not_meaningful"] == []
    assert [o["input"] for o in v["out_of_range"]] == ["log_followers"]
    assert "200,000,000 followers" in v["notes"][0]


def test_tiny_and_144p_landscape_videos_rank_after_normal_ones(tmp_path, default_bundle):
    vertical = score_video(make_video(tmp_path / "phone.mp4", 2.0, size=(360, 640)), bundle=default_bundle,
                           device="cpu")
    qcif = score_video(make_video(tmp_path / "qcif.mp4", 2.0, size=(176, 144)), bundle=default_bundle, device="cpu")
    tiny = score_video(make_video(tmp_path / "tiny.mp4", 1.0, size=(16, 16)), bundle=default_bundle, device="cpu")
    assert vertical.meaningful
    assert not qcif.meaningful and "176x144" in qcif.not_meaningful[0]
    assert not tiny.meaningful and any("under 64" in r for r in tiny.not_meaningful)
    d = json.loads(json.dumps(qcif.as_dict(), allow_nan=False))
    assert d["meaningful"] is False and d["not_meaningful"] and d["out_of_range"]
    # even when a flagged video scores higher, it ranks after every meaningful one
    items = [BatchItem(r.path, report=r) for r in (tiny, qcif, vertical)]
    items[0].report.score = items[1].report.score = 99.0
    assert [Path(i.path).name for i in rank(items)][0] == "phone.mp4"
