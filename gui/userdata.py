"""Where the window keeps things: QSettings for window state only; models, datasets and the active model's
choice in the user data folder (platformdirs), which the engine owns so that the CLI sees the same:

    <data>/datasets/*.sqlite     datasets (engine.data.store.default_dataset_dir)
    <data>/models/<name>/        trained and exported bundles (engine.models.active.models_dir)
    <data>/active_model.json     the bundle the Score and Batch pages use (engine.models.active)
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from engine.models.active import (  # noqa: F401  (the window's names for the engine's user data)
    APP_NAME,
    BundleSummary,
    active_model,
    active_model_path,
    data_dir,
    list_bundles,
    models_dir,
    read_bundle_summary,
    set_active_model,
)
from engine.models.active import default_bundle_path as default_model_path  # noqa: F401

__all__ = [
    "APP_NAME", "BundleSummary", "active_model", "active_model_path", "data_dir", "datasets_dir",
    "default_model_path", "known_datasets", "list_bundles", "models_dir", "read_bundle_summary",
    "set_active_model", "settings",
]


def datasets_dir() -> Path:
    from engine.data.store import default_dataset_dir

    return default_dataset_dir()


def settings() -> QSettings:
    """Window state (geometry, splitter sizes, last folders)."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, APP_NAME, APP_NAME)


def known_datasets() -> list[Path]:
    d = datasets_dir()
    return sorted(d.glob("*.sqlite")) if d.is_dir() else []
