"""Scoring speed, measured side by side in one run on the shared clips.

    python benchmarks/bench_scoring.py                 # everything (the seed's method takes ~2 minutes)
    python benchmarks/bench_scoring.py --skip-seed     # without the seed's method
    python benchmarks/bench_scoring.py --device cuda   # on a GPU machine with onnxruntime-gpu

Prints, per clip and in total: the seed's feature method (decode every frame, ResNet50 on each, batch of
one; torch + torchvision, weights left random since only the cost matters), the floor (decoding 16 frames
spread over the clip, at 384 px, by PyAV with thread_type AUTO, seeking only across keyframes: what any
content scorer must at least spend), and our scoring end to end (every cue and the model), then the ratios
to both; then each stage's time summed over the clips and as a share of the floor (the sound and text
stages run in helper threads beside the others, so stages add up to more than the total). Then batch
throughput on a folder of 50 clips, 1 worker vs all cores. Each figure is the median of --repeat runs
after a warm-up, measured in turn in one process; the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def seed_method(path: Path, model, torch) -> tuple[float, int]:
    """The seed's way to get features: every frame decoded, resized to 224, ResNet50, batch of one."""
    import av
    import numpy as np

    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    t0 = time.perf_counter()
    n = 0
    with av.open(str(path)) as c, torch.inference_mode():
        for frame in c.decode(video=0):
            img = frame.to_ndarray(width=224, height=224, format="rgb24").astype(np.float32) / 255.0
            x = torch.from_numpy(((img - mean) / std).transpose(2, 0, 1)[None].copy())
            model(x)
            n += 1
    return time.perf_counter() - t0, n


def shared_clips(folder) -> list[Path]:
    """The .mp4 clips in `folder` or in its sub-folders; says so and returns [] when there are none."""
    clips = sorted(Path(folder).glob("*.mp4")) or sorted(Path(folder).glob("*/*.mp4"))
    if not clips:
        print(f"skipped: no clips in {folder} (../shared is absent)")
    return clips


FLOOR_FRAMES = 16
FLOOR_SIDE = 384


def floor(path: Path) -> float:
    """The floor: probe, then 16 frames spread over the clip decoded by keyframe-aware seeking
    (engine.media.sample_frames, thread_type AUTO), nothing computed on them."""
    from engine import media

    t0 = time.perf_counter()
    info = media.probe(path)
    d = info.duration_s
    media.sample_frames(path, [(d * (i + 0.5) / FLOOR_FRAMES, FLOOR_SIDE) for i in range(FLOOR_FRAMES)], info=info)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(SHARED_VIDEOS), help="a folder of clips, or of folders of clips")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=3, help="scoring/floor runs per clip; the median is kept")
    args = ap.parse_args()

    clips = shared_clips(args.videos)
    if not clips:
        return 0

    from engine.models.bundle import ModelBundle, default_bundle_path
    from engine.scoring import score_many, score_video

    bundle = ModelBundle.load(default_bundle_path(), device=args.device)
    print(f"model {bundle.name} on {bundle.provider}; {len(clips)} clips from {args.videos}; cores: {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    score_video(clips[0], bundle=bundle, device=args.device)  # warm the sessions (model loads once per process)
    floor(clips[0])

    seed = None
    if not args.skip_seed:
        import torch
        import torchvision

        torch.set_num_threads(os.cpu_count() or 1)
        seed = torchvision.models.resnet50(weights=None).eval()

    rows = []
    stage_sums: dict[str, float] = {}
    for clip in clips:
        fl = statistics.median(floor(clip) for _ in range(args.repeat))
        runs = [score_video(clip, bundle=bundle, device=args.device) for _ in range(args.repeat)]
        sc = statistics.median(r.timings["total"] for r in runs)
        best = min(runs, key=lambda r: r.timings["total"])
        for k, v in best.timings.items():
            stage_sums[k] = stage_sums.get(k, 0.0) + v
        sd, nframes = seed_method(clip, seed, torch) if seed is not None else (None, 0)
        rows.append((clip.name[:14], best.info.duration_s, sd, nframes, fl, sc))

    print()
    print(f"{'clip':<15}{'dur s':>7}{'seed s':>9}{'frames':>8}{'floor s':>9}{'score s':>9}{'seed/score':>12}{'score/floor':>12}")
    for name, dur, sd, nf, fl, sc in rows:
        seed_ratio = f"{sd / sc:11.1f}x" if sd else f"{'-':>12}"
        print(f"{name:<15}{dur:7.1f}{(sd or 0):9.2f}{nf:8d}{fl:9.3f}{sc:9.3f}{seed_ratio}{sc / fl:11.2f}x")
    tot_seed = sum(r[2] or 0 for r in rows)
    tot_floor = sum(r[4] for r in rows)
    tot_score = sum(r[5] for r in rows)
    print(f"{'all':<15}{sum(r[1] for r in rows):7.1f}{tot_seed:9.2f}{sum(r[3] for r in rows):8d}{tot_floor:9.3f}{tot_score:9.3f}"
          + (f"{tot_seed / tot_score:11.1f}x" if tot_seed else f"{'-':>12}") + f"{tot_score / tot_floor:11.2f}x")
    print(f"\nstage times summed over the clips, slowest first (load average {os.getloadavg()[0]:.2f}):")
    print(f"  {'stage':<16}{'s':>8}{'/ floor':>9}")
    for k, v in sorted(stage_sums.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<16}{v:8.3f}{v / tot_floor:8.2f}x")

    if not args.skip_batch:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for i in range(50):
                src = clips[i % len(clips)]
                shutil.copyfile(src, folder / f"{i:02d}_{src.name}")
            files = sorted(folder.glob("*.mp4"))
            results = {}
            for workers in (1, os.cpu_count() or 1):
                t0 = time.perf_counter()
                items = list(score_many(files, workers=workers, device=args.device))
                dt = time.perf_counter() - t0
                assert all(i.ok for i in items), [i.error for i in items if not i.ok]
                results[workers] = dt
                print(f"\nbatch of {len(files)} clips, {workers} worker(s): {dt:.1f} s, {len(files) / dt * 60:.0f} videos/min")
            if len(results) == 2:
                w = max(results)
                print(f"speed-up with {w} workers: {results[1] / results[w]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
