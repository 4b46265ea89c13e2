"""Integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, absolute and relative gates).

The cues get the audio as one mono track (engine.media.decode_audio down-mixes with FFmpeg's
matrix, 1/sqrt(2) per front channel). For a mono source this is BS.1770 exactly; for stereo
with the same signal in both channels it also matches (the down-mix carries the summed power);
for uncorrelated stereo it reads up to 3 LU low. The K-weighting filters are designed for the
given sample rate from the analogue prototype that the standard's 48 kHz coefficients come from.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
BLOCK_S = 0.4
STEP_S = 0.1  # 75 % overlap


def k_weighting(rate: int) -> np.ndarray:
    """Second-order sections (shelf, then high-pass) of the K-weighting filter at `rate` Hz."""
    # Stage 1: the head's acoustic effect, a high shelf of about +4 dB above 1.5 kHz.
    gain_db, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    # Stage 2: the RLB high-pass at about 38 Hz.
    q, fc = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * fc / rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def block_power(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean square of the K-weighted signal in 400 ms blocks every 100 ms: (block start times, powers).

    A clip shorter than one block gives one block over all of it.
    """
    if audio.size == 0:
        return np.zeros(0), np.zeros(0)
    y = signal.sosfilt(k_weighting(rate), audio.astype(np.float64))
    sq = np.concatenate([[0.0], np.cumsum(y * y)])
    block, step = int(round(BLOCK_S * rate)), int(round(STEP_S * rate))
    if y.size < block:
        return np.zeros(1), np.array([sq[-1] / y.size])
    starts = np.arange(0, y.size - block + 1, step)
    return starts / rate, (sq[starts + block] - sq[starts]) / block


def _lufs(power):
    return -0.691 + 10.0 * np.log10(np.maximum(power, 1e-20))


def integrated_loudness(audio: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS; ABSOLUTE_GATE (-70) when everything is below the gate.

    Returns nan for an empty signal.
    """
    _, z = block_power(audio, rate)
    if z.size == 0:
        return float("nan")
    z = z[_lufs(z) > ABSOLUTE_GATE]
    if z.size == 0:
        return ABSOLUTE_GATE
    gate = _lufs(z.mean()) + RELATIVE_GATE
    z = z[_lufs(z) > gate]
    return float(_lufs(z.mean()))


def momentary_loudness(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Loudness of each 400 ms block (momentary loudness), floored at -70: (block centre times, LUFS)."""
    t, z = block_power(audio, rate)
    return t + min(BLOCK_S, audio.size / rate) / 2, np.maximum(_lufs(z), ABSOLUTE_GATE)
