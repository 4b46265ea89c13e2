"""The content-cues stage: real generated videos with known content, and the shared real clips."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.cues import CUE_NAMES, Cue, CueReport, cue_values, frame_plan, measure_cues
from engine.cues import audio as audio_cues
from engine.cues import loudness, speech, wording
from engine.errors import Cancelled, FileMissing, InputError
from engine.jobs import CancelToken
from engine.media import MediaInfo, probe

from media_factory import make_custom_video, make_video

RATE = 16000
ROOT = Path(__file__).resolve().parent.parent


def sine(freq: float, amplitude: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def synth_music(seconds: float = 10.0, rate: int = RATE) -> np.ndarray:
    """Three-note chords with four harmonics each, changing every half second, over a kick drum
    at 120 BPM and an off-beat noise hat: sustained tones and a regular beat."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate)
    y = np.zeros(n)
    notes = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9]
    beat = int(0.5 * rate)
    for start in range(0, n, beat):
        tt = np.arange(min(beat, n - start)) / rate
        root = rng.choice(notes)
        for f in (root, root * 1.26, root * 1.5):
            for h in range(1, 5):
                y[start : start + tt.size] += 0.05 / h * np.sin(2 * np.pi * f * h * tt) * np.exp(-2 * tt)
        kick = tt[: int(0.15 * rate)]
        y[start : start + kick.size] += 0.5 * np.sin(2 * np.pi * 60 * kick) * np.exp(-30 * kick)
        hat = start + beat // 2
        if hat + 800 <= n:
            y[hat : hat + 800] += 0.1 * rng.standard_normal(800) * np.exp(-np.arange(800) / 200)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Generated videos, written once for the module."""
    d = tmp_path_factory.mktemp("cues")
    text_frame = np.full((480, 270, 3), 40, np.uint8)
    import cv2

    cv2.putText(text_frame, "HELLO", (20, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 4)
    cv2.putText(text_frame, "WORLD", (20, 260), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 4)
    return {
        "cuts": make_video(d / "cuts.mp4", seconds=12, cuts_at=(2, 4, 6, 8, 10), audio=None),
        "still_silent": make_video(d / "still.mp4", seconds=6, moving=False, audio="silence"),
        "moving_noise": make_video(d / "moving.mp4", seconds=6, moving=True, audio="noise"),
        "sine_mono": make_video(d / "sine1.mp4", seconds=5, audio="sine", tone_hz=997, audio_channels=1),
        "sine_stereo": make_video(d / "sine2.mp4", seconds=5, audio="sine", tone_hz=997, audio_channels=2),
        "sine_loud": make_custom_video(d / "sine09.mp4", seconds=5, audio=sine(997, 0.9, 5)),
        "black": make_custom_video(d / "black.mp4", seconds=2, colour=(0, 0, 0)),
        "white": make_custom_video(d / "white.mp4", seconds=2, colour=(255, 255, 255)),
        "text": make_custom_video(d / "text.mp4", seconds=3, size=(270, 480), frame=lambda i, t: text_frame),
        "music": make_custom_video(d / "music.mp4", seconds=10, audio=synth_music()),
        "rotated": make_video(d / "rotated.mp4", seconds=2, rotation=90, audio=None),
    }


_reports: dict = {}


@pytest.fixture(scope="module")
def cues(videos):
    """Reports of the generated videos, measured once and shared by the tests."""

    def get(name: str) -> CueReport:
        if name not in _reports:
            _reports[name] = measure_cues(videos[name])
        return _reports[name]

    return get


# --- the report's shape -------------------------------------------------------------------------


def test_report_has_every_cue_with_unit_and_text(cues):
    report = cues("moving_noise")
    assert [c.name for c in report.cues] == list(CUE_NAMES)
    assert len(CUE_NAMES) == 14
    for c in report.cues:
        assert isinstance(c, Cue)
        assert c.unit and c.text and "\n" not in c.text
        assert c.value is not None and math.isfinite(c.value), c
    assert set(cue_values(report)) == set(CUE_NAMES)
    assert report.value("duration") == pytest.approx(6.0, abs=0.1)
    with pytest.raises(KeyError):
        report.value("virality")


def test_as_dict_is_strict_json(cues):
    report = cues("cuts")  # no audio: loudness is None
    data = json.loads(json.dumps(report.as_dict(), allow_nan=False))
    assert [c["name"] for c in data["cues"]] == list(CUE_NAMES)
    assert set(data["cues"][0]) == {"name", "value", "unit", "shown_value", "shown_unit", "text", "advice"}
    for name in ("motion", "loudness", "faces", "cuts"):
        times, values = data["timeline"][name]
        assert len(times) == len(values)
    assert data["timeline"]["cuts"][0]  # this video has cuts, so the series has points


def test_timings_cover_the_stages(cues):
    t = cues("moving_noise").timings
    for stage in ("decode_frames", "decode_audio", "visual", "faces", "text", "vad", "audio", "total"):
        assert stage in t and t[stage] >= 0, stage


# --- picture -------------------------------------------------------------------------------------


def test_cuts_at_known_times(cues):
    report = cues("cuts")
    truth = [2, 4, 6, 8, 10]
    assert report.value("cuts_per_min") == pytest.approx(len(truth) / 12 * 60, abs=5.5)  # +-1 cut
    found, _ = report.timeline["cuts"]
    assert len(found) == len(truth)
    for t, f in zip(truth, found):
        assert abs(t - f) <= 0.25  # samples are 0.2 s apart
    assert "5 cuts" in report.cue("cuts_per_min").text


def test_static_video_has_no_cuts_and_no_motion(cues):
    still = cues("still_silent")
    assert still.value("cuts_per_min") == 0
    assert "no cuts" in still.cue("cuts_per_min").text
    assert still.value("hook_motion") < 0.05


def test_moving_square_gives_more_hook_motion_than_a_still(cues):
    moving, still = cues("moving_noise").value("hook_motion"), cues("still_silent").value("hook_motion")
    assert moving > 0.2
    assert moving > still + 0.15


def test_brightness_black_and_white(cues):
    black, white = cues("black"), cues("white")
    assert black.value("brightness") < 0.08
    assert white.value("brightness") > 0.92
    assert "Dark" in black.cue("brightness").text
    # Grey pictures have no colour; the palette scenes have plenty.
    assert black.value("colourfulness") < 3 and white.value("colourfulness") < 3
    assert cues("cuts").value("colourfulness") > 30


def test_onscreen_text_is_found_and_read(cues):
    report = cues("text")
    assert report.value("onscreen_text") == 1.0
    text = report.cue("onscreen_text").text.upper()
    assert "HELLO" in text or "WORLD" in text, text
    assert cues("black").value("onscreen_text") == 0.0


def test_generated_pictures_have_no_faces(cues):
    for name in ("cuts", "white", "text"):
        assert cues(name).value("faces") == 0.0
        assert cues(name).value("face_size") == 0.0


def test_aspect_and_resolution_follow_rotation(cues):
    report = cues("rotated")  # coded 320x240, displayed 240x320
    assert report.value("aspect") == pytest.approx(320 / 240, abs=0.01)
    assert report.value("resolution") == 240
    assert cues("cuts").value("aspect") == pytest.approx(0.75, abs=0.01)
    assert "Landscape" in cues("cuts").cue("aspect").text
    assert "vertical" in cues("text").cue("aspect").text  # 270x480 is 9:16


# --- sound ---------------------------------------------------------------------------------------


def test_sine_loudness_matches_bs1770(cues):
    # BS.1770: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS; a sine at amplitude A reads
    # -3.01 + 20 log10(A). The same sine in both stereo channels adds the channels' powers: +3.01.
    assert cues("sine_mono").value("loudness") == pytest.approx(-3.01 + 20 * math.log10(0.3), abs=1.0)
    assert cues("sine_stereo").value("loudness") == pytest.approx(-3.01 + 20 * math.log10(0.3) + 3.01, abs=1.0)
    assert cues("sine_loud").value("loudness") == pytest.approx(-3.01 + 20 * math.log10(0.9), abs=1.0)


def test_silent_track(cues):
    report = cues("still_silent")
    assert report.value("silence_share") > 0.95
    assert report.value("speech_share") < 0.02
    assert report.value("music_share") == 0.0
    assert report.value("loudness") == pytest.approx(-70.0)  # below the absolute gate


def test_no_audio_stream(cues):
    report = cues("cuts")
    assert report.value("loudness") is None
    assert "no audio" in report.cue("loudness").text.lower()
    assert report.value("silence_share") == 1.0
    assert "no sound" in report.cue("silence_share").text.lower()
    assert report.value("speech_share") == 0.0 and report.value("music_share") == 0.0
    assert cue_values(report)["loudness"] is None


def test_noise_and_tones_are_neither_speech_nor_music(cues):
    for name in ("moving_noise", "sine_mono", "sine_loud"):
        report = cues(name)
        assert report.value("speech_share") < 0.1, name
        assert report.value("music_share") < 0.1, name
        assert report.value("silence_share") < 0.05, name


def test_music_heuristic_hears_synthetic_music(cues):
    report = cues("music")
    assert report.value("music_share") > 0.7
    assert report.value("speech_share") < 0.2


def _espeak_wav(tmp_path: Path) -> Path:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng) to synthesise speech")
    wav = tmp_path / "speech.wav"
    words = (
        "Hello everyone, welcome back to my channel. Today I am going to show you three simple "
        "tricks that will change the way you cook pasta forever. Stay until the end."
    )
    subprocess.run([exe, "-v", "en", "-s", "150", "-w", str(wav), words], check=True, capture_output=True)
    return wav


def test_speech_is_heard_in_synthesised_speech(tmp_path):
    from scipy.io import wavfile

    rate, pcm = wavfile.read(_espeak_wav(tmp_path))
    pcm = pcm.astype(np.float32) / 32768.0
    video = make_custom_video(tmp_path / "talk.mp4", seconds=len(pcm) / rate, audio=pcm, audio_rate=rate)
    report = measure_cues(video)
    assert report.value("speech_share") > 0.6
    assert report.value("music_share") < 0.3
    assert "Speech during" in report.cue("speech_share").text


def test_vad_model_is_wired_to_its_inputs():
    sess = speech._get_session()
    # a sequence of windows a call (packaging/silero_seq.py): no sample-rate input, the windows' count free
    assert [(i.name, i.shape) for i in sess.get_inputs()] == [("input", ["windows", 576]), ("state", [2, 1, 128])]
    assert [(o.name, o.shape) for o in sess.get_outputs()] == [("output", ["windows", 1]), ("stateN", [2, 1, 128])]
    assert speech._get_session() is sess  # created once, reused
    probs = speech.speech_probabilities(np.zeros(RATE, np.float32))
    assert probs.shape == (RATE // speech.WINDOW,)
    assert probs.max() < 0.2


def test_text_models_come_from_the_wheel_and_are_reused(monkeypatch):
    from engine.cues import onscreen_text, ppocr

    monkeypatch.setattr(onscreen_text, "_models", {})  # force fresh sessions
    onscreen_text.warm_up("cpu")  # creates the detection and recognition sessions
    eng = onscreen_text._engine("cpu")
    assert all(a is b for a, b in zip(onscreen_text._engine("cpu"), eng))  # the same detector and recogniser
    # read from <resources>/ocr or the installed rapidocr package; nothing is downloaded
    assert onscreen_text._model_dir() in ppocr.model_dirs()
    assert (onscreen_text._model_dir() / onscreen_text.REC_MODEL).is_file()


def test_speech_mask_hysteresis():
    p = np.array([0.1] * 10 + [0.9] * 20 + [0.4] * 2 + [0.9] * 10 + [0.1] * 10 + [0.8] * 3 + [0.1] * 5)
    mask = speech.speech_mask(p)
    assert mask[10:42].all()  # a dip to 0.4 (above the 0.35 exit threshold) does not end speech
    assert not mask[:10].any()
    assert not mask[-8:].any()  # a 3-window (96 ms) burst is shorter than the 250 ms minimum


def test_k_weighting_matches_the_standard_at_48k():
    sos = loudness.k_weighting(48000)
    # ITU-R BS.1770-4, tables 1 and 2
    np.testing.assert_allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                        1.0, -1.69065929318241, 0.73248077421585], atol=1e-8)
    np.testing.assert_allclose(sos[1], [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621], atol=1e-8)
    for rate in (48000, 16000):
        assert loudness.integrated_loudness(sine(997, 1.0, 3, rate), rate) == pytest.approx(-3.01, abs=0.1)


def test_loudness_gating_ignores_silent_stretches():
    tone = sine(997, 0.5, 4)
    with_gap = np.concatenate([tone, np.zeros(8 * RATE, np.float32)])
    assert loudness.integrated_loudness(with_gap, RATE) == pytest.approx(
        loudness.integrated_loudness(tone, RATE), abs=0.2
    )
    assert loudness.integrated_loudness(np.zeros(RATE, np.float32), RATE) == -70.0


def test_silence_mask_counts_missing_audio_as_silent():
    pcm = sine(440, 0.3, 2)  # 2 s of sound under a 4 s picture
    _, silent = audio_cues.silence_mask(pcm, RATE, 4.0)
    assert silent.mean() == pytest.approx(0.5, abs=0.03)


# --- the job protocol ----------------------------------------------------------------------------


def test_progress_is_reported_in_order(videos):
    seen = []
    measure_cues(videos["black"], progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert all(isinstance(m, str) and m for _, m in seen)


def test_cancel_between_stages(videos):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        measure_cues(videos["black"], cancel=token)

    token = CancelToken()

    def cancel_at_faces(fraction, message):
        if "faces" in message:
            token.cancel()

    before = threading.active_count()
    with pytest.raises(Cancelled):
        measure_cues(videos["moving_noise"], progress=cancel_at_faces, cancel=token)
    for t in threading.enumerate():
        if t.name.startswith("cues-"):
            t.join(timeout=5)
    assert threading.active_count() <= before, [t.name for t in threading.enumerate()]


def test_cancel_while_decoding_stops_the_decoding_thread(videos):
    token = CancelToken()

    def cancel_mid_decoding(fraction, message):
        if message == "decoding frames" and fraction > 0.05:
            token.cancel()

    with pytest.raises(Cancelled):
        measure_cues(videos["moving_noise"], progress=cancel_mid_decoding, cancel=token)
    # closed before measure_cues returns, not left decoding the file in the background
    assert not [t.name for t in threading.enumerate() if t.name == "media-decode"]


def test_bad_device_and_missing_file(tmp_path, videos):
    with pytest.raises(InputError):
        measure_cues(videos["black"], device="tpu")
    with pytest.raises(FileMissing):
        measure_cues(tmp_path / "nope.mp4")


def test_frame_plan_is_bounded_for_long_videos():
    def info(duration: float) -> MediaInfo:
        return MediaInfo(path="x.mp4", size_bytes=1, container="mp4", duration_s=duration, fps=30.0,
                         frame_count=int(duration * 30), width=1080, height=1920, coded_width=1080,
                         coded_height=1920, rotation=0, codec="h264")

    short = frame_plan(info(10.0))
    assert len(short) == len(set(short))
    assert all(0 <= t <= 10.0 for t, _ in short)
    long = frame_plan(info(3600.0))
    assert len(long) < 700  # capped, however long the video
    assert max(t for t, _ in long) > 3500  # but still spread over all of it
    assert "may be missed" in wording.cuts(10, 3600.0, 6.0).text
    assert "may be missed" not in wording.cuts(3, 12.0, 0.2).text


# --- the shared real clips -----------------------------------------------------------------------


def test_shared_clips_give_all_cues(shared_video_paths):
    for path in shared_video_paths:
        info = probe(path)
        report = measure_cues(path, info)
        values = cue_values(report)
        assert list(values) == list(CUE_NAMES), path.name
        for name, v in values.items():
            if name == "loudness" and not info.has_audio:
                assert v is None
            else:
                assert v is not None and math.isfinite(v), (path.name, name, v)
        assert values["duration"] == pytest.approx(info.duration_s, abs=0.01)
        assert 0 <= values["silence_share"] <= 1 and 0 <= values["speech_share"] <= 1
        if info.has_audio:
            assert -70 <= values["loudness"] < 0, path.name


SPEECH_CLIP = "421c8b59e121d32a1a0efe90be07d612.mp4"  # a man talking to camera nearly throughout
AMBIENT_CLIP = "13bdbeb5f3b1fdbda2a8fbcc646db222.mp4"  # a claw machine: clicks and hum, no voice
FACE_CLIP = "carphone_pristine.mp4"  # a talking head in a car


def _shared(paths, name):
    found = [p for p in paths if p.name == name]
    if not found:
        pytest.skip(f"{name} is not among the shared videos")
    return found[0]


def test_speech_on_real_clips(shared_video_paths):
    talk = measure_cues(_shared(shared_video_paths, SPEECH_CLIP))
    assert talk.value("speech_share") > 0.6
    ambient = measure_cues(_shared(shared_video_paths, AMBIENT_CLIP))
    assert ambient.value("speech_share") < 0.05
    assert "Worst luck" in ambient.cue("onscreen_text").text  # its caption, read by OCR


def test_faces_on_a_real_talking_head(shared_video_paths):
    report = measure_cues(_shared(shared_video_paths, FACE_CLIP))
    assert report.value("faces") >= 0.25
    assert report.value("face_size") > 0.06
    assert "Close-up" in report.cue("face_size").text


def test_engine_cues_imports_no_gui_or_training_library():
    code = (
        "import sys, engine.cues; engine.cues.warm_up('cpu');"  # loads the OCR models, silero, OpenCV
        "bad = [m for m in ('PySide6', 'torch', 'sklearn') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_read_text_is_quoted_once_even_when_the_caption_has_its_own_quotes():
    cue = wording.onscreen_text(2, 3, ['"Worst luck ever"', "\u201cso good\u201d", 'say "hi" now', '""'])
    assert cue.text.endswith(", e.g. \"Worst luck ever / so good / say 'hi' now\"")
    assert '""' not in cue.text
    assert "e.g." not in wording.onscreen_text(1, 3, ['"', " "]).text  # nothing left to show


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_sound_and_faces_run_below_decoding_and_text(videos, monkeypatch):
    """The helpers with time to spare (sound, faces) run at a lower priority, the text cue (the score's tail) and
    the caller's thread at the caller's; the lowering ends with the helpers' threads."""
    import os

    from engine.cues import faces, measure, onscreen_text

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen: dict[str, int] = {}

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            seen[name] = nice()
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(faces.FaceScan, "add", spy("faces", faces.FaceScan.add))
    monkeypatch.setattr(onscreen_text.TextScan, "add", spy("text", onscreen_text.TextScan.add))
    monkeypatch.setattr(speech, "speech_probabilities", spy("sound", speech.speech_probabilities))
    base = nice()
    measure_cues(videos["moving_noise"])
    lowered = min(19, base + measure.HELPER_NICE)
    assert measure.HELPER_NICE > 0
    assert seen == {"faces": lowered, "sound": lowered, "text": base}
    assert nice() == base
