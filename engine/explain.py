"""Why a score is what it is: the points each input group moved it, against the typical post the model
learned from (DESIGN.md contract 8).

The typical post is stored in the bundle at training time (manifest["typical"], made by typical_post()):
every metadata feature at its training median with nothing missing, the training caption whose effect is the
median one, and the mean of the training embeddings for a network's caption, frames and audio. A score is
explained by running the same ONNX model on every mix of the post and the typical post over the input groups
(account, caption, time, sound, format, content): 2^groups rows (64 at most) in one batched call. Each group's
points are its exact Shapley value on the 0-100 score, so they add up to score - typical score.

Scoring side: numpy and the bundle only (no torch, no scikit-learn).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from .features.spec import FEATURES, GROUPS, PostMeta, raw_features
from .fields import fmt_count

#: how a report names each input group
GROUP_LABELS = {"account": "Account", "caption": "Caption", "time": "Post time", "sound": "Sound",
                "format": "Format", "content": "Content"}
#: the group of each input a network reads beside the feature spec's "num" (and the ensemble's "text")
EXTRA_GROUPS = {"text": "caption", "caption": "caption", "frames": "content", "audio": "content"}
_SOURCE_GROUP = {f.source: f.group for f in FEATURES}
#: which spec feature a format cue's advice is about (the model reads it when the feature is in its spec)
CUE_FEATURE = {"duration": ("log_duration",), "aspect": ("aspect", "vertical"), "resolution": ("log_pixels",)}


@dataclass
class Contribution:
    group: str
    label: str
    points: float  # what this group moved the 0-100 score, against the typical post
    detail: str = ""  # the post's value beside the typical one, in words

    def as_dict(self) -> dict:
        return {"group": self.group, "label": self.label, "points": round(self.points, 2), "detail": self.detail}


@dataclass
class Explanation:
    prediction: float
    score: float
    typical_prediction: float
    typical_score: float
    contributions: list[Contribution] = field(default_factory=list)
    #: inputs the model reads that could not be set to a typical value (an old bundle): left out of the groups
    unseparated: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ the typical post


def column_groups(spec: Mapping) -> list[str]:
    """The input group of each column of spec['columns'] (a missing_<source> indicator goes with its source)."""
    by_source = {f["source"]: f["group"] for f in spec["features"]}
    out = [f["group"] for f in spec["features"]]
    for ind in spec["indicators"]:
        src = ind[len("missing_"):]
        out.append(by_source.get(src) or _SOURCE_GROUP.get(src) or ("caption" if src == "text" else "account"))
    return out


def typical_num(spec: Mapping) -> np.ndarray:
    """The typical post's 'num' row: every feature at its training median (its fill), nothing missing."""
    return np.array([f["fill"] for f in spec["features"]] + [0.0] * len(spec["indicators"]), np.float32)


def typical_post(manifest: Mapping, run: Callable[[dict], np.ndarray], texts: Optional[Sequence[str]] = None,
                 extra: Optional[Mapping[str, np.ndarray]] = None) -> dict:
    """What "typical" means for a model, to store as manifest["typical"] at training time.

    `run(feeds) -> predictions` runs the model's ONNX graph; `texts`: the training posts' normalised caption
    texts (for a model with a 'text' input: the one whose prediction, everything else typical, is the median
    one becomes the typical caption); `extra`: the training arrays of a network's other inputs (caption,
    frames, audio), whose mean over the posts is the typical value."""
    spec = manifest["feature_spec"]
    num = typical_num(spec)
    out: dict = {
        "what": "the typical training post: each metadata feature at its training median with nothing missing, "
                "the training caption whose effect is the median one, the mean training embedding of each other "
                "input; contributions are measured against it",
        "num": [float(v) for v in num],
    }
    feeds: dict[str, np.ndarray] = {"num": num[None]} if spec["columns"] else {}
    text_input = (spec.get("text") or {}).get("input")
    if text_input and manifest.get("family", "ensemble") == "ensemble":
        pool = sorted({str(t) for t in (texts or ())}) or [""]
        preds = run({"num": np.repeat(num[None], len(pool), 0), text_input: np.array([[t] for t in pool], object)})
        order = np.argsort(preds, kind="stable")
        out["text"] = pool[int(order[(len(pool) - 1) // 2])]
        out["text_rule"] = f"median effect among {len(pool)} distinct training captions"
        feeds[text_input] = np.array([[out["text"]]], object)
    if extra:
        out["extra"] = {}
        for name, arr in extra.items():
            mean = np.nanmean(np.asarray(arr, np.float64), axis=0)
            out["extra"][name] = np.round(np.nan_to_num(mean), 6).tolist()
            feeds[name] = np.asarray(out["extra"][name], np.float32)[None]
    out["prediction"] = round(float(np.asarray(run(feeds)).ravel()[0]), 6)
    return out


def _typical_feeds(manifest: Mapping, post: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """One row of feeds for the typical post, and the inputs with no stored typical value (they keep the post's)."""
    spec = manifest["feature_spec"]
    typ = manifest.get("typical") or {}
    feeds: dict[str, np.ndarray] = {}
    kept: list[str] = []
    for name, arr in post.items():
        if name == "num":
            stored = typ.get("num")
            row = np.asarray(stored, np.float32) if stored is not None and len(stored) == arr.shape[1] \
                else typical_num(spec)
            feeds[name] = row[None]
        elif arr.dtype == object:  # the ensemble's caption text
            feeds[name] = np.array([[typ.get("text", "")]], object)
        elif name in (typ.get("extra") or {}):
            feeds[name] = np.asarray(typ["extra"][name], np.float32).reshape(arr.shape)
        else:
            feeds[name] = arr
            kept.append(name)
    return feeds, kept


# ------------------------------------------------------------------------------------------ the split


def shapley(values: Sequence[float], n: int) -> list[float]:
    """Exact Shapley values of n players from v(S) for every subset S, indexed by bitmask (bit i = player i)."""
    out = []
    for i in range(n):
        phi = 0.0
        for mask in range(1 << n):
            if mask >> i & 1:
                continue
            k = bin(mask).count("1")
            w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            phi += w * (values[mask | 1 << i] - values[mask])
        out.append(phi)
    return out


def explain_inputs(bundle, post: Mapping[str, np.ndarray], meta: Optional[PostMeta] = None) -> Explanation:
    """Explain one post given its ONNX feeds (bundle.inputs([meta], ...)): one batched run of 2^groups rows.
    The full row is the post itself, so its prediction is the one the report shows."""
    spec = bundle.manifest["feature_spec"]
    typical, kept = _typical_feeds(bundle.manifest, post)
    col_group = column_groups(spec)
    present = set(col_group) | {EXTRA_GROUPS.get(n, "content") for n in post if n != "num" and n not in kept}
    groups = [g for g in GROUPS if g in present]
    n = len(groups)
    masks = np.arange(1 << n)
    feeds = {}
    for name, arr in post.items():
        if name == "num":
            # column j comes from the post in the rows whose mask has its group's bit
            bit = np.array([groups.index(g) for g in col_group])
            take = (masks[:, None] >> bit[None, :]) & 1
            feeds[name] = np.where(take.astype(bool), arr[0][None], typical[name][0][None]).astype(np.float32)
        else:
            g = EXTRA_GROUPS.get(name, "content")
            rows = np.repeat(typical[name], len(masks), 0)
            if name not in kept:
                on = (masks >> groups.index(g)) & 1 == 1
                rows[on] = arr[0]
            else:
                rows[:] = arr[0]
            feeds[name] = np.ascontiguousarray(rows) if rows.dtype != object else rows
    preds = bundle.run(feeds)
    scores = [float(v) for v in bundle.percentiles(preds)]
    phi = shapley(scores, n)
    raw = _raw(meta)
    contributions = [Contribution(g, GROUP_LABELS[g], float(p), _detail(g, raw, spec)) for g, p in zip(groups, phi)]
    return Explanation(prediction=float(preds[-1]), score=scores[-1], typical_prediction=float(preds[0]),
                       typical_score=scores[0], contributions=contributions, unseparated=kept)


def _raw(meta: Optional[PostMeta]) -> dict:
    try:
        return raw_features(meta or PostMeta())
    except Exception:  # impossible metadata is refused before this point
        return {}


# ------------------------------------------------------------------------------------------ in words


def _fills(spec: Mapping) -> dict[str, float]:
    return {f["name"]: f["fill"] for f in spec["features"]}


def _hour(sin: float, cos: float) -> str:
    h = (math.atan2(sin, cos) / (2 * math.pi) * 24) % 24
    return f"{int(h):02d}:{int(round((h % 1) * 60 / 15) * 15) % 60:02d}"


def _detail(group: str, raw: Mapping, spec: Mapping) -> str:
    """The post's value for a group beside the typical one, in a few words."""
    fill = _fills(spec)
    if group == "account" and "log_followers" in fill:
        typ = f"typical about {fmt_count(math.expm1(fill['log_followers']))}"
        v = raw.get("log_followers")
        return f"no follower count ({typ})" if v is None else f"{fmt_count(math.expm1(v))} followers ({typ})"
    if group == "caption" and "n_words" in fill:
        v = raw.get("n_words")
        typ = f"typical {fill['n_words']:.0f}"
        return f"no caption ({typ} words)" if v is None else f"{v:.0f} words ({typ})"
    if group == "time" and "hour_sin" in fill and "hour_cos" in fill:
        typ = f"typical about {_hour(fill['hour_sin'], fill['hour_cos'])}"
        if raw.get("hour_sin") is None:
            return f"no post time ({typ})"
        return f"posted at {_hour(raw['hour_sin'], raw['hour_cos'])} ({typ})"
    if group == "sound" and "music_original" in fill:
        name = {None: "no sound given", 1.0: "original sound", 0.0: "a music track"}
        typ = "original sound" if fill["music_original"] >= 0.5 else "a music track"
        return f"{name.get(raw.get('music_original'), 'sound')} (typical: {typ})"
    if group == "format" and "log_duration" in fill:
        v = raw.get("log_duration")
        dur = "length unknown" if v is None else f"{math.expm1(v):.0f} s"
        shape = ""
        if raw.get("aspect") is not None:
            shape = ", vertical" if raw.get("vertical") else ", landscape" if raw["aspect"] < 0.95 else ", square"
        typ_shape = ", vertical" if fill.get("vertical", 1.0) >= 0.5 else ""
        return f"{dur}{shape} (typical {math.expm1(fill['log_duration']):.0f} s{typ_shape})"
    if group == "content":
        return "what the video shows and sounds like"
    return ""


#: the account stats beside followers, said in one line when missing: (source, feature, name, typical value as)
_ACCOUNT_MORE = (
    ("following", "log_following", "following count", "{} accounts followed"),
    ("author_likes", "log_author_likes", "account likes", "{} likes over all posts"),
    ("author_videos", "log_author_videos", "account video count", "{} videos"),
)
#: the other inputs a creator may leave out, in the order the lines are written
_ASSUMED = (
    ("text", "n_words", "no caption: assumed a typical caption length, {} words", lambda v: f"{v:.0f}"),
    ("post_time", "hour_sin", "no post time: assumed a typical time of day, about {}", None),
    ("music", "music_original", "no sound given: assumed {}",
     lambda v: "an original sound" if v >= 0.5 else "a music track (the most common case in the training data)"),
    ("language", "lang_en", "no caption language: assumed {}",
     lambda v: "English (the most common in the training data)" if v >= 0.5 else "not English"),
)
KNOWN_MISSING = " (the model knows it is missing: it also learned from posts without it)"


def training_data_name(manifest: Mapping) -> Optional[str]:
    """The name a bundle's manifest gives its training data (training_data.name), if any."""
    td = manifest.get("training_data")
    return str(td["name"]) if isinstance(td, Mapping) and td.get("name") else None


def assumed_account(spec: Mapping, data_name: Optional[str] = None) -> Optional[str]:
    """Which account the model stands in for one whose follower count is not given: the median account of its
    training data, e.g. 'the median account of its training data, SMP-Video (...): about 70k followers'; None
    when the model does not read followers."""
    fill = _fills(spec)
    if "log_followers" not in fill:
        return None
    return (f"the median account of its training data{f', {data_name}:' if data_name else ','} about "
            f"{fmt_count(math.expm1(fill['log_followers']))} followers")


def assumed_lines(spec: Mapping, meta: Optional[PostMeta], data_name: Optional[str] = None) -> list[str]:
    """One line for each input the post lacks that the model reads, naming the typical value put in its place
    (the training median); e.g. 'no follower count: assumed the median account of its training data, SMP-Video
    (...): about 70k followers ...; a smaller count usually lowers the score'. `data_name` names the training
    data (the manifest's training_data.name). A model that also learned from posts with that input hidden is said
    to know it is missing."""
    raw = _raw(meta)
    fill = _fills(spec)
    indicators = set(spec.get("indicators") or ())
    lacks = lambda feature: feature in fill and raw.get(feature, 0.0) is None  # noqa: E731
    known = lambda source: KNOWN_MISSING if f"missing_{source}" in indicators else ""  # noqa: E731
    lines = []
    if lacks("log_followers"):
        lines.append(f"no follower count: assumed {assumed_account(spec, data_name)}" + known("followers")
                     + "; giving a smaller count usually lowers the score, a larger one raises it")
    more = [(src, name, value.format(fmt_count(math.expm1(fill[feat])))) for src, feat, name, value in _ACCOUNT_MORE
            if lacks(feat)]
    if more:
        lines.append(f"no {_and([m[1] for m in more])}: assumed the typical {_and([m[2] for m in more])}"
                     + ((known(more[0][0]) if len(more) == 1 else KNOWN_MISSING.replace("it is", "they are")
                         .replace("without it", "without them")) if all(known(m[0]) for m in more) else ""))
    for source, feature, text, fmt in _ASSUMED:
        if not lacks(feature):
            continue
        value = _hour(fill["hour_sin"], fill.get("hour_cos", 1.0)) if feature == "hour_sin" else fmt(fill[feature])
        lines.append(text.format(value) + known(source))
    return lines


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def advice_notes(cues, spec: Mapping, contributions: Sequence[Contribution], reads_video: bool) -> list[dict]:
    """Each cue's advice, marked as about a model input or a general practice the model does not measure.

    A format cue is a model input when the model's spec has its feature; a content cue when the spec has
    cue_<name>. Advice about an input the model scored above the typical post says so, so the verdict and the
    advice do not pull in different directions unexplained."""
    names = {f["name"] for f in spec["features"]}
    points = {c.group: c.points for c in contributions}
    out = []
    for cue in cues:
        if not cue.advice:
            continue
        feats = CUE_FEATURE.get(cue.name, (f"cue_{cue.name}",))
        group = "format" if cue.name in CUE_FEATURE else "content"
        if any(f in names for f in feats):
            p = points.get(group, 0.0)
            note = f"model input: {GROUP_LABELS[group].lower()} moved this score {p:+.1f} points"
            if p > 0:
                note += "; the model does not count this against the video, the advice is common practice"
            out.append({"cue": cue.name, "advice": cue.advice, "about": "model input", "note": note})
        else:
            why = "general practice: this model does not measure it" + (
                "" if not reads_video else " as a number (it reads the video's pictures and sound as a whole)")
            out.append({"cue": cue.name, "advice": cue.advice, "about": "general practice", "note": why})
    return out


def summary_line(contributions: Sequence[Contribution], advice: Sequence[dict]) -> str:
    """One sentence that ties the score to its biggest mover and says how the advice below relates to it, so a
    high score beside several tips does not read as a contradiction."""
    if not contributions:
        return ""
    top = max(contributions, key=lambda c: abs(c.points))
    parts = [f"{top.label} moved the score most ({top.points:+.0f} points against the typical post)"
             if abs(top.points) >= 0.5 else "This post scores about like the typical post the model learned from"]
    general = sum(a["about"] == "general practice" for a in advice)
    model = len(advice) - general
    if general:
        parts.append(f"{general} tips below are general practice this model does not measure, so they neither "
                     "raised nor lowered this score" if general > 1 else "1 tip below is general practice this "
                     "model does not measure, so it neither raised nor lowered this score")
    if model:
        parts.append(f"{model} tips are about inputs the model reads: their effect is already in the points above"
                     if model > 1 else "1 tip is about an input the model reads: its effect is already in the "
                     "points above")
    return "; ".join(parts) + "."
