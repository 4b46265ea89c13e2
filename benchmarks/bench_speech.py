"""The speech cue against hand-made speech labels on the shared clips (tests/data/speech_labels.json).

    python benchmarks/bench_speech.py

Per clip: the labelled speech seconds, and for the detector before and after the sustained-voice rule
(engine.cues.speech.drop_sustained_voice) the seconds it heard as speech, how many of those were labelled speech
(hits) and how many lie outside both the speech and the 'unsure' spans (false). Then the totals: recall = hits /
labelled seconds, false speech seconds, and the speech share the cue shows.
"""
from __future__ import annotations

import json
import os
import sys
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
