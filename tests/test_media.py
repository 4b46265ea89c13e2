import os
import shutil

import numpy as np
import pytest

from bad_inputs import make_one_frame, make_truncated
from engine import media
from engine.errors import CorruptMedia, FileMissing, MediaError, NotAVideo
from media_factory import make_audio_only, make_video


def test_probe_reads_size_duration_fps_and_audio(tmp_path):
    p = make_video(tmp_path / "a.mp4", seconds=2.0, fps=25, size=(320, 240), audio_channels=6)
    info = media.probe(p)
    assert (info.width, info.height) == (320, 240)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 50
    assert info.codec == "h264"
    assert info.audio_streams[0].channels == 6
    assert info.rotation == 0


def test_rotated_phone_video_reports_display_size_and_turns_frames(tmp_path):
    # A phone stores landscape pixels plus a display matrix saying "turn 90 degrees".
    p = make_video(tmp_path / "rot.mp4", seconds=1.0, size=(320, 180), rotation=90, moving=False)
    info = media.probe(p)
    assert info.rotation == 90
    assert (info.coded_width, info.coded_height) == (320, 180)
    assert (info.width, info.height) == (180, 320)
    frames = media.sample_frames(p, [(0.5, 320)], info=info)
    assert frames[0].image.shape == (320, 180, 3)


def test_sample_frames_hits_requested_times_in_request_order(tmp_path):
    # Scenes change colour at 1 s and 2 s: the frame decoded for each time must show its scene.
    p = make_video(tmp_path / "cuts.mp4", seconds=3.0, fps=25, cuts_at=(1.0, 2.0), moving=False, gop=10)
    reqs = [(2.5, 64), (0.5, 64), (1.5, 128), (0.5, 32)]
    frames = media.sample_frames(p, reqs)
    assert [f.requested_s for f in frames] == [2.5, 0.5, 1.5, 0.5]
    for f in frames:
        assert abs(f.time_s - f.requested_s) <= 0.05
    colour = lambda f: f.image.reshape(-1, 3).mean(0)
    # palette: red, green, blue scenes
    assert np.argmax(colour(frames[1])) == 0
    assert np.argmax(colour(frames[2])) == 1
    assert np.argmax(colour(frames[0])) == 2
    assert max(frames[2].image.shape) == 128 and max(frames[3].image.shape) == 32


def test_decode_audio_is_mono_float32_at_the_asked_rate(tmp_path):
    p = make_video(tmp_path / "s.mp4", seconds=2.0, audio="sine", audio_channels=6, audio_rate=48000)
    audio = media.decode_audio(p, rate=16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(32000, rel=0.05)
    assert 0.05 < np.sqrt(np.mean(audio[2000:-2000] ** 2)) < 1.0


def test_no_audio_gives_an_empty_array(tmp_path):
    p = make_video(tmp_path / "mute.mp4", seconds=1.0, audio=None)
    assert media.decode_audio(p).size == 0
    assert not media.probe(p).has_audio


@pytest.mark.parametrize(
    "kind, error, words",
    [
        ("missing", FileMissing, "no such file"),
        ("empty", CorruptMedia, "empty"),
        ("text", CorruptMedia, "not a video"),
        ("audio", NotAVideo, "audio file"),
        ("one_frame", MediaError, "single frame"),
        ("folder", NotAVideo, "folder"),
    ],
)
def test_bad_files_raise_typed_errors_with_plain_messages(tmp_path, kind, error, words):
    p = tmp_path / "x.mp4"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("hello\n" * 100)
    elif kind == "audio":
        p = make_audio_only(tmp_path / "x.m4a")
    elif kind == "one_frame":
        make_one_frame(p)
    elif kind == "folder":
        p.mkdir()
    with pytest.raises(error) as exc:
        media.probe(p)
    msg = str(exc.value)
    assert words in msg and "\n" not in msg


@pytest.mark.parametrize("ahead", [0, 3])
def test_truncated_download_is_reported_not_scored(tmp_path, ahead):
    # faststart puts the index first, so half a file still opens: the missing tail must be noticed.
    src = make_video(tmp_path / "full.mp4", seconds=4.0, size=(320, 240))
    with pytest.raises(CorruptMedia):
        media.probe(make_truncated(src, tmp_path / "half.mp4"))  # index at the end: cannot open
    import av

    fast = tmp_path / "fast.mp4"
    with av.open(str(src)) as i, av.open(str(fast), "w", options={"movflags": "faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for pkt in i.demux():
            if pkt.dts is None:
                continue
            pkt.stream = streams[pkt.stream.index]
            o.mux(pkt)
    half = make_truncated(fast, tmp_path / "fast-half.mp4")
    info = media.probe(half)  # opens...
    got = []
    with pytest.raises(CorruptMedia, match="truncated"):
        for i, f in media.iter_frames(half, [(t, 64) for t in (0.5, 1.5, 2.5, 3.5)], info=info, ahead=ahead):
            got.append(i)
    assert got == [0, 1]  # the frames before the damage come first, in order, then the error (decoding thread)


def test_path_with_spaces_and_accents(tmp_path):
    p = make_video(tmp_path / "Vidéos d'été" / "ma première vidéo ✓.mp4", seconds=1.0)
    assert media.probe(p).duration_s == pytest.approx(1.0, abs=0.1)
    assert len(media.sample_frames(p, [(0.2, 64)])) == 1


def test_shared_videos_all_probe_and_decode(shared_video_paths):
    for p in shared_video_paths:
        info = media.probe(p)
        assert info.duration_s > 1 and info.width > 0 and info.height > 0
        times = [info.duration_s * k / 5 for k in range(5)]
        frames = media.sample_frames(p, [(t, 160) for t in times], info=info)
        assert len(frames) == 5
        assert all(abs(f.time_s - f.requested_s) < 0.2 for f in frames)
        audio = media.decode_audio(p)
        if info.has_audio:
            assert len(audio) == pytest.approx(info.duration_s * 16000, rel=0.1)
        else:
            assert audio.size == 0


def test_sampling_decodes_forward_between_keyframes_instead_of_seeking(tmp_path, monkeypatch):
    # Many targets inside one GOP: one seek at the start, then forward decoding only.
    p = make_video(tmp_path / "gop.mp4", seconds=4.0, fps=25, gop=100, moving=False)
    import av.container

    seeks = []
    real_seek = av.container.InputContainer.seek
    monkeypatch.setattr(av.container.InputContainer, "seek",
                        lambda self, *a, **k: (seeks.append(a), real_seek(self, *a, **k))[1])
    media.sample_frames(p, [(t / 4, 32) for t in range(16)])
    assert len(seeks) == 1


def test_pass_converter_gives_to_ndarrays_pixels_with_one_scaling_context_per_size(tmp_path, monkeypatch):
    # iter_frames keeps one swscale context per size (frame.to_ndarray sets one up, with its thread pool, for
    # every frame: ~4x the cost of the conversion at 128 px); the pixels must be the very same.
    import av

    p = make_video(tmp_path / "rot.mp4", seconds=1.0, fps=25, size=(320, 180), rotation=90)
    with av.open(str(p)) as c:
        raw = list(c.decode(video=0))[:6]
    made = []
    monkeypatch.setattr(media, "VideoReformatter", lambda: made.append(1) or av.video.reformatter.VideoReformatter())
    convert = media._Converter(90)
    for side in (128, 64, 128, 320, 64):
        for f in raw:
            want = np.rot90(f.to_ndarray(width=media._scaled_size(320, 180, side)[0],
                                         height=media._scaled_size(320, 180, side)[1], format="rgb24"))
            assert np.array_equal(convert(f, side), want)
    assert len(made) == 3


def test_read_ahead_gives_the_same_frames_in_order_and_stops_its_thread_when_closed(tmp_path):
    import threading

    p = make_video(tmp_path / "cuts.mp4", seconds=3.0, fps=25, cuts_at=(1.0, 2.0), gop=10)
    reqs = [(t / 10, 64 if t % 3 else 128) for t in range(30)] + [(1.0, 32), (0.05, 64)]
    inline = list(media.iter_frames(p, reqs))
    ahead = list(media.iter_frames(p, reqs, ahead=2))
    assert [i for i, _ in ahead] == [i for i, _ in inline]
    assert [f.time_s for _, f in ahead] == sorted(f.time_s for _, f in ahead)
    for (_, a), (_, b) in zip(inline, ahead):
        assert a.time_s == b.time_s and np.array_equal(a.image, b.image)

    frames = media.iter_frames(p, reqs, ahead=2)
    next(frames)
    assert any(t.name == "media-decode" for t in threading.enumerate())
    frames.close()  # a cancelled pass: the thread stops before the file closes
    assert not any(t.name == "media-decode" for t in threading.enumerate())


def test_skip_nonref_decodes_just_the_frames_a_full_decode_chooses(tmp_path):
    # With every packet's timestamp read first, the frames kept from skipping are exactly those the targets choose
    # (the first frame shown at or after half a frame before each; the last one), not a frame's margin around each.
    import av

    p = make_video(tmp_path / "b.mp4", seconds=2.0, fps=25, gop=50, bframes=3)
    with av.open(str(p)) as c:
        decoded = [(f.time, f.pts, f.pict_type) for f in c.decode(video=0)]
    assert sum(1 for *_, kind in decoded if kind == av.video.frame.PictureType.B) > 20
    half = 0.5 / 25
    targets = [0.0, 0.013, 0.2, 0.52, 1.0, 1.37, 1.96, 2.5]
    want = {next((pts for t0, pts, _ in decoded if t0 >= t - half), decoded[-1][1]) for t in targets}
    with av.open(str(p)) as c:
        got = media._chosen_pts(c, c.streams.video[0], targets, half)
    assert got == want
    reqs = [(t, 64) for t in targets]
    fast = media.sample_frames(p, reqs, skip_nonref=True)
    plain = media.sample_frames(p, reqs)
    assert [f.time_s for f in fast] == [f.time_s for f in plain]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(fast, plain))


def test_sparse_requests_do_not_read_the_whole_file_first(tmp_path, monkeypatch):
    p = make_video(tmp_path / "b.mp4", seconds=4.0, fps=25, gop=25, bframes=3)
    calls = []
    monkeypatch.setattr(media, "_chosen_pts", lambda *a: calls.append(1))  # None: the margin rule
    sparse = media.sample_frames(p, [(0.5, 64), (3.0, 64)], skip_nonref=True)
    assert calls == [] and [round(f.time_s, 2) for f in sparse] == [0.48, 3.0]
    media.sample_frames(p, [(t / 5, 64) for t in range(20)], skip_nonref=True)
    assert calls == [1]
