"""The clip finder's analysis: time per minute of source against the decode floor, and memory against length.

    python benchmarks/bench_clips.py [--minutes 10,60] [--transcript] [--work DIR]

The input is the shared clips joined with espeak-ng sentences (tests/clips_material.py, about 68 s) repeated
by remuxing to each length. Each measurement runs in its own process (peak RSS from getrusage):
- floor: decoding the picture front to back with the same sampling (a small RGB frame every 0.2 s) and the
  sound to 16 kHz mono, one after the other: what any analysis of this file must at least spend;
- analysis: engine.clips.analyse (cuts, motion, faces every 1 s, text every 30 s, VAD, loudness), no cache;
- with --transcript: plus faster-whisper tiny.en (needs the 'transcript' extra).
Prints seconds per minute of source, times faster than real time, analysis / floor, and the peak memory of the
longest input against the shortest.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _child(kind: str, path: str) -> None:
    from engine.media import probe

    info = probe(path)
    t = time.perf_counter()
    if kind == "floor":
        from engine.clips.analysis import FAST, SIDE, STEP_S, decoded_frames
        from engine.media import _to_rgb, audio_pieces

        for frame in decoded_frames(Path(path), info, STEP_S):
            _to_rgb(frame, SIDE, info.rotation, FAST)
        for _ in audio_pieces(path, 16000, 30.0):
            pass
    elif kind == "analysis":
        from engine.clips import analyse
        from engine.cues import onscreen_text

        onscreen_text.warm_up("cpu")  # session creation is paid once per process, not per minute
        t = time.perf_counter()
        analyse(path, sha256="-")
    elif kind == "transcript":
        from engine.clips.transcript import transcribe

        transcribe(path)
    seconds = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "duration_s": info.duration_s}))


def _run(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", default="10,60")
    ap.add_argument("--transcript", action="store_true")
    ap.add_argument("--work", default=None, help="folder for the generated videos (default: a temporary one)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(*args.child)
    from clips_material import make_long_video, repeat_video

    minutes = [float(m) for m in args.minutes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-clips-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        base = work / "base.mp4"
        if not base.exists():
            make_long_video(base.with_name("base.part.mp4"))
            base.with_name("base.part.mp4").replace(base)
        kinds = ["floor", "analysis"] + (["transcript"] if args.transcript else [])
        rows = []
        for m in minutes:
            src = work / f"long_{m:g}min.mp4"
            if not src.exists():
                from engine.media import probe

                part = src.with_name(src.stem + ".part.mp4")  # a run stopped half-way leaves no short input
                repeat_video(base, part, max(1, round(m * 60 / probe(base).duration_s)))
                part.replace(src)
            got = {k: _run(k, src) for k in kinds}
            dur = got["floor"]["duration_s"]
            rows.append((m, dur, got))
            print(f"{dur / 60:5.1f} min of source:")
            for k in kinds:
                g = got[k]
                print(f"  {k:10s} {g['seconds'] / (dur / 60):6.2f} s per minute  {dur / g['seconds']:6.1f} x real time"
                      f"  peak {g['rss_mb']:6.0f} MB")
            print(f"  analysis / decode floor: {got['analysis']['seconds'] / got['floor']['seconds']:.2f}")
            if "transcript" in got:
                both = got["analysis"]["seconds"] + got["transcript"]["seconds"]
                print(f"  analysis + transcript: {dur / both:.1f} x real time")
        if len(rows) > 1:
            lo, hi = rows[0][2]["analysis"]["rss_mb"], rows[-1][2]["analysis"]["rss_mb"]
            print(f"analysis peak memory, {rows[-1][1] / 60:.0f} min vs {rows[0][1] / 60:.0f} min: {hi:.0f} MB vs "
                  f"{lo:.0f} MB ({(hi / lo - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
