"""Lazy links to engine jobs that other parts of the program provide (feature extraction, collection,
training). Each may be missing from a build; then the page says "not available in this build" instead of
failing. The engine's exact function names are matched by a short list of candidates, and arguments are
passed by the names the function declares, so a renamed parameter does not break the window.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable, Optional

NOT_AVAILABLE = "not available in this build"


def _find(modules: tuple[str, ...], names: tuple[str, ...]) -> tuple[Optional[Callable], str]:
    reasons = []
    for mod_name in modules:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            reasons.append(f"{mod_name}: {exc}")
            continue
        for n in names:
            fn = getattr(mod, n, None)
            if callable(fn):
                return fn, ""
        reasons.append(f"{mod_name} has none of {', '.join(names)}")
    return None, "; ".join(reasons)


def _call(fn: Callable, values: dict[str, object], aliases: dict[str, tuple[str, ...]], progress, cancel):
    """Call fn, giving each of our values under whichever alias the function declares."""
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    kwargs = {}
    positional = []
    for key, value in values.items():
        names = aliases.get(key, (key,))
        hit = next((n for n in names if n in params), None)
        if hit is not None:
            kwargs[hit] = value
        elif accepts_any:
            kwargs[names[0]] = value
        else:
            positional.append((key, value))
    if "progress" in params or accepts_any:
        kwargs["progress"] = progress
    if "cancel" in params or accepts_any:
        kwargs["cancel"] = cancel
    # a value whose name the function does not declare goes positionally, in our order, if it has room
    free = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in kwargs]
    args = [v for (_k, v), _p in zip(positional, free)]
    return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------------- training

TRAIN_ALIASES = {
    "dataset": ("dataset", "dataset_path", "ds", "db", "path"),
    "family": ("family", "model", "kind", "model_family"),
    "features": ("features", "feature_groups", "groups"),
    "out_dir": ("out_dir", "out", "output", "bundle_dir", "out_path"),
}


def training_function() -> tuple[Optional[Callable], str]:
    return _find(("engine.training", "engine.train", "engine.models.training"),
                 ("train_dataset", "train", "train_model", "run_training"))


def _training_constant(names: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    try:
        mod = importlib.import_module("engine.training")
    except ImportError:
        return default
    for n in names:
        v = getattr(mod, n, None)
        if v:
            return tuple(v)
    return default


def training_families() -> tuple[str, ...]:
    return _training_constant(("MODELS", "FAMILIES"), ("ensemble", "multimodal", "video"))


def training_groups() -> tuple[str, ...]:
    from engine.features.spec import GROUPS

    return _training_constant(("GROUPS",), tuple(GROUPS))


def run_training(dataset: str, family: str, features: list[str], out_dir: str, progress, cancel):
    fn, why = training_function()
    if fn is None:
        from engine.errors import EngineError

        raise EngineError(f"training is {NOT_AVAILABLE} ({why})")
    return _call(fn, {"dataset": dataset, "family": family, "features": features, "out_dir": out_dir},
                 TRAIN_ALIASES, progress, cancel)


# -------------------------------------------------------------------------------------- extraction

def extract_function() -> tuple[Optional[Callable], str]:
    return _find(("engine.extract", "engine.features.extract", "engine.data.extract"),
                 ("extract_dataset", "extract_features", "extract", "run_extraction"))


def _wants_open_dataset(fn: Callable) -> bool:
    """engine.extract.extract_dataset takes an open Dataset (`ds`); train_model takes a path or one."""
    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] in ("ds", "store")


def _with_dataset(fn: Callable, dataset: str, values: dict, aliases: dict, progress, cancel):
    if not _wants_open_dataset(fn):
        return _call(fn, dict(values, dataset=dataset), aliases, progress, cancel)
    from engine.data.store import Dataset

    with Dataset.open(dataset) as ds:  # opened in the worker thread: a Dataset is used from one thread
        return _call(fn, dict(values, dataset=ds), aliases, progress, cancel)


def run_extract(dataset: str, progress, cancel):
    fn, why = extract_function()
    if fn is None:
        from engine.errors import EngineError

        raise EngineError(f"feature extraction is {NOT_AVAILABLE} ({why})")
    return _with_dataset(fn, dataset, {}, {"dataset": TRAIN_ALIASES["dataset"]}, progress, cancel)


# -------------------------------------------------------------------------------------- collection

COLLECT_SOURCES = ("trending", "hashtag", "user", "search", "sound")


def collect_function() -> tuple[Optional[Callable], str]:
    return _find(("engine.collect", "engine.collect.collector", "engine.collect.run", "engine.collect.jobs"),
                 ("collect", "collect_posts", "run_collection", "collect_into", "collect_dataset"))


def run_collect(dataset: str, source: str, query: str, count: int, download: bool, progress, cancel):
    fn, why = collect_function()
    if fn is None:
        from engine.errors import EngineError

        raise EngineError(f"collection is {NOT_AVAILABLE} ({why})")
    values = {"source": source, "query": query, "count": count, "download": download}
    try:  # engine.collect takes a Source object made from (kind, value)
        from engine.collect.sources import make_source
    except ImportError:
        pass
    else:
        values = {"source": make_source(source, query or None), "count": count, "download": download}
    return _with_dataset(fn, dataset, values,
                 {"dataset": TRAIN_ALIASES["dataset"], "source": ("source", "kind"),
                  "query": ("query", "value", "name", "term"), "count": ("count", "n", "limit"),
                  "download": ("download", "download_videos")}, progress, cancel)


def describe_result(result) -> str:
    """A one-line summary of whatever an engine job returned."""
    if result is None:
        return "done"
    if hasattr(result, "summary") and callable(result.summary):
        return result.summary()
    if isinstance(result, dict):
        keys = [k for k in ("bundle", "out_dir", "path", "posts", "videos", "added", "extracted") if k in result]
        return ", ".join(f"{k}: {result[k]}" for k in keys) or "done"
    return str(result)[:200]
