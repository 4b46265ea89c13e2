"""Typed errors the engine raises. Each carries a message a user can act on."""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose; str() is the user-facing message."""


class Cancelled(EngineError):
    """A job was cancelled through its CancelToken."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class MediaError(EngineError):
    """A file could not be used as a video."""


class FileMissing(MediaError):
    pass


class FileUnreadable(MediaError):
    pass


class NotAVideo(MediaError):
    """The file opened but holds no video stream (an audio file, a text file...)."""


class CorruptMedia(MediaError):
    """The file claims to be a video but cannot be decoded (truncated, damaged)."""


class InputError(EngineError):
    """Bad arguments or metadata given by the user (a negative follower count, a bad date...)."""


class BundleError(EngineError):
    """A model bundle is missing, damaged or does not match this version of the program."""


class DataError(EngineError):
    """A dataset file (posts CSV, SMP-Video JSONL) could not be read."""
