"""What a personal bundle adds to a report: where the draft ranks among the creator's own posts, said as a
prediction only when the time-ordered evaluation showed the model ranks better than chance, and which of the
draft's inputs push it up or down for this creator.

The drivers are the personal model's per-input contributions: the bundle is run (one batched call, through the
same ONNX feeds as the score) on the draft and on the draft with one input at a time put back to the typical post
the model learned from (manifest["typical"], engine.explain); what the score loses or gains is that input's
points. Inputs that share a meaning (the sine and cosine of the time of day) move together, and a source's
missing-value indicator goes with its first input."""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

#: how many inputs are named on each side, and the smallest move (points of the 0-100 percentile) named at all
MAX_DRIVERS = 3
MIN_POINTS = 0.5
#: the words for the inputs a bundle reads beside the feature spec's "num"
EXTRA_WORDS = {"caption": "the caption's wording", "text": "the caption's wording", "frames": "what the frames show",
               "audio": "the sound"}


def personal_part(manifest: dict, score: float) -> Optional[dict]:
    """{creator, percentile, reliable, line} for a personal bundle's manifest, None for any other bundle.

    `score` is the bundle's percentile of the prediction; a personal bundle's quantiles are its creator's own
    posts (each predicted from the posts before it), so it reads "ranks above N% of your own posts"."""
    if manifest.get("family") != "personal":
        return None
    p = manifest.get("personal") or {}
    creator = p.get("creator") or "this creator"
    reliable = bool(p.get("reliable"))
    n = round(float(score))
    if reliable:
        line = f"Against your own posts ({creator}): ranks above {n}% of them."
    else:
        line = (f"Against your own posts ({creator}): would rank above {n}% of them, but this is not a prediction: "
                f"{p.get('summary') or 'the personal model could not be told from chance'}.")
    return {"creator": creator, "percentile": float(score), "reliable": reliable, "line": line,
            "typical_views": p.get("typical_views")}


def _units(spec: Mapping, post: Mapping[str, np.ndarray], kept: list[str]) -> list[tuple[str, str, object]]:
    """(key, words, what to put back): the "num" columns of each input (by meaning), then each extra input."""
    from ..features.spec import ALL_FEATURES

    known = {f.name: f for f in ALL_FEATURES}
    by_words: dict[str, tuple[str, list[int]]] = {}
    first_of_source: dict[str, str] = {}
    for j, f in enumerate(spec["features"]):
        feat = known.get(f["name"])
        words = _words(f["name"], feat)
        by_words.setdefault(words, (f["name"], []))[1].append(j)
        first_of_source.setdefault(f.get("source") or (feat.source if feat else f["name"]), words)
    for k, ind in enumerate(spec.get("indicators") or ()):
        words = first_of_source.get(ind[len("missing_"):], ind.replace("_", " "))
        by_words.setdefault(words, (ind, []))[1].append(len(spec["features"]) + k)
    units: list[tuple[str, str, object]] = [(key, words, cols) for words, (key, cols) in by_words.items()]
    units += [(name, EXTRA_WORDS.get(name, name.replace("_", " ")), None)
              for name in post if name != "num" and name not in kept]
    return units


def _words(name: str, feat) -> str:
    if name.startswith("cue_"):
        return name[4:].replace("_", " ") + " (measured from the video)"
    return feat.description if feat is not None else name.replace("_", " ")


def _detail(key: str, cols, post: Mapping[str, np.ndarray], typical: Mapping[str, np.ndarray]) -> str:
    """The draft's value beside the typical one, for a one-column input with a plain unit; else ''."""
    from ..features.spec import ALL_FEATURES

    feat = next((f for f in ALL_FEATURES if f.name == key), None)
    if feat is None or cols is None or "sin" in feat.unit or "cos" in feat.unit:
        return ""
    v, t = float(post["num"][0, cols[0]]), float(typical["num"][0, cols[0]])
    unit = feat.unit
    if unit == "0/1":
        return ("yes" if v >= 0.5 else "no") + f" (usually {'yes' if t >= 0.5 else 'no'})"
    if unit.startswith("ln(1 + ") and unit.endswith(")"):  # said in the input's own unit
        v, t, unit = float(np.expm1(v)), float(np.expm1(t)), unit[len("ln(1 + "):-1]
    elif unit.startswith("ln("):
        return ""
    if unit.startswith("share"):  # a share 0-1: in per cent
        return f"{100 * v:.0f}% (typical {100 * t:.0f}%)"
    return f"{v:.3g} {unit} (typical {t:.3g})"


def drivers(bundle, post: Mapping[str, np.ndarray]) -> tuple[float, list[dict], list[str]]:
    """(the draft's percentile, the inputs that move it most: {input, label, points, detail}, strongest first,
    at most MAX_DRIVERS up and MAX_DRIVERS down, each of at least MIN_POINTS, the words of the inputs the draft
    did not give). `post`: the bundle's ONNX feeds for the draft (bundle.model_inputs), one row.

    An input the draft did not give is first put at the creator's typical value, its missing-value indicator
    included. In a creator's history a missing value is a fact about the record (a post whose sound the export
    did not list), and the model may have learned that such posts did worse; for a draft it only means the user
    left the field empty, which says nothing about the video. Left as "missing", an empty Sound field moved a
    draft from 28% to 5% of its creator's posts."""
    from ..explain import _typical_feeds

    spec = bundle.manifest["feature_spec"]
    typical, kept = _typical_feeds(bundle.manifest, post)
    units = _units(spec, post, kept)
    n_feat = len(spec["features"])
    post = {name: np.array(arr, copy=True) for name, arr in post.items()}
    assumed = []
    for _key, words, cols in units:
        if cols is not None and any(c >= n_feat and post["num"][0, c] >= 0.5 for c in cols):  # indicator on
            post["num"][0, cols] = typical["num"][0, cols]
            assumed.append(words)
    rows = len(units) + 1
    feeds = {name: np.repeat(arr, rows, 0) for name, arr in post.items()}
    for i, (key, _words_, cols) in enumerate(units, 1):
        if cols is not None:
            feeds["num"][i, cols] = typical["num"][0, cols]
        else:
            feeds[key][i] = typical[key][0]
    scores = np.asarray(bundle.percentiles(bundle.run(feeds)), np.float64)
    found = []
    for (key, words, cols), s in zip(units, scores[1:]):
        points = float(scores[0] - s)
        if abs(points) >= MIN_POINTS:
            found.append({"input": key, "label": words, "points": round(points, 2),
                          "detail": _detail(key, cols, post, typical)})
    up = sorted((d for d in found if d["points"] > 0), key=lambda d: -d["points"])[:MAX_DRIVERS]
    down = sorted((d for d in found if d["points"] < 0), key=lambda d: d["points"])[:MAX_DRIVERS]
    return float(scores[0]), up + down, assumed


def personal_reading(bundle, post: Mapping[str, np.ndarray]) -> dict:
    """report.personal for a personal bundle run on the draft's feeds: personal_part plus the model's name, its
    drivers and the inputs not given (taken at the creator's typical value, see drivers)."""
    score, moved, assumed = drivers(bundle, post)
    part = personal_part(bundle.manifest, score)
    if assumed:
        part["line"] += f" Not given, so taken as this creator's usual: {'; '.join(assumed)}."
    return part | {"model": bundle.name, "drivers": moved, "assumed": assumed}


def driver_lines(personal: Mapping) -> list[tuple[str, str]]:
    """("up" | "down", "label  +4.1 points (detail)") for each driver of report.personal, as the CLI and the
    window say them."""
    out = []
    for d in personal.get("drivers") or ():
        detail = f"; {d['detail']}" if d.get("detail") else ""
        out.append(("up" if d["points"] > 0 else "down", f"{d['label']}: {d['points']:+.1f} points{detail}"))
    return out
