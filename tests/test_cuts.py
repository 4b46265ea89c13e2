"""Cuts found from frames decoded the fast way (engine.media.iter_frames with skip_nonref, keyframe-aware seeking)
are the cuts found from every frame decoded in order, on the shared clips and on generated ones."""
from __future__ import annotations

import av
import numpy as np
import pytest

from engine import media
from engine.cues import visual
from engine.cues.plan import plan_frames

from media_factory import make_video


def _reference_frames(path, requests, info) -> list[media.SampledFrame]:
    """The plainest way: decode every frame in order, no seeking, nothing skipped; for each requested time take
    the first frame shown at or after half a frame before it (the last frame past the end)."""
    half = 0.5 / info.fps
    decoded = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for f in c.decode(vs):
            if f.time is not None:
                decoded.append(f)
    times = np.array([f.time for f in decoded])
    out = []
    for t, side in requests:
        t = min(max(0.0, t), info.duration_s)
        later = np.flatnonzero(times >= t - half)
        f = decoded[later[0]] if later.size else decoded[-1]
        out.append(media.SampledFrame(t, float(f.time), side, media._to_rgb(f, side, info.rotation)))
    return out


def _cuts(frames, plan) -> list[float]:
    return visual.detect_cuts(visual.frame_features([frames[i] for i in plan.cut])).times


def _check(path) -> int:
    info = media.probe(path)
    plan = plan_frames(info)
    ref = _reference_frames(path, plan.requests, info)
    fast = media.sample_frames(path, plan.requests, info=info, skip_nonref=True)
    assert [f.time_s for f in fast] == [f.time_s for f in ref], path.name  # the very same frames...
    assert all(np.array_equal(a.image, b.image) for a, b in zip(fast, ref)), path.name  # ...pixel for pixel
    want, got = _cuts(ref, plan), _cuts(fast, plan)
    assert len(got) == len(want), (path.name, want, got)
    assert all(abs(a - b) <= plan.cut_step_s + 1e-6 for a, b in zip(got, want)), (path.name, want, got)
    return len(want)


def test_fast_decoding_finds_the_same_cuts_on_the_shared_clips(shared_video_paths):
    cuts = sum(_check(p) for p in shared_video_paths)
    assert cuts >= 5  # the shared clips do have cuts (bikes, the football clip)


def test_fast_decoding_finds_the_same_cuts_on_a_generated_clip(tmp_path):
    path = make_video(tmp_path / "cuts.mp4", seconds=6, cuts_at=(1.5, 3, 4.5), audio=None, bframes=3)
    assert _check(path) == 3


def test_targets_a_frame_apart_do_not_decode_the_clip_again(tmp_path, monkeypatch):
    path = make_video(tmp_path / "c.mp4", seconds=4, cuts_at=(), audio=None)
    info = media.probe(path)
    seeks = []
    real = av.container.InputContainer.seek

    def counting_seek(self, *a, **k):
        seeks.append(a)
        return real(self, *a, **k)

    monkeypatch.setattr(av.container.InputContainer, "seek", counting_seek)
    step = 1 / info.fps
    # each pair: one frame (at 1.0 and 2.0), the second time a hair before the frame taken for the first
    requests = [(1.0 - step / 3, 64), (1.0 - step / 4, 128), (2.0 - step / 3, 64), (2.0 - step / 4, 64)]
    frames = media.sample_frames(path, requests, info=info)
    assert frames[0].time_s == frames[1].time_s and frames[2].time_s == frames[3].time_s
    assert len(seeks) == 1  # the first one only; the old code went back to the start for each pair
