"""`batch` and `dataset extract` on a real two-node Ray cluster that these tests start on 127.0.0.1 (`ray start
--head` and a second `ray start --address`, one CPU each), not local mode: the same results as the local pool,
and a second node whose raylet is killed mid-run loses no video and repeats none. The cluster lives in its own
temporary folder and is always torn down (only the processes started for it are stopped)."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from media_factory import make_video

if not sys.platform.startswith("linux"):
    pytest.skip("the cluster's processes are found and stopped through /proc", allow_module_level=True)
ray = pytest.importorskip("ray", reason="the 'cluster' extra (Ray) is not installed")

ROOT = Path(__file__).resolve().parent.parent
N_VIDEOS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli(*args, env) -> None:
    cmd = [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())", *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr


def _pids_of(marker: str, children: bool = False) -> list[int]:
    """The processes whose command line holds `marker` (this cluster's own temporary folder or port), and with
    `children` the processes they started (Ray's agents and workers rename themselves)."""
    pids, parent = [], {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    grew = children
    while grew:
        more = [p for p, pp in parent.items() if pp in pids and p not in pids]
        pids += more
        grew = bool(more)
    return pids


class Cluster:
    def __init__(self):
        self.temp = tempfile.mkdtemp(prefix="vsray")  # short: Ray's socket paths live under it
        self.port = _free_port()
        self.node2_port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p),
            RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="3")
        common = ["--num-cpus=1", "--disable-usage-stats"]
        try:
            self._start(common)
        except BaseException:
            self.teardown()
            raise

    def _start(self, common) -> None:
        _ray_cli("start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1", f"--temp-dir={self.temp}",
                 "--include-dashboard=false", '--resources={"head": 1}', *common, env=self.env)
        _ray_cli("start", f"--address={self.address}", "--node-ip-address=127.0.0.1",
                 f"--node-manager-port={self.node2_port}", '--resources={"node2": 1}', *common, env=self.env)

    def kill_node2_raylet(self) -> None:
        """SIGKILL the second node's raylet once one of its workers is running a scoring task."""
        raylets = [p for p in _pids_of(f"--node_manager_port={self.node2_port}") if p in _pids_of(self.temp)]
        assert raylets, "the second node's raylet was not found"
        deadline = time.monotonic() + 30
        while not any(p not in raylets for p in _pids_of("ray::_ray_score") if p in _pids_of(
                f"--node_manager_port={self.node2_port}", children=True)):
            assert time.monotonic() < deadline, "the second node never ran a task"
            time.sleep(0.02)
        for pid in raylets:
            os.kill(pid, signal.SIGKILL)

    def teardown(self) -> None:
        if ray.is_initialized():
            ray.shutdown()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in _pids_of(self.temp, children=True):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            time.sleep(1.0)
        shutil.rmtree(self.temp, ignore_errors=True)


def _cluster():
    old = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # the driver (this process and the CLI) as the nodes
    c = Cluster()
    try:
        yield c
    finally:
        c.teardown()
        if old is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = old


@pytest.fixture(scope="module")
def cluster():
    """One cluster for the tests that leave it whole."""
    yield from _cluster()


@pytest.fixture
def own_cluster():
    """A cluster for a test that kills one of its nodes."""
    yield from _cluster()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    for i in range(N_VIDEOS):
        make_video(d / f"clip{i}.mp4", seconds=1.0 + 0.3 * i, size=(96, 160), audio="sine" if i % 2 else None,
                   cuts_at=(0.5,))
    (d / "broken.mp4").write_bytes(b"not a video at all")
    return d


@pytest.fixture(scope="module")
def long_folder(tmp_path_factory):
    """Clips long enough (several seconds each) that the second node is still scoring one when the first result
    comes back: with the clips of `folder` (a second or two) scoring is quick enough that it may have none left."""
    d = tmp_path_factory.mktemp("long")
    for i in range(N_VIDEOS):
        make_video(d / f"clip{i}.mp4", seconds=8.0 + i, size=(96, 160), audio="sine", cuts_at=(2.0, 5.0))
    return d


def _connect(cluster) -> None:
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": cluster.env["PYTHONPATH"]}})
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 2 and ray.cluster_resources().get("CPU") == 2


def _run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="utf-8"))


def _rows(path: Path) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["path"]: r for r in csv.DictReader(fh)}


def test_batch_on_two_nodes_equals_the_local_pool(cluster, folder, tmp_path):
    local = _run_cli("batch", folder, "--out", tmp_path / "local.csv", "--workers", "2", "-q", "--device", "cpu")
    assert local.returncode == 0, local.stderr
    on_ray = _run_cli("batch", folder, "--out", tmp_path / "ray.csv", "--executor", "ray", "--address",
                      cluster.address, "-q", "--device", "cpu", "--workers", "3")
    assert on_ray.returncode == 0, on_ray.stderr
    assert "note: --workers 3 is not used with --executor ray" in on_ray.stderr  # said, not silently dropped
    assert not (tmp_path / "ray.csv.partial").exists()  # the one writer finished and removed its journal
    want, got = _rows(tmp_path / "local.csv"), _rows(tmp_path / "ray.csv")
    assert len(got) == N_VIDEOS + 1 and got == want
    assert got[str(folder / "broken.mp4")]["status"] == "skipped"


def test_extract_on_two_nodes_equals_the_local_run(cluster, folder, tmp_path):
    import numpy as np

    from engine import extract as ex
    from engine.data.store import Dataset

    stores = {}
    for name in ("local", "ray"):
        ds = Dataset.create(tmp_path / f"{name}.sqlite")
        ds.import_path(folder)
        stores[name] = ds
    try:
        a = ex.extract_dataset(stores["local"], frames=4, device="cpu", captions=False)
        b = ex.extract_dataset(stores["ray"], frames=4, device="cpu", captions=False, executor="ray",
                               address=cluster.address)  # connects, and disconnects when done
        assert (b.extracted, sorted(b.failed)) == (a.extracted, sorted(a.failed)) and a.extracted >= N_VIDEOS
        key = ex.video_spec_version(4)
        for v in stores["local"].videos():
            want = stores["local"].cached_features(v.sha256, key, "efficientnet_lite0")
            got = stores["ray"].cached_features(v.sha256, key, "efficientnet_lite0")
            if want is None:
                assert got is None
                continue
            for k in want:
                np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5)
    finally:
        for ds in stores.values():
            ds.close()


def test_cancel_stops_the_cluster_run(cluster, folder):
    from engine.errors import Cancelled
    from engine.jobs import CancelToken
    from engine.scoring import score_many

    _connect(cluster)
    try:
        token = CancelToken()
        got = []
        with pytest.raises(Cancelled):
            for item in score_many(sorted(str(p) for p in folder.glob("clip*.mp4")) * 3, device="cpu",
                                   executor="ray", address=cluster.address, cancel=token):
                got.append(item)
                token.cancel()
        assert len(got) == 1
    finally:
        ray.shutdown()


def test_a_node_killed_mid_batch_loses_and_repeats_nothing(own_cluster, long_folder, tmp_path):
    from engine.scoring import score_many

    cluster = own_cluster
    _connect(cluster)
    paths = sorted(str(p) for p in long_folder.glob("clip*.mp4"))
    seen: list[str] = []
    killed = False
    for item in score_many(paths, device="cpu", executor="ray", address=cluster.address):
        seen.append(item.path)
        assert item.ok, item.error
        if not killed:  # one came back; the other node is busy with the next: take it away
            cluster.kill_node2_raylet()
            killed = True
    assert killed and sorted(seen) == sorted(paths)  # every video, exactly once
    deadline = time.monotonic() + 60  # and the cluster did lose the node
    while len([n for n in ray.nodes() if n["Alive"]]) != 1:
        assert time.monotonic() < deadline, "the killed node still counts as alive"
        time.sleep(0.5)
