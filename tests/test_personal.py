"""The personal model (engine.personal): the creator-relative label, the time-ordered evaluation, the ONNX bundle,
the drivers analysis, the three sources of a history, and a planted content effect on generated videos."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.data.posts_csv import Post, write_posts_csv
from engine.errors import DataError
from engine.features.spec import PostMeta, meta_from_post
from engine.models.bundle import ModelBundle
from engine.personal.evaluate import caption_embeddings, evaluate_history, expanding_predictions
from engine.personal.history import from_dataset, from_posts_csv, from_videos, make_history, rolling_median
from engine.personal.learn import learn_personal, report_lines
from engine.personal.model import fit_ridge
from engine.personal.scoring import personal_part

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 1, 1, 12, 0)
CAPTIONS = ["a quiet day at the bench", "new tool review", "how I cut dovetails", "shop tour", "glue up time"]


def _history_posts(n: int, effect: float = 0.0, growth: float = 0.0, noise: float = 0.5, seed: int = 0,
                   author: str = "maker") -> list[Post]:
    """n daily posts; views = typical (growing by `growth` per post in log terms) x exp(effect x exclamation
    marks + noise). Exclamation marks 0-3, drawn at random."""
    rng = np.random.default_rng(seed)
    posts = []
    for i in range(n):
        bangs = int(rng.integers(0, 4))
        log_views = 8.0 + growth * i + effect * bangs + noise * rng.standard_normal()
        posts.append(Post(post_id=f"p{i:03d}", author_id=author, caption=CAPTIONS[i % 5] + "!" * bangs,
                          post_time=T0 + timedelta(days=i, hours=int(rng.integers(0, 8))),
                          duration_s=float(rng.integers(10, 60)), width=1080, height=1920,
                          views=float(round(math.expm1(log_views)))))
    return posts


def test_the_label_is_log_views_against_the_median_of_the_previous_k_posts(tmp_path):
    views = [100, 1000, 10, 100, 1000, 50]
    posts = [Post(post_id=str(i), author_id="a", post_time=T0 + timedelta(days=i), views=v) for i, v in enumerate(views)]
    h = make_history("a", posts[::-1], tmp_path, "test", k=3)  # given out of order: sorted by time
    lv = np.log1p(np.array(views, float))
    assert [p.post_id for p in h.posts] == ["0", "1", "2", "3", "4", "5"]
    labels = h.labels
    assert np.isnan(labels[:3]).all()  # fewer than 3 earlier posts: no typical value yet
    assert labels[3] == pytest.approx(lv[3] - np.median(lv[0:3]))
    assert labels[4] == pytest.approx(lv[4] - np.median(lv[1:4]))
    assert labels[5] == pytest.approx(lv[5] - np.median(lv[2:5]))  # only the previous k = 3
    # posts without views are skipped as "previous posts", not counted as zero
    assert rolling_median(np.array([1.0, np.nan, 2.0, 3.0, np.nan]), k=10, min_previous=3)[4] == pytest.approx(2.0)


def test_account_growth_does_not_pass_for_a_content_effect(tmp_path):
    h = make_history("maker", _history_posts(60, effect=0.0, growth=0.05, noise=0.0), tmp_path, "test")
    y = h.labels[h.k:]  # once k earlier posts exist
    assert np.ptp(h.log_views) > 2.5  # the account grew about 20-fold
    assert np.ptp(y) < 0.01  # ... but every post did as well as its recent typical: the same label


def test_the_time_ordered_evaluation_never_sees_the_future(tmp_path):
    posts = _history_posts(70, effect=0.6, seed=1)
    h = make_history("maker", posts, tmp_path, "test")
    a = expanding_predictions(h, min_train=20)
    changed = _history_posts(70, effect=0.6, seed=1)
    for p in changed[50:]:  # the future changes completely
        p.views = float(np.random.default_rng(int(p.post_id[1:])).integers(1, 10**7))
    b = expanding_predictions(make_history("maker", changed, tmp_path, "test"), min_train=20)
    assert list(a["rows"]) == list(b["rows"])
    first = int(np.searchsorted(a["rows"], 50))
    np.testing.assert_allclose(a["pred"][:first + 1], b["pred"][:first + 1])  # post 50 is still predicted alike
    assert not np.allclose(a["pred"][first + 1:], b["pred"][first + 1:])


def test_a_caption_effect_is_found_measured_and_named(tmp_path):
    h = make_history("maker", _history_posts(160, effect=0.6, growth=0.02, seed=2), tmp_path, "test")
    r = evaluate_history(h, n_boot=300)
    rel = r["relative"]
    assert r["reliable"] and r["summary"].startswith("ranks this creator's posts better than chance")
    assert rel["personal"]["spearman_ci"][0] > 0.3
    assert rel["rolling_median"]["spearman"] == 0.0  # chance by construction on the relative label
    assert rel["rolling_median"]["personal_minus_spearman_ci"][0] > 0  # paired interval: beats it
    assert set(rel) == {"personal", "rolling_median", "caption_length", "default_model"}
    top = r["drivers"][0]
    assert top["input"] == "n_exclaims" and top["driver"] and top["interval"][0] > 0
    assert all((d["interval"][0] > 0 or d["interval"][1] < 0) == d["driver"] for d in r["drivers"])


def test_too_few_posts_says_so_and_the_score_is_not_a_prediction(tmp_path):
    csv = write_posts_csv(tmp_path / "few.csv", _history_posts(34, effect=0.0, seed=3))
    out = tmp_path / "bundle"
    report = learn_personal(from_posts_csv(csv), out, n_boot=200, with_default=False)
    assert not report["reliable"]
    assert report["summary"].startswith("not enough posts yet to learn anything reliable (n = ")
    assert "chance" in report["summary"]
    part = personal_part(json.loads((out / "manifest.json").read_text()), 80.0)
    assert "not a prediction" in part["line"] and not part["reliable"]
    assert not [d for d in report["drivers"] if d["driver"] and d["interval"][0] <= 0 <= d["interval"][1]]


def test_the_bundle_runs_in_onnx_runtime_as_the_numpy_fit_does(tmp_path):
    posts = _history_posts(90, effect=0.5, seed=4)
    csv = write_posts_csv(tmp_path / "maker.csv", posts)
    out = tmp_path / "bundle"
    report = learn_personal(from_posts_csv(csv), out, n_boot=100, with_default=False)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["drivers.png", "manifest.json", "model.onnx", "report.json"]  # no pickle anywhere
    bundle = ModelBundle.load(out, device="cpu")
    assert bundle.family == "personal" and bundle.manifest["label"]["transform"] == "log1p-minus-rolling-median"
    h = from_posts_csv(csv)
    keep = np.flatnonzero(np.isfinite(h.labels))
    cap = caption_embeddings(h)
    fit = fit_ridge([meta_from_post(h.posts[i]) for i in keep], h.labels[keep], caption=cap[keep])
    metas = [meta_from_post(p) for p in h.posts]
    extra = {"caption": cap} if "caption" in bundle.extra_inputs else None
    np.testing.assert_allclose(bundle.predict(metas, extra=extra), fit.predict(metas, caption=cap), atol=1e-4)
    assert report["alpha"] == fit.alpha and report["caption_components"] == fit.caption_components
    assert "followers" not in json.dumps(bundle.manifest["feature_spec"]["columns"])  # account stats are not inputs


def test_one_author_of_a_dataset(tmp_path):
    from engine.data.store import Dataset

    posts = _history_posts(40, seed=5, author="maker") + _history_posts(30, seed=6, author="other")
    for p in posts[40:]:
        p.post_id = "o" + p.post_id
    csv = write_posts_csv(tmp_path / "two.csv", posts)
    ds_path = tmp_path / "d.sqlite"
    with Dataset.create(ds_path) as ds:
        ds.import_path(csv)
    h = from_dataset(ds_path, "@Maker")
    assert h.creator == "maker" and len(h.posts) == 40
    with pytest.raises(DataError, match="no posts by 'nobody'"):
        from_dataset(ds_path, "nobody")
    with pytest.raises(DataError, match="2 authors"):
        from_posts_csv(csv)


def _brightness_history(tmp_path: Path, n: int = 64):
    """n generated videos of one creator whose views follow the picture's brightness (the planted effect);
    their length varies at random and does nothing. Files are matched three ways; one row and one file
    are left without a partner."""
    from media_factory import make_custom_video

    rng = np.random.default_rng(7)
    folder = tmp_path / "videos"
    posts = []
    for i in range(n):
        grey = int(rng.integers(20, 236))
        seconds = float(rng.choice([1.0, 1.5, 2.0]))
        when = T0 + timedelta(days=i, hours=3)
        if i % 3 == 0:
            name, video_path = f"clip_p{i:03d}.mp4", None  # post id in the file name
        elif i % 3 == 1:
            name = f"upload {i}.mp4"  # a video_path column
            video_path = f"videos/{name}"
        else:
            name, video_path = f"{when:%Y-%m-%d}_export.mp4", None  # date and duration
        make_custom_video(folder / name, seconds=seconds, size=(96, 160), colour=(grey, grey, grey))
        log_views = 9.0 + 2.5 * (grey / 255.0) + 0.2 * rng.standard_normal()
        posts.append(Post(post_id=f"p{i:03d}", author_id="maker", caption=CAPTIONS[i % 5], post_time=when,
                          duration_s=seconds, video_path=video_path, views=float(round(math.expm1(log_views)))))
    posts.append(Post(post_id="gone", author_id="maker", caption=CAPTIONS[0], post_time=T0 + timedelta(days=n),
                      duration_s=9.0, views=float(round(math.expm1(10.3)))))
    make_custom_video(folder / "unrelated.mp4", seconds=1.0, size=(96, 160))
    return folder, write_posts_csv(tmp_path / "stats.csv", posts)


def test_a_planted_content_effect_is_found_and_named(tmp_path):
    folder, stats = _brightness_history(tmp_path)
    h = from_videos(folder, stats)
    assert h.unmatched_rows == ["gone"] and h.unmatched_videos == ["unrelated.mp4"]
    assert sum(1 for p in h.posts if p.video_path) == 64
    out = tmp_path / "bundle"
    report = learn_personal(h, out, n_boot=300, with_default=False)
    assert report["n_videos"] == 64
    assert report["reliable"], report["summary"]
    assert report["drivers"][0]["input"] == "cue_brightness" and report["drivers"][0]["driver"]
    assert "content cue 'brightness'" in report["driver_lines"][0]
    # nothing else by chance (the frames' embedding sees the brightness too, so its components may be named)
    assert [d["input"] for d in report["drivers"] if d["driver"] and d["group"] != "frames"] == ["cue_brightness"]
    n_days = 64
    # the bundle reads the video: a bright draft ranks above a dark one among this creator's posts
    from media_factory import make_custom_video

    from engine.scoring import score_video

    bundle = ModelBundle.load(out, device="cpu")
    assert bundle.uses_cues
    meta = PostMeta(caption=CAPTIONS[1], post_time=T0 + timedelta(days=n_days + 1, hours=3))
    bright = score_video(make_custom_video(tmp_path / "b.mp4", seconds=1.5, size=(96, 160), colour=(225,) * 3),
                         meta, bundle=bundle, device="cpu")
    dark = score_video(make_custom_video(tmp_path / "d.mp4", seconds=1.5, size=(96, 160), colour=(30,) * 3),
                       meta, bundle=bundle, device="cpu")
    assert bright.score > 75 > 25 > dark.score
    assert bright.personal["reliable"] and bright.personal["line"].startswith("Against your own posts (maker): ranks")


def test_learn_from_the_command_line_then_score_with_the_bundle(tmp_path):
    csv = write_posts_csv(tmp_path / "maker.csv", _history_posts(60, effect=0.6, seed=8))
    out = tmp_path / "mine"
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, a)], capture_output=True,  # noqa
                                    text=True, cwd=ROOT, timeout=300)
    r = run("learn", "--posts", csv, "--out", out, "--boot", "200", "--no-default")
    assert r.returncode == 0, r.stderr
    assert "verdict:" in r.stdout and "personal model" in r.stdout and (out / "model.onnx").exists()
    r = run("learn", "--videos", tmp_path, "--out", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.startswith("error: --videos and --stats go together")
    assert "Traceback" not in r.stderr
    from media_factory import make_video

    video = make_video(tmp_path / "draft.mp4", seconds=1.0, size=(160, 96))
    r = run("score", video, "--model", out, "--caption", "shop tour!!!")
    assert r.returncode == 0, r.stderr
    assert "Your own posts   Against your own posts (maker)" in r.stdout


def test_youtube_studio_export_is_read_as_stats_and_matched_by_id(tmp_path):
    from media_factory import make_video

    rows = ["Content,Video title,Video publish time,Duration,Views,Watch time (hours)",
            "Total,,,,\"12,500\",310.2"]
    for i in range(30):
        rows.append(f"vid{i:02d}xyz,Episode {i},\"{(T0 + timedelta(days=i)):%b} {(T0 + timedelta(days=i)).day}, 2025\","
                    f"61,\"{1000 + 37 * i:,}\",3.5")
    stats = tmp_path / "Table data.csv"
    stats.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "mine"
    make_video(folder / "Episode 3 [vid03xyz].mp4", seconds=0.5, size=(96, 64))
    h = from_videos(folder, stats)
    assert len(h.posts) == 30 and h.posts[0].post_id == "vid00xyz" and h.posts[-1].views == 1000 + 37 * 29
    assert h.posts[3].post_time == datetime(2025, 1, 4) and h.posts[3].duration_s == 61
    assert [p.post_id for p in h.posts if p.video_path] == ["vid03xyz"] and not h.unmatched_videos
    assert len(h.unmatched_rows) == 29
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError):
        from_videos(folder, bad)


def test_an_account_is_collected_with_the_user_source_then_learned(tmp_path, monkeypatch):
    """The collector itself needs a browser (tests/test_collect.py); here it stores recorded TikTok items of
    one account the way it does, and the history is read back from that dataset."""
    sys.path.insert(0, str(ROOT / "tests" / "collect_fixtures"))
    from fake_tiktok import make_item

    import engine.collect.collector as collector
    from engine.data.store import Dataset
    from engine.personal.history import from_account

    calls = []

    def fake_collect(source, dataset, count=100, *, download=False, progress=None, cancel=None, **kw):
        calls.append((source.kind, source.value, count, download))
        with collector.open_or_create(dataset) as ds:
            ds.import_tiktok_items([make_item(i, author="maker", views=1000 * (1 + i % 4)) for i in range(40)])

    monkeypatch.setattr(collector, "collect", fake_collect)
    h = from_account("https://www.tiktok.com/@Maker", tmp_path / "mine.sqlite", count=40, download=False)
    assert calls == [("user", "Maker", 40, False)]
    assert h.creator == "Maker" and len(h.posts) == 40  # the store keys posts by the numeric id, not the handle
    assert np.isfinite(h.labels).sum() == 37 and Dataset.is_dataset(tmp_path / "mine.sqlite")


def test_the_drivers_never_show_the_same_words_twice(tmp_path):
    """time of day and day of week are two inputs each (sine and cosine): each gets its own words."""
    from engine.personal.evaluate import drivers

    posts = _history_posts(80, effect=0.0, seed=11)
    rng = np.random.default_rng(11)
    for p in posts:  # posts spread over the whole clock and week
        p.post_time = p.post_time.replace(hour=int(rng.integers(0, 24)))
    h = make_history("maker", posts, tmp_path, "test")
    rows = np.flatnonzero(np.isfinite(h.labels))
    found = drivers(h, rows, n_boot=50)
    names = {d["input"] for d in found}
    assert {"hour_sin", "hour_cos", "dow_sin", "dow_cos"} <= names
    words = [d["description"] for d in found]
    assert len(words) == len(set(words)), words
    assert all(w.startswith("time of day") for w in (d["description"] for d in found if d["input"].startswith("hour")))


def test_the_caption_words_are_learned_in_time_order_and_run_in_onnx(tmp_path):
    """A word (not a count the caption traits see) that lifts views: found through the MiniLM embedding's
    components fitted on the earlier posts only, and the bundle (caption input) gives what numpy gives."""
    rng = np.random.default_rng(21)
    posts = []
    for i in range(120):
        cat = bool(rng.integers(0, 2))
        subject = ["my cat sleeping on the sofa", "a kitten chasing a toy", "cat videos compilation"][i % 3] if cat else \
            ["quarterly tax filing tips", "spreadsheet formulas explained", "how to read a balance sheet"][i % 3]
        log_views = 8.0 + 1.0 * cat + 0.4 * rng.standard_normal()
        posts.append(Post(post_id=f"w{i:03d}", author_id="maker", caption=subject, post_time=T0 + timedelta(days=i),
                          duration_s=30.0, views=float(round(math.expm1(log_views)))))
    h = make_history("maker", posts, tmp_path, "test")
    cap = caption_embeddings(h)
    with_words = evaluate_history(h, n_boot=100, with_default=False, caption=cap)
    without = evaluate_history(h, n_boot=100, with_default=False, with_caption=False)
    assert with_words["relative"]["personal"]["spearman_ci"][0] > 0.3
    assert without["relative"]["personal"]["spearman"] < 0.3  # the counts alone cannot tell the subjects apart
    out = tmp_path / "bundle"
    learn_personal(h, out, n_boot=50, with_default=False)
    bundle = ModelBundle.load(out, device="cpu")
    assert bundle.extra_inputs == ["caption"]
    keep = np.flatnonzero(np.isfinite(h.labels))
    metas = [meta_from_post(p) for p in h.posts]
    fit = fit_ridge([metas[i] for i in keep], h.labels[keep], caption=cap[keep])
    np.testing.assert_allclose(bundle.predict(metas, extra={"caption": cap}), fit.predict(metas, caption=cap),
                               atol=1e-4)
    # a draft without a caption gets the creator's typical caption (said in the assumed lines), not the
    # embedding of an empty text, which would move the score
    from media_factory import make_video

    from engine.features.inputs import caption_embedder
    from engine.scoring import score_video

    video = make_video(tmp_path / "draft.mp4", seconds=1.0, size=(96, 160))
    meta = PostMeta(caption=None, post_time=T0 + timedelta(days=121), duration_s=30.0)
    r = score_video(video, meta, bundle=bundle, device="cpu")
    typical = np.asarray([bundle.manifest["personal"]["typical_caption_embedding"]], np.float32)
    want = bundle.predict([meta], extra={"caption": typical})[0]
    empty = bundle.predict([meta], extra={"caption": caption_embedder("cpu").embed([""]).astype(np.float32)})[0]
    assert r.prediction == pytest.approx(want, abs=1e-5) and abs(want - empty) > 1e-3
    assert any(line.startswith("no caption: assumed") for line in r.assumed)


def test_the_general_part_runs_inside_the_personal_onnx_graph(tmp_path):
    """Shrinkage toward the general model: its graph is composed into the personal one (one ONNX file), fed
    from the personal inputs with the account fixed; ONNX Runtime gives what numpy + the general model give."""
    from engine.features.spec import model_inputs
    from engine.personal.model import GeneralPart, to_onnx
    from engine.runtime import make_session

    h = make_history("maker", _history_posts(60, effect=0.5, seed=22), tmp_path, "test")
    keep = np.flatnonzero(np.isfinite(h.labels))
    metas = [meta_from_post(p) for p in h.posts]
    general = GeneralPart.default(metas)
    assert general is not None and general.account["log_followers"] is None  # not given: its typical account
    fit = fit_ridge([metas[i] for i in keep], h.labels[keep], general=general)
    assert fit.general is not None and fit.spec["text"]
    session = make_session(to_onnx(fit), device="cpu")[0]
    assert sorted(i.name for i in session.get_inputs()) == ["num", "text"]
    got = session.run(None, model_inputs(metas, fit.spec)[0])[0].reshape(-1)
    np.testing.assert_allclose(got, fit.predict(metas), atol=1e-4)
    g = general.run(model_inputs(metas, fit.spec)[0]["num"], model_inputs(metas, fit.spec)[0]["text"],
                    *fit.general_map)
    assert np.ptp(g) > 0  # the general model reads each post's caption, time and format


def test_learn_with_shrinkage_toward_the_general_model_writes_one_onnx_that_loads(tmp_path):
    csv = write_posts_csv(tmp_path / "maker.csv", _history_posts(50, effect=0.5, seed=23))
    out = tmp_path / "shrunk"
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "learn", "--posts", str(csv), "--out", str(out),
                        "--boot", "50", "--shrink-general", "--no-caption-words", "--json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    bundle = ModelBundle.load(out, device="cpu")
    assert sorted(bundle.manifest["inputs"]) == ["num", "text"] and not bundle.extra_inputs
    report = json.loads((out / "report.json").read_text())
    assert report["general_model"]["model_sha256"] and report["caption_components"] == 0
    h = from_posts_csv(csv)
    assert np.isfinite(bundle.predict([meta_from_post(p) for p in h.posts])).all()
