"""Scoring speed, measured side by side in one run on the shared clips.

    python benchmarks/bench_scoring.py                 # everything (about two minutes on 2 quiet cores)
    python benchmarks/bench_scoring.py --skip-seed     # without the seed's method
    python benchmarks/bench_scoring.py --device cuda   # on a GPU machine with onnxruntime-gpu

Prints, per clip and in total: the seed's feature method (decode every frame, ResNet50 on each, batch of
one; torch + torchvision, weights left random since only the cost matters), the floor (decoding 16 frames
spread over the clip, at 384 px, by PyAV with thread_type AUTO, seeking only across keyframes: what any
content scorer must at least spend), and our scoring end to end (every cue and the model), then the ratios
to both, in wall-clock seconds and in CPU seconds (all the process's threads: unlike wall time, hardly moved
by other processes on a shared machine). The seed's method is estimated, so that it takes seconds rather than
minutes: every frame of the clip is decoded and resized to 224 px as it did (timed in full), plus ResNet50's time
on one frame at batch 1 (the fastest of --seed-frames runs: the input is always 224 px) times the frame count.

Then where the time goes (--skip-profile leaves it out): each stage's time in the scoring run, summed over
the clips, beside the CPU seconds of the same stage run alone, one at a time in this thread (decoding the
plan's frames, text detection and reading, faces, the sound side): the stage alone is what it costs, the stage
in the run is the wall time it took while the others competed for the cores (the sound, face and text stages run
in helper threads beside the decoding, so stages add up to more than the total). Then batch throughput on a folder
of 50 clips, 1 worker vs all cores. Each figure is the median of --repeat runs after a warm-up, measured in turn
in one process; the load average is printed beside them.
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


def seed_decode(path: Path) -> tuple[float, int]:
    """The seed's decoding: every frame decoded, resized to 224 and normalised for ResNet50. (seconds, frames)"""
    import av
    import numpy as np

    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    t0 = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            img = frame.to_ndarray(width=224, height=224, format="rgb24").astype(np.float32) / 255.0
            ((img - mean) / std).transpose(2, 0, 1)[None].copy()
            n += 1
    return time.perf_counter() - t0, n


def resnet_per_frame(runs: int) -> float:
    """Seconds for ResNet50 on one 224 px frame at batch 1 (torch, every core), the seed's model; the fastest of
    `runs` after a warm-up (the input's size never changes, so neither does the cost: slower runs waited for a
    core that another process held)."""
    import torch
    import torchvision

    torch.set_num_threads(os.cpu_count() or 1)
    model = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return min(times)


def shared_clips(folder) -> list[Path]:
    """The .mp4 clips in `folder` or in its sub-folders; says so and returns [] when there are none."""
    clips = sorted(Path(folder).glob("*.mp4")) or sorted(Path(folder).glob("*/*.mp4"))
    if not clips:
        print(f"skipped: no clips in {folder} (../shared is absent)")
    return clips


FLOOR_FRAMES = 16
FLOOR_SIDE = 384


def floor(path: Path) -> None:
    """The floor: probe, then 16 frames spread over the clip decoded by keyframe-aware seeking
    (engine.media.sample_frames, thread_type AUTO), nothing computed on them."""
    from engine import media

    info = media.probe(path)
    d = info.duration_s
    media.sample_frames(path, [(d * (i + 0.5) / FLOOR_FRAMES, FLOOR_SIDE) for i in range(FLOOR_FRAMES)], info=info)


def timed(fn, *args, **kwargs) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of the whole process, fn's result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, time.process_time() - c, out


def stages_alone(path: Path, device: str) -> dict[str, float]:
    """Each stage of a score run alone, one after the other in this thread: CPU seconds per stage (the
    process's, its library threads included)."""
    from engine import media
    from engine.cues import faces, measure, onscreen_text
    from engine.cues.plan import plan_frames

    info = media.probe(path)
    plan = plan_frames(info)
    out = {}
    _, out["decode_frames"], frames = timed(media.sample_frames, path, plan.requests, info=info, skip_nonref=True)
    _, out["text"], _ = timed(onscreen_text.detect_text, [frames[i] for i in plan.text], device)
    _, out["faces"], _ = timed(faces.detect_faces, [frames[i] for i in plan.face])
    _, out["sound"], _ = timed(measure._measure_sound, str(path), float(info.duration_s), measure.NEVER_CANCELLED)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(SHARED_VIDEOS), help="a folder of clips, or of folders of clips")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=3, help="scoring/floor runs per clip; the median is kept")
    ap.add_argument("--seed-frames", type=int, default=10, help="runs ResNet50 is timed on, one frame each (seed)")
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

    seed = None if args.skip_seed else resnet_per_frame(args.seed_frames)

    rows = []
    stage_sums: dict[str, float] = {}
    for clip in clips:
        fl = [timed(floor, clip)[:2] for _ in range(args.repeat)]
        runs = [timed(score_video, clip, bundle=bundle, device=args.device) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r[0])[2]
        for k, v in best.timings.items():
            stage_sums[k] = stage_sums.get(k, 0.0) + v
        sd, nframes = seed_decode(clip) if seed is not None else (None, 0)
        sd = sd + seed * nframes if seed is not None else None
        rows.append((clip.name[:14], best.info.duration_s, sd, nframes,
                     statistics.median(w for w, _ in fl), statistics.median(c for _, c in fl),
                     statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)))

    how = f" (seed: estimated, every frame decoded + {seed * 1e3:.0f} ms of ResNet50 a frame)" if seed else ""
    print(f"\nwall-clock seconds{how}"
          f"; CPU seconds of all threads; load average {os.getloadavg()[0]:.2f}")
    print(f"{'clip':<15}{'dur s':>6}{'frames':>7}{'seed s':>8}{'floor s':>8}{'score s':>8}{'seed/score':>11}"
          f"{'score/floor':>12}{'floor cpu':>10}{'score cpu':>10}{'cpu ratio':>10}")

    def line(name, dur, sd, nf, fl, flc, sc, scc):
        seed_ratio = f"{sd / sc:10.1f}x" if sd else f"{'-':>11}"
        print(f"{name:<15}{dur:6.1f}{nf:7d}{(sd or 0):8.2f}{fl:8.3f}{sc:8.3f}{seed_ratio}{sc / fl:11.2f}x"
              f"{flc:10.3f}{scc:10.3f}{scc / flc:9.2f}x")

    for r in rows:
        line(*r)
    line("all", *(sum(r[i] or 0 for r in rows) for i in range(1, 8)))
    tot_floor = sum(r[4] for r in rows)
    tot_floor_cpu = sum(r[5] for r in rows)

    alone: dict[str, float] = {}
    if not args.skip_profile:
        for clip in clips:
            for k, v in stages_alone(clip, args.device).items():
                alone[k] = alone.get(k, 0.0) + v
        for k in ("decode_audio", "vad", "audio"):
            stage_sums["sound"] = stage_sums.get("sound", 0.0) + stage_sums.pop(k, 0.0)
    print(f"\nstage times summed over the clips, slowest first, in the scoring run and alone (load average "
          f"{os.getloadavg()[0]:.2f}):")
    print(f"  {'stage':<16}{'in run s':>9}{'/ floor':>9}" + (f"{'alone cpu':>11}{'/ floor cpu':>12}" if alone else ""))
    for k, v in sorted(stage_sums.items(), key=lambda kv: -kv[1]):
        if not v and k not in alone:
            continue
        extra = f"{alone[k]:11.3f}{alone[k] / tot_floor_cpu:11.2f}x" if k in alone else ""
        print(f"  {k:<16}{v:9.3f}{v / tot_floor:8.2f}x{extra}")
    if alone:
        work = sum(alone.values())
        print(f"  the stages alone add up to {work:.3f} CPU s ({work / tot_floor_cpu:.2f}x the floor's CPU s): on "
              f"{os.cpu_count()} idle cores, perfectly overlapped, at least {work / (os.cpu_count() or 1):.3f} s")

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
