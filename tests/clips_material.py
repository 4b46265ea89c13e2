"""A long video made of real material, with known shot boundaries and spoken sentences at known times.

The shared clips (/work/shared/data/videos or $VIRALITY_SHARED/data/videos) are scaled to one size and joined
one after another, so each join is a shot boundary at a known time; sentences spoken by espeak-ng are laid on
the sound track at known times (one per shot, starting SPEECH_DELAY_S after the cut and ending before the next
one), everything else silent. `repeat_video` joins copies of such a file by remuxing (no encoding), for the
10- and 60-minute inputs of the benchmark.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.clips.export import mux_pcm

SHARED = Path(os.environ.get("VIRALITY_SHARED", "/work/shared"))
VIDEO_DIR = SHARED / "data" / "videos"
RATE = 16000
FPS = 25
SPEECH_DELAY_S = 0.6
SENTENCES = [
    "The tide was low when we reached the beach this morning.",
    "Nobody expected the bikes to be this fast on the hill.",
    "Here is the one trick that changed how I cook rice.",
    "My brother laughed so hard that he dropped his phone.",
    "This is the cheapest way to travel across the city.",
    "We tried the new cafe and the coffee was amazing.",
    "Watch what happens when the music starts playing.",
    "I never thought a rabbit could look so surprised.",
    "The car was stuck in traffic for almost an hour.",
    "That is why you should always check the weather first.",
    "Every single one of them came back the next day.",
    "And that is the end of our little adventure today.",
]


@dataclass
class Material:
    path: Path
    duration_s: float
    cuts: list[float]  # shot boundaries (the joins), s
    sentences: list[tuple[float, float, str]]  # (start, end, text) of each spoken sentence
    faces: list[tuple[float, float]]  # shots (start, end) taken from clips known to show a face


def shared_clips() -> list[Path]:
    return sorted(VIDEO_DIR.glob("*/*.mp4"))


def have_tools() -> bool:
    return bool(shared_clips()) and shutil.which("espeak-ng") is not None


def speak(text: str) -> np.ndarray:
    """espeak-ng's voice saying `text`, mono float32 at RATE."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-s", "165", "-w", str(wav), text], check=True, capture_output=True)
        with wave.open(str(wav)) as w:
            rate, n = w.getframerate(), w.getnframes()
            pcm = np.frombuffer(w.readframes(n), np.int16).astype(np.float32) / 32768.0
    # Linear resampling is enough for a voice the VAD has to hear.
    t = np.arange(int(len(pcm) * RATE / rate)) / RATE
    return np.interp(t, np.arange(len(pcm)) / rate, pcm).astype(np.float32) * 0.8


def _fill(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale to cover w x h and crop the centre (nearest neighbour: fast and good enough)."""
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih)
    ys = np.clip(((np.arange(h) + 0.5) / s + (ih - h / s) / 2).astype(int), 0, ih - 1)
    xs = np.clip(((np.arange(w) + 0.5) / s + (iw - w / s) / 2).astype(int), 0, iw - 1)
    return img[ys][:, xs]


def make_long_video(out: Path, clips: list[Path] | None = None, size=(640, 360), max_shot_s: float = 8.0,
                    gop: int = 50) -> Material:
    """Join `clips` (default: every shared clip) into `out`, each cut to at most `max_shot_s` seconds, with a
    spoken sentence in each shot. Returns where the joins and the sentences are."""
    clips = clips or shared_clips()
    w, h = size
    cuts, sentences, faces, pcm_parts = [], [], [], []
    t0 = 0.0
    with av.open(str(out), "w") as dst:
        vs = dst.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = gop
        vs.options = {"preset": "ultrafast", "sc_threshold": "0"}  # keyframes every `gop` frames only
        a_out = dst.add_stream("aac", rate=RATE, layout="mono")
        n_total = 0
        for k, clip in enumerate(clips):
            n_shot = 0
            with av.open(str(clip)) as src:
                for frame in src.decode(video=0):
                    if n_shot >= int(max_shot_s * FPS):
                        break
                    img = _fill(frame.to_ndarray(format="rgb24"), w, h)
                    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                    vf.pts = n_total
                    vf.time_base = Fraction(1, FPS)
                    for p in vs.encode(vf):
                        dst.mux(p)
                    n_shot += 1
                    n_total += 1
            shot_s = n_shot / FPS
            voice = speak(SENTENCES[k % len(SENTENCES)])
            room = shot_s - SPEECH_DELAY_S - 0.6
            if room > 0.8:
                voice = voice[: int(room * RATE)]
                s0 = t0 + SPEECH_DELAY_S
                # espeak pads its output with silence: the sentence is where the signal is
                loud = np.flatnonzero(np.abs(voice) > 0.02)
                sentences.append((s0 + loud[0] / RATE, s0 + loud[-1] / RATE, SENTENCES[k % len(SENTENCES)]))
                track = np.zeros(int(round(shot_s * RATE)), np.float32)
                a = int(SPEECH_DELAY_S * RATE)
                track[a : a + voice.size] = voice
            else:
                track = np.zeros(int(round(shot_s * RATE)), np.float32)
            pcm_parts.append(track)
            if "carphone" in clip.name:
                faces.append((t0, t0 + shot_s))
            t0 += shot_s
            cuts.append(t0)
        for p in vs.encode(None):
            dst.mux(p)
        mux_pcm(dst, a_out, np.concatenate(pcm_parts)[None, :])
    return Material(out, t0, cuts[:-1], sentences, faces)


def repeat_video(src: Path, out: Path, times: int) -> float:
    """`src` played `times` times in a row, remuxed without decoding. Returns the new duration.

    Each copy is shifted by the longest stream's span, so every stream's timestamps keep increasing."""
    span = 0.0
    with av.open(str(src)) as s:
        first: dict[int, float] = {}
        for p in s.demux():
            if p.dts is None:
                continue
            t = float(p.dts * p.time_base)
            first.setdefault(p.stream.index, t)
            span = max(span, t + float((p.duration or 0) * p.time_base) - first[p.stream.index])
    with av.open(str(out), "w") as dst:
        outs = {}
        for k in range(times):
            with av.open(str(src)) as s:
                for st in s.streams:
                    if st.index not in outs:
                        outs[st.index] = dst.add_stream_from_template(st)
                for packet in s.demux():
                    if packet.dts is None:
                        continue
                    shift = int(round(k * span / packet.time_base))
                    packet.pts = (packet.pts if packet.pts is not None else packet.dts) + shift
                    packet.dts += shift
                    packet.stream = outs[packet.stream.index]
                    dst.mux(packet)
    return span * times
