"""Where the per-video work of `batch` and `dataset extract` runs: local worker processes or a Ray cluster.

Either way the driver (the process that called) alone writes the results (the batch journal and CSV, the
dataset's feature rows); workers only compute and hand results back.

Local pool. Each of N worker processes gets an equal share of the cores as its thread budget
(runtime.THREADS_ENV), set in its environment before numpy, PyAV or ONNX Runtime load: without it every
worker starts one ONNX Runtime intra-op thread, one decoder thread and one BLAS thread per core, and N
workers fight over N x cores threads. The model is loaded once per worker. Files go out largest first (the
shortest tail). Where the sessions run on a GPU (--device cuda, or auto on a machine with CUDA) and there is more
than one worker, one inference process runs the workers' device sessions (the end of this module): one CUDA context,
not one per worker.

Ray (the optional `cluster` extra). One task per video, one CPU each, running on any node of the cluster that
can read the video's path (a shared folder); the model bundle travels with the job (Ray's object store). Ray
retries a task whose node dies; the driver keeps the first result per file and drops any repeat, so a lost
node loses no result and duplicates none. Each Ray worker process loads the model once and keeps it for the
next tasks it runs.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, Iterator, Optional

EXECUTORS = ("local", "ray")
#: the variables the BLAS / OpenMP libraries numpy may use read once, when they load
_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS")
RAY_MISSING = ("--executor ray needs Ray, which is not installed: pip install -e \".[cluster]\" (or pip install "
               "'virality-studio[cluster]') on this machine and on every node of the cluster")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or `taskset` limits it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: Optional[int] = None) -> int:
    """Each of `workers` processes' share of the cores (at least 1)."""
    cores = cores or usable_cores()
    return max(1, cores // max(1, workers))


def limit_threads(threads: int) -> None:
    """Cap this process's library thread pools at `threads`. Takes full effect only before numpy, PyAV and
    ONNX Runtime are loaded (a worker process calls it first thing); ONNX Runtime sessions and the decoder
    read the budget each time they start."""
    from .runtime import THREADS_ENV

    if threads <= 0:  # no cap
        return
    os.environ[THREADS_ENV] = str(threads)
    for name in _BLAS_ENV:
        os.environ[name] = str(threads)


def one_blas_thread() -> None:
    """Let numpy's BLAS start no thread pool, unless the user chose a size: call before numpy loads. OpenBLAS starts
    one thread per core as numpy is imported, costing a cold `score` about 40 ms of CPU on 2 cores (numpy's import:
    0.11 s of CPU, 0.07 s with one thread), and scoring gains nothing from it (its matrix products are small, and
    the decoder and ONNX Runtime threads have the cores: the same CPU seconds for three shared clips either way)."""
    for name in _BLAS_ENV:
        os.environ.setdefault(name, "1")


def check_executor(executor: str, address: Optional[str] = None) -> None:
    """Raise InputError for an unknown executor, an --address without Ray, or Ray not installed."""
    from .errors import InputError

    if executor not in EXECUTORS:
        raise InputError(f"unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}")
    if executor != "ray":
        if address:
            raise InputError("--address is for --executor ray (the Ray cluster to run on)")
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError(RAY_MISSING) from None
    _check_reachable(address)


def workers_note(executor: str, workers: Optional[int]) -> Optional[str]:
    """The note for a --workers that the executor does not use (Ray runs one task per cluster CPU), else None."""
    if executor == "ray" and workers is not None:
        return (f"--workers {workers} is not used with --executor ray: the cluster runs one video per CPU it has "
                "(start its nodes with `ray start --num-cpus N` to choose how many)")
    return None


def largest_first(paths: list[str]) -> list[str]:
    """`paths` in the order to hand them to parallel workers: the largest files (the longest to score, roughly)
    first, so that the last to finish are short ones and no worker waits long at the end while another is still
    on a long video (longest first). Ties keep their order; a file that cannot be read goes last (it fails at
    once)."""
    def size(p: str) -> int:
        try:
            return os.stat(p).st_size
        except OSError:
            return -1

    return sorted(paths, key=size, reverse=True)


# ------------------------------------------------------------------------------------------- local pool


def inference_device(device: str, workers: int, inference: Optional[str] = None) -> Optional[str]:
    """The device ("cuda" or "cpu") whose sessions one inference process should run for a local pool of
    `workers`, or None for each worker opening its own. By default only where the sessions would open a CUDA
    context (--device cuda, or auto on a machine whose onnxruntime has the CUDA provider) and there is more than
    one worker; inference="server" forces it (the tests, the benchmark, on the CPU), "worker" refuses it. Raises
    InputError for another choice, or for cuda without the CUDA provider."""
    from .errors import InputError
    from .runtime import resolved_device

    if inference not in (None, "server", "worker"):
        raise InputError(f"unknown inference '{inference}': choose server or worker")
    if workers <= 1 or inference == "worker":
        return None
    served = resolved_device(device)
    return served if inference == "server" or served == "cuda" else None


def local_worker_init(threads: int, bundle_path: Optional[str], device: str, parent_pid: Optional[int],
                      personal_path: Optional[str] = None, inference: Optional[tuple] = None) -> None:
    """A local worker's start: its thread budget first (before anything loads numpy), its device sessions
    through the inference process when there is one (InferenceServer.client_args), then a batch worker's model
    (and the personal one), once; bundle_path None (an extraction worker) loads none. This module imports
    nothing heavy, so unpickling this initializer in the new process loads none."""
    limit_threads(threads)
    if inference is not None:
        serve_sessions_from(*inference)
        device = "cpu"  # the bundle's own model (under 1% of the time) here: no device context in a worker
    from . import scoring

    if bundle_path is None:
        if parent_pid is not None:
            scoring.die_with_parent(parent_pid)
        return
    scoring._worker_init(bundle_path, device, parent_pid, personal_path)


def local_map(fn: Callable, keys: Iterable[str], args: tuple, *, workers: int, device: str,
              inference: Optional[str] = None, bundle_path: Optional[str] = None,
              personal_path: Optional[str] = None, cancel=None) -> Iterator[tuple[str, object]]:
    """Run fn(key, *args) in `workers` spawned processes (each started by local_worker_init, with the model at
    bundle_path, if any) and yield (key, result) as each finishes, handing the keys out in their order, at most
    two per worker ahead; the device sessions in one inference process, started and stopped here, where
    inference_device says so. Raises Cancelled when `cancel` is cancelled (files being worked on finish in the
    background, their results dropped), EngineError when a worker process dies (the pool cannot go on)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    from .errors import Cancelled, EngineError

    served = inference_device(device, workers, inference)
    threads = threads_per_worker(workers)
    server = InferenceServer(served, threads) if served else None
    # spawn, not fork: forking a process that holds ONNX Runtime or decoder threads can deadlock.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=local_worker_init,
                               initargs=(threads, bundle_path, device, os.getpid(), personal_path,
                                         server.client_args if server else None))
    queue = list(reversed(list(keys)))  # popped from the end: the first key goes first
    pending: dict = {}  # Future -> key
    try:
        while queue or pending:
            while queue and len(pending) < workers * 2 and not (cancel and cancel.cancelled):
                key = queue.pop()
                pending[pool.submit(fn, key, *args)] = key
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            finished, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                key = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise EngineError(f"a worker process died while on {key} (out of memory, or killed); run "
                                      "it again to go on from what finished") from None
                yield key, result
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=not (cancel is not None and cancel.cancelled), cancel_futures=True)
        if server is not None:
            server.close()


class Unfinished(str):
    """The reason a video was not extracted this time that says nothing sure about the file (the inference process
    stopped, a decoder or cue raised something other than a media error): reported, not recorded as unreadable, so
    the next run tries it again."""


def _extract_task(path: str, backbone: str, frames: int, device: str, cache_dir):
    """(arrays, None, seconds), or (None, the reason, 0): engine.extract.extract_one. The frame embedder is made
    once per process."""
    from .extract import extract_one, frame_embedder

    key = (backbone, device, cache_dir)
    if key not in _embedders:
        _embedders[key] = frame_embedder(backbone, device, cache_dir)
    return extract_one(path, _embedders[key], frames, device)


def local_extract(videos: list, backbone: str, frames: int, device: str, cache_dir=None, *, workers: int,
                  inference: Optional[str] = None, cancel=None) -> Iterator[tuple[object, Optional[dict], Optional[str],
                                                                                   float]]:
    """(video, arrays, error, seconds) for each of `videos` (dataset Video rows) extracted by `workers` local
    processes, the largest files first, the device sessions in one inference process where inference_device
    says so."""
    by_path = {os.path.abspath(v.path): v for v in videos}
    cache = None if cache_dir is None else os.path.abspath(cache_dir)
    for path, (arrays, error, seconds) in local_map(_extract_task, largest_first(list(by_path)),
                                                    (backbone, frames, device, cache), workers=workers,
                                                    device=device, inference=inference, cancel=cancel):
        yield by_path[path], arrays, error, seconds


# ------------------------------------------------------------------------------------------- Ray

_ray_bundles: dict = {}  # (bundle path, device) -> ModelBundle, per Ray worker process
_embedders: dict = {}  # (backbone, device, cache folder) -> frame embedder, per worker process (local or Ray)


def _ray_task_threads() -> None:
    """In a Ray worker: one task per CPU, so each library gets one thread (Ray sets OMP_NUM_THREADS=1 too)."""
    if "VIRALITY_THREADS_SET" not in os.environ:
        limit_threads(1)
        os.environ["VIRALITY_THREADS_SET"] = "1"


def bundle_files(path: str | os.PathLike) -> tuple[str, str, dict[str, bytes]]:
    """(key, name, {relative path: bytes}) of a model bundle folder (or {"": bytes} of a .zip): what travels to
    the cluster's workers, so that only the videos need a path every node can read."""
    import hashlib
    from pathlib import Path

    p = Path(path)
    files = ({f.relative_to(p).as_posix(): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}
             if p.is_dir() else {"": p.read_bytes()})
    h = hashlib.sha256()
    for name, data in files.items():
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest(), p.name, files


def _bundle_here(bundle: tuple[str, str, dict[str, bytes]], device: str):
    """In a Ray worker: the bundle written to a folder of its own once, loaded once (and checked, by sha256)."""
    import shutil
    import tempfile
    from pathlib import Path

    from .models.bundle import ModelBundle

    key, name, files = bundle
    if (key, device) not in _ray_bundles:
        root = Path(tempfile.mkdtemp(prefix="vs-bundle-"))
        for rel, data in files.items():
            dest = root / name / rel if rel else root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            _ray_bundles[(key, device)] = ModelBundle.load(root / name, device=device)  # held in memory
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return _ray_bundles[(key, device)]


def _ray_score(path: str, meta, bundle: tuple, device: str):
    _ray_task_threads()
    from .scoring import _score_one

    return _score_one(path, meta, _bundle_here(bundle, device), device)


def _ray_extract(path: str, backbone: str, frames: int, device: str, cache_dir):
    _ray_task_threads()
    return _extract_task(path, backbone, frames, device, cache_dir)


def _ray_connect(address: Optional[str]):
    """(ray, whether this call connected it), connected to `address` (auto, ray://host:port, host:port) or to a
    new local cluster when None."""
    from .errors import InputError

    check_executor("ray", address)
    import ray

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address or None, runtime_env=ray_runtime_env(), log_to_driver=False,
                     logging_level="ERROR", include_dashboard=False if not address else None)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--address {address}: cannot connect to a Ray cluster there ({exc})"
                             if address else f"cannot start a local Ray cluster ({exc})") from None
    return ray, started


def _check_reachable(address: Optional[str], timeout_s: float = 5.0) -> None:
    """Raise InputError at once when a host:port (or ray://host:port) address does not answer, where Ray itself
    would keep retrying for minutes."""
    import socket

    from .errors import InputError

    if not address or address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise InputError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); start one "
                         "with `ray start --head` or check the address") from None


def ray_runtime_env() -> dict:
    """What a Ray job of ours needs on every worker: this project importable from where the driver imports it
    (a shared checkout or an install), with the driver's PYTHONPATH after it."""
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in [root, os.environ.get("PYTHONPATH", "")] if p)}}


def ray_map(fn: Callable, keys: Iterable[str], args: tuple, *, address: Optional[str] = None,
            cancel=None, max_retries: int = 5) -> Iterator[tuple[str, object]]:
    """Run fn(key, *args) as one Ray task per key (one CPU each) and yield (key, result) as each finishes, each
    key exactly once: a task whose node died is retried by Ray (up to max_retries), and a result for a key
    already yielded is dropped. At most about two tasks per cluster CPU are in flight, so that a cancel stops
    quickly and results stream back. Raises Cancelled when `cancel` is cancelled (running tasks are cancelled)."""
    from .errors import Cancelled, EngineError

    ray, started = _ray_connect(address)
    remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(fn)
    arg_refs = tuple(ray.put(a) for a in args)  # once, not with every task
    queue = list(reversed(list(keys)))
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pending: dict = {}  # ObjectRef -> key
    seen: set[str] = set()
    try:
        while queue or pending:
            while queue and len(pending) < window and not (cancel and cancel.cancelled):
                key = queue.pop()
                pending[remote.remote(key, *arg_refs)] = key
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            for ref in done:
                key = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries spent: the cluster lost it every time
                    raise EngineError(f"{key}: the Ray cluster could not run it ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
                if key in seen:
                    continue
                seen.add(key)
                yield key, result
    finally:
        for ref in pending:
            try:
                ray.cancel(ref, force=False)
            except Exception:  # a task that finished or a cluster that went away meanwhile
                pass
        if started:  # this run connected (or started a local cluster): leave as found
            ray.shutdown()


def ray_score_many(paths: list[str], meta, bundle_path: str, device: str, address: Optional[str] = None,
                   cancel=None) -> Iterator:
    """BatchItems for `paths` scored on a Ray cluster, as they finish."""
    for _, item in ray_map(_ray_score, largest_first([os.path.abspath(p) for p in paths]),
                           (meta, bundle_files(bundle_path), device), address=address, cancel=cancel):
        yield item


def ray_extract(videos: list, backbone: str, frames: int, device: str, cache_dir=None, address: Optional[str] = None,
                cancel=None) -> Iterator[tuple[object, Optional[dict], Optional[str], float]]:
    """(video, arrays, error, seconds) for each of `videos` (dataset Video rows) extracted on a Ray cluster."""
    by_path = {os.path.abspath(v.path): v for v in videos}
    cache = None if cache_dir is None else os.path.abspath(cache_dir)
    for path, (arrays, error, seconds) in ray_map(_ray_extract, largest_first(list(by_path)),
                                                  (backbone, frames, device, cache),
                                                  address=address, cancel=cancel):
        yield by_path[path], arrays, error, seconds


def shutdown() -> None:
    """Disconnect this driver from Ray (and stop the local cluster it started, if any)."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()


# ------------------------------------------------------------------------------------------- inference process
# One process per GPU runs the sessions the workers open on the device (the on-screen text detector and
# recogniser, a frame backbone; faces and speech stay on the worker's CPU), batching requests that arrive together
# from different workers: one CUDA context per GPU instead of one per worker. Workers reach it through
# RemoteSession, which engine.runtime.make_session returns in a served worker. A request's frames go through a shared memory block of
# the worker's, and the answer comes back there where it fits, the local socket carrying only their layout: for one
# shared clip's requests (15 MB each way) 19 CPU ms a video for the worker and this process together, against 61
# pickled over the socket (`python benchmarks/bench_scale.py --transport`); TRANSPORT_ENV=pickle for the old way.

_BATCH_WAIT_S = 0.002  # after the first request, how long the server waits for others to batch with it
#: "pickle" sends the frames over the socket; "shm" (the default) through a worker's shared memory blocks
TRANSPORT_ENV = "VIRALITY_INFERENCE_TRANSPORT"
_SHM_MIN = 8 << 20  # a block's smallest size; a request too large for the block at hand gets one twice its size


def _align(n: int) -> int:
    return (n + 63) & ~63


def _put_arrays(buf, arrays) -> Optional[list]:
    """Copy arrays into a shared block from its start: [(offset, shape, dtype)], or None when they do not fit."""
    import numpy as np

    if sum(_align(a.nbytes) for a in arrays) > len(buf):
        return None
    out, off = [], 0
    for a in arrays:
        np.ndarray(a.shape, a.dtype, buffer=buf, offset=off)[...] = a
        out.append((off, a.shape, a.dtype.str))
        off += _align(a.nbytes)
    return out


def _views(buf, layout) -> list:
    import numpy as np

    return [np.ndarray(shape, dtype, buffer=buf, offset=off) for off, shape, dtype in layout]


class _Arg:
    """A picklable stand-in for onnxruntime's NodeArg (what the callers read: name, shape, type)."""

    def __init__(self, a) -> None:
        self.name, self.shape, self.type = a.name, list(a.shape), a.type


class _ModelMeta:
    def __init__(self, custom_metadata_map: dict) -> None:
        self.custom_metadata_map = custom_metadata_map


class RemoteSession:
    """The InferenceSession surface the cue and backbone code use, its `run` done by the inference process. Each
    thread of the worker has its own connection, so the text and face threads wait on the server side by side."""

    def __init__(self, client: "_InferenceClient", key: int, info: dict) -> None:
        self._client, self._key, self._info = client, key, info

    def get_inputs(self):
        return self._info["inputs"]

    def get_outputs(self):
        return self._info["outputs"]

    def get_modelmeta(self):
        return _ModelMeta(self._info["meta"])

    def get_providers(self):
        return self._info["providers"]

    def run(self, output_names, feeds, run_options=None):
        return self._client.run(self._key, output_names, feeds)


class _InferenceClient:
    def __init__(self, address, authkey: bytes, device: str) -> None:
        import threading

        self._address, self._authkey, self.device = address, authkey, device
        self._local = threading.local()
        self._sessions: dict = {}
        self._shm = os.environ.get(TRANSPORT_ENV, "shm").strip() != "pickle"
        self._blocks: list = []  # every block made, removed as the worker ends
        self._free: list = []  # those no call is using now (the cue threads are new for each video)
        self._lock = threading.Lock()
        if self._shm:
            from multiprocessing.util import Finalize

            Finalize(self, _InferenceClient._remove, args=(self._blocks,), exitpriority=0)

    @staticmethod
    def _remove(blocks: list) -> None:
        for block in blocks:
            try:
                block.close()
                block.unlink()
            except (OSError, BufferError):  # gone already, or a view still held
                pass

    def run(self, key: int, outputs, feeds: dict) -> list:
        """One session run there: the feeds (and the answers that fit) through a shared block of this call's."""
        import numpy as np

        if not self._shm:
            return self.call(("run", key, outputs, feeds))
        from multiprocessing import shared_memory

        names = list(feeds)
        arrays = [np.ascontiguousarray(feeds[n]) for n in names]
        need = sum(_align(a.nbytes) for a in arrays)
        with self._lock:
            block = self._free.pop() if self._free else None
            if block is None or block.size < need:
                if block is not None:
                    self._blocks.remove(block)
                    self._remove([block])
                block = shared_memory.SharedMemory(create=True, size=max(_SHM_MIN, 2 * need))
                self._blocks.append(block)
        try:
            layout = _put_arrays(block.buf, arrays)
            how, got = self.call(("run_shm", key, outputs, block.name, dict(zip(names, layout))))
            return [v.copy() for v in _views(block.buf, got)] if how == "shm" else got
        finally:
            with self._lock:
                self._free.append(block)

    def call(self, request):
        from multiprocessing.connection import Client

        from .errors import EngineError

        try:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = Client(self._address, authkey=self._authkey)
            conn.send(request)
            status, answer = conn.recv()
        except (OSError, EOFError) as exc:  # it has gone (killed, or the batch is ending)
            self._local.conn = None
            raise EngineError(f"the inference process for {self.device} has stopped ({type(exc).__name__}): run "
                              "the batch again to score this file") from None
        if status != "ok":
            raise EngineError(f"the inference process for {self.device}: {answer}")
        return answer

    def open(self, model, device: str):
        """A RemoteSession for a model file opened on the served device, or None (bytes models, other devices:
        the worker opens those itself)."""
        from .runtime import resolved_device

        if isinstance(model, bytes) or resolved_device(device) != self.device:
            return None
        path = os.path.abspath(os.fspath(model))
        if path not in self._sessions:
            key, info = self.call(("open", path))
            self._sessions[path] = RemoteSession(self, key, info)
        return self._sessions[path]


def _batchable(info: dict) -> bool:
    """Whether every input and output of a model has a free first (batch) axis."""
    return all(a.shape and not isinstance(a.shape[0], int) for a in info["inputs"] + info["outputs"])


def _run_group(session, info: dict, group: list) -> tuple[list, int]:
    """(the answers, the runs made) to a group of run requests for one model with the same output names and
    feed shapes: one run of the concatenated feeds where the model has a batch axis, else one run each."""
    import numpy as np

    outputs = group[0][1]
    if len(group) > 1 and _batchable(info):
        sizes = [next(iter(feeds.values())).shape[0] for _, _, feeds in group]
        joined = {name: np.concatenate([feeds[name] for _, _, feeds in group]) for name in group[0][2]}
        got = session.run(outputs, joined)
        if all(g.shape[0] == sum(sizes) for g in got):
            cuts = np.cumsum(sizes)[:-1]
            return [list(parts) for parts in zip(*(np.split(g, cuts) for g in got))], 1
    return [session.run(outputs, feeds) for _, _, feeds in group], len(group)


def _serve(address, authkey: bytes, ready, device: str, threads: int, parent_pid: int) -> None:
    """The inference process: accept worker connections, open the sessions they ask for, and answer their run
    requests, a batch per (model, outputs, feed shapes) of whatever arrived together."""
    import threading
    from multiprocessing import shared_memory
    from multiprocessing.connection import Listener, wait

    limit_threads(threads)
    from .runtime import make_session
    from .scoring import die_with_parent

    die_with_parent(parent_pid)
    listener = Listener(address, authkey=authkey)
    ready.send(True)
    ready.close()
    conns: list = []
    lock = threading.Lock()

    def accept() -> None:
        while True:
            try:
                c = listener.accept()
            except OSError:
                return
            with lock:
                conns.append(c)

    threading.Thread(target=accept, name="inference-accept", daemon=True).start()
    by_path: dict[str, int] = {}
    sessions: list = []  # key -> (session, info)
    blocks: dict = {}  # name -> a worker thread's shared block
    reply_in: dict = {}  # conn -> the block its answer goes back through
    stats = {"requests": 0, "runs": 0, "largest_batch": 0}
    while True:
        with lock:
            live = list(conns)
        ready = wait(live, timeout=0.05) if live else []
        if ready:
            more = [c for c in live if c not in ready]
            if more:
                ready += wait(more, timeout=_BATCH_WAIT_S)
        runs: dict = {}  # (key, outputs, shapes) -> [(conn, outputs, feeds)]
        for conn in ready:
            try:
                req = conn.recv()
            except (EOFError, OSError):  # the worker (or its thread) has gone
                with lock:
                    conns.remove(conn)
                continue
            try:
                if req[0] == "stop":  # the driver's close(): how it went, then the end
                    conn.send(("ok", stats))
                    return
                if req[0] == "open":
                    path = req[1]
                    if path not in by_path:
                        session, _ = make_session(path, device)
                        info = {"inputs": [_Arg(a) for a in session.get_inputs()],
                                "outputs": [_Arg(a) for a in session.get_outputs()],
                                "meta": dict(session.get_modelmeta().custom_metadata_map),
                                "providers": session.get_providers()}
                        by_path[path] = len(sessions)
                        sessions.append((session, info))
                    conn.send(("ok", (by_path[path], sessions[by_path[path]][1])))
                    continue
                if req[0] == "run_shm":
                    _, key, outputs, name, layout = req
                    if name not in blocks:
                        # the driver's resource tracker, which the workers and this process share, has it once
                        blocks[name] = shared_memory.SharedMemory(name=name)
                    reply_in[conn] = blocks[name]
                    feeds = dict(zip(layout, _views(blocks[name].buf, layout.values())))
                else:
                    _, key, outputs, feeds = req
                shapes = tuple(sorted((n, tuple(a.shape[1:]), str(a.dtype)) for n, a in feeds.items()))
                runs.setdefault((key, tuple(outputs or ()), shapes), []).append((conn, outputs, feeds))
            except Exception as exc:  # a model that does not open: that worker's error, not the server's end
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
        for (key, _, _), group in runs.items():
            session, info = sessions[key]
            try:
                answers, runs = _run_group(session, info, group)
                stats["requests"] += len(group)
                stats["runs"] += runs
                stats["largest_batch"] = max(stats["largest_batch"], len(group) if runs == 1 else 1)
            except Exception as exc:
                for conn, _, _ in group:
                    reply_in.pop(conn, None)
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
                continue
            for (conn, _, _), answer in zip(group, answers):
                block = reply_in.pop(conn, None)
                layout = None if block is None else _put_arrays(block.buf, answer)
                conn.send(("ok", ("pickle", answer) if block is not None and layout is None
                           else ("shm", layout) if layout is not None else answer))


class InferenceServer:
    """The inference process of one device, started by the driver of a parallel batch; `client_args` go to each
    worker (local_worker_init), which then opens its device sessions through it."""

    def __init__(self, device: str, threads: int = 0, start_timeout_s: float = 60.0) -> None:
        import secrets
        from multiprocessing import connection, get_context

        from .errors import EngineError

        self.device = device
        self.authkey = secrets.token_bytes(16)
        self.address = connection.arbitrary_address(connection.default_family)  # a Unix socket, a pipe on Windows
        ctx = get_context("spawn")
        theirs, ours = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_serve, name="inference", daemon=True,
                                    args=(self.address, self.authkey, ours, device, threads, os.getpid()))
        self._process.start()
        ours.close()
        if not theirs.poll(start_timeout_s):
            self.close()
            raise EngineError(f"the inference process for {device} did not start within {start_timeout_s:.0f} s")
        theirs.recv()

    @property
    def client_args(self) -> tuple:
        return self.address, self.authkey, self.device

    def close(self) -> dict:
        """Stop the process; returns what it did ({"requests", "runs", "largest_batch"}), {} if it had gone."""
        from .errors import EngineError

        stats = {}
        if self._process.is_alive():
            try:
                stats = _InferenceClient(*self.client_args).call(("stop",))
            except EngineError:  # it went meanwhile
                pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
        self.stats = stats
        return stats


def serve_sessions_from(address, authkey: bytes, device: str) -> None:
    """In a worker: open the sessions on `device` from model files through the inference process at `address`."""
    from . import runtime

    runtime.remote_sessions = _InferenceClient(address, authkey, device).open
