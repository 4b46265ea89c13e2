"""The active model in the window: which bundle the Score and Batch pages use (engine.models.active keeps the
choice), loaded once and shared (thread-safe)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from engine.models.active import active_model_path, is_default_bundle, set_active_model


class ActiveModel:
    """Holds the path of the active bundle and, once loaded (in a worker thread), the bundle itself.

    ONNX Runtime sessions may be run from several threads at once, so one loaded bundle serves
    the scoring job and the live re-scoring jobs alike."""

    def __init__(self, path: Optional[Path] = None):
        self._lock = threading.Lock()
        self.path = Path(path) if path else active_model_path()
        self._bundle = None

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

    def set_path(self, path: Path, remember: bool = True) -> None:
        """Switch to another bundle (loaded on next use); `remember` stores the choice for the next start and for
        the command line's `score` and `batch`."""
        with self._lock:
            self.path = Path(path)
            self._bundle = None
        if remember:
            set_active_model(self.path)  # the built-in bundle clears the choice
