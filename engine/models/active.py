"""The active model: the bundle that `score`, `batch` and the window's Score and Batch pages use when no other
is named. The choice lives in the user data folder (platformdirs), beside the datasets and the trained bundles:

    <data>/active_model.json     {"path": ...}: the general model made active (the Train page's "Make active")
    <data>/active_personal.json  {"path": ...}: the personal model made active (My posts' "Make active"): its
                                 reading of a draft against the creator's own posts is shown beside the general score
    <data>/models/<name>/        trained and exported bundles

No choice, a damaged active_model.json, or a chosen bundle that has gone all mean the built-in default bundle;
the same for active_personal.json mean no personal model. A personal bundle found in the general slot (made active
there before the two were apart) is moved to the personal slot, with a note (ActiveModelChoice.moved).

This module reads manifest.json only (from a bundle folder or a .zip): it imports neither numpy nor ONNX Runtime,
so `virality-studio --version` can name the active model at once. Loading the model is engine.models.bundle's.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import BundleError

APP_NAME = "Virality Studio"
ACTIVE_FILE = "active_model.json"
PERSONAL_FILE = "active_personal.json"
PERSONAL_FAMILY = "personal"
MANIFEST = "manifest.json"


def data_dir() -> Path:
    """The per-user data folder (e.g. ~/.local/share/Virality Studio); follows XDG_DATA_HOME on Linux."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Where trained and exported bundles go: <data>/models."""
    return data_dir() / "models"


def default_bundle_path() -> Path:
    """The embedded default model, <repo>/resources/models/default: the same folder as
    engine.models.bundle.default_bundle_path, found without importing numpy (a test checks they agree)."""
    from engine import resources_dir

    return resources_dir() / "models" / "default"


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return Path(a) == Path(b)


def is_default_bundle(path: str | os.PathLike) -> bool:
    return _same_path(Path(path), default_bundle_path())


def _is_bundle(p: Path) -> bool:
    return (p / MANIFEST).is_file() or (p.is_file() and p.suffix.lower() == ".zip")


@dataclass(frozen=True)
class ActiveModelChoice:
    """Which bundle is active. `path`: the bundle to use. `is_default`: it is the built-in one.
    `gone`: the bundle that was made active when it no longer exists (`path` is then the built-in one).
    `moved`: a personal bundle that was the active general model (an older settings file): it has just been made
    the active personal model instead, and `path` is the built-in one (moved_note() says so in words)."""

    path: Path
    is_default: bool
    gone: Optional[Path] = None
    moved: Optional[Path] = None


def moved_note(path: str | os.PathLike) -> str:
    """What a person is told when a personal bundle is offered as the general model."""
    return (f"{path} is a personal model: it is now the active personal model, shown beside the general score "
            "(\"against your own posts\"), and the general score comes from the general model")


def is_personal_bundle(path: str | os.PathLike) -> bool:
    """Whether the bundle's manifest says family "personal" (False for anything unreadable)."""
    try:
        return read_manifest(path).get("family") == PERSONAL_FAMILY
    except BundleError:
        return False


def _read_choice(name: str) -> Optional[Path]:
    try:
        return Path(json.loads((data_dir() / name).read_text(encoding="utf-8"))["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_choice(name: str, path: Optional[str | os.PathLike]) -> None:
    """Store `path` (resolved) under `name`, atomically: a crash leaves the previous choice; None clears it."""
    f = data_dir() / name
    f.parent.mkdir(parents=True, exist_ok=True)
    if path is None:
        f.unlink(missing_ok=True)
        return
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps({"path": str(Path(path).resolve())}), encoding="utf-8")
    os.replace(tmp, f)


def active_model() -> ActiveModelChoice:
    """The general bundle made active, or the built-in default when none is (or the chosen one has gone). A
    personal bundle in that slot is moved to the personal one (`moved`). Never raises."""
    chosen = _read_choice(ACTIVE_FILE)
    if chosen is not None and _is_bundle(chosen):
        if not is_personal_bundle(chosen):
            return ActiveModelChoice(chosen, is_default_bundle(chosen))
        try:  # move it (unless a personal model is already active); the general slot goes back to the built-in one
            if _read_choice(PERSONAL_FILE) is None:
                set_active_personal(chosen)
            _write_choice(ACTIVE_FILE, None)
        except OSError:
            pass  # a read-only data folder: moved for this run only
        return ActiveModelChoice(default_bundle_path(), True, moved=chosen)
    return ActiveModelChoice(default_bundle_path(), True, gone=chosen)


def active_model_path() -> Path:
    return active_model().path


def set_active_model(path: Optional[str | os.PathLike]) -> Optional[str]:
    """Make `path` the active general bundle (stored resolved); None, or the built-in bundle, goes back to the
    default. A personal bundle becomes the active personal model instead (the general one is then the built-in
    one when the personal bundle was it): returns the note saying so, else None."""
    if path is not None and is_personal_bundle(path):
        set_active_personal(path)
        if _same_choice(_read_choice(ACTIVE_FILE), path):
            _write_choice(ACTIVE_FILE, None)
        return moved_note(path)
    _write_choice(ACTIVE_FILE, None if path is None or is_default_bundle(path) else path)
    return None


def _same_choice(a: Optional[Path], b: str | os.PathLike) -> bool:
    return a is not None and _same_path(a, Path(b))


@dataclass(frozen=True)
class ActivePersonal:
    """The personal model made active: `path`, None when there is none (or it has gone: `gone` names it)."""

    path: Optional[Path]
    gone: Optional[Path] = None


def active_personal() -> ActivePersonal:
    """The personal bundle made active (My posts' "Make active"), apart from the general model. Never raises."""
    chosen = _read_choice(PERSONAL_FILE)
    if chosen is not None and _is_bundle(chosen):
        return ActivePersonal(chosen)
    moved = active_model().moved  # an older settings file's personal model in the general slot
    if moved is not None:
        return ActivePersonal(moved)
    return ActivePersonal(None, gone=chosen)


def set_active_personal(path: Optional[str | os.PathLike]) -> None:
    """Make `path` the active personal model (stored resolved); None stops using one ("Stop using")."""
    _write_choice(PERSONAL_FILE, path)


# ----------------------------------------------------------------------------- the manifest's headline facts


def read_manifest(path: str | os.PathLike) -> dict:
    """A bundle's manifest.json as a dict, from a folder or a .zip (at its top or in its one folder), without
    checking or loading the model. Raises BundleError saying what is wrong."""
    path = Path(path)
    try:
        if path.is_dir():
            raw = (path / MANIFEST).read_bytes()
        elif path.is_file():
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                inner = [n for n in names if n.endswith("/" + MANIFEST) and n.count("/") == 1]
                name = MANIFEST if MANIFEST in names else (inner[0] if len(inner) == 1 else None)
                if name is None:
                    raise BundleError(f"{path}: the zip holds no manifest.json")
                raw = z.read(name)
        else:
            raise BundleError(f"{path}: no model bundle here (no such file or folder)")
    except FileNotFoundError:
        raise BundleError(f"{path}: no manifest.json here; is it a model bundle?") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: the manifest cannot be read ({exc})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path}: manifest.json is damaged (not JSON: {exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: manifest.json is damaged (not a JSON object)")
    return manifest


@dataclass
class BundleSummary:
    """What a person wants to know about a bundle before using it, read from its manifest."""

    path: Path
    name: str
    family: str
    created: str
    training_data: str
    spearman: Optional[float]
    mae: Optional[float]
    auc: Optional[float]
    is_default: bool = False
    version: str = ""
    licence: str = ""  # the training data's licence


def _metric(metrics: dict, *names: str) -> Optional[float]:
    """Find a metric in a manifest's metrics block, whatever nesting the trainer used (the grouped
    cross-validation's ensemble first)."""
    if not isinstance(metrics, dict):
        return None
    for key in ("grouped_cv", "cv", "folds", "full", "model", "ensemble", "held_out"):
        sub = metrics.get(key)
        if isinstance(sub, dict):
            v = _metric(sub, *names)
            if v is not None:
                return v
    for n in names:
        v = metrics.get(n)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if isinstance(v, dict) and isinstance(v.get("mean"), (int, float)):
            return float(v["mean"])
    return None


def summarize_manifest(path: str | os.PathLike, manifest: dict, is_default: bool = False) -> BundleSummary:
    path = Path(path)
    td = manifest.get("training_data")
    td = td if isinstance(td, dict) else {}
    size = td.get("size") or td.get("n_posts")
    metrics = manifest.get("metrics") or {}
    version = manifest.get("version", manifest.get("model_version", ""))
    return BundleSummary(
        path=path,
        name=str(manifest.get("name") or path.name),
        family=str(manifest.get("family", "?")),
        created=str(manifest.get("created") or ""),
        training_data=str(td.get("name", "")) + (f" ({size} posts)" if size else ""),
        spearman=_metric(metrics, "spearman", "spearman_rho", "rho"),
        mae=_metric(metrics, "mae", "mae_log"),
        auc=_metric(metrics, "auc_top25", "auc_top_quartile", "auc"),
        is_default=is_default,
        version="" if version is None else str(version),
        licence=str(td.get("licence") or td.get("license") or ""),
    )


def read_bundle_summary(path: str | os.PathLike, is_default: Optional[bool] = None) -> Optional[BundleSummary]:
    """The manifest's headline facts without loading the model, or None when the manifest cannot be read.
    `is_default`: None works it out from the path."""
    try:
        manifest = read_manifest(path)
    except BundleError:
        return None
    return summarize_manifest(path, manifest, is_default_bundle(path) if is_default is None else is_default)


def list_bundles() -> list[BundleSummary]:
    """The embedded default model, then every bundle folder in the user's models folder."""
    out = []
    d = read_bundle_summary(default_bundle_path(), is_default=True)
    if d:
        out.append(d)
    if models_dir().is_dir():
        for p in sorted(models_dir().iterdir()):
            if p.is_dir() and not p.name.startswith("."):
                s = read_bundle_summary(p, is_default=False)
                if s:
                    out.append(s)
    return out


def describe_active_model(active: Optional[ActiveModelChoice] = None) -> list[str]:
    """Lines naming the active model for `--version`: name and whether it is the built-in one, then family,
    version and date as the manifest gives them, then the path. Reads the manifest only; never raises."""
    active = active or active_model()
    try:
        s = summarize_manifest(active.path, read_manifest(active.path), active.is_default)
    except BundleError as exc:
        return [f"Active model: {active.path}", f"  cannot be read: {exc}"]
    if active.gone is not None:
        which = f"the built-in default; the model made active, {active.gone}, has gone"
    else:
        which = "the built-in default" if active.is_default else "made active on the Train page"
    facts = [f"family {s.family}"] + [f"version {s.version}"] * bool(s.version) + [f"created {s.created}"] * bool(s.created)
    lines = [f"Active model: {s.name} ({which})", "  " + ", ".join(facts), f"  {active.path}"]
    personal = active_personal().path
    if personal is not None:
        p = read_bundle_summary(personal, is_default=False)
        lines.append(f"Personal model: {p.name if p else personal.name} (beside the general score)  {personal}")
    return lines
