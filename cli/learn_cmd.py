"""`learn`: a creator's own history -> an evaluated personal model bundle (engine.personal).

    python main.py learn --dataset D --author ID --out BUNDLE
    python main.py learn --posts posts.csv [--author ID] --out BUNDLE
    python main.py learn --videos DIR --stats posts.csv --out BUNDLE
    python main.py learn --user @handle --download [--count N] --out BUNDLE

Errors print one line starting with "error: " on stderr and exit with 2; a stop (Ctrl+C) exits with 130 and
leaves any previous bundle at BUNDLE as it was.
"""
from __future__ import annotations

import json

from .jobrun import fail as _fail, run_job


def _history(args):
    from engine.personal import history as hist

    if args.videos or args.stats:
        if not (args.videos and args.stats):
            raise ValueError("--videos and --stats go together: the folder of your videos and their stats CSV")
        return hist.from_videos(args.videos, args.stats, args.author, k=args.k)
    if args.dataset:
        return hist.from_dataset(args.dataset, args.author, k=args.k)
    if args.posts:
        return hist.from_posts_csv(args.posts, args.author, k=args.k)
    raise ValueError("say where the history comes from: --dataset D --author ID, --posts CSV, "
                     "--videos DIR --stats CSV, or --user @handle --download")


def cmd_learn(args) -> int:
    from engine.errors import EngineError
    from engine.outputs import check_output
    from engine.personal.learn import learn_personal, report_lines

    try:
        check_output(args.out, "bundle", force=args.force, what="--out")
        history = None if args.user else _history(args)
    except ValueError as exc:
        return _fail(str(exc))
    except EngineError as exc:
        return _fail(str(exc))

    def job(progress, cancel):
        h = history
        if h is None:  # the collector's user source, into a dataset beside --out
            from pathlib import Path

            from engine.personal.history import from_account

            ds = Path(args.collect_into or (str(Path(args.out).resolve()) + ".dataset"))
            h = from_account(args.user, ds, args.count, args.download, args.k,
                             lambda f, m: progress(None if f is None else 0.3 * f, m), cancel)
            progress = (lambda p: (lambda f, m: p(None if f is None else 0.3 + 0.7 * f, m)))(progress)
        return learn_personal(h, args.out, name=args.name, measure_videos=not args.no_videos,
                              with_default=not args.no_default, min_train=args.min_train, n_boot=args.boot,
                              device=args.device, progress=progress, cancel=cancel,
                              with_caption=not args.no_caption_words, shrink_general=args.shrink_general)

    report, code = run_job(args, job, "learning", "stopped; any previous bundle is untouched")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        return 0
    print("\n".join(report_lines(report)))
    print(f"Wrote {report['bundle']} (report.json{', drivers.png' if report['drivers'] else ''} inside); "
          f"score with it: main.py score VIDEO --personal {report['bundle']}")
    return 0


def register(sub) -> None:
    """Add the `learn` command to an argparse subparsers object."""
    p = sub.add_parser("learn", help="learn a personal model from one creator's own posts",
                       description="Learn which of a creator's posts do better than their typical views at the time "
                                   "(ln(1 + views) minus the median of their previous k posts), measured honestly in "
                                   "time order against their rolling median, caption length and the general default "
                                   "model, and write an ONNX bundle to score drafts with.")
    src = p.add_argument_group("where the history comes from (one of)")
    src.add_argument("--dataset", metavar="D", help="a dataset (with --author when it holds several creators' posts)")
    src.add_argument("--posts", metavar="CSV", help="a posts CSV of the creator's posts")
    src.add_argument("--videos", metavar="DIR", help="a folder of the creator's videos (with --stats)")
    src.add_argument("--stats", metavar="CSV",
                     help="their stats: a posts CSV or a platform's analytics export (TikTok Studio's Content export, "
                          "Meta Business Suite's Instagram content export, YouTube Studio's Table data.csv); rows are "
                          "matched to files by a video_path column, the post id (or the link's id) in the file name, "
                          "or date and duration")
    src.add_argument("--user", metavar="@HANDLE", help="collect the account's posts with the collector's user source")
    p.add_argument("--author", metavar="ID", help="whose posts, when the source holds several authors")
    p.add_argument("--download", action="store_true", help="with --user: download the videos too (content cues)")
    p.add_argument("--count", type=int, default=200, help="with --user: most posts to collect (default 200)")
    p.add_argument("--collect-into", metavar="D", help="with --user: the dataset to collect into (default: beside --out)")
    p.add_argument("--out", required=True, metavar="BUNDLE_DIR", help="the bundle folder to write (replaced whole)")
    p.add_argument("--force", action="store_true",
                   help="let --out replace an existing folder that is not a model bundle (and all it holds)")
    p.add_argument("--name", help="the model's name in its manifest")
    p.add_argument("--k", type=int, default=10, help="typical views = median of this many previous posts (default 10)")
    p.add_argument("--min-train", type=int, default=20,
                   help="posts before the first one the time-ordered evaluation predicts (default 20)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--no-videos", action="store_true", help="do not measure the videos (metadata only)")
    p.add_argument("--no-default", action="store_true", help="leave the general default model out of the comparison")
    p.add_argument("--no-caption-words", action="store_true",
                   help="leave out the caption's MiniLM embedding (the caption traits stay)")
    p.add_argument("--shrink-general", action="store_true",
                   help="shrink toward the general default model (its prediction an input inside the bundle's ONNX "
                        "graph; on the shared creators it did not help on average)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="where content cues are measured")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_learn)
