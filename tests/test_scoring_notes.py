"""The notes a report carries about the inputs the model had to do without."""
from __future__ import annotations

import json
from types import SimpleNamespace

from engine.features.spec import PostMeta
from engine.models.bundle import default_bundle_path
from engine.scoring import _input_notes, _never_missing_in_training


def _bundle(indicators_dropped=()):
    manifest = json.loads((default_bundle_path() / "manifest.json").read_text(encoding="utf-8"))
    spec = manifest["feature_spec"]
    spec["indicators"] = [i for i in spec["indicators"] if i[len("missing_"):] not in indicators_dropped]
    return SimpleNamespace(manifest=manifest, uses_cues=False)


def test_a_model_trained_with_stats_missing_gets_no_warning():
    # the built-in ensemble is trained on copies with the account stats masked: it knows 'unknown'
    assert _never_missing_in_training(_bundle(), PostMeta(caption="hi")) == []


def test_a_model_that_always_saw_followers_warns_when_they_are_missing():
    bundle = _bundle(indicators_dropped=("followers", "author_likes"))
    assert _never_missing_in_training(bundle, PostMeta(caption="hi")) == ["followers", "author_likes"]
    assert _never_missing_in_training(bundle, PostMeta(caption="hi", followers=1200, author_likes=5000)) == []
    _used, missing, notes = _input_notes(bundle, PostMeta(caption="hi", followers=1200))
    assert "followers" not in missing
    warning = [n for n in notes if "trained only on posts that had their" in n]
    assert len(warning) == 1 and "account likes" in warning[0] and "follower count" not in warning[0]
