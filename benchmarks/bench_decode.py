"""The cue decoding pass, side by side in one run on the shared clips, and what the decoder options that were tried
and left out would change.

    python benchmarks/bench_decode.py               # the pass as it is against each of its changes undone
    python benchmarks/bench_decode.py --effects     # also what skip_loop_filter and FAST_BILINEAR would change

The pass is engine.cues.measure._decode over the shared clips: every frame the cues ask for, decoded by
engine.media.iter_frames, each cut frame's colour and layout measured as it comes (the face and text frames are
handed to stand-in workers that drop them). Its variants, each the present code with one change undone, run in
turn, round after round (the first round is a warm-up); the medians of wall and CPU seconds (all threads) are
printed with the load average:
  per-frame context  frame.to_ndarray, which sets up swscale (and its threads) for every frame
  margin skip        skip_nonref decodes every frame within a frame of a requested time, not just the chosen ones
  inline             decoding in the caller's thread, between the per-frame work (no read-ahead)
  all undone         the three together (the pass as it was)
--effects measures, against the decoding as it is, every cue value (measure_cues; the largest change and the
clips whose shown text changes), the cuts (the same within one sampled frame?), the face cue's recall of the
hand-made boxes (tests/data/face_labels.json, as bench_faces.py) and the frame backbone's embedding (cosine),
for the decoder's skip_loop_filter=all (no deblocking) and for the cut frames scaled FAST_BILINEAR.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def variant(undo: set[str]):
    """The pass with the named changes undone (see the module's doc), or with a decoder option of --effects."""
    from engine import media
    from engine.cues import measure
    from engine.cues.plan import CUT_SIDE

    saved = (media._Converter.__call__, media._chosen_pts, measure.READ_AHEAD, media._open)
    if "per-frame context" in undo:
        media._Converter.__call__ = lambda self, frame, side: media._to_rgb(frame, side, self.rotation)
    if "margin skip" in undo:
        media._chosen_pts = lambda *a: None
    if "inline" in undo:
        measure.READ_AHEAD = 0
    if "FAST_BILINEAR" in undo:
        call = media._Converter.__call__

        def fast(self, frame, side):
            if side != CUT_SIDE:
                return call(self, frame, side)
            return media._to_rgb(frame, side, self.rotation, "FAST_BILINEAR")

        media._Converter.__call__ = fast
    if "skip_loop_filter" in undo:
        plain_open = media._open

        def no_deblocking(path):
            container = plain_open(path)
            if container.streams.video:
                container.streams.video[0].codec_context.options = {"skip_loop_filter": "all"}
            return container

        media._open = no_deblocking
    try:
        yield
    finally:
        media._Converter.__call__, media._chosen_pts, measure.READ_AHEAD, media._open = saved


class _Drop:
    def put(self, frame) -> None:
        pass


def one_pass(clips, infos) -> None:
    from engine.cues import measure
    from engine.cues.plan import plan_frames
    from engine.jobs import NEVER_CANCELLED

    for clip in clips:
        info = infos[clip]
        measure._decode(str(clip), info, plan_frames(info), {"faces": _Drop(), "text": _Drop()}, NEVER_CANCELLED,
                        lambda *a: None, [])


def timings(clips, infos, rounds: int) -> None:
    names = {"as it is": set(), "per-frame context": {"per-frame context"}, "margin skip": {"margin skip"},
             "inline": {"inline"}, "all undone": {"per-frame context", "margin skip", "inline"}}
    runs: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    load = os.getloadavg()[0]
    for r in range(rounds + 1):
        for name, undo in names.items():
            with variant(undo):
                t, c = time.perf_counter(), cpu_s()
                one_pass(clips, infos)
                if r:
                    runs[name].append((time.perf_counter() - t, cpu_s() - c))
    print(f"the cue decoding pass over {len(clips)} clips, median of {rounds} interleaved rounds "
          f"(load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")
    base_w = statistics.median(w for w, _ in runs["as it is"])
    base_c = statistics.median(c for _, c in runs["as it is"])
    print(f"  {'variant':<20}{'wall s':>8}{'cpu s':>8}{'wall / as it is':>17}{'cpu / as it is':>16}")
    for name, xs in runs.items():
        w, c = statistics.median(x for x, _ in xs), statistics.median(x for _, x in xs)
        print(f"  {name:<20}{w:8.3f}{c:8.3f}{w / base_w:16.2f}x{c / base_c:15.2f}x")


def measured(clips, infos, embedder) -> dict:
    """Per clip: the cue report, the cut frames' cuts, the face cue's frames and the backbone's embeddings."""
    from bench_faces import face_frames
    from engine import media
    from engine.cues import measure, visual
    from engine.cues.plan import plan_frames
    from engine.features import inputs

    out = {}
    for clip in clips:
        info = infos[clip]
        also = media.SharedPass(requests=inputs.frame_requests(info, 8))
        report = measure.measure_cues(clip, info, device="cpu", also=also)
        plan = plan_frames(info)
        frames = media.sample_frames(clip, plan.requests, info=info, skip_nonref=True)
        cuts = visual.detect_cuts(visual.frame_features([frames[i] for i in plan.cut])).times
        emb = inputs.embed_sampled(also.frames, embedder)[0] if embedder is not None else None
        out[clip] = {"report": report, "cuts": cuts, "step": plan.cut_step_s, "faces": face_frames(clip),
                     "emb": emb, "frames": frames}
    return out


def face_recall(results) -> str:
    import json

    from bench_faces import LABELS, match
    from engine.cues import faces

    labels = json.loads(LABELS.read_text())["clips"] if LABELS.is_file() else {}
    found = total = fp = n = 0
    for clip, r in results.items():
        truth = labels.get(Path(clip).name)
        if truth is None:
            continue
        for k, f in enumerate(r["faces"]):
            m, extra = match(faces.centerface_boxes(f.image).tolist(), truth[k])
            found, fp, total, n = found + m, fp + extra, total + len(truth[k]), n + 1
    return f"{found / total:.1%} ({found}/{total}), false positives/frame {fp / n:.3f}" if total else "no labels"


def effects(clips, infos) -> None:
    from engine.features import inputs

    try:
        embedder = inputs.frame_embedder(device="cpu")
    except Exception as exc:  # no backbone here: the rest is still measured
        embedder = None
        print(f"(no frame backbone: {exc})")
    plain = measured(clips, infos, embedder)
    print(f"\nas decoded now: face recall {face_recall(plain)}")
    for option in ("skip_loop_filter", "FAST_BILINEAR"):
        with variant({option}):
            other = measured(clips, infos, embedder)
        print(f"\n{option}: face recall {face_recall(other)}")
        for i, cue in enumerate(plain[clips[0]]["report"].cues):
            a = [plain[c]["report"].cues[i] for c in clips]
            b = [other[c]["report"].cues[i] for c in clips]
            diff = max(abs((x.value or 0.0) - (y.value or 0.0)) for x, y in zip(a, b))
            shown = [f"{Path(c).name[:12]}: {x.text!r} -> {y.text!r}"
                     for c, x, y in zip(clips, a, b) if x.text != y.text]
            print(f"  {cue.name:<16} largest change {diff:.4g}; shown text changed on {len(shown)} clips")
            for line in shown:
                print(f"      {line}")
        same_cuts = all(len(plain[c]["cuts"]) == len(other[c]["cuts"]) and all(
            abs(x - y) <= plain[c]["step"] + 1e-6 for x, y in zip(plain[c]["cuts"], other[c]["cuts"])) for c in clips)
        pixels = [np.mean([np.abs(x.image.astype(int) - y.image).mean()
                           for x, y in zip(plain[c]["frames"], other[c]["frames"])]) for c in clips]
        print(f"  cuts the same within one sampled frame on every clip: {same_cuts}; mean |pixel change| per clip "
              f"{min(pixels):.2f}-{max(pixels):.2f} grey levels")
        if embedder is not None:
            cos = np.concatenate([(plain[c]["emb"] * other[c]["emb"]).sum(1) / np.linalg.norm(plain[c]["emb"], axis=1)
                                  / np.linalg.norm(other[c]["emb"], axis=1) for c in clips])
            print(f"  frame embeddings' cosine to the plain decoding: min {cos.min():.4f}, mean {cos.mean():.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "data" / "videos"))
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds after the warm-up; the median is kept")
    ap.add_argument("--effects", action="store_true", help="also measure what the left-out decoder options change")
    args = ap.parse_args()
    from bench_scoring import shared_clips
    from engine import media

    clips = [str(c) for c in shared_clips(args.videos)]
    if not clips:
        return 0
    infos = {c: media.probe(c) for c in clips}
    timings(clips, infos, args.repeat)
    if args.effects:
        effects(clips, infos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
