"""Scoring stage: one video (+ optional metadata) -> ScoreReport; many videos -> ranked reports.

Imports only the media, cues, features and bundle stages: ONNX Runtime, PyAV, numpy (no OpenCV).
Never torch or scikit-learn (DESIGN.md contract 2; tests/test_cli.py checks sys.modules).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from . import media
from .cues import CueReport, cue_values, measure_cues
from .errors import Cancelled, EngineError, InputError
from .features import inputs as per_video
from .features.plausible import not_meaningful_reasons, out_of_range_note
from .explain import advice_notes, assumed_lines, explain_inputs, summary_line, training_data_name
from .features.spec import ACCOUNT_SOURCES, PostMeta
from .jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress, sub_progress
from .models.bundle import ModelBundle, default_bundle_path
from .personal.scoring import personal_part, personal_reading

#: A folder scan stops listing skipped names past this many (they are still counted).
MAX_LISTED_SKIPS = 20


@dataclass
class VideoInputs:
    """The extra model inputs of a multimodal or video bundle for one file (caption embedding, frame embeddings,
    audio vector), kept on its report so that a re-score for new typed fields decodes nothing again: the frames
    and the audio never change with them, the caption embedding only when the caption does."""

    spec: str  #: the bundle's input spec they were computed for (another backbone or frame count: computed anew)
    arrays: dict  #: input name -> array, as ModelBundle.model_inputs takes them
    caption: Optional[str] = None  #: the text the caption embedding was computed from


@dataclass
class ScoreReport:
    path: str
    score: float  # 0-100: percentile of the prediction among the training posts
    prediction: float  # the model's predicted label (log scale)
    label: str  # what the label measures, from the bundle manifest
    views_low: Optional[float]
    views_high: Optional[float]
    viral_probability: Optional[float]
    model: str
    provider: str
    cues: CueReport
    info: media.MediaInfo
    inputs_used: list[str]
    inputs_missing: list[str]
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: why the score is not meaningful (impossible inputs, inputs far outside the training data); [] when it is
    not_meaningful: list[str] = field(default_factory=list)
    #: the model inputs outside their training range, clipped for the prediction
    out_of_range: list[dict] = field(default_factory=list)

    @property
    def meaningful(self) -> bool:
        return not self.not_meaningful
    #: what each input group moved the score against the typical training post (engine.explain); sums to
    #: score - typical_score
    contributions: list = field(default_factory=list)
    typical_score: Optional[float] = None
    #: the typical values put in for the inputs not given ("no follower count: assumed ...")
    assumed: list[str] = field(default_factory=list)
    #: each cue's advice marked as about a model input or a general practice ({cue, advice, about, note})
    advice: list[dict] = field(default_factory=list)
    #: one sentence: what moved the score most, and how the advice relates to the score
    summary: str = ""
    #: the per-video inputs of a multimodal or video bundle, reused by rescore (None for other bundles)
    model_inputs: Optional[VideoInputs] = field(default=None, repr=False, compare=False)
    #: the active personal model's reading beside the general score: {creator, percentile, reliable, line, model,
    #: drivers} (engine.personal.scoring; also when the scoring bundle itself is a personal one); else None
    personal: Optional[dict] = None
    #: the personal bundle's per-video inputs, reused by rescore like model_inputs
    personal_inputs: Optional[VideoInputs] = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        cue_part = self.cues.as_dict()
        return {
            "path": self.path,
            "score": round(self.score, 1),
            "views_low": self.views_low,
            "views_high": self.views_high,
            "viral_probability": None if self.viral_probability is None else round(self.viral_probability, 3),
            "prediction": round(float(self.prediction), 4),
            "label": self.label,
            "model": self.model,
            "provider": self.provider,
            "cues": cue_part["cues"],
            "timeline": cue_part.get("timeline", {}),
            "undecoded_s": self.cues.undecoded_s,
            "media": {
                k: v for k, v in asdict(self.info).items() if k not in ("path", "audio_streams")
            }
            | {"audio_streams": [asdict(a) for a in self.info.audio_streams]},
            "inputs_used": self.inputs_used,
            "inputs_missing": self.inputs_missing,
            "notes": self.notes,
            "meaningful": self.meaningful,
            "not_meaningful": self.not_meaningful,
            "out_of_range": self.out_of_range,
            "typical_score": None if self.typical_score is None else round(self.typical_score, 2),
            "contributions": [c.as_dict() for c in self.contributions],
            "assumed": self.assumed,
            "advice": self.advice,
            "summary": self.summary,
            "personal": self.personal,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def _with_media(meta: Optional[PostMeta], info: media.MediaInfo) -> PostMeta:
    """The file knows its own duration and size; the creator's values win where given."""
    meta = meta or PostMeta()
    return replace(
        meta,
        duration_s=meta.duration_s if meta.duration_s is not None else info.duration_s,
        width=meta.width if meta.width is not None else info.width,
        height=meta.height if meta.height is not None else info.height,
    )


_META_INPUTS = {
    "caption": lambda m: bool((m.caption or "").strip()) or bool(m.hashtags),
    "post_time": lambda m: m.post_time is not None,
    "followers": lambda m: m.followers is not None,
    "following": lambda m: m.following is not None,
    "author_likes": lambda m: m.author_likes is not None,
    "author_videos": lambda m: m.author_videos is not None,
    "sound": lambda m: m.music_title is not None or m.music_original is not None,
}


def _input_notes(bundle: ModelBundle, meta: PostMeta) -> tuple[list[str], list[str], list[str]]:
    used = [k for k, has in _META_INPUTS.items() if has(meta)]
    missing = [k for k in _META_INPUTS if k not in used]
    notes = []
    if "followers" in missing:
        notes.append(
            "No follower count given: account reach is the strongest signal this model has, so the score"
            " rests on caption, timing and format alone (pass --followers)."
        )
    unseen = [ACCOUNT_WORDS[s] for s in _never_missing_in_training(bundle, meta) if s in ACCOUNT_WORDS]
    if unseen:
        notes.append(
            "This model was trained only on posts that had their " + _and(unseen) + ": it filled in typical"
            " values for the missing ones, so this score is less reliable than its measured accuracy (give them,"
            " or use a model trained with them missing, such as the built-in one)."
        )
    if not reads_video(bundle):
        notes.append(
            "This model does not look at the video itself: two different videos of the same length and shape"
            " get nearly the same score, because it rests on the account, caption, post time, sound and format."
            " The content cues are measurements of the file shown for you; they do not change the score."
        )
    return used, missing, notes


#: how the note names the account stats of ACCOUNT_SOURCES (the ratios are missing when what they are made from is)
ACCOUNT_WORDS = {"followers": "follower count", "following": "following count", "author_likes": "account likes",
                 "author_videos": "account video count"}


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _never_missing_in_training(bundle: ModelBundle, meta: PostMeta) -> list[str]:
    """The account stats this post lacks that the model's training data always had (its feature spec fills
    them with the median but has no missing_<source> indicator, so the model never learned what 'unknown'
    means), in the spec's order; e.g. ['followers', 'author_likes']. Other inputs (caption, time, format)
    are left out: their missingness is carried by another indicator (missing_text) or filled by scoring."""
    from .features.spec import raw_features

    spec = bundle.manifest.get("feature_spec") or {}
    indicators = set(spec.get("indicators") or ())
    try:
        values = raw_features(meta)
    except Exception:  # impossible metadata is reported elsewhere
        return []
    out: list[str] = []
    for f in spec.get("features") or ():
        src = f.get("source")
        if (src in ACCOUNT_SOURCES and values.get(f["name"], 0.0) is None
                and f"missing_{src}" not in indicators and src not in out):
            out.append(src)
    return out


def score_video(
    path: str | os.PathLike,
    meta: Optional[PostMeta] = None,
    *,
    bundle: Optional[ModelBundle] = None,
    device: str = "auto",
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    strip: int = 0,
    on_strip: Optional[Callable[[list[media.SampledFrame]], None]] = None,
    personal: Optional[ModelBundle] = None,
) -> ScoreReport:
    """Score one video file. Raises a MediaError subclass for files that cannot be scored,
    BundleError for a bad model, Cancelled when `cancel` fires.

    `personal`: a personal bundle (the active one) run on the same inputs, its reading in report.personal
    beside the general score, which stays the `bundle`'s.

    The file is decoded once: the frames and the sound a multimodal or video bundle reads come with the cues'
    (engine.features.inputs), and so do `strip` small frames spread over the video for a window's preview,
    handed to on_strip(frames) as soon as they are decoded (before the cues are done)."""
    t0 = time.perf_counter()
    if bundle is None:
        bundle = ModelBundle.load(default_bundle_path(), device=device)
    progress(0.0, "reading the file")
    info = media.probe(path)
    t_probe = time.perf_counter()
    cancel.raise_if_cancelled()

    _check_personal(personal)
    wanted = per_video.strip_requests(info, strip) if strip else []
    needs = _needs(bundle)
    shared = per_video.shared_pass({**_needs(personal), **needs} if personal is not None else needs, info, wanted)
    if wanted and on_strip is not None:
        shared.on_frames = lambda frames: on_strip(frames[len(frames) - len(wanted):])
    cues = measure_cues(path, info, progress=sub_progress(progress, 0.05, 0.95), cancel=cancel, device=device,
                        also=shared if shared.requests or shared.audio else None)
    cancel.raise_if_cancelled()
    t_cues = time.perf_counter()
    verdict = _verdict(bundle, path, _with_media(meta, info), cues, info, device, decoded=shared)
    t_personal = time.perf_counter()
    if personal is not None:
        verdict.update(_personal_verdict(personal, path, _with_media(meta, info), cues, info, device,
                                         decoded=shared, frames_from=needs))
    t_model = time.perf_counter()
    progress(1.0, "done")
    timings = {"probe": t_probe - t0}
    timings.update(cues.timings)
    timings.update({"cues_total": t_cues - t_probe, "model": t_model - t_cues, "total": t_model - t0})
    if personal is not None:
        timings["personal"] = t_model - t_personal
    return ScoreReport(path=str(path), cues=cues, info=info, timings=timings, **verdict)


def _check_personal(personal: Optional[ModelBundle]) -> None:
    from .errors import BundleError

    if personal is not None and personal.family != "personal":
        raise BundleError(f"{personal.name}: not a personal model (family {personal.family}); "
                          "a personal model is made by `learn` or the My posts page")


def _personal_verdict(personal: ModelBundle, path, full_meta: PostMeta, cues: CueReport, info: media.MediaInfo,
                      device: str, have: Optional[VideoInputs] = None, decoded: Optional[media.SharedPass] = None,
                      frames_from: Optional[dict] = None) -> dict:
    """The personal bundle's part of a report (personal, personal_inputs), from the cues and the frames the
    general model's pass decoded. `frames_from`: the general bundle's needs; when both read frames, the decoded
    ones serve the personal bundle only if it asked for the same ones (else its frames are decoded again)."""
    pneeds = _needs(personal)
    if decoded is not None and "frames" in pneeds and "frames" in (frames_from or {}) \
            and frames_from["frames"] != pneeds["frames"]:
        decoded = None
    extra = _video_inputs(personal, path, full_meta, cues, info, device, have, decoded)
    inputs, _found = personal.model_inputs([full_meta], [cue_values(cues)] if personal.uses_cues else None,
                                           None if extra is None else extra.arrays)
    return dict(personal=personal_reading(personal, inputs), personal_inputs=extra)


def _needs(bundle: Optional[ModelBundle]) -> dict:
    """The per-video inputs (caption, frames, audio) the bundle reads, from its manifest; {} for other bundles."""
    if not getattr(bundle, "extra_inputs", None):
        return {}
    return {k: v for k, v in bundle.manifest.get("inputs", {}).items() if k in per_video.VIDEO_INPUTS}


def _video_inputs(bundle: ModelBundle, path, meta: PostMeta, cues: CueReport, info: media.MediaInfo, device: str,
                  have: Optional[VideoInputs] = None,
                  decoded: Optional[media.SharedPass] = None) -> Optional[VideoInputs]:
    """The extra inputs a multimodal or video bundle reads (None for other bundles), taking from `have` (an earlier
    report's, for the same file) whatever the new metadata leaves as it was, and the frames and the sound from
    `decoded` (what the cue pass decoded for them); only without it is the file decoded again."""
    if not getattr(bundle, "extra_inputs", None):
        return None
    needs = bundle.manifest.get("inputs", {})
    spec = json.dumps(needs, sort_keys=True, default=str)
    text = per_video.caption_text(meta.caption, meta.hashtags) if "caption" in needs else None
    arrays = {}
    if have is not None and have.spec == spec:
        arrays = {k: v for k, v in have.arrays.items() if k != "caption" or have.caption == text}
    todo = {k: v for k, v in _needs(bundle).items() if k not in arrays}
    if todo and (decoded is not None or not ({"frames", "audio"} & set(todo))):
        arrays.update(per_video.video_inputs(todo, meta, cue_values(cues), decoded, device))
    elif todo:
        arrays.update(per_video.bundle_inputs({"inputs": todo}, path, meta, cues, info, device))
    typical = (bundle.manifest.get("personal") or {}).get("typical_caption_embedding")
    if typical and text == "" and "caption" in arrays:  # no caption: the creator's typical one, as for every input
        import numpy as np

        arrays["caption"] = np.asarray([typical], np.float32)
    return VideoInputs(spec, arrays, text)


def _verdict(bundle: ModelBundle, path, full_meta: PostMeta, cues: CueReport, info: media.MediaInfo,
             device: str, have: Optional[VideoInputs] = None, decoded: Optional[media.SharedPass] = None) -> dict:
    """The model's part of a report: everything ScoreReport holds that depends on the metadata."""
    extra = _video_inputs(bundle, path, full_meta, cues, info, device, have, decoded)
    inputs, (found,) = bundle.model_inputs([full_meta], [cue_values(cues)] if bundle.uses_cues else None,
                                           None if extra is None else extra.arrays)
    why = explain_inputs(bundle, inputs, full_meta)  # the post itself is the last of its rows
    pred = why.prediction
    vr = bundle.view_range(pred)
    used, missing, notes = _input_notes(bundle, full_meta)
    spec = bundle.manifest["feature_spec"]
    advice = advice_notes(cues.cues, spec, why.contributions, reads_video(bundle))
    if why.unseparated:
        notes.append(f"The points per input leave out the model's {_and(why.unseparated)} input: this model was made"
                     " before models stored a typical value for it (retrain it to have that split too).")
    if vr is None:
        notes.insert(0, bundle.manifest.get("label", {}).get(
            "no_view_range_reason",
            "This model predicts a log-scale popularity measure, not a view count, so no view range is given.",
        ))
    not_meaningful = not_meaningful_reasons(full_meta, found)
    clipped = out_of_range_note(found, full_meta)
    if clipped:
        notes.insert(0, clipped)
    if not_meaningful:
        notes.insert(0, "The score is not meaningful: " + "; ".join(not_meaningful) + ".")
    if cues.undecoded_s:
        notes.insert(0, f"About {cues.undecoded_s:.1f} s of the file could not be decoded (a damaged stretch): the"
                        " content cues rest on the part that could be read.")
    personal = personal_part(bundle.manifest, why.score)
    if personal is not None:  # account stats are not inputs of a personal model: no follower note
        notes = [n for n in notes if not n.startswith("No follower count given")]
    return dict(
        score=why.score,
        prediction=pred,
        label=str(bundle.manifest.get("label", {}).get("name", "popularity")),
        views_low=None if vr is None else float(vr[0]),
        views_high=None if vr is None else float(vr[1]),
        viral_probability=bundle.viral_probability(pred),
        model=bundle.name,
        provider=bundle.provider,
        inputs_used=used,
        inputs_missing=missing,
        notes=notes,
        not_meaningful=not_meaningful,
        out_of_range=[{"input": o.feature, "value": o.value, "range": [o.low, o.high], "clipped_to": o.clipped,
                       "far": o.far} for o in found],
        contributions=why.contributions,
        typical_score=why.typical_score,
        assumed=assumed_lines(spec, full_meta, training_data_name(bundle.manifest)),
        advice=advice,
        summary=summary_line(why.contributions, advice),
        model_inputs=extra,
        personal=personal,
    )


def reads_video(bundle: ModelBundle) -> bool:
    """Whether the model's score depends on what the video shows or sounds like (cues, frames or audio)."""
    return bool(bundle.uses_cues) or any(n in ("frames", "audio") for n in getattr(bundle, "extra_inputs", ()))


def rescore(report: ScoreReport, meta: Optional[PostMeta], bundle: ModelBundle, device: str = "auto",
            personal: Optional[ModelBundle] = None) -> ScoreReport:
    """`report` with the model run again for new metadata (a caption typed, a follower count changed): the
    file's cues and the bundle's per-video inputs (report.model_inputs) are reused, so nothing is decoded again;
    only the caption embedding is computed anew, when the caption changed. Takes milliseconds for a metadata
    model, tens of them with a caption embedding: the window runs it as a job."""
    full_meta = _with_media(meta, report.info)
    verdict = _verdict(bundle, report.path, full_meta, report.cues, report.info, device, report.model_inputs)
    if personal is not None:
        _check_personal(personal)
        verdict.update(_personal_verdict(personal, report.path, full_meta, report.cues, report.info, device,
                                         report.personal_inputs))
    return replace(report, **verdict)


# --------------------------------------------------------------------------- folders


@dataclass
class FolderScan:
    videos: list[Path]
    skipped_count: int  # files whose names are not videos (documents, images, sidecars...)
    skipped_examples: list[Path]
    #: files named like videos that are not regular files (a named pipe, a device, a link to /dev/zero, a broken
    #: link), with the reason ("clip.mp4: is a named pipe (FIFO), not a video file"): refused, never opened
    refused: list[tuple[Path, str]] = field(default_factory=list)


def scan_folder(
    folder: str | os.PathLike, recursive: bool = False, cancel: CancelToken = NEVER_CANCELLED
) -> FolderScan:
    """List the video files of a folder by extension (media.VIDEO_EXTENSIONS), sorted by path; hidden files are
    ignored. Video names that are not regular files are listed apart in `refused`, with the reason."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a folder (use 'score' for one video)")
    videos: list[Path] = []
    refused: list[tuple[Path, str]] = []
    skipped: list[Path] = []
    count = 0
    walker = (os.walk(folder) if recursive else
              [(str(folder), [], [e.name for e in os.scandir(folder) if not e.is_dir()])])
    for root, dirs, files in walker:
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        cancel.raise_if_cancelled()
        for name in files:
            if name.startswith("."):
                continue
            p = Path(root) / name
            if not media.is_video_name(p):
                count += 1
                if len(skipped) < MAX_LISTED_SKIPS:
                    skipped.append(p)
            elif (odd := media.not_regular_reason(p)) is not None:
                refused.append((p, f"{name}: {odd}"))
            else:
                videos.append(p)
    return FolderScan(sorted(videos), count, skipped, sorted(refused))


@dataclass
class BatchItem:
    path: str
    report: Optional[ScoreReport] = None
    error: Optional[str] = None  # the user-facing reason a file was not scored

    @property
    def ok(self) -> bool:
        return self.report is not None


# Each worker process loads the bundle once.
_worker_bundle: Optional[ModelBundle] = None
_worker_personal: Optional[ModelBundle] = None


def die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Make this (worker) process end when `parent_pid` does, even when the parent is killed with SIGKILL and
    cannot shut its pool down: on Linux the kernel sends SIGKILL on the parent's death (PR_SET_PDEATHSIG);
    everywhere, a daemon thread checks the parent every `poll_s` seconds and exits when it has gone."""
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the thread below does it

    def parent_alive() -> bool:
        if os.name == "posix":
            return os.getppid() == parent_pid
        try:  # Windows: a pid cannot be reparented; ask whether it still exists
            import ctypes

            handle = ctypes.windll.kernel32.OpenProcess(0x1000 | 0x00100000, False, parent_pid)  # query | sync
            if not handle:
                return False
            alive = ctypes.windll.kernel32.WaitForSingleObject(handle, 0) != 0
            ctypes.windll.kernel32.CloseHandle(handle)
            return alive
        except (OSError, AttributeError):
            return True

    def watch() -> None:
        while parent_alive():
            time.sleep(poll_s)
        os._exit(1)

    if not parent_alive():  # the parent died while this process was starting
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_init(bundle_path: str, device: str, parent_pid: Optional[int] = None,
                 personal_path: Optional[str] = None) -> None:
    global _worker_bundle, _worker_personal
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _worker_bundle = ModelBundle.load(bundle_path, device=device)
    _worker_personal = None if personal_path is None else ModelBundle.load(personal_path, device=device)


def _score_one(path: str, meta: Optional[PostMeta], bundle: ModelBundle, device: str,
               personal: Optional[ModelBundle] = None) -> BatchItem:
    try:
        return BatchItem(path, report=score_video(path, meta, bundle=bundle, device=device, personal=personal))
    except Cancelled:
        raise
    except EngineError as exc:
        return BatchItem(path, error=str(exc))
    except Exception as exc:  # a decoder or library failure on one odd file must not stop a batch
        return BatchItem(path, error=f"{Path(path).name}: could not be scored ({type(exc).__name__}: {exc})")


def _worker_score(path: str, meta: Optional[PostMeta], device: str) -> BatchItem:
    assert _worker_bundle is not None
    return _score_one(path, meta, _worker_bundle, device, _worker_personal)


def default_workers() -> int:
    """One worker per core this process may use (each gets its share of threads: engine.executors)."""
    from .executors import usable_cores

    return usable_cores()


def score_many(
    paths: Iterable[str | os.PathLike],
    meta: Optional[PostMeta] = None,
    *,
    bundle_path: Optional[str | os.PathLike] = None,
    device: str = "auto",
    workers: Optional[int] = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    executor: str = "local",
    address: Optional[str] = None,
    personal_path: Optional[str | os.PathLike] = None,
    inference: Optional[str] = None,
) -> Iterator[BatchItem]:
    """Score files, yielding a BatchItem as each finishes (not in input order).

    Bad files become items with an `error`; they never stop the batch. With workers > 1 the files
    are shared among worker processes (each with its share of the cores, engine.executors); with
    executor="ray", among the CPUs of a Ray cluster (`address`; None starts one on this machine). Cancel
    stops handing out files at once; files already being scored finish (about a second each).
    `personal_path`: a personal bundle whose reading goes beside each score (not on a Ray cluster: InputError).
    `inference`: "server" runs the workers' device sessions in one inference process that batches across them
    (the default where the sessions would run on CUDA, device="cuda" or "auto", with workers > 1), "worker" in
    each worker.
    """
    from . import executors

    executors.check_executor(executor, address)
    if personal_path is not None and executor == "ray":
        raise InputError("a personal model is not run on a Ray cluster yet: use --executor local, or score "
                         "without it")
    personal_path = None if personal_path is None else str(personal_path)
    if inference not in (None, "server", "worker"):
        raise InputError(f"unknown inference '{inference}': choose server or worker")
    paths = [str(p) for p in paths]
    bundle_path = str(bundle_path or default_bundle_path())
    workers = default_workers() if workers is None else max(1, workers)
    workers = min(workers, len(paths)) if paths else 1
    total = len(paths)
    done = 0

    def tick(item: BatchItem) -> BatchItem:
        nonlocal done
        done += 1
        progress(done / total if total else 1.0, Path(item.path).name)
        return item

    if executor == "ray":
        for item in executors.ray_score_many(paths, meta, bundle_path, device, address, cancel):
            yield tick(item)
        return
    if workers <= 1:
        bundle = ModelBundle.load(bundle_path, device=device)
        personal = None if personal_path is None else ModelBundle.load(personal_path, device=device)
        _check_personal(personal)
        for p in paths:
            cancel.raise_if_cancelled()
            yield tick(_score_one(p, meta, bundle, device, personal))
        return

    # The workers' device sessions run in one inference process where they would open CUDA (engine.executors);
    # `inference="server"` forces it on the CPU too (the tests compare it with the workers' own).
    for _, item in executors.local_map(_worker_score, executors.largest_first(paths), (meta, device),
                                       workers=workers, device=device, inference=inference,
                                       bundle_path=bundle_path, personal_path=personal_path, cancel=cancel):
        yield tick(item)


#: The columns of a ranking CSV (batch --out, the window's Export CSV); a column per content cue follows them.
RANKING_FIELDS = ["rank", "path", "score", "views_low", "views_high", "viral_probability", "duration_s",
                  "width", "height", "status", "reason", "not_meaningful"]
#: The personal model's reading (empty without one): where the video ranks among the creator's own posts (0-100)
#: and whether that is a prediction ("yes") or a model that could not be told from chance ("no"). After the cues,
#: so that a reader of the columns before them by position still finds them where they were.
OWN_FIELDS = ["own_percentile", "own_reliable"]


def ranking_fields(cue_names: list[str]) -> list[str]:
    """The columns of a ranking CSV (batch --out, the Batch page's export) for reports with these cues."""
    return RANKING_FIELDS + list(cue_names) + OWN_FIELDS


def ranking_cells(report: ScoreReport) -> dict:
    """A scored file's cells of a ranking CSV (all but rank, path, status and reason), its cues included."""
    row = dict(score=f"{report.score:.1f}", views_low=report.views_low or "", views_high=report.views_high or "",
               viral_probability="" if report.viral_probability is None else f"{report.viral_probability:.3f}",
               duration_s=f"{report.info.duration_s:.2f}", width=report.info.width, height=report.info.height,
               not_meaningful="; ".join(report.not_meaningful))
    for c in report.cues.cues:
        row[c.name] = "" if c.value is None else f"{c.value:.4g}"
    own = report.personal
    if own:
        row.update(own_percentile=f"{own['percentile']:.1f}", own_reliable="yes" if own.get("reliable") else "no")
    return row


def rank(items: Iterable[BatchItem]) -> list[BatchItem]:
    """Scored items by score, best first (the ones whose score is not meaningful after the rest), then the
    failures by name."""
    items = list(items)
    good = sorted((i for i in items if i.ok), key=lambda i: (not i.report.meaningful, -i.report.score, i.path))
    bad = sorted((i for i in items if not i.ok), key=lambda i: i.path)
    return good + bad
