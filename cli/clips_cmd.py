"""`clips`: find the best short clips in a long video, cut them (optionally 9:16 and captioned).

    python main.py clips LONG.mp4 --out DIR [--count 10] [--length 20-60] [--vertical] [--captions]
                     [--burn-captions] [--json] [--no-model] [--no-transcript] [--cache DIR]

Writes the clips, clips.json / clips.csv (start, end, score, reasons, transcript) and clips.edl (CMX3600) into
DIR. A stopped run (Ctrl+C, exit 130) keeps the clips written so far, and a second run reuses the analysis.
"""
from __future__ import annotations

import json

from .jobrun import fail, run_job


def parse_length(text: str) -> tuple[float, float]:
    """'20-60' -> (20.0, 60.0); '30' -> (30.0, 30.0). ValueError with a message otherwise."""
    parts = str(text).replace(" ", "").split("-")
    try:
        lo, hi = (float(parts[0]), float(parts[-1])) if len(parts) <= 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None or not (0 < lo <= hi):
        raise ValueError(f"--length {text!r}: give MIN-MAX in seconds, e.g. 20-60")
    return lo, hi


def cmd_clips(args) -> int:
    from engine.clips.job import make_clips
    from engine.errors import EngineError

    try:
        length = parse_length(args.length)
    except ValueError as exc:
        return fail(str(exc))
    if args.count < 1:
        return fail("--count: give at least 1")
    bundle = None
    if not args.no_model:
        try:
            from cli.commands import load_bundle

            bundle = load_bundle(args)
        except EngineError as exc:
            return fail(str(exc))
    result, code = run_job(args, lambda progress, cancel: make_clips(
        args.video, args.out, count=args.count, length=length, vertical=args.vertical, captions=args.captions,
        burn=args.burn_captions, bundle=bundle, transcript=not args.no_transcript, cache_dir=args.cache,
        progress=progress, cancel=cancel),
        "clips", "stopped; the clips written so far are kept, and the analysis is reused next time")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=float))
        return 0
    for note in result.notes:
        print(f"note: {note}")
    for rank, (c, f) in enumerate(zip(result.clips, result.files), 1):
        print(f"{rank:2d}. {c.score:5.1f}  {c.start_s:8.2f}-{c.end_s:8.2f} s  {f}")
        print(f"      {'; '.join(c.reasons)}")
    print(f"wrote {len(result.files)} clips, clips.json, clips.csv and clips.edl to {result.out_dir}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("clips", help="find the best short clips in a long video and cut them",
                       description="Find the best short clips in a long video: cut, optionally reframe to 9:16 "
                                   "and caption them. The score is a documented heuristic, not a prediction.")
    p.add_argument("video", help="the long video")
    p.add_argument("--out", required=True, help="folder for the clips, clips.json, clips.csv and clips.edl")
    p.add_argument("--count", type=int, default=10, help="how many clips (default 10)")
    p.add_argument("--length", default="20-60", help="clip length in seconds, MIN-MAX (default 20-60)")
    p.add_argument("--vertical", action="store_true", help="crop to 9:16 following the largest face")
    p.add_argument("--captions", action="store_true", help="write an .srt beside each clip (needs a transcript)")
    p.add_argument("--burn-captions", action="store_true", help="draw the captions into the picture too")
    p.add_argument("--json", action="store_true", help="print the selections as JSON")
    p.add_argument("--no-model", action="store_true", help="do not blend in the active model's score")
    p.add_argument("--no-transcript", action="store_true", help="skip speech recognition even when installed")
    p.add_argument("--cache", default=None, help="analysis cache folder (default: in the user data folder)")
    p.add_argument("--model", default=None, help="model bundle to score clips with (default: the active one)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_clips, use_active_model=True)
