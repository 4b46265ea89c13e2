"""Subcommands. Heavy imports happen inside each command so `score` never loads training code."""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

def parse_count(text: str) -> float:
    """'12000', '12,000', '12k', '1.2M' -> a non-negative number (argparse type)."""
    from engine.data.posts_csv import parse_count as read_count

    try:
        value = read_count(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a count (examples: 12000, 12k, 1.2M)")
    return value


def parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time; use ISO 8601, e.g. 2026-12-01T18:30"
        ) from None


def _add_meta_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what you know before posting (all optional; more makes a better score)")
    g.add_argument("--caption", help="the caption, hashtags included ('day 3 of learning guitar #guitar')")
    g.add_argument("--hashtags", help="extra hashtags, comma-separated, without '#'")
    g.add_argument("--post-time", type=parse_time, help="planned post time, ISO 8601 (2026-12-01T18:30)")
    g.add_argument("--followers", type=parse_count, help="the account's followers (12000, 12k, 1.2M)")
    g.add_argument("--following", type=parse_count, help="accounts the account follows")
    g.add_argument("--likes", type=parse_count, help="the account's total likes received")
    g.add_argument("--videos", type=parse_count, help="videos the account has posted")
    g.add_argument("--sound", help="'original' for your own sound, or the title of the track used")
    g.add_argument("--language", help="caption language code (en, es, ...)")


ACTIVE_MODEL_HELP = (
    "a model bundle folder or .zip (default: the active model: the one made active on the window's Train page, "
    "or the built-in model when none is; `virality-studio --version` names it). If the active model cannot be "
    "loaded, the command stops with an error rather than score with another model: pass --model to choose one"
)


def _add_model_args(p: argparse.ArgumentParser, active: bool = True) -> None:
    """--model and --device. `active`: without --model, use the active model (score, batch); else the built-in one."""
    p.add_argument("--model", metavar="BUNDLE",
                   help=ACTIVE_MODEL_HELP if active else "a model bundle folder or .zip (default: the built-in model)")
    p.set_defaults(use_active_model=active)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where ONNX Runtime runs (default: CUDA when available, else CPU)")


def _meta_from_args(args):
    from engine.features.spec import PostMeta, sound_from_text

    hashtags = [h.strip().lstrip("#") for h in (args.hashtags or "").split(",") if h.strip()] or None
    music_title, music_original = sound_from_text(args.sound)
    return PostMeta(
        caption=args.caption,
        hashtags=hashtags,
        post_time=args.post_time,
        followers=args.followers,
        following=args.following,
        author_likes=args.likes,
        author_videos=args.videos,
        music_title=music_title,
        music_original=music_original,
        language=args.language,
    )


from cli.jobrun import Bar, fail as _fail, run_job


def _model_path(args) -> Path:
    """--model when given; else the active model (score, batch) or the built-in one. Worked out once per command:
    a note on stderr says when the model made active has gone and the built-in one is used instead."""
    if getattr(args, "model_path", None) is None:
        from engine.models.active import active_model, default_bundle_path

        if args.model:
            args.model_path, args.model_is_active = Path(args.model), False
        elif getattr(args, "use_active_model", False):
            active = active_model()
            if active.gone is not None:
                print(f"note: the model made active, {active.gone}, has gone; using the built-in model",
                      file=sys.stderr)
            args.model_path, args.model_is_active = active.path, not active.is_default
        else:
            args.model_path, args.model_is_active = default_bundle_path(), False
    return args.model_path


def _load_bundle(args):
    """Load the model the command uses (see _model_path). Raises BundleError; for an active model that cannot
    be loaded, the message says it is the active one and how to choose another."""
    from engine.errors import BundleError
    from engine.models.bundle import ModelBundle

    path = _model_path(args)
    try:
        return ModelBundle.load(path, device=args.device)
    except BundleError as exc:
        if not args.model_is_active:
            raise
        raise BundleError(f"the active model cannot be loaded ({exc}); pass --model BUNDLE to use another one, "
                          "or make another model active on the Train page") from None


# ----------------------------------------------------------------------------- score


def _fmt_num(v: Optional[float]) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def render_report(report) -> str:
    r = report
    lines = [
        f"{Path(r.path).name}",
        f"  Virality score   {r.score:.0f} / 100   (ranks above {r.score:.0f}% of the posts the model learned from)",
    ]
    if r.viral_probability is not None:
        odds = "under 1%" if r.viral_probability < 0.01 else f"about {100 * r.viral_probability:.0f}%"
        lines.append(f"  Top-quarter odds {odds}: that share of past posts with a prediction like this reached the top quarter")
    if r.views_low is not None and r.views_high is not None:
        lines.append(f"  Predicted views  {_fmt_num(r.views_low)} - {_fmt_num(r.views_high)}")
    else:
        lines.append("  Predicted views  not available for this model (see note)")
    lines.append(f"  Model            {r.model}  on {r.provider.replace('ExecutionProvider', '')}")
    lines.append("")
    lines.append("  Content cues")
    for c in r.cues.cues:
        if c.value is not None and c.unit == "ratio" and c.name != "aspect":
            value = f"{100 * c.value:.0f} %"  # shares of frames or of the duration
        else:
            value = "-" if c.value is None else f"{_fmt_num(c.value)} {c.unit}".strip()
        lines.append(f"    {c.name:<15}{value:<14}{c.text}")
        if c.advice:
            lines.append(f"    {'':<15}{'':<14}-> {c.advice}")
    if r.notes:
        lines.append("")
        lines.append("  Notes")
        for n in r.notes:
            lines.append(f"    - {n}")
    return "\n".join(lines)


def cmd_score(args) -> int:
    from engine.cues import start_loading
    from engine.scoring import score_video

    start_loading(args.device)  # the cue models load while the model bundle is read and the file opened

    report, code = run_job(args, lambda progress, cancel: score_video(
        args.video, _meta_from_args(args), bundle=_load_bundle(args), device=args.device,
        progress=progress, cancel=cancel), Path(args.video).name, "stopped")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=None if args.compact else 2))
    else:
        print(render_report(report))
    return 0


# ----------------------------------------------------------------------------- batch

CSV_FIELDS = ["rank", "path", "score", "views_low", "views_high", "viral_probability", "duration_s",
              "width", "height", "status", "reason"]


def _item_row(item, cue_names: list[str], rank_no: Optional[int]) -> dict:
    row = {"rank": rank_no or "", "path": item.path, "status": "scored" if item.ok else "skipped",
           "reason": item.error or ""}
    if item.ok:
        r = item.report
        row.update(score=f"{r.score:.1f}", views_low=r.views_low or "", views_high=r.views_high or "",
                   viral_probability="" if r.viral_probability is None else f"{r.viral_probability:.3f}",
                   duration_s=f"{r.info.duration_s:.2f}", width=r.info.width, height=r.info.height)
        for c in r.cues.cues:
            row[c.name] = "" if c.value is None else f"{c.value:.4g}"
    return row


def write_ranked_csv(path: Path, items, cue_names: list[str]) -> None:
    """Write atomically: a kill while writing leaves the previous file, never half of one."""
    from engine.scoring import rank

    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS + cue_names, extrasaction="ignore")
        w.writeheader()
        n = 0
        for item in rank(items):
            n += item.ok
            w.writerow(_item_row(item, cue_names, n if item.ok else None))
    os.replace(tmp, path)


def cmd_batch(args) -> int:
    from engine.errors import Cancelled, EngineError
    from engine.jobs import CancelToken
    from engine.scoring import rank, scan_folder, score_many

    token = CancelToken()
    try:
        scan = scan_folder(args.folder, recursive=args.recursive)
        bundle = _load_bundle(args)  # fail early on a bad model, before starting workers
    except EngineError as exc:
        return _fail(str(exc))
    if not scan.videos:
        hint = "" if args.recursive else " (add -r to look in subfolders)"
        return _fail(f"{args.folder}: no video files found among {scan.skipped_count:,} files{hint}")
    out = Path(args.out) if args.out else None
    partial = out.with_name(out.name + ".partial") if out else None
    items = []
    cue_names: list[str] = []
    bar = Bar(args, "scoring", total=len(scan.videos), unit="video")
    stopped = False
    pf = open(partial, "w", newline="", encoding="utf-8") if partial else None
    try:
        pw = csv.writer(pf) if pf else None
        if pw:
            pw.writerow(["path", "score", "status", "reason"])
        for item in score_many(scan.videos, _meta_from_args(args), bundle_path=_model_path(args),
                               device=args.device, workers=args.workers,
                               progress=bar,
                               cancel=token):
            items.append(item)
            if item.ok and not cue_names:
                cue_names = [c.name for c in item.report.cues.cues]
            if pw:  # keep finished work on disk as it comes, so a kill loses nothing scored
                pw.writerow([item.path, f"{item.report.score:.1f}" if item.ok else "",
                             "scored" if item.ok else "skipped", item.error or ""])
                pf.flush()
    except KeyboardInterrupt:
        token.cancel()
        stopped = True
    except Cancelled:
        stopped = True
    except EngineError as exc:
        bar.close()
        return _fail(str(exc))
    finally:
        bar.close()
        if pf:
            pf.close()
    if out:
        write_ranked_csv(out, items, cue_names)
        partial.unlink(missing_ok=True)
    ranked = rank(items)
    good = [i for i in ranked if i.ok]
    bad = [i for i in ranked if not i.ok]
    if args.json:
        print(json.dumps({
            "scored": [i.report.as_dict() | {"rank": n + 1} for n, i in enumerate(good)],
            "skipped": [{"path": i.path, "reason": i.error} for i in bad],
            "not_videos": scan.skipped_count, "stopped": stopped, "model": bundle.name,
        }, ensure_ascii=False, indent=2))
    else:
        print(f"Ranked {len(good)} of {len(scan.videos)} videos with {bundle.name}"
              f" on {bundle.provider.replace('ExecutionProvider', '')}"
              + (" (stopped early)" if stopped else ""))
        for n, i in enumerate(good[: args.top], 1):
            r = i.report
            print(f"  {n:>3}. {r.score:5.1f}  {_rel(i.path, args.folder)}")
        if len(good) > args.top:
            print(f"  ... {len(good) - args.top} more" + (f" in {out}" if out else ""))
        if bad:
            print(f"Skipped {len(bad)} file(s) that could not be scored:")
            for i in bad:
                reason = i.error or ""
                name = Path(i.path).name
                reason = reason[len(name) + 2:] if reason.startswith(name + ": ") else reason
                print(f"  - {_rel(i.path, args.folder)}: {reason}")
        if scan.skipped_count:
            print(f"Ignored {scan.skipped_count:,} file(s) that are not videos by name"
                  f" (e.g. {', '.join(p.name for p in scan.skipped_examples[:3])})")
        if out:
            print(f"Wrote {out}")
    if stopped:
        return 130
    return 0 if good else 1


def _rel(path: str, folder: str) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return path


# ----------------------------------------------------------------------------- data & models


def cmd_import_smp(args) -> int:
    from engine.data.smp import import_smp
    from engine.errors import EngineError

    try:
        stats = import_smp(args.smp_dir, args.out)
    except EngineError as exc:
        return _fail(str(exc))
    print(json.dumps(stats, indent=2, default=str) if args.json else
          "Wrote {out}: {rows} posts".format(out=args.out, rows=stats.get("rows", stats.get("n", "?"))))
    return 0


def cmd_train_default(args) -> int:
    from engine.models.bundle import default_bundle_path
    from engine.models.default import train_default

    report, code = run_job(args, lambda progress, cancel: train_default(
        args.smp_dir, args.out or default_bundle_path(), progress=progress, cancel=cancel),
        "training", "stopped; the previous model is untouched")
    if code is not None:
        return code
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_evaluate(args) -> int:
    from engine.errors import EngineError
    from engine.evaluate import evaluate

    try:
        bundle = _load_bundle(args)
        result = evaluate(args.posts, bundle)
    except EngineError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for k, v in result.items():
            print(f"{k:>16}: {v}")
    return 0


def register(sub) -> None:
    from cli import collect_cmd, dataset_cmd, train_cmd

    p = sub.add_parser("score", help="score one video", description="Score one video before posting.")
    p.add_argument("video", help="the video file")
    _add_meta_args(p)
    _add_model_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.add_argument("--compact", action="store_true", help="with --json: on one line")
    p.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("batch", help="score and rank every video in a folder",
                       description="Score every video in a folder and rank them. Files that cannot be scored are listed with the reason.")
    p.add_argument("folder")
    p.add_argument("-r", "--recursive", action="store_true", help="include subfolders")
    p.add_argument("--out", metavar="CSV", help="write the ranking to this CSV file")
    p.add_argument("--workers", type=int, default=None, help="parallel worker processes (default: one per core)")
    p.add_argument("--top", type=int, default=20, help="how many ranked videos to print (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_meta_args(p)
    _add_model_args(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("import-smp", help="convert SMP-Video JSONL files to a posts CSV")
    p.add_argument("smp_dir", help="an SMP-Video folder holding the *_train.jsonl (or *_test.jsonl) files")
    p.add_argument("out", help="the posts CSV to write")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_smp)

    p = sub.add_parser("train-default", help="rebuild the embedded default model from SMP-Video")
    p.add_argument("--smp-dir", default=str(Path(__file__).resolve().parent.parent.parent / "shared/data/smp-video"),
                   help="the SMP-Video folder (default: ../shared/data/smp-video)")
    p.add_argument("--out", help="bundle folder to write (default: resources/models/default)")
    p.add_argument("--progress", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_train_default)

    p = sub.add_parser("evaluate", help="score every row of a posts CSV and compare with its labels")
    p.add_argument("--posts", required=True, help="a posts CSV with views or popularity")
    p.add_argument("--json", action="store_true")
    _add_model_args(p, active=False)
    p.set_defaults(func=cmd_evaluate)

    dataset_cmd.register(sub)
    train_cmd.register(sub)
    collect_cmd.register(sub)
