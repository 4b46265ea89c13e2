"""Sound cues from 16 kHz mono audio: silence and music presence.

music_share is a documented heuristic, not a trained classifier. Per second of sound it looks for
  * sustained tones: spectral peaks (100 Hz - 4 kHz, PEAK_PROMINENCE_DB above the local spectral
    level) that stay at the same frequency for SUSTAIN_S or longer. Notes held by instruments and
    singers make several at once; speech glides and breaks within a syllable, noise has none, and
    a lone test tone makes exactly one, which is why at least TONAL_MIN are needed (TONAL_MIN_SPEECH
    where the speech detector hears speech, as voiced speech holds a few harmonics briefly);
  * a regular beat: the autocorrelation of the spectral-flux onset envelope over ~6 s, at lags of
    0.3-1.5 s (40-200 BPM), reaching BEAT_MIN.
Either makes the second count as music. Known misses: music quieter than the speech over it,
ambient pads without onsets under dense speech; known false hits: steady machine hum with
several harmonics, choppy rhythmic speech.
numpy only (no SciPy): the scoring application ships without it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -50.0  # RMS of a 100 ms window, relative to a full-scale square wave
SILENCE_WINDOW_S = 0.1

FFT = 1024
HOP = 512
PEAK_PROMINENCE_DB = 6.0
PEAK_BAND_HZ = (100.0, 4000.0)
PEAK_FLOOR_DB = 50.0  # peaks more than this below the frame's strongest are ignored
SUSTAIN_S = 0.19
TONAL_MIN = 2.5  # mean sustained peaks per frame over a second
TONAL_MIN_SPEECH = 4.0
BEAT_WINDOW_S = 6.0
BEAT_LAGS_S = (0.3, 1.5)
BEAT_MIN = 0.45
FLUX_RANGE_DB = 60.0
BEAT_MIN_FLUX_DB = 0.5  # an onset envelope flatter than this (a steady tone) has no beat
SOUND_DBFS = -45.0  # frames quieter than this are not judged


def silence_mask(audio: np.ndarray, rate: int, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per 100 ms window over the video's duration: (window start times, True where silent).

    Audio missing at the end (a track shorter than the picture) counts as silent.
    """
    win = max(1, int(round(SILENCE_WINDOW_S * rate)))
    n = max(1, int(np.ceil(duration_s / SILENCE_WINDOW_S - 1e-9)))
    x = np.zeros(n * win, np.float32)
    m = min(x.size, audio.size)
    x[:m] = audio[:m]
    rms = np.sqrt(np.mean(x.reshape(n, win).astype(np.float64) ** 2, axis=1))
    db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return np.arange(n) * SILENCE_WINDOW_S, db < SILENCE_DBFS


@dataclass(frozen=True)
class MusicResult:
    times: np.ndarray  # start of each one-second segment
    music: np.ndarray  # bool per segment
    tonal: np.ndarray  # mean sustained peaks per frame
    beat: np.ndarray  # beat regularity 0-1
    share: float  # music seconds / duration


def _spectrogram(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = 1 + (audio.size - FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(audio, FFT)[::HOP][:n]
    mag = np.abs(np.fft.rfft(frames * np.hanning(FFT).astype(np.float32), axis=1))
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return 20.0 * np.log10(mag + 1e-6), 20.0 * np.log10(rms + 1e-10)


def moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Centred moving mean of `size` values along the last axis, the edges repeated:
    scipy.ndimage.uniform_filter1d(x, size, axis=-1, mode="nearest"), bit for bit.

    The same sums in the same order as SciPy's C loop: the first window added left to right in
    float64, then a running total updated by (entering - leaving) values (np.cumsum is
    sequential), each divided by `size`, and the result in x's dtype.
    """
    half = size // 2
    p = np.asarray(x, np.float64)
    p = np.concatenate([np.repeat(p[..., :1], half, -1), p, np.repeat(p[..., -1:], size - 1 - half, -1)], -1)
    first = np.zeros(p.shape[:-1])
    for i in range(size):
        first = first + p[..., i]
    steps = p[..., size:] - p[..., : p.shape[-1] - size]
    total = np.cumsum(np.concatenate([first[..., None], steps], -1), axis=-1)
    return (total / size).astype(x.dtype, copy=False)


def dilate_along_rows(mask: np.ndarray) -> np.ndarray:
    """True where the mask or a neighbour in the same row is True (outside the array counts False):
    scipy.ndimage.binary_dilation(mask, structure=np.ones((1, 3), bool))."""
    out = mask.copy()
    out[..., 1:] |= mask[..., :-1]
    out[..., :-1] |= mask[..., 1:]
    return out


def _sustained_peaks(band: np.ndarray, frames: int) -> np.ndarray:
    """Per frame, the number of spectral peaks that stay within one bin for `frames` frames."""
    level = moving_mean(band, 17)
    peak = (
        (band > np.roll(band, 1, axis=1))
        & (band >= np.roll(band, -1, axis=1))
        & (band - level > PEAK_PROMINENCE_DB)
        & (band > band.max(axis=1, keepdims=True) - PEAK_FLOOR_DB)
    )
    peak[:, 0] = peak[:, -1] = False
    near = dilate_along_rows(peak)
    held = peak.copy()
    for k in range(1, frames):
        held[:-k] &= near[k:]
    held[max(0, held.shape[0] - frames + 1) :] = False
    return held.sum(axis=1)


def _beat(flux: np.ndarray, fps: float) -> float:
    x = flux - flux.mean()
    lo, hi = int(BEAT_LAGS_S[0] * fps), int(BEAT_LAGS_S[1] * fps)
    if x.size < 2 * lo or flux.std() < BEAT_MIN_FLUX_DB:
        return 0.0
    ac = np.correlate(x, x, "full")[x.size - 1 :]
    if ac[0] <= 0:
        return 0.0
    hi = min(hi, x.size - 1)
    # Normalise by the overlap so that long lags are not penalised for having fewer terms.
    ac = ac / ac[0] * x.size / (x.size - np.arange(ac.size))
    return float(np.clip(ac[lo : hi + 1].max(), 0.0, 1.0)) if hi > lo else 0.0


def music_segments(audio: np.ndarray, rate: int, duration_s: float, speech_windows=None) -> MusicResult:
    """Label each second of the video music or not (see the module docstring); `speech_windows`
    is the speech detector's per-window mask (512 samples at 16 kHz), or None."""
    n_sec = max(1, int(np.ceil(duration_s - 1e-9)))
    empty = MusicResult(np.arange(n_sec, dtype=float), np.zeros(n_sec, bool), np.zeros(n_sec), np.zeros(n_sec), 0.0)
    if audio.size < FFT * 2:
        return empty
    spec, level = _spectrogram(audio)
    fps = rate / HOP
    bin_hz = rate / FFT
    lo, hi = int(PEAK_BAND_HZ[0] / bin_hz), int(PEAK_BAND_HZ[1] / bin_hz)
    band = spec[:, lo:hi]
    held = _sustained_peaks(band, max(2, int(round(SUSTAIN_S * fps))))
    # Onsets from the spectrum clamped FLUX_RANGE_DB below the clip's loudest bin: without the
    # clamp, a codec's noise floor flickering at -100 dB reads as a steady stream of onsets.
    clamped = np.maximum(band, band.max() - FLUX_RANGE_DB)
    flux = np.concatenate([[0.0], np.maximum(np.diff(clamped, axis=0), 0.0).mean(axis=1)])
    sound = level > SOUND_DBFS
    speech_sec = np.zeros(n_sec)
    if speech_windows is not None and len(speech_windows):
        win_s = 512 / 16000
        t = np.arange(len(speech_windows)) * win_s
        for s in range(n_sec):
            sel = (t >= s) & (t < s + 1)
            speech_sec[s] = speech_windows[sel].mean() if sel.any() else 0.0
    music = np.zeros(n_sec, bool)
    tonal = np.zeros(n_sec)
    beat = np.zeros(n_sec)
    for s in range(n_sec):
        a, b = int(s * fps), int((s + 1) * fps)
        if a >= held.size:
            break
        b = min(b, held.size)
        if sound[a:b].mean() < 0.5:
            continue
        tonal[s] = held[a:b][sound[a:b]].mean()
        c0 = max(0, int((s + 0.5 - BEAT_WINDOW_S / 2) * fps))
        c1 = min(flux.size, int((s + 0.5 + BEAT_WINDOW_S / 2) * fps))
        beat[s] = _beat(flux[c0:c1], fps)
        need = TONAL_MIN_SPEECH if speech_sec[s] >= 0.5 else TONAL_MIN
        music[s] = tonal[s] >= need or beat[s] >= BEAT_MIN
    # The last segment may be a fraction of a second.
    lengths = np.minimum(1.0, duration_s - np.arange(n_sec))
    share = float(np.clip((lengths * music).sum() / max(duration_s, 1e-9), 0.0, 1.0))
    return MusicResult(np.arange(n_sec, dtype=float), music, tonal, beat, share)
