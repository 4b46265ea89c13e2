"""Face detectors against hand-made face boxes on the shared clips: recall, false positives per frame, ms/frame.

    python benchmarks/bench_faces.py                   # old (Haar, numpy) against new (CenterFace: the float model
                                                       # and the 8-bit one the cue runs), side by side
    python benchmarks/bench_faces.py --sheets DIR      # also draw each clip's sampled frames, with both detectors'
                                                       # boxes and a 32 px grid, to DIR/<clip>.png (for labelling)

The frames are the ones the face cue sees (engine.cues.plan: FACE_FRAMES per clip, longer side FACE_SIDE).
The labels are tests/data/face_labels.json (how they were made is written in that file). A detected box
matches a labelled face when their intersection over union is at least MATCH_IOU (loose: hand boxes are
drawn to a 32 px grid, and detectors differ in how much forehead and chin they include); each label matches
at most one box. Recall = matched labels / labels; false positives = unmatched boxes per frame. Time per frame:
wall and CPU milliseconds (time.process_time: all the process's threads), the fastest of --repeat runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
LABELS = ROOT / "tests" / "data" / "face_labels.json"
MATCH_IOU = 0.3


def face_frames(path: Path):
    from engine import media
    from engine.cues.plan import plan_frames

    info = media.probe(path)
    plan = plan_frames(info)
    reqs = [plan.requests[i] for i in plan.face]
    return media.sample_frames(path, reqs, info=info)


def iou(a, b) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(found, labelled) -> tuple[int, int]:
    """(labels matched, boxes unmatched): greedy, best overlap first."""
    pairs = sorted(((iou(f, g), i, j) for i, f in enumerate(found) for j, g in enumerate(labelled)), reverse=True)
    used_f, used_g = set(), set()
    for v, i, j in pairs:
        if v < MATCH_IOU:
            break
        if i not in used_f and j not in used_g:
            used_f.add(i)
            used_g.add(j)
    return len(used_g), len(found) - len(used_f)


def draw_sheet(name: str, frames, boxes: dict, out: Path) -> None:
    from PIL import Image, ImageDraw

    colours = {"haar": (255, 40, 40), "centerface": (40, 255, 40), "cf-float": (40, 160, 255)}
    tiles = []
    for k, f in enumerate(frames):
        img = Image.fromarray(f.image)
        d = ImageDraw.Draw(img)
        for x in range(0, img.width, 32):
            d.line([(x, 0), (x, img.height)], fill=(255, 255, 0) if x % 128 == 0 else (120, 120, 0))
            d.text((x + 1, 1), str(x), fill=(255, 255, 0))
        for y in range(0, img.height, 32):
            d.line([(0, y), (img.width, y)], fill=(255, 255, 0) if y % 128 == 0 else (120, 120, 0))
            d.text((1, y + 1), str(y), fill=(255, 255, 0))
        for det, per_frame in boxes.items():
            for n, (x, y, w, h) in enumerate(per_frame[k]):
                d.rectangle([x, y, x + w, y + h], outline=colours[det], width=2)
                d.text((x + 2, y + h - 12), f"{det[0].upper()}{n}", fill=colours[det])
        d.text((4, img.height - 14), f"frame {k}  t={f.time_s:.2f}s", fill=(0, 255, 255))
        tiles.append(img)
    cols = 4
    tw, th = max(t.width for t in tiles), max(t.height for t in tiles)
    sheet = Image.new("RGB", (cols * (tw + 4), -(-len(tiles) // cols) * (th + 4)), (40, 40, 40))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % cols) * (tw + 4), (k // cols) * (th + 4)))
    sheet.save(out / f"{name}.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(SHARED_VIDEOS))
    ap.add_argument("--sheets", help="write labelling sheets to this folder")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs per frame; the fastest is kept")
    args = ap.parse_args()
    from bench_scoring import shared_clips

    clips = shared_clips(args.videos)
    if not clips:
        return 0
    from engine.cues import faces

    labels = json.loads(LABELS.read_text())["clips"] if LABELS.is_file() and not args.sheets else {}
    detectors = {"haar": faces.haar_boxes, "cf-float": lambda img: faces.centerface_boxes(img, exact=True),
                 "centerface": faces.centerface_boxes}
    blank = np.zeros((384, 216, 3), np.uint8)
    for fn in detectors.values():
        fn(blank)  # load the cascade and the session before timing
    tot = {d: {"labels": 0, "matched": 0, "fp": 0, "frames": 0, "s": 0.0, "cpu": 0.0} for d in detectors}
    load = os.getloadavg()[0]
    print(f"{len(clips)} clips; load average {load:.2f}; match at IoU >= {MATCH_IOU}")
    print(f"{'clip':<22}{'faces':>6}" + "".join(f"{d + ' found':>17}{'fp':>4}{'ms/fr':>7}{'cpu':>6}" for d in detectors))
    for clip in clips:
        frames = face_frames(clip)
        truth = labels.get(clip.name)
        if labels and truth is None:
            continue
        found = {}
        row = f"{clip.name[:21]:<22}{(sum(len(b) for b in truth) if truth else 0):>6}"
        for det, fn in detectors.items():
            per = []
            best = best_cpu = float("inf")
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                per = [fn(f.image).tolist() for f in frames]
                best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
            found[det] = per
            matched = fp = 0
            for k, b in enumerate(per):
                m, extra = match(b, truth[k] if truth else [])
                matched, fp = matched + m, fp + extra
            s = tot[det]
            s["labels"] += sum(len(b) for b in truth) if truth else 0
            s["matched"] += matched
            s["fp"] += fp
            s["frames"] += len(frames)
            s["s"] += best
            s["cpu"] += best_cpu
            row += f"{matched:>17}{fp:>4}{best / len(frames) * 1000:7.1f}{best_cpu / len(frames) * 1000:6.1f}"
        print(row)
        if args.sheets:
            out = Path(args.sheets)
            out.mkdir(parents=True, exist_ok=True)
            draw_sheet(clip.stem, frames, found, out)
            (out / f"{clip.stem}.json").write_text(json.dumps({"times": [f.time_s for f in frames], **found}))
    if args.sheets:
        print(f"sheets in {args.sheets}")
        return 0
    print()
    for det, s in tot.items():
        rec = s["matched"] / s["labels"] if s["labels"] else float("nan")
        print(f"{det:<11} recall {rec:6.1%} ({s['matched']}/{s['labels']})  false positives/frame "
              f"{s['fp'] / s['frames']:.3f} ({s['fp']} in {s['frames']})  {s['s'] / s['frames'] * 1000:.1f} ms/frame, "
              f"{s['cpu'] / s['frames'] * 1000:.1f} CPU ms/frame")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
