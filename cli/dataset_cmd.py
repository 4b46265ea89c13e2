"""`dataset` subcommands: create, import, info, export a dataset (engine.data.store).

    python main.py dataset create PATH
    python main.py dataset import PATH FILE_OR_FOLDER [--format posts-csv|smp|tiktok-json|video-folder]
    python main.py dataset info PATH [--json]
    python main.py dataset export PATH out.csv
    python main.py dataset extract PATH [--backbone efficientnet_lite0] [--frames 16] [--device auto]
                                        [--workers N] [--executor ray [--address auto|ray://HOST:PORT]]

PATH is a dataset file; a bare name ("cooking") names one in the per-user data folder.
Errors print one line starting with "error: " on stderr and exit with 2.
"""
from __future__ import annotations

import json
import sys

FORMATS = ("posts-csv", "smp", "tiktok-json", "video-folder")  # engine.data.importers.FORMATS, without importing it
MAX_PROBLEMS_SHOWN = 20


from .jobrun import fail as _fail, run_job


def _path(text: str):
    from engine.data.store import resolve_dataset_path

    return resolve_dataset_path(text)


def cmd_create(args) -> int:
    from engine.data.store import Dataset
    from engine.errors import EngineError

    path = _path(args.path)
    try:
        Dataset.create(path).close()
    except EngineError as exc:
        return _fail(str(exc))
    print(f"Created dataset {path}")
    return 0


def cmd_import(args) -> int:
    from engine.data.store import Dataset

    def job(progress, cancel):
        with Dataset.open(_path(args.path)) as ds:
            return ds.import_path(args.source, format=args.format, progress=progress, cancel=cancel)

    result, code = run_job(args, job, "importing", "interrupted; the dataset is unchanged")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"Imported {args.source} ({result.format}): {result.summary()}")
    for note in result.notes:
        print(f"  note: {note}")
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  problem: {problem}")
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... and {len(result.problems) - MAX_PROBLEMS_SHOWN} more problems (see --json)")
    return 0


def cmd_info(args) -> int:
    from engine.data.store import Dataset
    from engine.errors import EngineError

    try:
        with Dataset.open(_path(args.path)) as ds:
            info = ds.info()
    except EngineError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"Dataset {info['path']} (schema v{info['schema_version']})")
    print(f"  posts      {info['posts']}  ({info['labelled_posts']} labelled, {info['posts_with_video']} with a video file)")
    print(f"  authors    {info['authors']}  ({info['author_readings']} readings of their counts)")
    print(f"  videos     {info['videos']}")
    print(f"  labels     {info['labels']} readings")
    print(f"  features   {info['features']} cached")
    splits = ", ".join(f"{k} ({v} posts)" for k, v in info["splits"].items()) or "none"
    print(f"  splits     {splits}")
    if info["first_post"]:
        print(f"  posted     {info['first_post']} to {info['last_post']}")
    if info["sources"]:
        print("  from       " + ", ".join(f"{k} ({v})" for k, v in info["sources"].items()))
    return 0


def cmd_export(args) -> int:
    from engine.data.store import Dataset
    from engine.errors import EngineError
    from engine.outputs import check_output

    try:
        check_output(args.out, "csv", inputs=[_path(args.path)], force=args.force)
        with Dataset.open(_path(args.path)) as ds:
            n = ds.export_csv(args.out, at_age_hours=args.at_age)
    except EngineError as exc:
        return _fail(str(exc))
    print(f"Wrote {n} posts to {args.out}")
    return 0


def cmd_extract(args) -> int:
    from engine.executors import workers_note
    from engine.extract import dataset_extract_job
    from engine.scoring import default_workers

    if args.workers is not None and args.workers < 1:
        return _fail(f"--workers must be at least 1 (got {args.workers})")
    if note := workers_note(args.executor, args.workers):
        print(f"note: {note}", file=sys.stderr)
    result, code = run_job(args, lambda progress, cancel: dataset_extract_job(
        _path(args.path), backbone=args.backbone, frames=args.frames, device=args.device,
        retry_failed=args.retry_failed, progress=progress, cancel=cancel, executor=args.executor,
        address=args.address, workers=args.workers or default_workers()),
        "extracting", "stopped; the videos finished so far stay cached (run it again to go on)")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 1 if result.unfinished else 0
    print(f"Extracted features of {args.path}: {result.summary()}")
    for path, reason in list(result.failed.items())[:MAX_PROBLEMS_SHOWN]:
        print(f"  unreadable: {reason}")
    for path in result.missing[:MAX_PROBLEMS_SHOWN]:
        print(f"  missing: {path} (not on disk now; run extract again once it is back)")
    for path, reason in list(result.unfinished.items())[:MAX_PROBLEMS_SHOWN]:
        print(f"  not done: {reason}")
    return 1 if result.unfinished else 0


def register(sub) -> None:
    """Add the `dataset` command group to an argparse subparsers object."""
    p = sub.add_parser("dataset", help="create, fill and inspect a dataset of posts",
                       description="Keep posts, labels, videos and cached features in one dataset file.")
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    path_help = "the dataset file (a bare name keeps it in the per-user data folder)"

    q = dsub.add_parser("create", help="make a new, empty dataset", description="Make a new, empty dataset file.")
    q.add_argument("path", metavar="PATH", help=path_help)
    q.set_defaults(func=cmd_create)

    q = dsub.add_parser("import", help="add posts from a file or folder",
                        description="Add posts from a posts CSV, an SMP-Video folder, TikTok item JSON, or a "
                                    "folder of videos (with a posts CSV in it). Duplicates merge; the whole "
                                    "import is one transaction.")
    q.add_argument("path", metavar="PATH", help=path_help)
    q.add_argument("source", metavar="FILE_OR_FOLDER", help="what to import")
    q.add_argument("--format", choices=FORMATS, help="the source's format (detected when not given)")
    q.add_argument("--json", action="store_true", help="print what the import did as JSON")
    q.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_import)

    q = dsub.add_parser("info", help="counts of posts, authors, videos and labels")
    q.add_argument("path", metavar="PATH", help=path_help)
    q.add_argument("--json", action="store_true", help="print the counts as JSON")
    q.set_defaults(func=cmd_info)

    q = dsub.add_parser("export", help="write every post as a posts CSV")
    q.add_argument("path", metavar="PATH", help=path_help)
    q.add_argument("out", metavar="OUT_CSV", help="the CSV file to write")
    q.add_argument("--force", action="store_true",
                   help="let OUT_CSV replace an existing file that is not a CSV (never the dataset itself)")
    q.add_argument("--at-age", type=float, metavar="HOURS",
                   help="labels: the reading closest to this many hours after posting (default: the latest)")
    q.set_defaults(func=cmd_export)

    q = dsub.add_parser("extract", help="compute and cache the features of every video and caption",
                        description="Measure the content cues, embed sampled frames with the frame backbone, "
                                    "summarise the sound and embed the captions, caching everything in the "
                                    "dataset by file hash, feature spec version and backbone. Resumable: run it "
                                    "again after a stop and it does only what is missing.")
    q.add_argument("path", metavar="PATH", help=path_help)
    q.add_argument("--backbone", default="efficientnet_lite0", choices=("efficientnet_lite0", "resnet50"),
                   help="frame backbone (default efficientnet_lite0; resnet50 needs its weights on this machine)")
    q.add_argument("--frames", type=int, default=16, help="frames sampled per video (default 16)")
    q.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where ONNX Runtime runs")
    q.add_argument("--retry-failed", action="store_true", help="try again the videos recorded as unreadable")
    q.add_argument("--workers", type=int, default=None,
                   help="parallel worker processes on this machine (default: one per core; on a GPU they share one "
                        "inference process); not used with --executor ray, which runs one video per cluster CPU")
    from .commands import add_executor_args

    add_executor_args(q)
    q.add_argument("--json", action="store_true", help="print what was done as JSON")
    q.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_extract)
