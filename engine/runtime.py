"""ONNX Runtime sessions: the one place that picks an execution provider.

Scoring runs on ONNX Runtime alone (DESIGN.md contract 2). The CUDA provider is used when the
installed onnxruntime offers it (the `gpu` extra installs onnxruntime-gpu), else the CPU.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional

from .errors import InputError

Device = Literal["auto", "cpu", "cuda"]
DEVICES = ("auto", "cpu", "cuda")


@lru_cache(maxsize=1)
def available_providers() -> tuple[str, ...]:
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def providers_for(device: str = "auto") -> list[str]:
    """Execution providers to ask for, best first. Raises InputError for an unknown device or
    for `cuda` where this onnxruntime build has no CUDA provider."""
    device = (device or "auto").lower()
    if device not in DEVICES:
        raise InputError(f"unknown device '{device}': choose one of {', '.join(DEVICES)}")
    have = available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in have:
        raise InputError(
            "--device cuda: this onnxruntime has no CUDA provider; install the 'gpu' extra "
            "(pip install 'virality-studio[gpu]') on a machine with an NVIDIA GPU"
        )
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in have:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def resolved_device(device: str = "auto") -> str:
    """What `device` comes to on this machine: "cuda" where its sessions get the CUDA provider (cuda, or auto
    with onnxruntime-gpu), else "cpu". Raises InputError as providers_for does."""
    return "cuda" if "CUDAExecutionProvider" in providers_for(device) else "cpu"


@lru_cache(maxsize=1)
def _preload_cuda_libraries(ort) -> None:
    """onnxruntime-gpu finds CUDA and cuDNN installed from pip (nvidia-* packages, as torch brings
    them) only after preload_dlls(); system-wide CUDA installs need nothing."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception:  # libraries absent from pip: rely on the system's search path
            pass


#: The environment variable that caps the threads each library may start in this process (ONNX Runtime's intra-op
#: pool, the video decoder's, numpy's BLAS): set by a parallel executor for its workers (engine.executors), so that
#: N workers share the cores instead of each starting one thread per core.
THREADS_ENV = "VIRALITY_THREADS"


def thread_budget() -> int:
    """The threads one library pool of this process may use; 0: no cap (the libraries choose)."""
    try:
        return max(0, int(os.environ.get(THREADS_ENV, "0")))
    except ValueError:
        return 0


#: "0" turns off the optimised copies of the CPU models (optimised_copy); anything else, or unset, keeps them on.
CACHE_ENV = "VIRALITY_ONNX_CACHE"
#: larger models (ResNet50's 100 MB) are optimised anew each time rather than stored twice
MAX_CACHED_BYTES = 64 << 20
#: the optimised copies of models given as bytes (bundles' models: "model-<key>.onnx") kept per runtime folder, the
#: most recently used ones; each retrained model makes a new one, so the older ones are removed (prune_copies)
MAX_BYTES_COPIES = 8


@lru_cache(maxsize=1)
def _machine_key() -> str:
    """What an optimised copy depends on besides the model: ONNX Runtime's version and the processor (its
    layout transforms use the CPU's vector width, so a copy made on one processor is not used on another)."""
    import platform

    import onnxruntime as ort

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read(65536).splitlines()
        cpu += "".join(next((l for l in lines if l.startswith(k)), "") for k in ("model name", "flags"))
    except OSError:  # not Linux
        pass
    return f"{ort.__version__}|{platform.machine()}|{cpu}"


def optimised_copy(model: str | bytes) -> Optional[Path]:
    """Where the graph-optimised copy of a CPU model is kept (<data>/cache/onnx/<name>-<key>.onnx), or None when
    the copies are turned off (CACHE_ENV=0) or the model is larger than MAX_CACHED_BYTES. ONNX Runtime spends
    most of a session's creation optimising the graph; loading the optimised copy without optimising again
    makes the same session in about 40% of the time (the text, face and speech models together: 117 ms -> 50 ms
    at load 3.7, 430 ms -> 192 ms at load 15; benchmarks/bench_startup.py --sessions), and session creation holds
    the GIL, so a cold `score` pays it beside its imports and decoding rather than hiding it in a thread.
    The key covers the model's content (its sha256), ONNX Runtime's version and the processor, so a new model,
    runtime or machine makes a new copy, and the same model under another install path (or reinstalled) shares one
    copy. A file's sha256 is computed once per path, size and time and remembered beside the copies
    (<name>-<path key>.id, _content_id): a session reads that small file, it does not hash the model again. The
    copies of one runtime and processor share a folder named by those (cache/onnx/<runtime key>/), so the copies
    another runtime or processor made can be told apart and removed (prune_other_runtimes) when a new copy is
    written, as are the other copies of a model file of the same name there (an updated model) and the least recently
    used copies of models given as bytes beyond MAX_BYTES_COPIES (prune_copies)."""
    if os.environ.get(CACHE_ENV, "1").strip() == "0":
        return None
    from platformdirs import user_data_dir

    runtime_key = hashlib.sha256(_machine_key().encode()).hexdigest()[:16]
    folder = Path(user_data_dir("Virality Studio", appauthor=False)) / "cache" / "onnx" / runtime_key
    if isinstance(model, bytes):
        if len(model) > MAX_CACHED_BYTES:
            return None
        name, ident = "model", hashlib.sha256(model).hexdigest()
    else:
        try:
            st = os.stat(model)
        except OSError:
            return None  # ONNX Runtime reports the missing file
        if st.st_size > MAX_CACHED_BYTES:
            return None
        name = Path(model).stem
        ident = _content_id(model, st, folder / name)
        if ident is None:
            return None
    key = hashlib.sha256(f"{ident}|{_machine_key()}".encode()).hexdigest()[:20]
    return folder / f"{name}-{key}.onnx"


def _content_id(model: str, st: os.stat_result, prefix: Path) -> Optional[str]:
    """The sha256 of a model file, remembered in <prefix>-<key of its path, size and time>.id so that it is
    computed once per install (or change) of the file, not per session; None when the file cannot be read."""
    memo = prefix.with_name(f"{prefix.name}-" + hashlib.sha256(
        f"{os.path.abspath(model)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20] + ".id")
    try:
        got = memo.read_text(encoding="ascii").strip()
        if len(got) == 64:
            return got
    except (OSError, ValueError):
        pass
    h = hashlib.sha256()
    try:
        with open(model, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    digest = h.hexdigest()
    part = memo.with_name(f"{memo.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(digest, encoding="ascii")
        os.replace(part, memo)
    except OSError:  # a read-only folder: hashed again next time
        try:
            part.unlink(missing_ok=True)
        except OSError:
            pass
    return digest


def _is_part(path: Path) -> bool:
    """A copy being written (<stem>.<pid>-<thread>.part.onnx): never removed, nor the folder holding it."""
    return path.name.endswith(".part.onnx")


def prune_other_runtimes(copy: Path) -> int:
    """Remove the optimised copies that another ONNX Runtime version or processor made (every folder of
    cache/onnx but the one `copy` is in, and the loose copies of the layout before those folders), which this
    runtime never loads: after an upgrade they would otherwise stay for good (41 MB for the cue models). A
    folder where a copy is being written (a .part file: another process, perhaps another install) is left as it
    is; a file that cannot be removed (open elsewhere, on Windows) is left for the next time. Returns the bytes
    freed. Called when a new copy has been written, so it costs one folder listing per new copy, not per score."""
    freed = 0
    root = copy.parent.parent
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for entry in entries:
        if entry == copy.parent or _is_part(entry):
            continue
        if entry.is_file() and entry.suffix == ".onnx":  # the flat layout of earlier versions
            freed += _remove([entry])
        elif entry.is_dir() and not entry.is_symlink():
            try:
                files = list(entry.iterdir())
            except OSError:
                continue
            if any(_is_part(f) for f in files):
                continue
            freed += _remove(f for f in files if f.is_file() and f.suffix in (".onnx", ".id"))
            try:
                entry.rmdir()
            except OSError:  # something else there, or a copy written meanwhile
                pass
    return freed


def _remove(paths) -> int:
    """Remove each of `paths`; the bytes freed. One that cannot be removed (open elsewhere, on Windows) is left for
    the next time."""
    freed = 0
    for path in paths:
        try:
            size = path.stat().st_size
            path.unlink()
            freed += size
        except OSError:
            pass
    return freed


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # a read-only folder: it may be pruned a little early
        pass


def prune_copies(copy: Path, keep: int = 1) -> int:
    """Keep the `keep` most recently used optimised copies of the model `copy` was made from ("<name>-<key>.onnx",
    the same name: a model file's stem, or "model" for the models given as bytes, whose copies are touched each
    time a session loads one) in `copy`'s folder, `copy` (just written) among them, and remove the older ones: an
    updated model file (keep 1), or a retrained bundle's model (keep MAX_BYTES_COPIES), would otherwise leave its
    copy behind for good. Never a copy being written; the 64-byte content ids stay (each still names its file's
    content rightly). Called when a new copy has been written; returns the bytes freed."""
    mine = re.compile(re.escape(copy.name[:-len("-0123456789abcdef0123.onnx")]) + r"-[0-9a-f]{20}\.onnx")
    try:
        found = []
        for entry in copy.parent.iterdir():
            if entry != copy and mine.fullmatch(entry.name):
                try:
                    found.append((entry.stat().st_mtime_ns, entry))
                except OSError:  # removed meanwhile
                    pass
    except OSError:
        return 0
    return _remove(entry for _, entry in sorted(found, reverse=True)[max(0, keep - 1):])


#: In a batch worker served by an inference process (engine.executors.serve_sessions_from): (model, device) ->
#: a session that runs there, or None for one this process opens itself.
remote_sessions = None


def make_session(model: str | os.PathLike | bytes, device: str = "auto", threads: int = 0, spin: bool = True):
    """An InferenceSession on the best provider for `device`; returns (session, provider name).

    threads=0 uses the process's thread budget (thread_budget()), else lets ONNX Runtime choose; batch
    workers run under a budget so that parallel workers do not oversubscribe the cores. On the CPU the session
    is made from the model's optimised copy when there is one (optimised_copy), and the first session of a model
    writes that copy. In a worker whose device sessions an inference process runs (one per GPU), a model file
    opened on that device is opened there. spin=False stops the intra-op threads from spinning while they wait
    for work: for sessions that run beside other threads (the per-frame cues beside the decoder), where a
    spinning thread would take a core from them.
    """
    if remote_sessions is not None and (served := remote_sessions(model, device)) is not None:
        return served, served.get_providers()[0]
    import onnxruntime as ort

    threads = threads or thread_budget()
    src = model if isinstance(model, bytes) else os.fspath(model)
    providers = providers_for(device)
    if "CUDAExecutionProvider" in providers:
        _preload_cuda_libraries(ort)
    copy = optimised_copy(src) if providers == ["CPUExecutionProvider"] else None
    if copy is not None and copy.is_file():
        try:
            session = ort.InferenceSession(str(copy), sess_options=_options(ort, threads, optimise=False, spin=spin),
                                           providers=providers)
            if isinstance(src, bytes):
                _touch(copy)  # used now: the last of the bytes copies to be pruned
            return session, session.get_providers()[0]
        except Exception:  # a damaged copy (a disk error, a file written by hand): made again below
            pass
    session = None
    if copy is not None:
        part = copy.with_name(f"{copy.stem}.{os.getpid()}-{threading.get_ident()}.part.onnx")
        try:
            copy.parent.mkdir(parents=True, exist_ok=True)
            opts = _options(ort, threads, spin=spin)
            opts.optimized_model_filepath = str(part)
            session = ort.InferenceSession(src, sess_options=opts, providers=providers)
            os.replace(part, copy)  # whole or not at all, also when processes race to write it
            prune_other_runtimes(copy)
            prune_copies(copy, MAX_BYTES_COPIES if isinstance(src, bytes) else 1)
        except Exception:  # no room, a read-only folder: made without a copy below (a bad model raises there)
            pass
        finally:
            try:
                part.unlink(missing_ok=True)
            except OSError:  # its folder could not be made
                pass
    if session is None:
        session = ort.InferenceSession(src, sess_options=_options(ort, threads, spin=spin), providers=providers)
    return session, session.get_providers()[0]


def _options(ort, threads: int, optimise: bool = True, spin: bool = True):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not optimise:  # an optimised copy: optimising it again would only cost time
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return opts
