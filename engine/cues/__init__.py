"""Content cues: what can be measured in a video file and told to its creator in one line each.

    report = measure_cues("clip.mp4")
    for cue in report.cues:
        print(cue.name, cue.value, cue.unit, cue.text)

Cues (CUE_NAMES, always all present, in this order): duration, aspect, resolution, cuts_per_min,
hook_motion, faces, face_size, onscreen_text, brightness, colourfulness, loudness, speech_share,
music_share, silence_share. A value is None only where it cannot be measured (loudness of a file
without sound). A share (faces, face_size, onscreen_text and the three sound shares) has unit "share": its
value is 0-1, as the models read it, and it is shown as a percentage (cue.shown_value, cue.shown_unit "%").
The timeline holds series for plots: motion, cuts (a 1.0 at each cut), cut_score,
faces, face_size, text, brightness, loudness, speech, music, silence.

These are measurements, not a learned score: where a trained content model exists they feed it
(cue_values gives the flat numbers), where not they are shown as they are.
"""
from __future__ import annotations

from .measure import cue_values, measure_cues, start_loading, warm_up
from .plan import frame_plan
from .report import Cue, CueReport

CUE_NAMES = (
    "duration",
    "aspect",
    "resolution",
    "cuts_per_min",
    "hook_motion",
    "faces",
    "face_size",
    "onscreen_text",
    "brightness",
    "colourfulness",
    "loudness",
    "speech_share",
    "music_share",
    "silence_share",
)

__all__ = ["CUE_NAMES", "Cue", "CueReport", "cue_values", "frame_plan", "measure_cues", "start_loading", "warm_up"]
