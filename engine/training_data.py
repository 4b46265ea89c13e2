"""The data a training run uses (engine.training): feature groups, the labelled posts and their arrays
(caption, frames, audio) from a dataset, folds, and the per-fold metric blocks."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import DataError, InputError
from .extract import load_caption_features, load_video_features, video_spec_version
from .features import spec as fspec
from .features.inputs import DEFAULT_FRAMES, audio_vector, caption_text, cues_dict
from .features.spec import PostMeta
from .jobs import Progress, no_progress

MODELS = ("ensemble", "multimodal", "video")
META_GROUPS = fspec.GROUPS  # account, caption, time, sound, format, content
GROUPS = META_GROUPS + ("frames", "audio")
VIDEO_GROUPS = ("content", "frames", "audio")
CONTENT_ONLY = VIDEO_GROUPS
MODEL_FILE = "model.onnx"
ONNX_TOLERANCE = 1e-4
TIME_BLOCKS = 20  # a one-author dataset: the ensemble's "groups" are this many contiguous blocks of time

#: PostMeta fields each group reads; the fields of groups not chosen are blanked before training.
GROUP_FIELDS = {
    "account": ("followers", "following", "author_likes", "author_videos"),
    "caption": ("caption", "hashtags", "language"),
    "time": ("post_time",),
    "sound": ("music_title", "music_original"),
    "format": ("duration_s", "width", "height"),
}


def parse_features(text: Optional[str]) -> Optional[tuple[str, ...]]:
    """'account,caption' -> ('account', 'caption'); None -> None. Raises InputError for unknown groups."""
    if text is None:
        return None
    groups = tuple(dict.fromkeys(g.strip().lower() for g in text.split(",") if g.strip()))
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise InputError(f"unknown feature group(s) {', '.join(unknown) or '(none given)'}: choose from "
                         f"{', '.join(GROUPS)}")
    return groups


def mask_meta(meta: PostMeta, groups: Sequence[str]) -> PostMeta:
    """A copy of meta with the fields of the groups not chosen blanked (the spec then drops them)."""
    blank = {f: None for g, fields in GROUP_FIELDS.items() if g not in groups for f in fields}
    return replace(meta, **blank) if blank else meta


# ------------------------------------------------------------------------------------------ the data


@dataclass
class TrainingSet:
    posts: list  # the labelled posts used, in dataset order
    data: object  # engine.models.ensemble.LabelledPosts (metas masked to the groups)
    groups: tuple[str, ...]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # caption / frames / audio by row
    notes: list[str] = field(default_factory=list)
    scheme: str = "grouped"  # or "time"
    extraction: dict = field(default_factory=dict)  # the feature cache the video features came from
    dropped: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)

    @property
    def y(self) -> np.ndarray:
        return self.data.y

    @property
    def n_authors(self) -> int:
        return len({p.author_id or f"__post_{p.post_id}" for p in self.posts})


def _has_label(p, has_views: bool) -> bool:
    v = p.views if has_views else p.popularity
    try:
        return v is not None and math.isfinite(float(v)) and (not has_views or v >= 0)
    except (TypeError, ValueError):
        return False


def resolve_groups(model: str, features: Optional[Sequence[str]], content_only: bool,
                   have_video: bool) -> tuple[tuple[str, ...], list[str]]:
    """The feature groups a run uses, and notes on what was left out and why."""
    notes = []
    if model not in MODELS:
        raise InputError(f"unknown model family '{model}': choose from {', '.join(MODELS)}")
    if content_only:
        if features and set(features) - set(CONTENT_ONLY):
            raise InputError(f"--content-only uses {', '.join(CONTENT_ONLY)} only; drop --features "
                             f"{','.join(sorted(set(features) - set(CONTENT_ONLY)))} or --content-only")
        groups = tuple(features) if features else CONTENT_ONLY
        notes.append("content only: no account stats, no caption, no post time or sound; only what the file "
                     "carries (content cues, frames, audio)")
    elif features:
        groups = tuple(features)
    else:
        groups = META_GROUPS + (("frames", "audio") if model != "ensemble" else ())
        if not have_video:
            dropped = [g for g in groups if g in VIDEO_GROUPS]
            groups = tuple(g for g in groups if g not in VIDEO_GROUPS)
            if model == "video":
                groups += ("frames",)  # fails below with the message that says what to do
            elif dropped:
                notes.append(f"no extracted video features in the dataset: {', '.join(dropped)} not used "
                             "(run 'dataset extract' to add them)")
    if model == "ensemble":
        ignored = [g for g in groups if g in ("frames", "audio")]
        if ignored:
            groups = tuple(g for g in groups if g not in ignored)
            notes.append(f"the ensemble reads the feature spec (with the content cues, audio cues included); "
                         f"{', '.join(ignored)} embeddings are for the multimodal and video models: ignored")
    if model == "video" and "frames" not in groups:
        raise InputError("the video model is a transformer over the frames: include 'frames' in --features")
    wants_video = [g for g in groups if g in VIDEO_GROUPS]
    if wants_video and not have_video:
        raise DataError(f"{', '.join(wants_video)} need the videos' features, and none are extracted in this "
                        "dataset: run 'python main.py dataset extract DATASET' first (for the same --backbone "
                        "and --frames)")
    if not groups:
        raise InputError("no feature group left to train on")
    return tuple(g for g in GROUPS if g in groups), notes


def load_training_set(ds, model: str, features: Optional[Sequence[str]] = None, content_only: bool = False,
                      backbone: str = "efficientnet_lite0", frames: int = DEFAULT_FRAMES, folds: int = 5,
                      device: str = "auto", progress: Progress = no_progress) -> TrainingSet:
    """Everything a run trains on, from an open Dataset. Raises DataError with what to do when the dataset
    cannot be trained on (no posts, no labels, too few labelled posts, video features not extracted)."""
    from .models import ensemble as ens

    posts = list(ds.posts())
    if not posts:
        raise DataError(f"{ds.path}: the dataset has no posts; import some first ('dataset import')")
    has_views = any(p.views is not None for p in posts)
    labelled = [p for p in posts if _has_label(p, has_views)]
    if not labelled:
        raise DataError(f"{ds.path}: none of its {len(posts)} posts has a label (views or SMP popularity): "
                        "import the posts with their view counts to train a model")
    if len(labelled) < 20:
        raise DataError(f"{ds.path}: only {len(labelled)} labelled posts; at least 20 are needed to train and "
                        "measure a model")
    video = load_video_features(ds, frames, backbone)
    groups, notes = resolve_groups(model, features, content_only, bool(video))
    dropped = {"no_label": len(posts) - len(labelled)}
    needs_rows_with_video = model != "ensemble" and any(g in ("frames", "audio") for g in groups)
    if needs_rows_with_video:
        keep = [p for p in labelled if p.post_id in video]
        dropped["no_extracted_video"] = len(labelled) - len(keep)
        if dropped["no_extracted_video"]:
            notes.append(f"{dropped['no_extracted_video']} labelled posts have no extracted video and are left "
                         "out (the model reads the video's frames/audio)")
        labelled = keep
    if len(labelled) < 20:
        raise DataError(f"{ds.path}: only {len(labelled)} labelled posts can be used"
                        f"{' (with an extracted video)' if needs_rows_with_video else ''}; at least 20 are "
                        "needed to train and measure a model")
    cues = None
    if "content" in groups:
        cues = [cues_dict(video[p.post_id]["cues"]) if p.post_id in video else None for p in labelled]
        n_missing = sum(c is None for c in cues)
        if n_missing:
            notes.append(f"{n_missing} posts have no extracted video: their content cues are filled in "
                         "(training median + missing indicator)")
    data = ens.labelled_posts(labelled, cues)
    data.metas = [mask_meta(m, groups) for m in data.metas]
    arrays: dict[str, np.ndarray] = {}
    if model != "ensemble":
        if "caption" in groups:
            arrays["caption"] = _caption_matrix(ds, labelled, device, notes, progress)
        if "frames" in groups:
            stacked = np.stack([video[p.post_id]["frames"] for p in labelled]).astype(np.float32)
            arrays["frames"] = stacked if model == "video" else stacked.mean(axis=1)
        if "audio" in groups:
            arrays["audio"] = np.stack([audio_vector(video[p.post_id]["audio"], video[p.post_id]["cues"])
                                        for p in labelled]).astype(np.float32)
    ts = TrainingSet(labelled, data, groups, arrays, notes, dropped=dropped)
    if any(g in VIDEO_GROUPS for g in groups):
        ts.extraction = {"spec_version": video_spec_version(frames), "backbone": backbone, "frame_count": frames,
                         "what": "content cues, frames and audio from 'dataset extract' (engine.extract)"}
    ts.scheme = "grouped" if ts.n_authors >= folds else "time"
    if ts.scheme == "time":
        ts.notes.append(f"{ts.n_authors} author{'s' if ts.n_authors != 1 else ''}: folds grouped by author are "
                        f"impossible with fewer than {folds} authors, so the folds are {folds} contiguous blocks "
                        "of time and the headline measure is the time-ordered holdout (earliest 80% -> latest 20%)")
    info = ds.info()
    ts.dataset = {"name": Path(ds.path).name, "path": str(ds.path), "sources": info["sources"],
                  "posts_in_dataset": info["posts"], "videos_in_dataset": info["videos"],
                  "first_post": info["first_post"], "last_post": info["last_post"]}
    return ts


def _caption_matrix(ds, posts, device: str, notes: list, progress: Progress) -> np.ndarray:
    cached = load_caption_features(ds, posts)
    missing = [p for p in posts if p.post_id not in cached]
    if missing:
        from .features.inputs import caption_embedder

        progress(None, f"embedding {len(missing)} captions not cached (run 'dataset extract' to cache them)")
        emb = caption_embedder(device).embed([caption_text(p.caption, p.hashtags) for p in missing])
        cached.update({p.post_id: e for p, e in zip(missing, emb)})
        notes.append(f"{len(missing)} caption embeddings were not cached and were computed for this run")
    return np.stack([cached[p.post_id] for p in posts]).astype(np.float32)


def _time_order(ts: TrainingSet) -> np.ndarray:
    """Row order by post time (rows without a time keep their dataset order, placed by their neighbours)."""
    t = ts.data.times.copy()
    if not np.isfinite(t).any():
        return np.arange(t.size)
    idx = np.arange(t.size, dtype=np.float64)
    known = np.isfinite(t)
    t[~known] = np.interp(idx[~known], idx[known], t[known])
    return np.argsort(t, kind="stable")


def _folds(ts: TrainingSet, k: int, seed: int) -> list[np.ndarray]:
    from .models import ensemble as ens

    if ts.scheme == "grouped":
        return ens._group_folds(ts.data.groups, k, seed)
    return [np.sort(b) for b in np.array_split(_time_order(ts), k)]


# ------------------------------------------------------------------------------------------ metrics


def _followers(ts: TrainingSet) -> np.ndarray:
    return np.array([math.log1p(max(0.0, float(p.author_followers))) if p.author_followers is not None else np.nan
                     for p in ts.posts])


def _block(y: np.ndarray, preds: dict[str, np.ndarray], top: float, constant_mean: bool = True) -> dict:
    from .metrics import summary

    out = {n: summary(y, p, top) for n, p in preds.items()}
    if constant_mean and "mean" in out:
        out["mean"].update(spearman=0.0, auc_top25=0.5)  # a constant ranks nothing
    return out

