"""Issue 13 point 7: with no follower count, the general score says which typical account it assumed (for the
default model, the median account of SMP-Video, its training data), so that "more information lowered my score"
is explained: in the report, the `score` text and JSON, on the Score page, and in the My posts comparison."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from engine.data.posts_csv import Post
from engine.features.spec import PostMeta
from engine.models.active import default_bundle_path
from engine.personal.history import make_history

ROOT = Path(__file__).resolve().parent.parent


def _median_followers() -> str:
    from engine.fields import fmt_count

    m = json.loads((default_bundle_path() / "manifest.json").read_text(encoding="utf-8"))
    fill = {f["name"]: f["fill"] for f in m["feature_spec"]["features"]}
    return f"about {fmt_count(math.expm1(fill['log_followers']))} followers"


WANT = "no follower count: assumed the median account of its training data, SMP-Video"


def test_the_score_text_and_json_name_the_median_account_of_the_training_data(tmp_path):
    from media_factory import make_video

    video = make_video(tmp_path / "v.mp4", seconds=1.0, size=(96, 160))
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "main.py"), "score", str(video), *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT, timeout=300)
    r = run()
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "no follower count:" in x)
    assert WANT in line and _median_followers() in line and "a smaller count usually lowers the score" in line
    r = run("--json")
    out = json.loads(r.stdout)
    report = out[0] if isinstance(out, list) else out
    assert any(a.startswith(WANT) for a in report["assumed"])
    r = run("--followers", "300", "--json")
    out = json.loads(r.stdout)
    report = out[0] if isinstance(out, list) else out
    assert not any("follower" in a for a in report["assumed"])


def test_the_my_posts_comparison_says_which_account_the_default_model_assumed():
    t0 = datetime(2025, 1, 1)
    posts = [Post(post_id=f"p{i}", post_time=t0 + timedelta(days=i), views=100.0) for i in range(5)]
    h = make_history("me", posts, Path("."), "test")
    note = next(n for n in h.notes if "follower count" in n)
    assert "the general default model in the comparison assumed the median account of its training data, " \
           "SMP-Video" in note and _median_followers() in note
    posts[2].author_followers = 5000.0
    assert not any("follower count" in n for n in make_history("me", posts, Path("."), "test").notes)
