"""From measured numbers to Cues: the unit, one plain line, and (sometimes) careful advice.

The advice lines describe common practice on short-video platforms; they are not predictions.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from .report import SHARE, Cue


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f}%"


def duration(d: float) -> Cue:
    if d < 60:
        text = f"{d:.1f} s long"
    else:
        text = f"{d:.0f} s long ({int(d // 60)} min {d % 60:02.0f} s)"
    advice = None
    if d < 5:
        text += ": very short"
        advice = "Very short videos leave little time to land a point; make sure the idea reads at once."
    elif d > 180:
        text += ": long for a short-video feed"
        advice = "Long for a short-video feed; a tighter cut may keep more viewers to the end."
    return Cue("duration", round(d, 3), "s", text, advice)


def aspect(width: int, height: int) -> Cue:
    a = height / width if width else 0.0
    size = f"{width}x{height}"
    if a >= 1.6:
        text, advice = f"9:16 vertical ({size}): fills a phone screen", None
    elif a >= 1.15:
        text = f"Portrait, about {'4:5' if a < 1.29 else '3:4'} ({size})"
        advice = "Vertical 9:16 fills the whole screen in TikTok, Reels and Shorts; this leaves bars."
    elif a > 0.87:
        text = f"Square ({size})"
        advice = "Vertical 9:16 fills the whole screen in TikTok, Reels and Shorts; square leaves bars."
    else:
        text = f"Landscape, about {'16:9' if a < 0.62 else '4:3'} ({size})"
        advice = "Landscape shows small in a vertical feed; a 9:16 crop or re-edit fills the screen."
    return Cue("aspect", round(a, 4), "ratio", text, advice)


def resolution(width: int, height: int) -> Cue:
    short = min(width, height)
    names = [(2160, "4K"), (1440, "1440p"), (1080, "1080p"), (720, "720p"), (480, "480p"), (360, "360p")]
    label = next((n for px, n in names if short >= px * 0.97), f"{short}p")
    text = f"{label} ({width}x{height})"
    advice = None
    if short < 700:
        text += ": low resolution"
        advice = "Below 720p can look soft on phones; export at 1080x1920 if the source allows."
    return Cue("resolution", float(short), "px", text, advice)


def cuts(n_cuts: int, dur: float, step_s: float) -> Cue:
    per_min = n_cuts / dur * 60.0 if dur > 0 else 0.0
    if n_cuts == 0:
        text = "One continuous shot: no cuts seen"
    else:
        pace = "Fast cutting" if per_min >= 20 else ("Moderate cutting" if per_min >= 6 else "Slow cutting")
        every = dur / (n_cuts + 1)
        text = (
            f"{pace}: {n_cuts} cut{'s' if n_cuts != 1 else ''} in {dur:.0f} s, {per_min:.0f} a minute,"
            f" a shot every {every:.1f} s on average"
        )
    if step_s > 0.5:
        text += f" (frames checked every {step_s:.1f} s, so quick cuts may be missed)"
    return Cue("cuts_per_min", round(per_min, 2), "cuts/min", text)


def hook_motion(value: Optional[float], seconds: float) -> Cue:
    if value is None:
        return Cue("hook_motion", None, "0-1", "Motion in the opening could not be measured")
    span = f"first {seconds:.0f} s" if seconds >= 1 else "opening"
    if value >= 0.6:
        text, advice = f"Lively opening: a lot of movement in the {span} ({value:.2f})", None
    elif value >= 0.25:
        text, advice = f"Some movement in the {span} ({value:.2f})", None
    else:
        text = f"Still opening: little movement in the {span} ({value:.2f})"
        advice = "A still start suits a talking head; otherwise movement or a cut early on may hold viewers."
    return Cue("hook_motion", round(value, 4), "0-1", text, advice)


def faces(with_face: int, n: int) -> Cue:
    share = with_face / n if n else 0.0
    if with_face == 0:
        text = f"No face seen in {n} sampled frames"
    else:
        text = f"A face in {with_face} of {n} sampled frames"
    return Cue("faces", round(share, 4), SHARE, text)


def face_size(share: float, any_face: bool) -> Cue:
    if not any_face:
        return Cue("face_size", 0.0, SHARE, "No face to measure")
    if share >= 0.06:
        text = f"Close-up: the largest face fills {_pct(share)} of the frame"
    elif share >= 0.015:
        text = f"Medium shot: the largest face fills {_pct(share)} of the frame"
    else:
        text = f"Faces are small: {share * 100:.1f}% of the frame"
    return Cue("face_size", round(share, 5), SHARE, text)


_QUOTES = "\"'`\u201c\u201d\u201e\u00ab\u00bb\u2018\u2019"


def onscreen_text(with_text: int, n: int, sample: Sequence[str]) -> Cue:
    share = with_text / n if n else 0.0
    if with_text == 0:
        text = f"No on-screen text seen in {n} sampled frames"
    else:
        text = f"Text on screen in {with_text} of {n} sampled frames"
        # OCR reads a caption's own quotation marks too: drop them at the ends, so that the line is quoted once
        lines = [w.strip(_QUOTES + " ").replace('"', "'") for w in sample]
        lines = [w for w in lines if w]
        if lines:
            words = " / ".join(lines)
            if len(words) > 60:
                words = words[:57].rstrip() + "..."
            text += f', e.g. "{words}"'
    return Cue("onscreen_text", round(share, 4), SHARE, text)


def brightness(value: float) -> Cue:
    if value < 0.25:
        text = f"Dark picture (mean brightness {value:.2f})"
        advice = "A dark picture loses detail on phone screens; more light or a brighter grade may help."
    elif value > 0.75:
        text, advice = f"Very bright picture (mean brightness {value:.2f})", None
    else:
        text, advice = f"Well exposed (mean brightness {value:.2f})", None
    return Cue("brightness", round(value, 4), "0-1", text, advice)


def colourfulness(value: float) -> Cue:
    scale = [(82, "highly colourful"), (59, "quite colourful"), (45, "averagely colourful"),
             (33, "moderately colourful"), (15, "slightly colourful")]
    label = next((name for m, name in scale if value >= m), "almost no colour")
    return Cue("colourfulness", round(value, 2), "M", f"{label[0].upper()}{label[1:]} (Hasler-Susstrunk M = {value:.0f})")


def loudness(lufs: Optional[float]) -> Cue:
    if lufs is None or (isinstance(lufs, float) and math.isnan(lufs)):
        return Cue("loudness", None, "LUFS", "No sound: the file has no audio track",
                   "Most short videos carry sound (voice or music); a silent post may be skipped by viewers who browse with sound on.")
    if lufs <= -69.9:
        return Cue("loudness", float(lufs), "LUFS", "Silent: the audio track is below -70 LUFS")
    if lufs > -9:
        text = f"Very loud: {lufs:.1f} LUFS"
        advice = "Platforms turn loud uploads down (to roughly -14 LUFS); heavy limiting gains nothing there."
    elif lufs >= -18:
        text, advice = f"Normal level: {lufs:.1f} LUFS", None
    else:
        text = f"Quiet: {lufs:.1f} LUFS"
        advice = "Quiet next to most posts; raising the level toward about -14 LUFS keeps it audible."
    return Cue("loudness", round(float(lufs), 2), "LUFS", text, advice)


def speech(share: float, has_audio: bool) -> Cue:
    if not has_audio:
        return Cue("speech_share", 0.0, SHARE, "No speech: the file has no sound")
    if share < 0.02:
        return Cue("speech_share", round(share, 4), SHARE, "No speech heard")
    return Cue("speech_share", round(share, 4), SHARE, f"Speech during {_pct(share)} of the video")


def music(share: float, has_audio: bool) -> Cue:
    if not has_audio:
        return Cue("music_share", 0.0, SHARE, "No music: the file has no sound")
    if share < 0.05:
        text = "No music recognised (a rough estimate)"
    else:
        text = f"Music in about {_pct(share)} of the video (a rough estimate)"
    return Cue("music_share", round(share, 4), SHARE, text)


def silence(share: float, has_audio: bool) -> Cue:
    if not has_audio:
        return Cue("silence_share", 1.0, SHARE, "The file has no sound: silent throughout",
                   "Adding sound (a voice-over or music) is the norm on short-video platforms.")
    if share >= 0.98:
        return Cue("silence_share", round(share, 4), SHARE, "Silent throughout: the audio track carries no sound")
    if share < 0.02:
        return Cue("silence_share", round(share, 4), SHARE, "Sound all the way through")
    advice = "Long silent stretches may lose viewers; music or voice under them can help." if share >= 0.3 else None
    return Cue("silence_share", round(share, 4), SHARE, f"Silent for {_pct(share)} of the video", advice)
