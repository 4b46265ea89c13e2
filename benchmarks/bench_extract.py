"""Feature extraction throughput (engine.extract), cold and with the cache warm, on the shared clips.

    python benchmarks/bench_extract.py                   # the clips in ../shared/data/videos
    python benchmarks/bench_extract.py --frames 16 --device cpu
    python benchmarks/bench_extract.py --many 200        # + peak memory over 200 generated clips
    python benchmarks/bench_extract.py --workers 1 2     # cold extraction by 1 and by 2 worker processes

Cold: a new dataset, every video extracted (content cues, frame embeddings, audio descriptor; captions
embedded). Warm: the same extraction again, which must find everything cached and decode nothing: the
benchmark counts av.open calls (every probe and decode goes through it) and fails if there is one.
--many N: N small generated clips (distinct content) extracted in one run, peak RSS sampled before, after
half and at the end, to show memory stays bounded (one video at a time, never the whole dataset).
--workers N [M ...]: the cold extraction again into a new dataset for each pool size (1: in this process), with
its videos per minute and CPU seconds per video (this process and its workers; the pool's start counted).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default=str(SHARED_VIDEOS))
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, nargs="+", default=[], help="also a cold run for each of these pool sizes")
    ap.add_argument("--many", type=int, default=0, help="also extract this many generated clips (memory check)")
    args = ap.parse_args()
    import av

    from engine.data.store import Dataset
    from engine.extract import extract_dataset, frame_embedder

    clips = sorted(Path(args.videos).glob("**/*.mp4"))
    if not clips:
        print(f"no videos under {args.videos}", file=sys.stderr)
        return 2
    frame_embedder("efficientnet_lite0", args.device)  # export/load the backbone outside the timing
    out = {"frames": args.frames, "device": args.device}
    with tempfile.TemporaryDirectory() as tmp:
        ds = Dataset.create(Path(tmp) / "bench.sqlite")
        ds.import_path(Path(args.videos))
        t = time.perf_counter()
        cold = extract_dataset(ds, frames=args.frames, device=args.device)
        cold_s = time.perf_counter() - t
        opens = []
        real = av.open
        av.open = lambda *a, **k: (opens.append(a[0] if a else None), real(*a, **k))[1]
        try:
            t = time.perf_counter()
            warm = extract_dataset(ds, frames=args.frames, device=args.device)
            warm_s = time.perf_counter() - t
        finally:
            av.open = real
        assert warm.extracted == 0 and warm.cached == cold.videos, warm.summary()
        assert not opens, f"the warm run opened {len(opens)} files"
        out.update(videos=cold.videos, failed=len(cold.failed), cold_seconds=round(cold_s, 2),
                   cold_videos_per_minute=round(60 * cold.videos / cold_s, 1),
                   warm_seconds=round(warm_s, 4), warm_videos_per_minute=round(60 * cold.videos / warm_s, 0),
                   warm_av_open_calls=len(opens))
        ds.close()
        for i, n in enumerate(args.workers):
            ds = Dataset.create(Path(tmp) / f"run{i}.sqlite")
            ds.import_path(Path(args.videos))
            cpu = time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                                            for f in ("ru_utime", "ru_stime"))
            t = time.perf_counter()
            res = extract_dataset(ds, frames=args.frames, device=args.device, captions=False, workers=n)
            dt = time.perf_counter() - t
            cpu = time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                                            for f in ("ru_utime", "ru_stime")) - cpu
            out[f"run {i + 1}: {n} workers"] = {"extracted": res.extracted, "videos_per_minute": round(60 * res.extracted / dt, 1),
                                   "cpu_s_per_video": round(cpu / max(1, res.extracted), 2)}
            ds.close()
        if args.many:
            from media_factory import make_video

            folder = Path(tmp) / "many"
            for i in range(args.many):
                make_video(folder / f"c{i:03d}.mp4", seconds=1.0 + 0.01 * i, size=(160, 96),
                           audio="sine" if i % 2 else None, cuts_at=(0.4,), tone_hz=200.0 + i)
            ds = Dataset.create(Path(tmp) / "many.sqlite")
            ds.import_path(folder)
            marks = {"start": rss_mib()}

            def progress(fraction, message):
                if message.startswith(f"video {args.many // 10}/"):
                    marks["after_10pct"] = rss_mib()
                if message.startswith(f"video {args.many // 2}/"):
                    marks["after_half"] = rss_mib()

            t = time.perf_counter()
            res = extract_dataset(ds, frames=args.frames, device=args.device, progress=progress)
            marks["end"] = rss_mib()
            out["many"] = {"videos": res.videos, "extracted": res.extracted, "seconds": round(time.perf_counter() - t, 1),
                           "rss_mib": {k: round(v, 1) for k, v in marks.items()}}
            ds.close()
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
