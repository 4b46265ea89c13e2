"""`collect` and `refresh`: TikTok posts into a dataset (engine.collect).

    python main.py collect hashtag guitar --count 200 --dataset guitar.sqlite --download
    python main.py collect trending --count 100 --dataset fyp
    python main.py collect user NAME | search "TERM" | sound ID  --dataset D
    python main.py refresh --dataset guitar.sqlite --at-age 7d [--watch]

A collection run again with the same source and dataset continues where it stopped (--restart: from the
start). Browser, ms_token and proxy come from the options, the ms_token environment variable, or the
collection settings file. Errors print one line starting with "error: " on stderr and exit with 2.
"""
from __future__ import annotations

import argparse
import json
import re

from .jobrun import fail as _fail, run_job

KINDS = ("trending", "hashtag", "user", "search", "sound")  # engine.collect.KINDS, without importing it
MAX_SHOWN = 20


def parse_age(text: str) -> float:
    """'7d', '168h', '90m' or a number of hours -> hours."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", str(text).lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age; write it like 7d, 168h or 90m")
    value, unit = float(m.group(1)), m.group(2) or "h"
    return value * {"d": 24.0, "h": 1.0, "m": 1 / 60}[unit]


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1")
    return n


def _settings(args):
    from engine.collect import load_settings

    return load_settings(ms_token=args.ms_token, browser_path=args.browser, proxy=args.proxy,
                         headless=False if args.headed else None, min_interval_s=args.interval,
                         max_video_s=getattr(args, "max_duration", None),
                         max_video_mb=getattr(args, "max_size", None))


def _run(args, job, desc: str):
    return run_job(args, job, desc, "interrupted; what was read is stored: run the same command again to continue")


def cmd_collect(args) -> int:
    from engine.collect import collect, make_source
    from engine.data.store import resolve_dataset_path
    from engine.errors import EngineError

    try:
        source = make_source(args.source, args.value)
        settings = _settings(args)
    except EngineError as exc:
        return _fail(str(exc))
    path = resolve_dataset_path(args.dataset)
    result, code = _run(args, lambda bar, token: collect(
        source, path, args.count, download=args.download, restart=args.restart, settings=settings,
        progress=bar, cancel=token), "collecting")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"Collected into {path}: {result.summary()}")
    for note in result.notes:
        print(f"  note: {note}")
    for pid, why in list(result.download_failed.items())[:MAX_SHOWN]:
        print(f"  video of {pid} not kept: {why}")
    for problem in result.problems[:MAX_SHOWN]:
        print(f"  problem: {problem}")
    if result.without_author_stats:
        print(f"  note: {result.without_author_stats} posts came without their author's counts")
    return 0


def cmd_refresh(args) -> int:
    from engine.collect import refresh
    from engine.data.store import resolve_dataset_path
    from engine.errors import EngineError

    try:
        settings = _settings(args)
    except EngineError as exc:
        return _fail(str(exc))
    path = resolve_dataset_path(args.dataset)
    if not path.exists():
        return _fail(f"{path}: no such dataset; collect into it first ('collect SOURCE ... --dataset {args.dataset}')")
    result, code = _run(args, lambda bar, token: refresh(
        path, at_age_hours=args.at_age, min_gap_hours=args.min_gap, limit=args.limit, watch=args.watch,
        settings=settings, progress=bar, cancel=token), "refreshing")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"Refreshed {path}: {result.summary()}")
    if result.no_post_time:
        print(f"  note: {result.no_post_time} posts have no post time, so no age (skipped)")
    for pid, why in list(result.unavailable.items())[:MAX_SHOWN]:
        print(f"  {pid}: {why}")
    for problem in result.problems[:MAX_SHOWN]:
        print(f"  problem: {problem}")
    return 0


def _browser_options(q) -> None:
    g = q.add_argument_group("browser and pace")
    g.add_argument("--ms-token", metavar="TOKEN",
                   help="TikTok's msToken cookie from your browser (default: the ms_token environment variable "
                        "or the settings file; without one the session gets its own)")
    g.add_argument("--browser", metavar="PATH", help="Chromium, Chrome or Edge to use (default: found automatically)")
    g.add_argument("--headed", action="store_true", help="show the browser window (TikTok blocks it less)")
    g.add_argument("--proxy", metavar="URL", help="a proxy for the browser and the downloads, e.g. http://host:8080")
    g.add_argument("--interval", type=float, metavar="SECONDS",
                   help="at least this long between two requests (default 1.5, plus up to 1.5 at random)")
    q.add_argument("--json", action="store_true", help="print what was done as JSON")
    q.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def register(sub) -> None:
    """Add the `collect` and `refresh` commands to an argparse subparsers object."""
    dataset_help = "the dataset file (created when missing; a bare name keeps it in the per-user data folder)"
    q = sub.add_parser(
        "collect", help="collect TikTok posts (and their videos) into a dataset",
        description="Collect posts of a TikTok source into a dataset, with their counts (labels) and their "
                    "authors' counts, dated when read. Runs again with the same source continue where the "
                    "last one stopped; a post is stored once.",
        epilog='examples: collect hashtag guitar --count 200 --dataset guitar.sqlite --download;  '
               'collect trending --dataset fyp;  collect search "street food" --dataset food')
    q.add_argument("source", choices=KINDS, metavar="SOURCE", help=f"one of: {', '.join(KINDS)}")
    q.add_argument("value", nargs="?", metavar="VALUE",
                   help="the hashtag, user name, search term or sound id (a tiktok.com address works too)")
    q.add_argument("--dataset", required=True, metavar="D", help=dataset_help)
    q.add_argument("--count", type=_positive_int, default=100, metavar="N",
                   help="how many posts this collection should hold (default 100)")
    q.add_argument("--download", action="store_true", help="download each post's video too")
    q.add_argument("--restart", action="store_true", help="forget where the last run stopped; read from the start")
    q.add_argument("--max-duration", type=float, metavar="SECONDS", help="skip longer videos (default 600)")
    q.add_argument("--max-size", type=float, metavar="MB", help="skip bigger video files (default 200)")
    _browser_options(q)
    q.set_defaults(func=cmd_collect)

    q = sub.add_parser(
        "refresh", help="read again the counts of posts already in a dataset",
        description="Read again the views, likes, comments, shares and saves of the posts in a dataset and "
                    "store them as new readings, dated, so labels can be taken at a fixed age "
                    "('dataset export --at-age').")
    q.add_argument("--dataset", required=True, metavar="D", help="the dataset file")
    q.add_argument("--at-age", type=parse_age, metavar="AGE",
                   help="only posts at least this old without a reading at that age yet (7d, 168h, 90m)")
    q.add_argument("--min-gap", type=float, default=1.0, metavar="HOURS",
                   help="without --at-age: skip posts read less than this long ago (default 1)")
    q.add_argument("--limit", type=_positive_int, metavar="N", help="read at most N posts")
    q.add_argument("--watch", action="store_true",
                   help="with --at-age: keep running, reading each post when it reaches the age")
    _browser_options(q)
    q.set_defaults(func=cmd_refresh)
