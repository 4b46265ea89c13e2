"""The personal-model flow on the command line as a new user runs it: `learn --dataset D --author ID --out B`, then
`score VIDEO --model B`; a model whose ranking cannot be told from chance is not presented as a prediction."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.data.posts_csv import write_posts_csv
from test_personal import _history_posts

ROOT = Path(__file__).resolve().parent.parent


def test_learn_from_one_author_of_a_dataset_then_score_says_it_is_not_a_prediction_yet(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, a)],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT, timeout=300)
    posts = _history_posts(40, effect=0.0, seed=3, author="maker") + _history_posts(20, seed=4, author="other")
    for p in posts[40:]:
        p.post_id = "o" + p.post_id
    csv = write_posts_csv(tmp_path / "two.csv", posts)
    ds = tmp_path / "d.sqlite"
    assert run("dataset", "create", ds).returncode == 0
    assert run("dataset", "import", ds, csv).returncode == 0
    r = run("learn", "--dataset", ds, "--out", tmp_path / "b")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "2 authors (maker, other)" in r.stderr
    r = run("learn", "--dataset", ds, "--author", "maker", "--out", tmp_path / "b", "--boot", "200", "--no-default")
    assert r.returncode == 0, r.stderr
    assert "verdict: not enough posts yet" in r.stdout
    from media_factory import make_video

    r = run("score", make_video(tmp_path / "draft.mp4", seconds=1.0, size=(96, 160)), "--model", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert "is a personal model: its reading goes beside the general score" in r.stderr
    head = r.stdout.splitlines()[1]
    assert "ranks above" in head and "of the posts the model learned from" in head  # the general model's score
    assert "Against your own posts (maker): would rank above" in r.stdout and "not a prediction" in r.stdout


def test_the_pages_job_runs_without_a_runner_and_names_the_model_after_the_creator(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from gui.personal_page import learn_from_source

    csv = write_posts_csv(tmp_path / "Table.csv", _history_posts(40, effect=0.6, seed=9, author="@maker"))
    report = learn_from_source("posts", str(csv), "", "", None)  # no progress, no cancel token: the defaults
    assert Path(report["bundle"]).name == "personal-maker" and (Path(report["bundle"]) / "model.onnx").exists()
