"""Why a score is what it is (engine.explain): points per input group against the typical training post,
the typical values assumed for missing inputs, and advice marked as model input or general practice."""
from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest

from conftest import run_cli
from media_factory import make_video

from engine.explain import GROUP_LABELS, assumed_lines, explain_inputs, shapley, typical_post
from engine.features.spec import PostMeta
from engine.models.bundle import ModelBundle, default_bundle_path
from engine.scoring import rescore, score_video


METAS = [
    PostMeta(),
    PostMeta(followers=1200, caption="day 3 of learning guitar #guitar"),
    PostMeta(followers=2_500_000, following=40, author_likes=9e7, author_videos=800, caption="wait for it 😂 #fyp",
             post_time=datetime(2026, 12, 5, 18, 30), music_title="original sound", language="en"),
    PostMeta(followers=50, caption="", post_time=datetime(2026, 12, 1, 4, 0), music_title="Some Track"),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("why") / "clip.mp4", seconds=3.0, size=(360, 640), cuts_at=(1.5,))


@pytest.fixture(scope="module")
def report(clip, default_bundle):
    return score_video(clip, METAS[1], bundle=default_bundle, device="cpu")


def test_shapley_is_exact_on_known_games():
    # additive game: each player's value is its own worth
    worth = [3.0, -2.0, 0.5]
    additive = [sum(w for i, w in enumerate(worth) if m >> i & 1) for m in range(8)]
    assert np.allclose(shapley(additive, 3), worth)
    # pure interaction of players 0 and 1 (worth 4 only together): split evenly, player 2 gets nothing
    pair = [4.0 if (m & 3) == 3 else 0.0 for m in range(8)]
    assert np.allclose(shapley(pair, 3), [2.0, 2.0, 0.0])


@pytest.mark.parametrize("i", range(len(METAS)))
def test_contributions_add_up_to_the_distance_from_the_typical_post(report, default_bundle, i):
    r = rescore(report, METAS[i], default_bundle, device="cpu")
    total = sum(c.points for c in r.contributions)
    assert total == pytest.approx(r.score - r.typical_score, abs=1e-6)
    assert [c.group for c in r.contributions] == ["account", "caption", "time", "sound", "format"]
    assert all(c.label == GROUP_LABELS[c.group] for c in r.contributions)
    # the shown score is still the model's own prediction for the post (the batched row equals predict())
    pred = default_bundle.predict([PostMeta(**{**METAS[i].__dict__, "duration_s": r.info.duration_s,
                                       "width": r.info.width, "height": r.info.height})])[0]
    assert r.prediction == pytest.approx(pred, abs=1e-5)
    assert r.score == pytest.approx(default_bundle.percentile(pred), abs=0.01)


def test_typical_post_scores_its_stored_prediction_and_every_group_is_zero(default_bundle):
    typ = default_bundle.manifest["typical"]
    assert len(typ["num"]) == len(default_bundle.manifest["feature_spec"]["columns"]) and typ["text"]
    feeds = {"num": np.asarray(typ["num"], np.float32)[None], "text": np.array([[typ["text"]]], object)}
    why = explain_inputs(default_bundle, feeds)
    assert why.prediction == pytest.approx(typ["prediction"], abs=1e-4)
    assert why.score == why.typical_score
    assert all(c.points == 0.0 for c in why.contributions)


def test_the_default_model_file_is_unchanged_by_storing_the_typical_post():
    manifest = json.loads((default_bundle_path() / "manifest.json").read_text(encoding="utf-8"))
    # the sha256 of model.onnx as the default model was trained (cf9eeb5); loading checks the file against it
    assert manifest["files"]["model.onnx"]["sha256"] == (
        "5667396bb77a632e892da17e1fffc5c20a5ccead8c1b9284a4e2cca1880224b7")
    assert manifest["typical"]["text_rule"].startswith("median effect among")


def test_a_smaller_real_follower_count_is_explained_by_the_account_group(report, default_bundle):
    none = rescore(report, PostMeta(caption="day 3 of learning guitar #guitar"), default_bundle, device="cpu")
    small = rescore(report, PostMeta(caption="day 3 of learning guitar #guitar", followers=300), default_bundle,
                    device="cpu")
    assert small.score < none.score
    account = lambda r: next(c.points for c in r.contributions if c.group == "account")  # noqa: E731
    others = lambda r: sum(c.points for c in r.contributions if c.group != "account")  # noqa: E731
    assert account(small) < account(none)
    assert abs(others(small) - others(none)) < abs(account(small) - account(none))
    # the page can say what was assumed before the real count was entered
    fill = {f["name"]: f["fill"] for f in default_bundle.manifest["feature_spec"]["features"]}
    typical = math.expm1(fill["log_followers"])
    line = next(a for a in none.assumed if a.startswith("no follower count"))
    assert f"about {typical / 1e3:.0f}k followers" in line and "knows it is missing" in line
    assert not any(a.startswith("no follower count") for a in small.assumed)


def test_assumed_lines_name_each_missing_input_the_model_reads(default_bundle):
    spec = default_bundle.manifest["feature_spec"]
    lines = assumed_lines(spec, PostMeta())
    starts = [a.split(":")[0] for a in lines]
    assert starts == ["no follower count", "no following count, account likes and account video count",
                      "no caption", "no post time", "no sound given", "no caption language"]
    assert "accounts followed, " in lines[1] and " likes over all posts and " in lines[1]
    assert assumed_lines(spec, PostMeta(following=10, author_videos=3))[1].startswith(
        "no account likes: assumed the typical ")
    full = METAS[2]
    assert assumed_lines(spec, full) == []
    # a model without an input says nothing about it
    spec2 = dict(spec, features=[f for f in spec["features"] if f["group"] != "time"])
    assert not any(a.startswith("no post time") for a in assumed_lines(spec2, PostMeta()))


def test_advice_says_whether_the_model_reads_it(tmp_path, default_bundle):
    low = make_video(tmp_path / "low.mp4", seconds=3.0, size=(176, 144), moving=False, audio="silence")
    r = score_video(low, PostMeta(followers=1000), bundle=default_bundle, device="cpu")
    about = {a["cue"]: a for a in r.advice}
    assert about["aspect"]["about"] == "model input" and about["resolution"]["about"] == "model input"
    fmt = next(c.points for c in r.contributions if c.group == "format")
    assert f"{fmt:+.1f} points" in about["aspect"]["note"]
    general = [a for a in r.advice if a["cue"] not in ("aspect", "resolution", "duration")]
    assert general and all(a["about"] == "general practice" for a in general)
    assert all("does not measure" in a["note"] for a in general)
    assert any("two different videos" in n for n in r.notes)
    # the summary ties the verdict to the advice: how many tips are general practice, how many model inputs
    n_general, n_model = len(general), len(r.advice) - len(general)
    assert f"{n_general} tip" in r.summary and "general practice" in r.summary
    assert f"{n_model} tip" in r.summary and "already in the points above" in r.summary


def test_summary_names_the_biggest_mover_and_says_when_there_is_none():
    from engine.explain import Contribution, summary_line

    cs = [Contribution("account", "Account", -20.4), Contribution("caption", "Caption", 3.0)]
    tips = [{"about": "general practice"}] * 3
    line = summary_line(cs, tips)
    assert line.startswith("Account moved the score most (-20 points")
    assert "3 tips below are general practice" in line and "reads" not in line
    flat = summary_line([Contribution("account", "Account", 0.2)], [])
    assert flat.startswith("This post scores about like the typical post")


def test_typical_post_picks_the_median_effect_caption_and_mean_embeddings(default_bundle):
    spec = default_bundle.manifest["feature_spec"]
    pool = ["cat", "dog dog", "funny cat video", "guitar lesson day", "wow"]
    typ = typical_post(default_bundle.manifest, default_bundle.run, texts=pool)
    num = np.repeat(np.asarray(typ["num"], np.float32)[None], len(pool), 0)
    preds = default_bundle.run({"num": num, "text": np.array([[t] for t in sorted(pool)], object)})
    assert typ["text"] == sorted(pool)[int(np.argsort(preds, kind="stable")[2])]
    assert typ["prediction"] == pytest.approx(float(np.median(preds)), abs=1e-5)
    assert len(typ["num"]) == len(spec["columns"]) and typ["num"][-1] == 0.0  # indicators: nothing missing
    fake = dict(default_bundle.manifest, family="multimodal")
    got = typical_post(fake, lambda feeds: np.zeros(1), extra={"audio": np.array([[1.0, np.nan], [3.0, 4.0]])})
    assert got["extra"]["audio"] == [2.0, 4.0] and "text" not in got


def test_score_json_and_text_carry_the_explanation(clip):
    base = ["score", clip, "--followers", "900", "--device", "cpu"]
    r = run_cli(*base, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {c["group"] for c in out["contributions"]} == {"account", "caption", "time", "sound", "format"}
    assert all(set(c) >= {"group", "label", "points"} for c in out["contributions"])
    assert sum(c["points"] for c in out["contributions"]) == pytest.approx(out["score"] - out["typical_score"],
                                                                           abs=0.06)
    assert any(a.startswith("no caption:") for a in out["assumed"])
    assert all(a["about"] in ("model input", "general practice") for a in out["advice"])
    t = run_cli(*base)
    assert t.returncode == 0, t.stderr
    assert "Why this score" in t.stdout and "Assumed for what you did not give" in t.stdout
    assert out["summary"] and out["summary"] in t.stdout
    account = next(c for c in out["contributions"] if c["group"] == "account")
    assert f"Account        {account['points']:+6.1f}" in t.stdout


def test_a_bundle_made_before_typical_posts_were_stored_still_adds_up(tmp_path, report):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(default_bundle_path(), old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    del manifest["typical"]
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    bundle = ModelBundle.load(old, device="cpu")
    r = rescore(report, METAS[2], bundle, device="cpu")
    assert sum(c.points for c in r.contributions) == pytest.approx(r.score - r.typical_score, abs=1e-6)
    # typical = the spec's fill values with nothing missing and an empty caption
    num = np.array([[f["fill"] for f in manifest["feature_spec"]["features"]]
                    + [0.0] * len(manifest["feature_spec"]["indicators"])], np.float32)
    typical = bundle.run({"num": num, "text": np.array([[""]], object)})[0]
    assert r.typical_score == pytest.approx(bundle.percentile(typical), abs=1e-9)
    assert not any("leave out" in n for n in r.notes)


def test_an_input_without_a_stored_typical_value_keeps_the_posts_value(default_bundle):
    from engine.explain import _typical_feeds

    manifest = dict(default_bundle.manifest, typical={"num": default_bundle.manifest["typical"]["num"]})
    feeds = {"num": np.zeros((1, 3), np.float32), "frames": np.ones((1, 4), np.float32)}
    typical, kept = _typical_feeds(manifest, feeds)
    assert kept == ["frames"] and np.array_equal(typical["frames"], feeds["frames"])
