"""Training every family from a dataset (engine.training): ONNX bundles equal the native models on the
validation rows, one-author histories, content-only, bad datasets, cancel, the `train` CLI.

The video paths use the real shared clips with SMALL GENERATED LABELS: they prove the mechanics (features
flow from the cache through training, export and scoring), not that the models predict anything real.
"""
import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from conftest import shared_videos  # noqa: E402

from engine.data.posts_csv import Post, write_posts_csv  # noqa: E402
from engine.data.store import Dataset  # noqa: E402
from engine.errors import Cancelled, DataError, InputError  # noqa: E402
from engine.jobs import CancelToken  # noqa: E402
from engine.explain import _typical_feeds, explain_inputs  # noqa: E402
from engine.models.bundle import ModelBundle  # noqa: E402
from engine.training import dataset_inputs, parse_features, resolve_groups, train_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY_NN = dict(max_epochs=8, patience=3, hidden=16, head_hidden=16, d_model=16, heads=2, layers=1, folds=3)
TINY_ENS = dict(folds=3, forest_trees=6, forest_depth=4, forest_min_leaf=3, boost_iter=20, text_min_df=2,
                text_components=4, knn_k=5, knn_max_rows=100, mlp_hidden=(6,), mlp_max_iter=100)
FRAMES = 4


def check_bundle(ds, bundle_dir: Path, report: dict) -> float:
    """The bundle, loaded and run as scoring runs it (ModelBundle, ONNX Runtime), against the native model's
    predictions on the validation rows; returns the largest difference."""
    for name in ("manifest.json", "model.onnx", "report.json", "learning_curve.png", "predicted_vs_actual.png"):
        assert (bundle_dir / name).is_file(), name
    assert (bundle_dir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = ModelBundle.load(bundle_dir, device="cpu")
    check = report["validation_check"]
    assert len(check["post_ids"]) >= 2
    metas, cues, extra = dataset_inputs(ds, bundle.manifest, check["post_ids"])
    got = bundle.predict(metas, cues, extra)
    diff = float(np.max(np.abs(got - np.asarray(check["native"]))))
    assert diff <= 1e-4, diff
    # the bundle records which posts it learned from (hashes of their ids), so evaluate can say "in-sample"
    from engine.models.bundle import training_overlap

    assert training_overlap(bundle.manifest, check["post_ids"]) == len(check["post_ids"])
    assert training_overlap(bundle.manifest, ["never-a-post"]) == 0
    # the typical post is stored at training time, and explaining one post adds up against it
    one = bundle.inputs(metas[:1], cues[:1] if cues else None, {k: v[:1] for k, v in (extra or {}).items()})
    typical, kept = _typical_feeds(bundle.manifest, one)
    assert kept == [] and bundle.run(typical)[0] == pytest.approx(bundle.manifest["typical"]["prediction"], abs=1e-4)
    why = explain_inputs(bundle, one, metas[0])
    assert why.prediction == pytest.approx(got[0], abs=1e-5)
    assert sum(c.points for c in why.contributions) == pytest.approx(why.score - why.typical_score, abs=1e-6)
    saved = json.loads((bundle_dir / "report.json").read_text())
    assert saved["family"] == report["family"] and saved["metrics"] == json.loads(json.dumps(report["metrics"]))
    return diff


# ----------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def video_ds(tmp_path_factory):
    """The 10 shared clips, 3 posts each (30 posts, 6 authors) with generated view counts, extracted."""
    clips = shared_videos()
    if len(clips) < 7:
        pytest.skip("the shared videos (../shared/data/videos) are absent")
    from engine.extract import extract_dataset

    root = tmp_path_factory.mktemp("videods")
    rng = np.random.RandomState(0)
    posts = []
    for i in range(30):
        clip = clips[i % len(clips)]
        followers = float(10 ** rng.uniform(2, 6))
        posts.append(Post(
            f"v{i}", author_id=f"creator{i % 6}", caption=f"clip {clip.stem[:6]} take {i} #test",
            post_time=datetime(2024, 1, 1) + timedelta(days=i), author_followers=followers,
            author_videos=float(rng.randint(5, 200)), author_likes=followers * 3,
            views=float(round(followers * math.exp(rng.normal(0, 1)) * (1 + (i % len(clips))))),  # GENERATED
            video_path=str(clip)))
    write_posts_csv(root / "posts.csv", posts)
    ds = Dataset.create(root / "videos.sqlite")
    ds.import_path(root / "posts.csv")
    res = extract_dataset(ds, frames=FRAMES, device="cpu")
    assert res.extracted == len(clips) and not res.failed
    yield ds
    ds.close()


def creator_posts(n=120, with_views=True):
    """A creator's own history: one author, n posts, from their analytics (synthetic numbers)."""
    rng = np.random.RandomState(3)
    words = "recipe pasta quick dinner vegan cake bread soup salad spicy".split()
    out = []
    for i in range(n):
        cap = " ".join(rng.choice(words, 3))
        views = float(round(1000 * math.exp(0.8 * ("cake" in cap) + rng.normal(0, 0.6)))) if with_views else None
        out.append(Post(f"c{i}", author_id="me", caption=cap, hashtags=["food"],
                        post_time=datetime(2023, 1, 1) + timedelta(days=2 * i, hours=int(rng.randint(0, 24))),
                        duration_s=float(rng.randint(8, 90)), width=1080, height=1920, author_followers=5000.0 + 10 * i,
                        views=views))
    return out


@pytest.fixture(scope="module")
def creator_ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("creator")
    write_posts_csv(root / "history.csv", creator_posts())
    ds = Dataset.create(root / "me.sqlite")
    ds.import_path(root / "history.csv")
    yield ds
    ds.close()


# ----------------------------------------------------------------------------- the three families


def test_ensemble_on_video_dataset_with_cached_content_cues(video_ds, tmp_path):
    out = tmp_path / "ens"
    rep = train_model(video_ds, "ensemble", out, features=("account", "content"), frames=FRAMES,
                      ensemble_config=TINY_ENS)
    assert rep["features"] == ["account", "content"] and rep["scheme"] == "grouped"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["family"] == "ensemble" and manifest["feature_spec"]["uses_cues"]
    assert any(f["group"] == "content" for f in manifest["feature_spec"]["features"])
    for who in ("model", "mean", "followers_only"):
        assert set(rep["metrics"]["cv"][who]) >= {"spearman", "mae", "auc_top25"}
    check_bundle(video_ds, out, rep)


def test_multimodal_on_video_dataset(video_ds, tmp_path):
    out = tmp_path / "mm"
    messages = []
    rep = train_model(video_ds, "multimodal", out, frames=FRAMES, neural_config=TINY_NN,
                      progress=lambda f, m: messages.append(f))
    assert rep["features"] == ["account", "caption", "time", "sound", "format", "content", "frames", "audio"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["family"] == "multimodal" and m["backbone"] == "efficientnet_lite0" and m["frame_count"] == FRAMES
    assert m["inputs"]["frames"]["shape"] == ["N", 1280] and m["inputs"]["caption"]["shape"] == ["N", 384]
    assert m["inputs"]["audio"]["shape"] == ["N", 44]
    assert [f for f in messages if f is not None] == sorted(f for f in messages if f is not None)
    assert check_bundle(video_ds, out, rep) <= 1e-4


def test_video_transformer_on_video_dataset(video_ds, tmp_path):
    out = tmp_path / "vid"
    rep = train_model(video_ds, "video", out, features=("account", "frames"), frames=FRAMES, neural_config=TINY_NN)
    m = json.loads((out / "manifest.json").read_text())
    assert m["family"] == "video" and m["inputs"]["frames"]["shape"] == ["N", FRAMES, 1280]
    assert m["inputs"]["frames"]["backbone"] == "efficientnet_lite0" and m["inputs"]["frames"]["frame_count"] == FRAMES
    assert len(rep["learning_curve"]["train_loss"]) >= 1
    check_bundle(video_ds, out, rep)


def test_content_only(video_ds, tmp_path):
    out = tmp_path / "content"
    rep = train_model(video_ds, "multimodal", out, content_only=True, frames=FRAMES, neural_config=TINY_NN)
    m = json.loads((out / "manifest.json").read_text())
    assert rep["features"] == ["content", "frames", "audio"]
    assert {f["group"] for f in m["feature_spec"]["features"]} == {"content"}
    assert set(m["inputs"]) == {"num", "frames", "audio"}
    assert any("content only" in n for n in rep["notes"])
    check_bundle(video_ds, out, rep)


def test_multimodal_bundle_scores_a_video_without_torch(video_ds, tmp_path):
    out = tmp_path / "mm-score"
    train_model(video_ds, "multimodal", out, features=("caption", "frames", "audio"), frames=FRAMES,
                neural_config=TINY_NN)
    clip = shared_videos()[0]
    code = ("import sys, json\nfrom engine.models.bundle import ModelBundle\nfrom engine.scoring import score_video\n"
            "from engine.features.spec import PostMeta\n"
            f"r = score_video({str(clip)!r}, PostMeta(caption='hello'), bundle=ModelBundle.load({str(out)!r}), device='cpu')\n"
            "print(json.dumps({'score': r.score, 'torch': 'torch' in sys.modules, 'sklearn': 'sklearn' in sys.modules}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0 <= got["score"] <= 100 and not got["torch"] and not got["sklearn"]


# ----------------------------------------------------------------------------- one author, tiny, unlabelled


def test_creator_history_falls_back_to_time_order(creator_ds, tmp_path):
    for family in ("ensemble", "multimodal"):
        out = tmp_path / family
        messages = []
        rep = train_model(creator_ds, family, out, features=("caption", "time", "format"),
                          ensemble_config=TINY_ENS, neural_config=TINY_NN, progress=lambda f, m: messages.append(m))
        assert rep["scheme"] == "time" and rep["n_authors"] == 1
        # each fold's held-out Spearman, as it finishes, for the Train page's per-fold plot
        folds = len(rep["metrics"]["cv"].get("best_epochs", [])) or TINY_ENS.get("folds", 5)
        done = [m for m in messages if "done, spearman=" in m and not m.startswith("time split")]
        assert [m.split("fold ")[1].split(" ")[0] for m in done] == [f"{k}/{folds}" for k in range(1, folds + 1)]
        assert any("grouped by author are impossible" in n for n in rep["notes"])
        assert "time_split" in rep["metrics"] and rep["metrics"]["time_split"]["model"]["n"] >= 20
        assert json.loads((out / "manifest.json").read_text())["evaluation"]["scheme"] == "time"
        check_bundle(creator_ds, out, rep)


@pytest.mark.parametrize("posts, message", [
    ([], "no posts"),
    ([Post("only", author_id="me", views=10.0)], "only 1 labelled posts"),
    (creator_posts(30, with_views=False), "none of its 30 posts has a label"),
])
def test_bad_datasets_give_clear_messages(tmp_path, posts, message):
    path = tmp_path / "d.sqlite"
    with Dataset.create(path) as ds:
        if posts:
            write_posts_csv(tmp_path / "p.csv", posts)
            ds.import_path(tmp_path / "p.csv")
    for family in ("ensemble", "multimodal", "video"):
        with pytest.raises(DataError, match=message):
            train_model(path, family, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_video_groups_need_extraction(creator_ds, tmp_path):
    with pytest.raises(DataError, match="dataset extract"):
        train_model(creator_ds, "video", tmp_path / "v")
    with pytest.raises(DataError, match="dataset extract"):
        train_model(creator_ds, "multimodal", tmp_path / "v", content_only=True)
    with pytest.raises(InputError, match="unknown feature group"):
        parse_features("account,likes")
    groups, notes = resolve_groups("ensemble", ("account", "frames"), False, True)
    assert groups == ("account",) and "ignored" in notes[0]


def test_cancel_leaves_the_previous_bundle(creator_ds, tmp_path):
    out = tmp_path / "b"
    train_model(creator_ds, "multimodal", out, features=("caption",), neural_config=TINY_NN)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    token = CancelToken()

    def progress(fraction, message):
        if fraction is not None and fraction > 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        train_model(creator_ds, "multimodal", out, features=("caption", "time"), neural_config=TINY_NN,
                    progress=progress, cancel=token)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary folder left behind


def test_train_cli(creator_ds, tmp_path):
    hooked = "train_cmd" in (ROOT / "cli" / "commands.py").read_text(encoding="utf-8")
    cmd = [sys.executable, "main.py"] if hooked else [sys.executable, "-c", (
        "import argparse, sys\nfrom cli import train_cmd\np = argparse.ArgumentParser()\n"
        "s = p.add_subparsers()\ntrain_cmd.register(s)\na = p.parse_args(sys.argv[1:])\nsys.exit(a.func(a))")]
    out = tmp_path / "cli-bundle"
    r = subprocess.run([*cmd, "train", "--dataset", str(creator_ds.path), "--model", "multimodal", "--features",
                        "caption,time", "--max-epochs", "5", "--folds", "3", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "time blocks (one author)" in r.stdout and (out / "manifest.json").is_file()
    r = subprocess.run([*cmd, "train", "--dataset", str(tmp_path / "none.sqlite"), "--model", "video", "--out",
                        str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_neural_held_out_measures_learn_their_feature_spec_from_training_rows_only(creator_ds, tmp_path,
                                                                                  monkeypatch):
    """Fill values and kept columns of each fold (and of the time split) come from its training rows, never
    from the posts it is measured on; the final network's spec comes from every post."""
    import engine.training as T

    seen = []
    real = T.fspec.fit_spec

    def spy(raw, names, with_text=True):
        seen.append(raw.shape[0])
        return real(raw, names, with_text)

    monkeypatch.setattr(T.fspec, "fit_spec", spy)
    rep = train_model(creator_ds, "multimodal", tmp_path / "m", features=("caption", "time"), neural_config=TINY_NN)
    n = max(seen)
    assert seen[-1] == n and seen.count(n) == 1  # the final network's spec (the manifest's): every post
    held_out = seen[:-1]  # each fold's training rows, then the time split's earlier posts
    assert len(held_out) == TINY_NN["folds"] + ("time_split" in rep["metrics"])
    assert all(0 < k < n for k in held_out)
    folds = held_out[:TINY_NN["folds"]]
    assert sum(n - k for k in folds) == n  # the held-out parts of the folds cover every post once


def test_neural_networks_learn_what_a_missing_account_stat_means(video_ds, tmp_path):
    """As the ensemble does, the multimodal network also trains on copies with account stats hidden: its spec
    has missing_<stat> indicators, its report measures the hidden regimes, and a post scored without
    followers gets no 'trained only on posts that had them' warning."""
    from engine.features.spec import PostMeta
    from engine.scoring import _never_missing_in_training

    out = tmp_path / "mm"
    rep = train_model(video_ds, "multimodal", out, features=("account", "caption"), frames=FRAMES,
                      neural_config=TINY_NN)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"missing_followers", "missing_author_likes"} <= set(m["feature_spec"]["indicators"])
    assert m["training"]["account_regimes"] == ["followers_only", "no_account"]
    masked = rep["metrics"]["cv_account_masked"]
    assert set(masked) == {"what", "followers_only", "no_account"}
    assert all(math.isfinite(masked[r]["spearman"]) for r in ("followers_only", "no_account"))
    bundle = ModelBundle.load(out)
    assert _never_missing_in_training(bundle, PostMeta(caption="hi")) == []
    # content-only training has no account stats to hide: nothing is added
    rep2 = train_model(video_ds, "multimodal", tmp_path / "c", features=("caption",), frames=FRAMES,
                       neural_config=TINY_NN)
    assert "cv_account_masked" not in rep2["metrics"]


def test_a_network_looks_at_the_cancel_token_within_an_epoch():
    # An epoch of the multimodal network on SMP takes seconds on busy cores; Cancel used to wait for its end.
    from engine.models import neural
    from tokens import CancelAfter

    rng = np.random.RandomState(0)
    arrays = {"num": rng.randn(400, 5).astype(np.float32)}
    epochs = []
    token = CancelAfter(3)
    cfg = neural.NeuralConfig(batch_size=32, max_epochs=5, hidden=8, head_hidden=8)
    with pytest.raises(Cancelled):
        neural.fit(arrays, rng.randn(400), np.arange(300), np.arange(300, 400), cfg, False,
                   lambda f, m: epochs.append(m), token)
    assert epochs == [] and token.looks == 3  # stopped inside the first epoch (10 batches)
