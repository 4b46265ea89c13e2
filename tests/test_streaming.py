"""Importing and evaluating a posts CSV stream it (issue 10 §6): the memory they hold per row is a few
numbers, not the row's text and objects. (The peak for a 1 M-row file is measured by benchmarks/bench_memory.py.)"""
from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from engine.data import posts_csv
from engine.data.posts_csv import PostsReader, read_posts_csv
from engine.data.store import Dataset
from engine.evaluate import evaluate
from engine.models.bundle import ModelBundle, default_bundle_path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_memory import write_posts  # noqa: E402

ROWS = 10_000
#: Python memory allowed per row: the old readers held the file's bytes, its text and a Post per row (> 2 kB)
MAX_BYTES_PER_ROW = 600


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    return write_posts(tmp_path_factory.mktemp("big") / "posts.csv", ROWS)


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_evaluate_streams_the_csv(big_csv):
    bundle = ModelBundle.load(default_bundle_path(), device="cpu")
    result = {}
    peak = _peak(lambda: result.update(evaluate(big_csv, bundle)))
    assert result["n"] == ROWS
    assert peak / ROWS < MAX_BYTES_PER_ROW, f"{peak / ROWS:.0f} bytes a row ({peak / 2**20:.1f} MB)"


def test_import_streams_the_csv(big_csv, tmp_path):
    with Dataset.create(tmp_path / "d.sqlite") as ds:
        result = {}
        peak = _peak(lambda: result.update(r=ds.import_path(big_csv)))
        assert result["r"].added == ROWS and ds.info()["posts"] == ROWS
    assert peak / ROWS < MAX_BYTES_PER_ROW, f"{peak / ROWS:.0f} bytes a row ({peak / 2**20:.1f} MB)"


def test_problems_are_counted_all_but_kept_few(tmp_path, monkeypatch):
    monkeypatch.setattr(posts_csv, "MAX_KEPT_PROBLEMS", 5)
    p = tmp_path / "bad.csv"
    p.write_text("post_id,author_followers\n" + "".join(f"p{i},lots\n" for i in range(50)), encoding="utf-8")
    with PostsReader(p) as reader:
        assert sum(1 for _ in reader) == 50
    assert reader.problem_count == 50 and len(reader.problems) == 5
    assert reader.problem_columns == {"author_followers": 50}
    assert "50 cells unreadable" in read_posts_csv(p).summary()
    with Dataset.create(tmp_path / "d.sqlite") as ds:
        r = ds.import_path(p)
    assert r.added == 50 and len(r.problems) == 6 and "45 more problems" in r.problems[-1]
