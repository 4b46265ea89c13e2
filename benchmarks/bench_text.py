"""Text detection settings side by side: CPU seconds and agreement with the float detector at 640 px.

    python benchmarks/bench_text.py                          # the 8-bit detector at 640/576/512/480 px, 2 and 1 threads
    python benchmarks/bench_text.py --sides 640 --threads 1 --model other_int8.onnx   # a re-quantised model

Timing: the frames the text cue sees on the shared clips (engine.cues.plan: 3 per clip at TEXT_SIDE), each setting
run over all of them in turn, --repeat rounds interleaved, the fastest round kept; CPU seconds are the process's
(time.process_time: every thread's, hardly moved by other processes on a shared machine), wall seconds beside them.
Agreement, as tests/test_ppocr.py::test_int8_detector_agrees_with_float measures it: on 6 frames of each shared clip,
text present/absent and the line count the same as the float model's at 640 px (the reference RapidOCR runs), and
the difference in the share of the frame covered by text lines.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(det, img) -> tuple[int, float]:
    """(lines kept by the cue, share of the frame they cover), as the text cue counts them."""
    from engine.cues import onscreen_text

    h, w = img.shape[:2]
    boxes = onscreen_text._boxes(det(img), h, w)
    sizes = np.ptp(boxes[:, :, 0], axis=1) * np.ptp(boxes[:, :, 1], axis=1) if len(boxes) else np.zeros(0)
    return len(boxes), float(min(1.0, sizes.sum() / (h * w)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "data" / "videos"))
    ap.add_argument("--sides", default="640,576,512,480", help="detection sizes (longer side), comma-separated")
    ap.add_argument("--threads", default="2,1", help="intra-op thread counts, comma-separated")
    ap.add_argument("--model", help="the 8-bit detector to time (default: the shipped one)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from bench_scoring import shared_clips
    from engine.cues import onscreen_text, ppocr
    from engine.cues.plan import TEXT_SIDE, plan_frames
    from engine.media import probe, sample_frames
    from engine.runtime import make_session

    clips = shared_clips(args.videos)
    if not clips:
        return 0
    int8 = Path(args.model) if args.model else ppocr.find_model(onscreen_text.DET_MODEL_INT8)
    agree_frames, cue_frames = [], []
    for path in clips:
        info = probe(path)
        times = [info.duration_s * (i + 0.5) / 6 for i in range(6)]
        agree_frames += [f.image for f in sample_frames(path, [(t, TEXT_SIDE) for t in times], info=info)]
        plan = plan_frames(info)
        cue_frames += [f.image for f in sample_frames(path, [plan.requests[i] for i in plan.text], info=info)]
    ref_det = ppocr.TextDetector(make_session(ppocr.find_model(onscreen_text.DET_MODEL), "cpu", spin=False)[0],
                                 limit_side_len=640)
    ref = [measure(ref_det, img) for img in agree_frames]
    settings = {(side, n): ppocr.TextDetector(make_session(int8, "cpu", threads=n, spin=False)[0], limit_side_len=side)
                for side in map(int, args.sides.split(",")) for n in map(int, args.threads.split(","))}
    cpu = {k: float("inf") for k in settings}
    wall = dict(cpu)
    for det in settings.values():
        det(cue_frames[0])  # warm-up
    for _ in range(args.repeat):
        for k, det in settings.items():
            c, t = time.process_time(), time.perf_counter()
            for img in cue_frames:
                det(img)
            cpu[k] = min(cpu[k], time.process_time() - c)
            wall[k] = min(wall[k], time.perf_counter() - t)
    print(f"{len(clips)} clips, {len(cue_frames)} cue frames timed, {len(agree_frames)} compared with the float "
          f"detector at 640 px; load average {os.getloadavg()[0]:.2f}; {int8.name}")
    print(f"{'side':>5}{'threads':>8}{'CPU s':>8}{'wall s':>8}{'present':>9}{'lines':>8}{'cover mean':>12}{'max':>8}")
    for k, det in settings.items():
        got = [measure(det, img) for img in agree_frames]
        present = sum((a[0] > 0) == (b[0] > 0) for a, b in zip(ref, got))
        lines = sum(a[0] == b[0] for a, b in zip(ref, got))
        diffs = [abs(a[1] - b[1]) for a, b in zip(ref, got)]
        print(f"{k[0]:>5}{k[1]:>8}{cpu[k]:8.2f}{wall[k]:8.2f}{present:>6}/{len(ref)}{lines:>5}/{len(ref)}"
              f"{np.mean(diffs):12.4f}{max(diffs):8.4f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
