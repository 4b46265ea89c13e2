"""The feature spec: the one contract between training and scoring (DESIGN.md contract 5).

From what a creator knows before posting (PostMeta) and, optionally, the content cues measured from
the video file, to the named, ordered numbers (and the caption text) a model reads. Numpy only.

A trained model stores its slice of the spec in its manifest (`manifest["feature_spec"]`): the features
it uses, in order, with the fill value learned at training for each, and the missing-value indicator
columns. build_inputs() rebuilds exactly those inputs, so scoring never has to guess:

- a missing value (None, NaN) is replaced by the fill value (the training median) and, when the
  model was trained with missing values for that input, an indicator column `missing_<source>` is 1;
- the caption and hashtags become one normalised text (normalise_text) that the model's own
  TF-IDF + SVD step (inside the ONNX graph) turns into numbers.

Pre-publication inputs only: the post's own views, likes, comments, shares and saves are labels and
never appear here. Change anything about how a feature is computed -> bump FEATURE_SPEC_VERSION, and
bundles built with the old spec are refused with a clear message.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from ..errors import BundleError, InputError

FEATURE_SPEC_NAME = "post-meta"
FEATURE_SPEC_VERSION = 1
TEXT_NORMALISATION = "nfkc-lower-words-v1"

GROUPS = ("account", "caption", "time", "sound", "format", "content")
#: the account stats a creator may not give (the ratios are missing when what they are made from is); a model
#: trained only on posts that had them has never seen one missing
ACCOUNT_SOURCES = ("followers", "following", "author_likes", "author_videos", "likes_per_video",
                   "likes_per_follower")


#: "original sound" as TikTok writes it in the languages seen in SMP-Video. A title that starts with one
#: of these ("original sound - someone") is an original recording (the creator's or another's), not a track.
ORIGINAL_SOUND = (
    "original sound",
    "sonido original",
    "som original",
    "son original",
    "suono originale",
    "originalton",
    "origineel geluid",
    "originalljud",
    "orijinal ses",
    "sunet original",
    "dźwięk oryginalny",
    "оригинальный звук",
    "оригінальний звук",
    "nhạc nền",
    "suara asli",
    "原聲",
    "原声",
    "オリジナル楽曲",
    "เสียงต้นฉบับ",
    "الصوت الأصلي",
)


def is_original_sound(title: Optional[str]) -> Optional[bool]:
    """True when the music title names an original sound (any language), None when no title."""
    if title is None or not title.strip():
        return None
    low = title.strip().lower()
    return any(low.startswith(s) for s in ORIGINAL_SOUND)


#: What a creator types for "my own sound" in a sound field.
OWN_SOUND_WORDS = frozenset({"original", "own", "mine", "my own"})


def sound_from_text(text: Optional[str]) -> tuple[Optional[str], Optional[bool]]:
    """A sound field as typed ('original', 'original sound', 'sonido original', or a track title) ->
    (music_title, music_original); (None, None) when empty."""
    text = (text or "").strip()
    if not text:
        return None, None
    if text.lower() in OWN_SOUND_WORDS or is_original_sound(text):
        return "original sound", True
    return text, False


@dataclass
class PostMeta:
    """What a creator knows before posting; every field optional."""

    caption: Optional[str] = None
    hashtags: Optional[list[str]] = None
    post_time: Optional[datetime] = None
    followers: Optional[float] = None
    following: Optional[float] = None
    author_likes: Optional[float] = None
    author_videos: Optional[float] = None
    music_title: Optional[str] = None
    music_original: Optional[bool] = None
    language: Optional[str] = None
    duration_s: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None


def meta_from_post(post) -> PostMeta:
    """The pre-publication part of a posts-CSV row (engine.data.posts_csv.Post); labels are left behind."""
    return PostMeta(
        caption=post.caption,
        hashtags=list(post.hashtags) if post.hashtags is not None else None,
        post_time=post.post_time,
        followers=post.author_followers,
        following=post.author_following,
        author_likes=post.author_likes,
        author_videos=post.author_videos,
        music_title=post.music_title,
        music_original=post.music_original,
        language=post.language,
        duration_s=post.duration_s,
        width=post.width,
        height=post.height,
    )


# ---------------------------------------------------------------------------------------------- text

_NON_WORD = re.compile(r"[\W_]+")
_MENTION = re.compile(r"(?<![\w@])@\w")
_HASHTAG = re.compile(r"(?<![\w#])#\w")
#: Tokens people add hoping to be pushed to the For You page.
TAG_BAIT = frozenset(
    "fyp foryou foryoupage fypage fypシ fy viral viralvideo trending xyzbca makemefamous makemeviral "
    "blowthisup tiktokviral goviral".split()
)


def normalise_text(caption: Optional[str], hashtags: Optional[Sequence[str]] = None) -> str:
    """Caption and hashtags as one string of lower-case words separated by single spaces.

    NFKC, lower case, every run of non-letters/digits (punctuation, '#', '@', emoji, '_') becomes a
    space, one-character tokens are dropped. The result is exactly what scikit-learn's default token
    pattern (\\w\\w+) finds and what splitting on ' ' finds, so the TF-IDF step gives the same tokens in
    scikit-learn and in the ONNX graph.
    """
    parts = [caption or ""] + [str(h) for h in (hashtags or [])]
    text = unicodedata.normalize("NFKC", " ".join(parts)).lower()
    return " ".join(w for w in _NON_WORD.split(text) if len(w) >= 2)


def _is_emoji(ch: str) -> bool:
    o = ord(ch)
    return (
        0x1F000 <= o <= 0x1FAFF
        or 0x2600 <= o <= 0x27BF
        or 0x2B00 <= o <= 0x2BFF
        or (unicodedata.category(ch) == "So" and o > 0x2000)
    )


def _n_hashtags(caption: Optional[str], hashtags: Optional[Sequence[str]]) -> int:
    given = {h.lstrip("#").lower() for h in (hashtags or []) if h and h.lstrip("#")}
    in_caption = {m.group(0)[1:].lower() for m in re.finditer(r"(?<![\w#])#\w+", caption or "")}
    return len(given | in_caption)


# ------------------------------------------------------------------------------------------ features


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    unit: str
    source: str  # features from one source are missing together and share one indicator
    description: str


def _count(x) -> Optional[float]:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _log1p(x: Optional[float]) -> Optional[float]:
    return None if x is None else math.log1p(max(0.0, x))


FEATURES: tuple[Feature, ...] = (
    # account: how many people the post can reach on day one
    Feature("log_followers", "account", "ln(1 + followers)", "followers", "the account's followers"),
    Feature("log_following", "account", "ln(1 + accounts followed)", "following", "accounts it follows"),
    Feature("log_author_likes", "account", "ln(1 + likes)", "author_likes", "likes over all its posts"),
    Feature("log_author_videos", "account", "ln(1 + videos)", "author_videos", "videos it has posted"),
    Feature(
        "log_likes_per_video", "account", "ln(1 + likes / videos)", "likes_per_video",
        "the account's typical likes per video",
    ),
    Feature(
        "log_likes_per_follower", "account", "ln(1 + likes / followers)", "likes_per_follower",
        "likes earned per follower (how engaging the account is)",
    ),
    # caption and hashtags
    Feature("n_words", "caption", "words", "text", "words in caption and hashtags"),
    Feature("n_chars", "caption", "characters", "text", "length of the normalised caption text"),
    Feature("n_hashtags", "caption", "hashtags", "text", "distinct hashtags"),
    Feature("n_mentions", "caption", "mentions", "text", "@mentions in the caption"),
    Feature("n_questions", "caption", "question marks", "text", "question marks in the caption"),
    Feature("n_exclaims", "caption", "exclamation marks", "text", "exclamation marks in the caption"),
    Feature("n_emoji", "caption", "emoji", "text", "emoji in the caption"),
    Feature("upper_share", "caption", "share 0-1", "text", "share of capital letters among letters"),
    Feature("tag_bait", "caption", "0/1", "text", "uses #fyp, #foryou, #viral or the like"),
    Feature("lang_en", "caption", "0/1", "language", "caption language is English"),
    Feature("lang_undetermined", "caption", "0/1", "language", "caption language could not be told"),
    # planned post time (local clock as given; cyclic so 23:00 is next to 00:00)
    Feature("hour_sin", "time", "sin(2 pi hour / 24)", "post_time", "time of day"),
    Feature("hour_cos", "time", "cos(2 pi hour / 24)", "post_time", "time of day"),
    Feature("dow_sin", "time", "sin(2 pi weekday / 7)", "post_time", "day of week"),
    Feature("dow_cos", "time", "cos(2 pi weekday / 7)", "post_time", "day of week"),
    Feature("weekend", "time", "0/1", "post_time", "posted on Saturday or Sunday"),
    # sound
    Feature("music_original", "sound", "0/1", "music", "an original sound rather than a music track"),
    # format
    Feature("log_duration", "format", "ln(1 + seconds)", "duration", "video length"),
    Feature("aspect", "format", "height / width", "size", "picture shape (1.78 for 9:16)"),
    Feature("vertical", "format", "0/1", "size", "taller than wide"),
    Feature("log_pixels", "format", "ln(width x height)", "size", "resolution"),
)

#: Content cues measured from the video file (engine.cues), by the cue's name.
CUE_UNITS: dict[str, str] = {
    "duration": "seconds",
    "aspect": "height / width",
    "resolution": "pixels on the short side",
    "cuts_per_min": "shot cuts per minute",
    "hook_motion": "mean motion in the first 3 s, 0-1",
    "faces": "share of sampled frames with a face, 0-1",
    "face_size": "largest face's share of the frame, 0-1",
    "onscreen_text": "share of sampled frames with text, 0-1",
    "brightness": "mean luma, 0-1",
    "colourfulness": "Hasler-Susstrunk colourfulness",
    "loudness": "LUFS (integrated, ITU-R BS.1770)",
    "speech_share": "share of the audio with speech, 0-1",
    "music_share": "share of the audio with music, 0-1",
    "silence_share": "share of the audio that is silent, 0-1",
}
CUE_FEATURES: tuple[Feature, ...] = tuple(
    Feature(f"cue_{k}", "content", u, f"cue_{k}", f"content cue '{k}' measured from the video")
    for k, u in CUE_UNITS.items()
)
ALL_FEATURES: tuple[Feature, ...] = FEATURES + CUE_FEATURES
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in ALL_FEATURES}


def _check_count(name: str, x) -> Optional[float]:
    v = _count(x)
    if v is not None and v < 0:
        raise InputError(f"{name} cannot be negative (got {x})")
    return v


def raw_features(meta: PostMeta, cues: Optional[Mapping[str, Optional[float]]] = None) -> dict[str, Optional[float]]:
    """Every feature of the spec for one post; None where the input is unknown.

    Raises InputError for impossible metadata (negative counts or sizes)."""
    f: dict[str, Optional[float]] = {}
    followers = _check_count("followers", meta.followers)
    following = _check_count("following", meta.following)
    likes = _check_count("author likes", meta.author_likes)
    videos = _check_count("author videos", meta.author_videos)
    f["log_followers"] = _log1p(followers)
    f["log_following"] = _log1p(following)
    f["log_author_likes"] = _log1p(likes)
    f["log_author_videos"] = _log1p(videos)
    f["log_likes_per_video"] = (
        None if likes is None or videos is None else math.log1p(likes / max(videos, 1.0))
    )
    f["log_likes_per_follower"] = (
        None if likes is None or followers is None else math.log1p(likes / max(followers, 1.0))
    )

    if meta.caption is None and meta.hashtags is None:
        for k in ("n_words", "n_chars", "n_hashtags", "n_mentions", "n_questions", "n_exclaims",
                  "n_emoji", "upper_share", "tag_bait"):
            f[k] = None
    else:
        cap = meta.caption or ""
        text = normalise_text(meta.caption, meta.hashtags)
        words = text.split()
        letters = [c for c in cap + "".join(meta.hashtags or []) if c.isalpha()]
        f["n_words"] = float(len(words))
        f["n_chars"] = float(len(text))
        f["n_hashtags"] = float(_n_hashtags(meta.caption, meta.hashtags))
        f["n_mentions"] = float(len(_MENTION.findall(cap)))
        f["n_questions"] = float(cap.count("?") + cap.count("？"))
        f["n_exclaims"] = float(cap.count("!") + cap.count("！"))
        f["n_emoji"] = float(sum(_is_emoji(c) for c in cap))
        f["upper_share"] = (sum(c.isupper() for c in letters) / len(letters)) if letters else 0.0
        f["tag_bait"] = float(any(w in TAG_BAIT for w in words))

    lang = (meta.language or "").strip().lower()
    if lang:
        f["lang_en"] = float(lang.split("-")[0] == "en")
        f["lang_undetermined"] = float(lang in ("un", "und", "unknown"))
    else:
        f["lang_en"] = f["lang_undetermined"] = None

    t = meta.post_time
    if t is not None:
        hour = t.hour + t.minute / 60.0
        dow = t.weekday()
        f["hour_sin"] = math.sin(2 * math.pi * hour / 24)
        f["hour_cos"] = math.cos(2 * math.pi * hour / 24)
        f["dow_sin"] = math.sin(2 * math.pi * dow / 7)
        f["dow_cos"] = math.cos(2 * math.pi * dow / 7)
        f["weekend"] = float(dow >= 5)
    else:
        for k in ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "weekend"):
            f[k] = None

    original = meta.music_original
    if original is None and meta.music_title:
        original = is_original_sound(meta.music_title)
    f["music_original"] = None if original is None else float(bool(original))

    dur = _check_count("duration", meta.duration_s)
    f["log_duration"] = _log1p(dur)
    w = _check_count("width", meta.width)
    h = _check_count("height", meta.height)
    if w and h:
        f["aspect"] = h / w
        f["vertical"] = float(h > w)
        f["log_pixels"] = math.log(w * h)
    else:
        f["aspect"] = f["vertical"] = f["log_pixels"] = None

    cues = cues or {}
    for k in CUE_UNITS:
        f[f"cue_{k}"] = _count(cues.get(k))
    return f


def raw_matrix(
    metas: Sequence[PostMeta],
    names: Sequence[str],
    cues: Optional[Sequence[Optional[Mapping[str, Optional[float]]]]] = None,
) -> np.ndarray:
    """Features `names` for every post as float64 [N, len(names)], NaN where unknown."""
    if cues is not None and len(cues) != len(metas):
        raise InputError(f"{len(metas)} posts but {len(cues)} cue sets")
    out = np.full((len(metas), len(names)), np.nan, dtype=np.float64)
    for i, m in enumerate(metas):
        f = raw_features(m, cues[i] if cues is not None else None)
        for j, n in enumerate(names):
            v = f[n]
            if v is not None:
                out[i, j] = v
    return out


# ------------------------------------------------------------------------------- the manifest's spec


def fit_spec(
    raw: np.ndarray,
    names: Sequence[str],
    with_text: bool = True,
) -> dict:
    """Learn the spec a model will be trained with from its raw training matrix (NaN = missing).

    Keeps the features with at least two distinct known values (a constant column teaches nothing;
    which were dropped and why is recorded), learns the fill value of each (the median of the known
    values) and adds an indicator column for each source that was missing in some training rows.
    """
    features, unused = [], {}
    sources_missing: list[str] = []
    for j, n in enumerate(names):
        col = raw[:, j]
        known = col[~np.isnan(col)]
        if known.size == 0:
            unused[n] = "never known in the training data"
            continue
        if np.unique(known).size < 2:
            unused[n] = f"constant in the training data ({known[0]:g})"
            continue
        feat = FEATURE_BY_NAME[n]
        features.append(
            {"name": n, "group": feat.group, "unit": feat.unit, "source": feat.source,
             "fill": float(np.median(known)), "range": [float(known.min()), float(known.max())]}
        )
        if known.size < col.size and feat.source not in sources_missing:
            sources_missing.append(feat.source)
    indicators = [f"missing_{s}" for s in sources_missing]
    spec = {
        "name": FEATURE_SPEC_NAME,
        "version": FEATURE_SPEC_VERSION,
        "features": features,
        "indicators": indicators,
        "columns": [f["name"] for f in features] + indicators,
        "text": {"input": "text", "normalisation": TEXT_NORMALISATION} if with_text else None,
        "uses_cues": any(f["group"] == "content" for f in features),
        "unused": unused,
        "missing_rule": "unknown value -> the training median ('fill'); missing_<source> = 1 when the "
        "model saw that source missing in training",
        "range_rule": "at scoring, a known value outside the [min, max] it was trained on ('range') is clipped "
        "to that range and the report says so",
    }
    return spec


def check_spec(spec: Mapping) -> None:
    """Refuse a spec this code cannot reproduce (BundleError, with what to do)."""
    if not isinstance(spec, Mapping):
        raise BundleError("the model's manifest has no feature spec")
    name, version = spec.get("name"), spec.get("version")
    if name != FEATURE_SPEC_NAME or version != FEATURE_SPEC_VERSION:
        raise BundleError(
            f"the model was trained with feature spec '{name}' version {version}, but this program computes "
            f"'{FEATURE_SPEC_NAME}' version {FEATURE_SPEC_VERSION}; retrain the model with this version "
            "(or use the program version it was made with)"
        )
    unknown = [f.get("name") for f in spec.get("features", []) if f.get("name") not in FEATURE_BY_NAME]
    if unknown:
        raise BundleError(f"the model's feature spec names features this program does not know: {unknown}")
    for f in spec.get("features", []):
        rng = f.get("range")
        if rng is not None and not _is_range(rng):
            raise BundleError(f"the model's feature spec gives '{f.get('name')}' an unusable training range {rng!r} "
                              "(it must be [min, max], two numbers with min <= max); the bundle is damaged")
    text = spec.get("text")
    if text and text.get("normalisation") != TEXT_NORMALISATION:
        raise BundleError(
            f"the model expects caption text normalised as '{text.get('normalisation')}', this program "
            f"does '{TEXT_NORMALISATION}'; retrain the model"
        )


def _is_range(rng) -> bool:
    return (isinstance(rng, (list, tuple)) and len(rng) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rng)
            and rng[0] <= rng[1])


#: A value further outside its training range than this share of the range's width is "far outside": the
#: model has seen nothing like it, so its score is flagged as not meaningful (a 2x2 video, a 3-hour clip).
FAR_OUTSIDE_SHARE = 0.25


@dataclass(frozen=True)
class OutOfRange:
    """One model input of one post outside the range the model was trained on (in the feature's unit)."""

    feature: str
    value: float
    low: float
    high: float

    @property
    def clipped(self) -> float:
        return min(max(self.value, self.low), self.high)

    @property
    def far(self) -> bool:
        width = self.high - self.low
        return abs(self.value - self.clipped) > FAR_OUTSIDE_SHARE * width if width > 0 else True


def clip_to_ranges(raw: np.ndarray, spec: Mapping) -> tuple[np.ndarray, list[list[OutOfRange]]]:
    """Raw matrix over the spec's feature names -> (the same, clipped to each feature's training range,
    and per row the inputs that were outside it). Features without a stored range (bundles made before
    ranges were recorded) are left as they are; NaN (missing) stays NaN."""
    out = raw.copy()
    found: list[list[OutOfRange]] = [[] for _ in range(raw.shape[0])]
    for j, f in enumerate(spec["features"]):
        rng = f.get("range")
        if rng is None:
            continue
        lo, hi = float(rng[0]), float(rng[1])
        col = raw[:, j]
        for i in np.flatnonzero((col < lo) | (col > hi)):
            found[i].append(OutOfRange(f["name"], float(col[i]), lo, hi))
        out[:, j] = np.where(np.isnan(col), np.nan, np.clip(col, lo, hi))
    return out, found


def encode(raw: np.ndarray, spec: Mapping) -> np.ndarray:
    """Raw matrix over the spec's feature names (NaN = missing) -> the model's numeric input, float32
    [N, len(spec['columns'])]: fill values in, indicator columns appended.

    float32 because the ONNX graph reads float32: training sees exactly the numbers scoring will give."""
    feats = spec["features"]
    n = raw.shape[0]
    out = np.empty((n, len(spec["columns"])), dtype=np.float64)
    missing_by_source: dict[str, np.ndarray] = {}
    for j, f in enumerate(feats):
        col = raw[:, j]
        miss = np.isnan(col)
        out[:, j] = np.where(miss, f["fill"], col)
        src = f["source"]
        missing_by_source[src] = missing_by_source.get(src, np.zeros(n, bool)) | miss
    for k, ind in enumerate(spec["indicators"]):
        src = ind[len("missing_"):]
        out[:, len(feats) + k] = missing_by_source.get(src, np.zeros(n, bool)).astype(np.float64)
    return out.astype(np.float32)


def texts(metas: Iterable[PostMeta]) -> np.ndarray:
    """The normalised caption text of each post as a [N, 1] string array (the ONNX 'text' input)."""
    return np.array([[normalise_text(m.caption, m.hashtags)] for m in metas], dtype=object)


def build_inputs(
    metas: list[PostMeta],
    manifest_spec: dict,
    cues: Optional[list[Optional[dict[str, Optional[float]]]]] = None,
) -> dict[str, np.ndarray]:
    """The ONNX inputs for a model trained with `manifest_spec` (manifest["feature_spec"]):
    {"num": float32 [N, C]} plus {"text": string [N, 1]} when the model reads caption text.

    Only the inputs the model was trained with are computed; cues are ignored unless it used them.
    Raises BundleError when the spec does not match this code, InputError for impossible metadata.
    """
    return _inputs(metas, manifest_spec, cues, clip=False)[0]


def model_inputs(
    metas: list[PostMeta],
    manifest_spec: dict,
    cues: Optional[list[Optional[dict[str, Optional[float]]]]] = None,
) -> tuple[dict[str, np.ndarray], list[list[OutOfRange]]]:
    """What scoring feeds the model: build_inputs() with every value clipped to the range the model was
    trained on, and per post the inputs that were outside it (for the report's note). Training uses
    build_inputs(): its own rows are inside their ranges by definition."""
    return _inputs(metas, manifest_spec, cues, clip=True)


def _inputs(metas, manifest_spec, cues, clip: bool) -> tuple[dict[str, np.ndarray], list[list[OutOfRange]]]:
    check_spec(manifest_spec)
    names = [f["name"] for f in manifest_spec["features"]]
    use_cues = cues if manifest_spec.get("uses_cues") else None
    raw = raw_matrix(metas, names, use_cues)
    found: list[list[OutOfRange]] = [[] for _ in metas]
    if clip:
        raw, found = clip_to_ranges(raw, manifest_spec)
    inputs = {"num": encode(raw, manifest_spec)}
    if manifest_spec.get("text"):
        inputs[manifest_spec["text"]["input"]] = texts(metas)
    return inputs, found

