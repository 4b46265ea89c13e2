"""Integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, absolute and relative gates).

The cues get the audio as one mono track (engine.media.decode_audio down-mixes with FFmpeg's
matrix, 1/sqrt(2) per front channel). For a mono source this is BS.1770 exactly; for stereo
with the same signal in both channels it also matches (the down-mix carries the summed power);
for uncorrelated stereo it reads up to 3 LU low. The K-weighting filters are designed for the
given sample rate from the analogue prototype that the standard's 48 kHz coefficients come from.
numpy only (no SciPy): the scoring application ships without it.
"""
from __future__ import annotations

import math

import numpy as np

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


_TAIL = 1e-18  # the impulse response left out of each block is below this (see sosfilt)
_CHUNK = 1 << 19  # samples transformed at a time: bounds the memory on long audio


def _settle_length(sos: np.ndarray) -> int:
    """Samples after which the cascade's impulse response has decayed below _TAIL: it decays as r**n,
    r the largest pole magnitude (0.995 for the 38 Hz high-pass at 48 kHz: ~8300 samples)."""
    r = max(float(np.abs(np.roots([s[3], s[4], s[5]])).max()) for s in sos)
    return max(16, int(math.ceil(math.log(_TAIL) / math.log(r))))


def _response(sos: np.ndarray, n: int) -> np.ndarray:
    """The cascade's frequency response at the n-point rfft frequencies."""
    z = np.exp(-2j * np.pi * np.arange(n // 2 + 1) / n)  # z**-1
    h = np.ones(n // 2 + 1, complex)
    for b0, b1, b2, a0, a1, a2 in sos:
        h *= (b0 + z * (b1 + z * b2)) / (a0 + z * (a1 + z * a2))
    return h


def sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scipy.signal.sosfilt(sos, x) for a stable cascade and 1-D x (zero initial state), in float64.

    Overlap-add FFT convolution with the filter's own frequency response: blocks of B samples,
    zero-padded to n = B + L, are multiplied by H sampled at the n rfft frequencies. That is a
    circular convolution with the impulse response h folded every n samples; with L = the length
    after which h is below _TAIL (from the poles' magnitude), both the folding and the tail cut
    off at each block's end change an output sample by at most max|x| times the sum of |h| beyond
    L (3e-17 for the K-weighting at 48 and 16 kHz), so the result equals the recursive filter to
    float64 rounding (< 1e-12 on unit-scale audio). Vectorised over blocks: 10 minutes take about
    0.2 s at the 16 kHz decode rate, 0.6 s at 48 kHz (2-3 times SciPy's C recursion).
    """
    x = np.asarray(x).ravel()
    if x.size == 0:
        return np.zeros(0)
    L = _settle_length(sos)
    n = 1 << int(math.ceil(math.log2(max(2 * L, min(x.size + L, 8 * L)))))
    B = n - L  # >= L: a block's tail reaches into the next block only
    H = _response(sos, n)
    nb = -(-x.size // B)
    out = np.zeros((nb + 1) * B)
    per = max(1, _CHUNK // B)
    for s in range(0, nb, per):
        k = min(per, nb - s)
        blocks = np.zeros(k * B)  # float64 even for float32 audio (rfft would stay in float32)
        seg = x[s * B : (s + k) * B]
        blocks[: seg.size] = seg
        y = np.fft.irfft(np.fft.rfft(blocks.reshape(k, B), n, axis=1) * H, n, axis=1)
        out[s * B : (s + k) * B] += y[:, :B].ravel()
        out[(s + 1) * B : (s + k + 1) * B].reshape(k, B)[:, :L] += y[:, B:]
    return out[: x.size]


def block_power(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean square of the K-weighted signal in 400 ms blocks every 100 ms: (block start times, powers).

    A clip shorter than one block gives one block over all of it.
    """
    if audio.size == 0:
        return np.zeros(0), np.zeros(0)
    y = sosfilt(k_weighting(rate), audio)
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
