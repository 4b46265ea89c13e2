"""engine.evaluate: score a posts CSV with a bundle and compare with its labels."""
import math
from datetime import datetime

import pytest

from engine.data.posts_csv import Post, write_posts_csv
from engine.errors import DataError
from engine.evaluate import evaluate
from engine.models.bundle import ModelBundle, default_bundle_path


@pytest.fixture(scope="module")
def bundle():
    if not (default_bundle_path() / "manifest.json").is_file():
        pytest.fail("the default bundle is missing: run `python main.py train-default`")
    return ModelBundle.load(default_bundle_path(), device="cpu")


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


def test_counts_bad_rows_and_measures_the_rest(tmp_path, bundle):
    r = evaluate(_csv_with_bad_rows(tmp_path / "posts.csv"), bundle)
    assert r["n"] == 31  # 30 good rows + the row with an unreadable follower count
    assert r["skipped"]["no_label"] == 3 and r["skipped"]["label_unreadable"] == 1
    assert r["skipped"]["unreadable_rows"] == 1  # the row without a post id
    assert r["problems"] >= 2
    assert r["label"]["same_scale"] and r["note"] is None
    assert r["spearman"] > 0.5 and r["auc_top25"] > 0.7  # the synthetic label follows the follower count
    assert r["mae_log_views"] is not None and r["mae_log_views"] >= 0
    assert r["baseline_followers"]["n"] == 30


def test_views_label_on_a_popularity_model_is_flagged(tmp_path, bundle):
    r = evaluate(_csv_with_bad_rows(tmp_path / "views.csv", label="views"), bundle)
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
