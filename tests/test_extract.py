"""Feature extraction (engine.extract, `dataset extract`): cache keys, resume after kill -9, a warm run decodes
nothing, unreadable videos are recorded, not fatal."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from media_factory import make_video

from engine import extract as ex
from engine.data.store import Dataset
from engine.errors import Cancelled
from engine.features import inputs
from engine.jobs import CancelToken

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 4
N_VIDEOS = 6

KILL_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[2])
from engine.data.store import Dataset
from engine.extract import extract_dataset
with Dataset.open(sys.argv[1]) as ds:
    extract_dataset(ds, frames=4, device="cpu", captions=False,
                    progress=lambda f, m: print(m, flush=True))
print("FINISHED", flush=True)
"""


def _videos(folder: Path, n: int = N_VIDEOS) -> Path:
    for i in range(n):  # distinct content: a different length each
        make_video(folder / f"clip{i}.mp4", seconds=1.0 + 0.2 * i, size=(96, 64), audio="sine" if i % 2 else None,
                   cuts_at=(0.5,))
    return folder


@pytest.fixture
def tiny_ds(tmp_path):
    _videos(tmp_path / "clips")
    ds = Dataset.create(tmp_path / "d.sqlite")
    ds.import_path(tmp_path / "clips")
    yield ds
    ds.close()


def _count_opens(monkeypatch) -> list:
    calls = []
    real = av.open

    def counting(*a, **k):
        calls.append(a[0] if a else k.get("file"))
        return real(*a, **k)

    monkeypatch.setattr(av, "open", counting)
    return calls


def test_extract_then_warm_run_decodes_nothing(tiny_ds, monkeypatch):
    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu")
    assert (res.videos, res.extracted, res.cached, res.failed) == (N_VIDEOS, N_VIDEOS, 0, {})
    key = ex.video_spec_version(FRAMES)
    for v in tiny_ds.videos():
        got = tiny_ds.cached_features(v.sha256, key, "efficientnet_lite0")
        assert got["frames"].shape == (FRAMES, 1280) and got["cues"].shape == (14,)
        assert got["audio"].shape == (inputs.AUDIO_DIM,) and got["audio"][-1] == float(v.has_audio)
        np.testing.assert_allclose(got["pooled"], got["frames"].mean(0), rtol=1e-5, atol=1e-6)
    assert tiny_ds.cached_features(v.sha256, ex.video_spec_version(8), "efficientnet_lite0") is None
    opens = _count_opens(monkeypatch)
    warm = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu")
    assert (warm.extracted, warm.cached, warm.captions_extracted) == (0, N_VIDEOS, 0)
    assert opens == []  # nothing decoded, not even probed


def test_unreadable_video_is_recorded_not_fatal(tiny_ds):
    victim = tiny_ds.videos()[2]
    victim.path.write_bytes(victim.path.read_bytes()[:300])  # truncated after import
    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu")
    assert res.extracted == N_VIDEOS - 1 and list(res.failed) == [str(victim.path)]
    key = ex.video_spec_version(FRAMES)
    assert victim.sha256 in tiny_ds.feature_failures(key, "efficientnet_lite0")
    again = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu")  # not retried...
    assert again.extracted == 0 and len(again.failed) == 1
    retry = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", retry_failed=True)  # ...unless asked
    assert retry.extracted == 0 and len(retry.failed) == 1


def test_cancel_keeps_finished_videos(tiny_ds):
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("video 3/"):
            token.cancel()

    with pytest.raises(Cancelled):
        ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", progress=progress, cancel=token)
    assert len(tiny_ds.videos_without_features(ex.video_spec_version(FRAMES), "efficientnet_lite0")) == N_VIDEOS - 2


def test_kill_mid_extraction_then_resume(tiny_ds, tmp_path):
    path = tiny_ds.path
    key = ex.video_spec_version(FRAMES)
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(path), str(ROOT)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    killed = False
    try:
        for line in child.stdout:
            assert not line.startswith("FINISHED"), "extraction finished before it could be killed"
            if line.startswith("video 4/"):  # three videos committed, the fourth starting
                os.kill(child.pid, signal.SIGKILL)
                killed = True
                break
    finally:
        child.kill()
        child.wait(timeout=60)
    assert killed, child.stderr.read()
    with Dataset.open(path) as ds:
        assert ds.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done_before = N_VIDEOS - len(ds.videos_without_features(key, "efficientnet_lite0"))
        assert 3 <= done_before < N_VIDEOS
        res = ex.extract_dataset(ds, frames=FRAMES, device="cpu", captions=False)
        assert res.extracted == N_VIDEOS - done_before and res.cached == done_before
        rows = ds.conn.execute("SELECT sha256, count(*) FROM features WHERE spec_version = ? GROUP BY sha256",
                               (key,)).fetchall()
        assert len(rows) == N_VIDEOS and {c for _, c in rows} == {5}  # every video once, all five arrays


def test_audio_descriptor_and_frame_times():
    t = np.arange(16000 * 2) / 16000.0
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, t.size).astype(np.float32)
    a, b = inputs.audio_descriptor(tone), inputs.audio_descriptor(noise)
    assert a.shape == (inputs.AUDIO_DIM,) and a[-1] == 1.0
    assert b[37] > a[37]  # noise is flatter than a tone
    assert not inputs.audio_descriptor(np.zeros(0, np.float32)).any()
    assert inputs.frame_times(10.0, 4, 25) == [1.25, 3.75, 6.25, 8.75]
    assert max(inputs.frame_times(1.0, 16, 25)) <= 0.96
    assert inputs.caption_text("Day 3", ["guitar", "#fyp"]) == "Day 3 #guitar #fyp"


def test_cli_dataset_extract(tiny_ds):
    hooked = "dataset_cmd" in (ROOT / "cli" / "commands.py").read_text(encoding="utf-8")
    assert hooked
    r = subprocess.run([sys.executable, "main.py", "dataset", "extract", str(tiny_ds.path), "--frames", "2",
                        "--device", "cpu", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["videos"] == N_VIDEOS and got["extracted"] == N_VIDEOS and got["captions"] == 1
    r = subprocess.run([sys.executable, "main.py", "dataset", "extract", str(tiny_ds.path), "--frames", "0"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "--frames" in r.stderr


def _second_ds(tiny_ds, tmp_path, name: str) -> Dataset:
    ds = Dataset.create(tmp_path / f"{name}.sqlite")
    ds.import_path(tmp_path / "clips")
    return ds


def _features(ds) -> dict:
    key = ex.video_spec_version(FRAMES)
    return {v.path.name: ds.cached_features(v.sha256, key, "efficientnet_lite0") for v in ds.videos()}


def test_a_worker_pool_extracts_what_one_process_does_with_or_without_the_inference_process(tiny_ds, tmp_path):
    """Two workers, each opening its own sessions or both served by one inference process (the GPU layout, forced
    on the CPU): the same arrays as one process, to 1e-6, every video once."""
    ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False)
    want = _features(tiny_ds)
    for inference in ("worker", "server"):
        ds = _second_ds(tiny_ds, tmp_path, inference)
        try:
            res = ex.extract_dataset(ds, frames=FRAMES, device="cpu", captions=False, workers=2, inference=inference)
            assert (res.extracted, res.failed, res.unfinished) == (N_VIDEOS, {}, {})
            got = _features(ds)
            rows = ds.conn.execute("SELECT count(*) FROM features").fetchone()[0]
        finally:
            ds.close()
        assert got.keys() == want.keys() and rows == 5 * N_VIDEOS
        for name, arrays in got.items():
            for k, a in arrays.items():
                np.testing.assert_allclose(a, want[name][k], atol=1e-6, rtol=0, err_msg=f"{inference} {name} {k}")


def test_the_pool_gets_the_largest_videos_first(tiny_ds, monkeypatch):
    """A shorter tail: the longest files go out first (their sizes grow with their length here)."""
    from engine import executors

    handed: list[str] = []

    def record(fn, keys, args, **kw):
        for key in keys:
            handed.append(key)
            yield key, (None, "x", 0.0)

    monkeypatch.setattr(executors, "local_map", record)
    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False, workers=2)
    assert len(res.failed) == N_VIDEOS
    sizes = [os.path.getsize(p) for p in handed]
    assert len(handed) == N_VIDEOS and sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_killing_the_inference_process_accounts_for_every_video_once(tiny_ds, monkeypatch):
    """Killed as the first video comes back: every video is extracted, or not done with a plain reason (not
    recorded as unreadable), nothing written twice; a second run does exactly what was left."""
    from test_executors import record_servers

    servers = record_servers(monkeypatch)

    def progress(fraction, message):
        if message.startswith("video 1/"):
            os.kill(servers[0]._process.pid, signal.SIGKILL)

    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False, workers=2, inference="server",
                             progress=progress)
    names = sorted(v.path.name for v in tiny_ds.videos())
    assert res.unfinished and not res.failed
    assert res.extracted + len(res.unfinished) == N_VIDEOS
    for path, reason in res.unfinished.items():
        assert reason.startswith(f"{Path(path).name}: the inference process for cpu has stopped"), reason
    key = ex.video_spec_version(FRAMES)
    assert tiny_ds.feature_failures(key, "efficientnet_lite0") == {}
    rows = dict(tiny_ds.conn.execute("SELECT sha256, count(*) FROM features GROUP BY sha256").fetchall())
    assert len(rows) == res.extracted and set(rows.values()) == {5}
    done = {n for n, f in _features(tiny_ds).items() if f is not None}
    assert len(done) == res.extracted and not done & {Path(p).name for p in res.unfinished}
    again = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False)
    assert again.extracted == len(res.unfinished) and again.cached == res.extracted
    assert sorted(_features(tiny_ds)) == names


def test_cli_dataset_extract_workers_must_be_positive(tiny_ds):
    r = subprocess.run([sys.executable, "main.py", "dataset", "extract", str(tiny_ds.path), "--workers", "0"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == ["error: --workers must be at least 1 (got 0)"]


def test_cancel_stops_a_worker_pool_and_keeps_what_came_back(tiny_ds):
    """Cancelled as the second video comes back from the pool: it and the first stay cached, once each, the rest
    are left for the next run."""
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("video 2/"):
            token.cancel()

    with pytest.raises(Cancelled):
        ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False, workers=2, progress=progress,
                           cancel=token)
    key = ex.video_spec_version(FRAMES)
    assert len(tiny_ds.videos_without_features(key, "efficientnet_lite0")) == N_VIDEOS - 2
    rows = dict(tiny_ds.conn.execute("SELECT sha256, count(*) FROM features GROUP BY sha256").fetchall())
    assert len(rows) == 2 and set(rows.values()) == {5}


BROKEN = "clip2.mp4"


def _break_a_cue(name: str = BROKEN, kind: type = RuntimeError) -> None:
    """engine.cues.measure_cues raising `kind` for the file called `name` (in this process)."""
    from engine import cues

    real = getattr(cues.measure_cues, "real", cues.measure_cues)

    def measure(path, *a, **k):
        if Path(path).name == name:
            raise kind("a cue went wrong\nsecond line")
        return real(path, *a, **k)

    measure.real = real
    cues.measure_cues = measure



def _task_with_a_broken_cue(path, *args):
    """executors._extract_task in a pool worker (spawned: it imports this module by name), one cue broken."""
    from engine import executors

    _break_a_cue()
    return executors._extract_task(path, *args)


def _assert_one_not_done(ds, res, kind: str) -> None:
    key = ex.video_spec_version(FRAMES)
    assert res.extracted == N_VIDEOS - 1 and not res.failed and list(map(lambda p: Path(p).name, res.unfinished)) == [
        BROKEN]
    reason = next(iter(res.unfinished.values()))
    assert reason == f"{BROKEN}: could not be extracted ({kind}: a cue went wrong)", reason
    assert ds.feature_failures(key, "efficientnet_lite0") == {}  # not recorded: the next run tries it again
    left = ds.videos_without_features(key, "efficientnet_lite0")
    assert [v.path.name for v in left] == [BROKEN]


@pytest.mark.parametrize("kind", [RuntimeError, ValueError])
def test_an_unexpected_error_on_one_file_does_not_stop_the_extraction(tiny_ds, monkeypatch, kind):
    """A cue raising something that is not a media error: that file is not done (with its name and a plain
    reason, one line), the others are extracted, and once the cue works a rerun does that file only."""
    from engine import cues

    monkeypatch.setattr(cues, "measure_cues", cues.measure_cues)  # restored after
    _break_a_cue(kind=kind)
    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False)
    _assert_one_not_done(tiny_ds, res, kind.__name__)
    cues.measure_cues = cues.measure_cues.real
    again = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False)
    assert (again.extracted, again.cached, again.unfinished) == (1, N_VIDEOS - 1, {})


def test_an_unexpected_error_on_one_file_does_not_stop_a_worker_pool(tiny_ds, monkeypatch):
    from engine import executors

    monkeypatch.setattr(executors, "_extract_task", _task_with_a_broken_cue)
    res = ex.extract_dataset(tiny_ds, frames=FRAMES, device="cpu", captions=False, workers=2, inference="worker")
    _assert_one_not_done(tiny_ds, res, "RuntimeError")
