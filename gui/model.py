"""The active models in the window: the general bundle the Score and Batch pages score with and, apart, the
personal bundle whose reading the Score page shows beside it (engine.models.active keeps both choices), each
loaded once and shared (thread-safe)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from engine.models.active import (active_model_path, active_personal, is_default_bundle, is_personal_bundle,
                                  set_active_model, set_active_personal)


class ActiveModel:
    """Holds the path of the active bundle and, once loaded (in a worker thread), the bundle itself.

    ONNX Runtime sessions may be run from several threads at once, so one loaded bundle serves
    the scoring job and the live re-scoring jobs alike."""

    def __init__(self, path: Optional[Path] = None):
        self._lock = threading.Lock()
        self.path = Path(path) if path else active_model_path()
        self._bundle = None
        self.personal_path: Optional[Path] = None if path else active_personal().path
        self._personal = None
        if is_personal_bundle(self.path):  # a personal bundle is never the general model: it goes beside it
            self.personal_path, self.path = self.path, active_model_path()

    def get(self, progress=None, cancel=None):
        """The loaded bundle; loads it on first use (raises BundleError with a message)."""
        with self._lock:
            if self._bundle is None:
                from engine.models.bundle import ModelBundle

                self._bundle = ModelBundle.load(self.path)
            return self._bundle

    @property
    def loaded(self):
        """The bundle if already loaded, else None (never blocks on loading)."""
        return self._bundle

    @property
    def is_default(self) -> bool:
        """Whether the active bundle is the built-in one."""
        return is_default_bundle(self.path)

    def get_personal(self, progress=None, cancel=None):
        """The loaded personal bundle, None when none is active; loads it on first use (raises BundleError)."""
        with self._lock:
            if self._personal is None and self.personal_path is not None:
                from engine.models.bundle import ModelBundle

                self._personal = ModelBundle.load(self.personal_path)
            return self._personal

    @property
    def loaded_personal(self):
        """The personal bundle if one is active and loaded, else None (never blocks on loading)."""
        return self._personal

    def set_personal(self, path: Optional[Path], remember: bool = True) -> None:
        """Make `path` the active personal model ("Make active" on My posts); None stops using one."""
        with self._lock:
            self.personal_path = None if path is None else Path(path)
            self._personal = None
        if remember:
            set_active_personal(self.personal_path)

    def set_path(self, path: Path, remember: bool = True) -> None:
        """Switch to another bundle (loaded on next use); `remember` stores the choice for the next start and for
        the command line's `score` and `batch`. A personal bundle becomes the active personal model instead."""
        if is_personal_bundle(path):
            self.set_personal(path, remember)
            return
        with self._lock:
            self.path = Path(path)
            self._bundle = None
        if remember:
            set_active_model(self.path)  # the built-in bundle clears the choice
