"""Store an ONNX model's large float32 weights as float16, computing in float32 as before.

    python packaging/onnx_weights.py IN.onnx OUT.onnx

Each float32 initializer of at least MIN_ELEMENTS values is replaced by a float16 initializer and a Cast node
back to float32 under the original name, so every operator still receives float32 and runs its float32 kernel.
ONNX Runtime's constant folding evaluates those Casts once when the session is created, so inference is as fast
as before; only the file (and the download) is half the size. The price is the rounding of each weight to
float16 (relative error at most 2**-11, ~4.9e-4); weights beyond float16's range (|w| > 65504) are left alone.

packaging/build.py applies this to the ONNX files the installers ship that are not ours to retrain (the
PP-OCR text detector and recogniser from the rapidocr wheel, the exported backbones); benchmarks/bench_frozen.py
and tests/test_packaging_slim.py measure what it changes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

MIN_ELEMENTS = 1024  # biases and norms stay float32: tiny, and the most sensitive to rounding
FP16_MAX = 65504.0


def halve_weights(src: str | Path, dst: str | Path, min_elements: int = MIN_ELEMENTS) -> tuple[int, int]:
    """Write `src` to `dst` with its large float32 initializers stored as float16. Returns (tensors converted,
    bytes saved in the weights)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    kept, casts, converted, saved = [], [], 0, 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        w = numpy_helper.to_array(init)
        if w.size < min_elements or not np.all(np.isfinite(w)) or np.abs(w).max(initial=0.0) > FP16_MAX:
            kept.append(init)
            continue
        half_name = f"{init.name}__fp16"
        kept.append(numpy_helper.from_array(w.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}__to_fp32"))
        converted += 1
        saved += w.size * 2
    if not converted:
        onnx.save(model, str(dst))
        return 0, 0
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # a weight used as a graph input default must stay an input-less initializer: drop it from the inputs
    names = {c.output[0] for c in casts}
    inputs = [i for i in graph.input if i.name not in names]
    del graph.input[:]
    graph.input.extend(inputs)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)  # Casts first: the graph stays topologically sorted
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return converted, saved


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    args = p.parse_args(argv)
    n, saved = halve_weights(args.src, args.dst)
    print(f"{args.dst}: {n} weights stored as float16, {saved / 1e6:.1f} MB smaller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
