"""Where the window keeps things: QSettings for window state only; models and datasets in the user data
folder (platformdirs), the same folder the engine's dataset store uses.

    <data>/datasets/*.sqlite     datasets (engine.data.store.default_dataset_dir)
    <data>/models/<name>/        trained and exported bundles
    <data>/active_model.json     {"path": ...}: the bundle the Score and Batch pages use
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings

APP_NAME = "Virality Studio"


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def datasets_dir() -> Path:
    from engine.data.store import default_dataset_dir

    return default_dataset_dir()


def models_dir() -> Path:
    return data_dir() / "models"


def settings() -> QSettings:
    """Window state (geometry, splitter sizes, last folders)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, APP_NAME, APP_NAME)


def default_model_path() -> Path:
    from engine.models.bundle import default_bundle_path

    return default_bundle_path()


def active_model_path() -> Path:
    """The bundle the user made active, or the embedded default when none is (or it has gone)."""
    f = data_dir() / "active_model.json"
    try:
        p = Path(json.loads(f.read_text(encoding="utf-8"))["path"])
        if (p / "manifest.json").is_file() or (p.is_file() and p.suffix == ".zip"):
            return p
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return default_model_path()


def set_active_model(path: Optional[Path]) -> None:
    f = data_dir() / "active_model.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    if path is None:
        f.unlink(missing_ok=True)
        return
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps({"path": str(Path(path).resolve())}), encoding="utf-8")
    os.replace(tmp, f)


def known_datasets() -> list[Path]:
    d = datasets_dir()
    return sorted(d.glob("*.sqlite")) if d.is_dir() else []


@dataclass
class BundleSummary:
    path: Path
    name: str
    family: str
    created: str
    training_data: str
    spearman: Optional[float]
    mae: Optional[float]
    auc: Optional[float]
    is_default: bool = False


def _metric(metrics: dict, *names: str) -> Optional[float]:
    """Find a metric in a manifest's metrics block, whatever nesting the trainer used."""
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
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, dict) and isinstance(v.get("mean"), (int, float)):
            return float(v["mean"])
    return None


def read_bundle_summary(path: Path, is_default: bool = False) -> Optional[BundleSummary]:
    """The manifest's headline facts, without loading the model (no ONNX Runtime here)."""
    try:
        m = json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    td = m.get("training_data") or {}
    metrics = m.get("metrics") or {}
    return BundleSummary(
        path=Path(path),
        name=str(m.get("name", Path(path).name)),
        family=str(m.get("family", "?")),
        created=str(m.get("created", "")),
        training_data=str(td.get("name", "")) + (f" ({td['size']} posts)" if isinstance(td, dict) and td.get("size") else ""),
        spearman=_metric(metrics, "spearman", "spearman_rho", "rho"),
        mae=_metric(metrics, "mae", "mae_log"),
        auc=_metric(metrics, "auc_top25", "auc_top_quartile", "auc"),
        is_default=is_default,
    )


def list_bundles() -> list[BundleSummary]:
    """The embedded default model, then every bundle in the user's models folder."""
    out = []
    d = read_bundle_summary(default_model_path(), is_default=True)
    if d:
        out.append(d)
    if models_dir().is_dir():
        for p in sorted(models_dir().iterdir()):
            if p.is_dir() and not p.name.startswith("."):
                s = read_bundle_summary(p)
                if s:
                    out.append(s)
    return out
