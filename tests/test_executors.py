"""The local batch pool shares the cores among its workers (engine.executors), and the executor choice is checked."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from engine import executors, runtime
from engine.errors import InputError
from engine.scoring import default_bundle_path


def _probe() -> dict:
    """In a pool worker: the thread budget its libraries got."""
    from threadpoolctl import threadpool_info

    from engine import scoring

    blas = [p["num_threads"] for p in threadpool_info() if p.get("internal_api") == "openblas"]
    return {"budget": os.environ.get(runtime.THREADS_ENV), "blas": blas,
            "ort": scoring._worker_bundle._session.get_session_options().intra_op_num_threads}


def record_servers(monkeypatch) -> list:
    """The inference processes started from now on (the tests kill them), in a list."""
    servers: list = []
    init = executors.InferenceServer.__init__

    def keep(self, *a, **k):
        init(self, *a, **k)
        servers.append(self)

    monkeypatch.setattr(executors.InferenceServer, "__init__", keep)
    return servers


def test_threads_per_worker_share_the_cores():
    assert executors.threads_per_worker(1, cores=16) == 16
    assert executors.threads_per_worker(4, cores=16) == 4
    assert executors.threads_per_worker(16, cores=16) == 1
    assert executors.threads_per_worker(32, cores=16) == 1  # never 0 (0 would mean "no cap")


def test_a_pool_worker_gets_its_share_before_numpy_loads():
    """The worker's ONNX Runtime session and numpy's BLAS get the budget (BLAS reads it only when it loads, so
    the initializer must set it before numpy is imported in the worker)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=executors.local_worker_init,
                             initargs=(1, str(default_bundle_path()), "cpu", None)) as pool:
        got = pool.submit(_probe).result(timeout=120)
    assert got["budget"] == "1"
    assert got["ort"] == 1
    assert all(n == 1 for n in got["blas"])


def test_make_session_uses_the_thread_budget(monkeypatch):
    from engine.models.bundle import ModelBundle

    monkeypatch.setenv(runtime.THREADS_ENV, "3")
    b = ModelBundle.load(default_bundle_path(), device="cpu")
    assert b._session.get_session_options().intra_op_num_threads == 3
    monkeypatch.setenv(runtime.THREADS_ENV, "junk")
    assert runtime.thread_budget() == 0


def test_bad_executor_choices_are_one_line_errors(monkeypatch):
    with pytest.raises(InputError, match="unknown executor 'dask'"):
        executors.check_executor("dask")
    with pytest.raises(InputError, match="--address is for --executor ray"):
        executors.check_executor("local", "auto")
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(InputError, match=r'pip install -e "\.\[cluster\]"'):
        executors.check_executor("ray")


def test_batch_executor_ray_without_ray_says_how_to_get_it(tmp_path):
    """One `error:` line naming the extra, before any work (Ray made unimportable in the child)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "a.mp4").write_bytes(b"x")
    code = ("import sys; sys.modules['ray'] = None; sys.argv = ['main.py'] + sys.argv[1:]; "
            f"sys.path.insert(0, {str(root)!r}); import main; sys.exit(main.main())")
    r = subprocess.run([sys.executable, "-c", code, "batch", str(tmp_path), "--executor", "ray", "--out",
                        str(tmp_path / "o.csv")], capture_output=True, text=True, timeout=120, cwd=root)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --executor ray needs Ray") and "[cluster]" in lines[0]
    assert not (tmp_path / "o.csv.partial").exists()


def test_an_address_where_no_cluster_answers_fails_at_once():
    """Ray itself would retry for minutes; the check answers at once, in one line."""
    import socket

    with socket.socket() as s:  # a port that is surely closed: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(InputError, match=f"--address 127.0.0.1:{port}: no Ray cluster answers there"):
            executors._check_reachable(f"127.0.0.1:{port}")
        with pytest.raises(InputError, match="no Ray cluster answers"):
            executors._check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(InputError, match="expected auto, HOST:PORT"):
        executors._check_reachable("somewhere")
    executors._check_reachable("auto")  # Ray finds the local cluster itself


def test_default_workers_is_one_per_usable_core(monkeypatch):
    """Not capped at 8 (a 16-core machine ran half its cores), and a CPU-limited container counts its own."""
    from engine.scoring import default_workers

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_workers() == 16
    assert executors.threads_per_worker(4) == 4


def test_the_bundle_travels_to_a_worker_and_loads_there(tmp_path):
    """A cluster worker gets the bundle's bytes, not its path: written, loaded (sha256-checked) and removed."""
    import shutil

    src = shutil.copytree(default_bundle_path(), tmp_path / "mine")
    bundle = executors.bundle_files(src)
    shutil.rmtree(src)  # as on a node that cannot see the driver's folders
    loaded = executors._bundle_here(bundle, "cpu")
    assert loaded.name and executors._bundle_here(bundle, "cpu") is loaded  # once per worker
    assert not loaded.path.exists()


def test_workers_with_ray_is_named_as_unused():
    """--workers means local processes; with --executor ray it is not used, and the note says so and what to do."""
    note = executors.workers_note("ray", 3)
    assert note and "--workers 3 is not used with --executor ray" in note and "--num-cpus" in note
    assert executors.workers_note("ray", None) is None  # not given: nothing to say
    assert executors.workers_note("local", 3) is None


def test_parallel_workers_get_the_largest_files_first(tmp_path, monkeypatch):
    """Longest first: the last files to finish are the small ones, so no worker idles at the end while another is
    on a long video. The pool is handed the files in that order (a file that cannot be read goes last)."""
    from concurrent.futures import Future

    from engine import scoring

    sizes = {"small.mp4": 10, "big.mp4": 3000, "mid.mp4": 500, "mid2.mp4": 500}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    paths = [str(tmp_path / n) for n in ("small.mp4", "gone.mp4", "mid.mp4", "big.mp4", "mid2.mp4")]
    want = [str(tmp_path / n) for n in ("big.mp4", "mid.mp4", "mid2.mp4", "small.mp4", "gone.mp4")]
    assert executors.largest_first(paths) == want

    handed: list[str] = []

    class Pool:  # records what score_many hands out, in order, and answers at once
        def __init__(self, *a, **k):
            pass

        def submit(self, fn, path, *args):
            handed.append(path)
            fut = Future()
            fut.set_result(scoring.BatchItem(path, error="x"))
            return fut

        def shutdown(self, **k):
            pass

    import concurrent.futures  # score_many imports the pool when it needs one (not at the top: start-up)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    assert len(list(scoring.score_many(paths, workers=2, device="cpu"))) == len(paths)
    assert handed == want


def test_batch_through_the_inference_process_equals_the_workers_own(tmp_path, monkeypatch):
    """The GPU path's process layout (one inference process running the workers' device sessions, batching what
    arrives together), exercised on the CPU provider: the same reports as each worker running its own."""
    from media_factory import make_video

    from engine.scoring import score_many

    for i in range(4):
        make_video(tmp_path / f"v{i}.mp4", seconds=1.0 + i % 2, size=(240, 320))
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    paths = sorted(str(p) for p in tmp_path.iterdir())
    stats: list = []
    close = executors.InferenceServer.close
    monkeypatch.setattr(executors.InferenceServer, "close", lambda self: stats.append(close(self)) or stats[-1])
    served = {i.path: i for i in score_many(paths, workers=2, device="cpu", inference="server")}
    own = {i.path: i for i in score_many(paths, workers=2, device="cpu", inference="worker")}
    assert stats and stats[0]["requests"] > 0  # the workers' sessions ran there
    assert len(stats) == 1  # "worker" started none
    assert served.keys() == own.keys() == set(paths)
    assert not served[str(tmp_path / "bad.mp4")].ok and not own[str(tmp_path / "bad.mp4")].ok
    for p in paths:
        if p.endswith("bad.mp4"):
            continue
        a, b = served[p].report, own[p].report
        assert a.score == pytest.approx(b.score, abs=1e-6)
        assert [c.value for c in a.cues.cues] == pytest.approx([c.value for c in b.cues.cues], abs=1e-6)


def test_requests_that_arrive_together_run_as_one_batch():
    """Same model, same outputs, same shapes: one run of the concatenated feeds, answers split back equal to one
    run each (to float tolerance); a model without a free batch axis runs them one by one."""
    import numpy as np

    from engine.cues import ppocr
    from engine.cues.onscreen_text import DET_MODEL
    from engine.runtime import make_session

    session, _ = make_session(ppocr.find_model(DET_MODEL), "cpu", threads=1)
    info = {"inputs": [executors._Arg(a) for a in session.get_inputs()],
            "outputs": [executors._Arg(a) for a in session.get_outputs()]}
    assert executors._batchable(info)
    name = info["inputs"][0].name
    rng = np.random.default_rng(0)
    group = [(None, None, {name: rng.random((1, 3, 64, 96), np.float32)}) for _ in range(3)]
    answers, runs = executors._run_group(session, info, group)
    assert runs == 1 and len(answers) == 3
    for (_, _, feeds), got in zip(group, answers):
        np.testing.assert_allclose(got[0], session.run(None, feeds)[0], atol=1e-4)
    fixed = {"inputs": [executors._Arg(a) for a in session.get_inputs()], "outputs": info["outputs"]}
    fixed["inputs"][0].shape[0] = 1
    answers, runs = executors._run_group(session, fixed, group)
    assert runs == 3 and len(answers) == 3


def test_an_unknown_inference_choice_is_a_one_line_error():
    from engine.scoring import score_many

    with pytest.raises(InputError, match="unknown inference 'gpu': choose server or worker"):
        list(score_many([], inference="gpu"))


def test_a_batch_whose_inference_process_dies_ends_with_reasons_not_a_hang(tmp_path, monkeypatch):
    """Killed mid-run, the inference process takes down the videos that needed it (each an item with its
    reason), never the batch: every file comes back once."""
    import signal

    from media_factory import make_video

    from engine.scoring import score_many

    for i in range(6):
        make_video(tmp_path / f"v{i}.mp4", seconds=1.0, size=(240, 320))
    servers = record_servers(monkeypatch)
    paths = sorted(str(p) for p in tmp_path.iterdir())
    items = []
    for item in score_many(paths, workers=2, device="cpu", inference="server"):
        if not items:
            os.kill(servers[0]._process.pid, signal.SIGKILL)
        items.append(item)
    assert sorted(i.path for i in items) == paths
    failed = [i for i in items if not i.ok]
    assert failed and all(i.error.startswith("the inference process for cpu has stopped") for i in failed)


def _fake_providers(monkeypatch, cuda: bool) -> None:
    monkeypatch.setattr(runtime, "available_providers",
                        lambda: ("CUDAExecutionProvider", "CPUExecutionProvider") if cuda else ("CPUExecutionProvider",))


def test_the_inference_process_serves_cuda_and_auto_resolving_to_it(monkeypatch):
    """One CUDA context for a pool: --device cuda, and auto on a machine with CUDA, with more than one worker;
    the CPU (auto without CUDA, cpu) keeps each worker's own sessions unless the server is forced."""
    _fake_providers(monkeypatch, cuda=True)
    assert executors.inference_device("auto", 2) == "cuda"
    assert executors.inference_device("cuda", 4) == "cuda"
    assert executors.inference_device("auto", 1) is None  # one worker: its own context is the only one
    assert executors.inference_device("cpu", 4) is None
    assert executors.inference_device("auto", 2, "worker") is None
    _fake_providers(monkeypatch, cuda=False)
    assert executors.inference_device("auto", 2) is None
    assert executors.inference_device("cpu", 2) is None
    assert executors.inference_device("auto", 2, "server") == "cpu"
    with pytest.raises(InputError, match="--device cuda: this onnxruntime has no CUDA provider"):
        executors.inference_device("cuda", 2)
    with pytest.raises(InputError, match="unknown inference 'gpu'"):
        executors.inference_device("cpu", 2, "gpu")


def test_a_served_worker_sends_auto_sessions_to_the_cuda_process(monkeypatch, tmp_path):
    """In a worker of a CUDA inference process, a model opened on auto (which resolves to CUDA) goes there; one
    opened on the CPU (faces, speech) or from bytes stays in the worker."""
    _fake_providers(monkeypatch, cuda=True)
    client = executors._InferenceClient(None, b"", "cuda")
    asked: list = []
    monkeypatch.setattr(client, "call", lambda req: asked.append(req) or (0, {"providers": ["CUDAExecutionProvider"]}))
    model = tmp_path / "m.onnx"
    assert isinstance(client.open(model, "auto"), executors.RemoteSession)
    assert client.open(model, "cuda") is client.open(model, "auto")  # opened there once
    assert client.open(model, "cpu") is None and client.open(b"bytes", "auto") is None
    assert asked == [("open", str(model))]


class _Started(Exception):
    pass


def test_batch_and_extract_on_auto_with_cuda_start_one_cuda_process(monkeypatch, tmp_path):
    """The pools ask inference_device: with CUDA (faked) and auto, each starts its inference process on cuda."""
    from engine.data.store import Dataset
    from engine.extract import extract_dataset
    from engine.scoring import score_many
    from media_factory import make_video

    started: list = []

    def fake_server(self, device, threads=0, **k):
        started.append(device)
        raise _Started()

    _fake_providers(monkeypatch, cuda=True)
    monkeypatch.setattr(executors.InferenceServer, "__init__", fake_server)
    (tmp_path / "clips").mkdir()
    for i in range(2):
        make_video(tmp_path / "clips" / f"v{i}.mp4", seconds=0.5 + i * 0.2, size=(96, 64))
    with pytest.raises(_Started):
        list(score_many(sorted(str(p) for p in (tmp_path / "clips").iterdir()), workers=2, device="auto"))
    with Dataset.create(tmp_path / "d.sqlite") as ds:
        ds.import_path(tmp_path / "clips")
        with pytest.raises(_Started):
            extract_dataset(ds, frames=2, device="auto", captions=False, workers=2)
    assert started == ["cuda", "cuda"]


def test_frames_go_through_shared_memory_and_an_answer_too_large_for_it_comes_pickled(tmp_path, monkeypatch):
    """The inference process reads a request's arrays from the worker's shared block and writes the answer back
    there when it fits (else pickled): the same answers as the pickled transport, and the block is removed."""
    import numpy as np
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["same"]), helper.make_node("Concat", ["x", "x", "x"], ["triple"], axis=0)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])],
        [helper.make_tensor_value_info("same", TensorProto.FLOAT, ["n", 5]),
         helper.make_tensor_value_info("triple", TensorProto.FLOAT, ["m", 5])])
    model = tmp_path / "m.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    monkeypatch.setattr(executors, "_SHM_MIN", 0)  # a block twice the request: the triple answer does not fit
    read_back: list = []
    views = executors._views
    monkeypatch.setattr(executors, "_views", lambda buf, layout: read_back.append(len(layout)) or views(buf, layout))
    x = np.arange(40, dtype=np.float32).reshape(8, 5)
    for transport in ("shm", "pickle"):
        monkeypatch.setenv(executors.TRANSPORT_ENV, transport)
        read_back.clear()
        server = executors.InferenceServer("cpu", 1)
        try:
            client = executors._InferenceClient(*server.client_args)
            session = client.open(model, "cpu")
            (same,) = session.run(["same"], {"x": x})
            same2, triple = session.run(None, {"x": x + 1})
            blocks = list(client._blocks)
        finally:
            server.close()
        np.testing.assert_array_equal(same, x)
        np.testing.assert_array_equal(same2, x + 1)
        np.testing.assert_array_equal(triple, np.concatenate([x + 1] * 3))
        assert read_back == ([1] if transport == "shm" else [])  # the fitting answer read from the block only
        assert len(blocks) == (1 if transport == "shm" else 0)
        client._remove(blocks)
        assert not any(os.path.exists(f"/dev/shm/{b.name}") for b in blocks)
