"""ONNX Runtime sessions: the one place that picks an execution provider.

Scoring runs on ONNX Runtime alone (DESIGN.md contract 2). The CUDA provider is used when the
installed onnxruntime offers it (the `gpu` extra installs onnxruntime-gpu), else the CPU.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

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


def make_session(model: str | os.PathLike | bytes, device: str = "auto", threads: int = 0, spin: bool = True):
    """An InferenceSession on the best provider for `device`; returns (session, provider name).

    threads=0 uses the process's thread budget (thread_budget()), else lets ONNX Runtime choose; batch
    workers run under a budget so that parallel workers do not oversubscribe the cores. spin=False stops
    the intra-op threads from spinning while they wait for work: for sessions that run beside other threads
    (the per-frame cues beside the decoder), where a spinning thread would take a core from them.
    """
    import onnxruntime as ort

    threads = threads or thread_budget()

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    src = model if isinstance(model, bytes) else os.fspath(model)
    providers = providers_for(device)
    if "CUDAExecutionProvider" in providers:
        _preload_cuda_libraries(ort)
    session = ort.InferenceSession(src, sess_options=opts, providers=providers)
    return session, session.get_providers()[0]
