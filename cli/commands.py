"""Subcommands. Heavy imports happen inside each command so `score` never loads training code."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

def parse_count(text: str) -> float:
    """'12000', '12,000', '12k', '1.2M' -> a non-negative number (argparse type; engine.fields.read_count)."""
    from engine.errors import InputError
    from engine.fields import read_count

    try:
        value = read_count(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value is None:
        raise argparse.ArgumentTypeError("an empty count (examples: 12000, 12k, 1.2M)")
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
    if active:
        p.add_argument("--personal", metavar="BUNDLE",
                       help="a personal model (made by `learn` or the window's My posts page) whose reading goes "
                            "beside the general score: where the video ranks among the creator's own posts and "
                            "which of its inputs push it up or down (default: the personal model made active, if "
                            "any). A personal model given to --model is taken as this, with a note")
        p.add_argument("--no-personal", action="store_true", help="leave the active personal model out")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where ONNX Runtime runs (default: CUDA when available, else CPU)")


def _meta_from_args(args):
    from engine.fields import meta_from_fields

    return meta_from_fields(caption=args.caption, hashtags=args.hashtags, post_time=args.post_time,
                            followers=args.followers, following=args.following, likes=args.likes,
                            videos=args.videos, sound=args.sound, language=args.language)


from cli.jobrun import Bar, fail as _fail, run_job


def _model_path(args) -> Path:
    """--model when given; else the active model (score, batch) or the built-in one. Worked out once per command:
    a note on stderr says when the model made active has gone and the built-in one is used instead."""
    if getattr(args, "model_path", None) is None:
        from engine.models.active import active_model, default_bundle_path, is_personal_bundle

        if args.model and hasattr(args, "personal") and is_personal_bundle(args.model):  # score, batch
            if not args.personal:  # --model names the general model: a personal one goes beside it
                args.personal = args.model
            print(f"note: {args.model} is a personal model: its reading goes beside the general score (say "
                  "--personal BUNDLE; --model names the general model)", file=sys.stderr)
            args.model = None
        if args.model:
            args.model_path, args.model_is_active = Path(args.model), False
        elif getattr(args, "use_active_model", False):
            active = active_model()
            if active.moved is not None:
                from engine.models.active import moved_note

                print(f"note: {moved_note(active.moved)}", file=sys.stderr)
            if active.gone is not None:
                print(f"note: the model made active, {active.gone}, has gone; using the built-in model",
                      file=sys.stderr)
            args.model_path, args.model_is_active = active.path, not active.is_default
        else:
            args.model_path, args.model_is_active = default_bundle_path(), False
    return args.model_path


def _personal_path(args) -> Optional[Path]:
    """The personal model whose reading goes beside the score: --personal, else (without --no-personal) the one
    made active. Worked out once per command, after _model_path (which takes a personal --model as --personal)."""
    _model_path(args)
    if not hasattr(args, "personal_path"):
        from engine.models.active import active_personal

        args.personal_path = None
        if getattr(args, "personal", None):
            args.personal_path = Path(args.personal)
        elif getattr(args, "use_active_model", False) and not getattr(args, "no_personal", False):
            chosen = active_personal()
            if chosen.gone is not None:
                print(f"note: the personal model made active, {chosen.gone}, has gone; scoring without it",
                      file=sys.stderr)
            args.personal_path = chosen.path
    return args.personal_path


def _load_personal(args):
    """The personal bundle (see _personal_path) loaded, or None. Raises BundleError saying what is wrong."""
    from engine.errors import BundleError
    from engine.models.active import is_personal_bundle
    from engine.models.bundle import ModelBundle

    path = _personal_path(args)
    if path is None:
        return None
    bundle = ModelBundle.load(path, device=args.device)
    if not is_personal_bundle(path):
        raise BundleError(f"{path}: not a personal model (family {bundle.family}); make one with `learn` or the "
                          "window's My posts page, or pass it to --model")
    return bundle


def load_bundle(args):
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
    from engine.fields import fmt_number

    return fmt_number(v, none="-")


def render_report(report) -> str:
    r = report
    lines = [
        f"{Path(r.path).name}",
        f"  Virality score   {r.score:.0f} / 100   (ranks above {r.score:.0f}% of the posts the model learned from)",
    ]
    own = getattr(r, "personal", None)
    if own and own.get("model") is None and not own.get("reliable"):  # scored by a chance-level personal model
        lines[1] = f"  Virality score   {r.score:.0f} / 100   (not a prediction: see 'Your own posts')"
    if r.not_meaningful:
        lines.append(f"  NOT MEANINGFUL   {'; '.join(r.not_meaningful)}")
    if own:
        from engine.personal.scoring import driver_lines

        lines.append(f"  Your own posts   {own['line']}")
        for side, text in driver_lines(own):
            lines.append(f"    {'pushes it ' + side:<16}{text}")
    if r.viral_probability is not None:
        odds = "under 1%" if r.viral_probability < 0.01 else f"about {100 * r.viral_probability:.0f}%"
        lines.append(f"  Top-quarter odds {odds}: that share of past posts with a prediction like this reached the top quarter")
    if r.views_low is not None and r.views_high is not None:
        lines.append(f"  Predicted views  {_fmt_num(r.views_low)} - {_fmt_num(r.views_high)}")
    else:
        lines.append("  Predicted views  not available for this model (see note)")
    lines.append(f"  Model            {r.model}  on {r.provider.replace('ExecutionProvider', '')}")
    lines += _why_lines(r)
    lines.append("")
    lines.append("  Content cues")
    advice = {a["cue"]: a for a in getattr(r, "advice", [])}
    for c in r.cues.cues:
        value = "-" if c.value is None else f"{_fmt_num(c.shown_value)} {c.shown_unit}".strip()  # a share in %
        lines.append(f"    {c.name:<15}{value:<14}{c.text}")
        if c.advice:
            lines.append(f"    {'':<15}{'':<14}-> {c.advice}")
            if c.name in advice:
                lines.append(f"    {'':<15}{'':<14}   ({advice[c.name]['note']})")
    if r.notes:
        lines.append("")
        lines.append("  Notes")
        for n in r.notes:
            lines.append(f"    - {n}")
    return "\n".join(lines)


def _why_lines(r) -> list[str]:
    """The report's "Why this score" part: points per input group against the typical post, and what was
    assumed for the inputs not given."""
    lines = []
    if r.contributions and r.typical_score is not None:
        lines += ["", f"  Why this score   points each input moved it against the typical post the model learned "
                      f"from (which scores {r.typical_score:.0f})"]
        for c in r.contributions:
            lines.append(f"    {c.label:<15}{c.points:+6.1f}        {c.detail}")
        if getattr(r, "summary", ""):
            lines.append(f"    {r.summary}")
    if r.assumed:
        lines += ["", "  Assumed for what you did not give"]
        lines += [f"    - {a}" for a in r.assumed]
    return lines


def cmd_score(args) -> int:
    from engine.executors import one_blas_thread

    one_blas_thread()  # before numpy loads
    from engine.cues import start_loading
    from engine.outputs import printable, printable_tree
    from engine.scoring import score_video

    start_loading(args.device)  # the cue models load while the model bundle is read and the file opened

    report, code = run_job(args, lambda progress, cancel: score_video(
        args.video, _meta_from_args(args), bundle=load_bundle(args), device=args.device,
        progress=progress, cancel=cancel, personal=_load_personal(args)), Path(args.video).name, "stopped")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(printable_tree(report.as_dict()), ensure_ascii=False, indent=None if args.compact else 2))
    else:
        print(printable(render_report(report)))
    return 0


# ----------------------------------------------------------------------------- batch


def _record(item) -> dict:
    """What batch keeps of one finished file (and journals, to resume): its CSV row without the rank, its report
    as JSON, the file's size and time when scored."""
    from engine.journal import file_key
    from engine.scoring import ranking_cells

    rec = {"path": item.path, "key": file_key(item.path), "score": None, "error": item.error, "cues": [],
           "report": None, "row": {"path": item.path, "status": "scored" if item.ok else "skipped",
                                   "reason": item.error or ""}}
    if item.ok:
        r = item.report
        rec.update(score=r.score, report=r.as_dict(), cues=[c.name for c in r.cues.cues])
        rec["row"].update(ranking_cells(r))
    return rec


def _rank_records(records: list[dict]) -> list[dict]:
    """Scored files by score, best first (those whose score is not meaningful after the rest), then the others by
    name (as engine.scoring.rank)."""
    good = sorted((r for r in records if r["score"] is not None),
                  key=lambda r: (not (r["report"] or {}).get("meaningful", True), -r["score"], r["path"]))
    return good + sorted((r for r in records if r["score"] is None), key=lambda r: r["path"])


def write_ranked_csv(path: Path, records: list[dict], cue_names: list[str]) -> None:
    """Write atomically, spreadsheet-safe: a kill while writing leaves the previous file, never half of one."""
    from engine.outputs import atomic_file, safe_row
    from engine.scoring import ranking_fields

    with atomic_file(path) as fh:
        w = csv.DictWriter(fh, fieldnames=ranking_fields(cue_names), extrasaction="ignore")
        w.writeheader()
        n = 0
        for rec in _rank_records(records):
            n += rec["score"] is not None
            w.writerow(safe_row(rec["row"] | {"rank": n if rec["score"] is not None else ""}))


def _run_key(model_path, meta, personal_path=None) -> str:
    """The models and the post details a batch scores with: a journal made with others is not reused."""
    import hashlib
    from dataclasses import asdict

    from engine.journal import bundle_key

    key = {"model": bundle_key(model_path), "meta": asdict(meta)}
    if personal_path is not None:
        key["personal"] = bundle_key(personal_path)
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def add_executor_args(p) -> None:
    """--executor and --address (batch, dataset extract)."""
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: worker processes on this machine (default); ray: the CPUs of a Ray cluster (the "
                        "'cluster' extra), each node reading the files from the same path")
    p.add_argument("--address", metavar="auto|ray://HOST:PORT",
                   help="with --executor ray: the cluster to use (auto: the one `ray start` runs on this machine; "
                        "default: start one here)")


def cmd_batch(args) -> int:
    from engine.errors import Cancelled, EngineError
    from engine.executors import check_executor, workers_note
    from engine.jobs import CancelToken
    from engine.journal import BatchJournal
    from engine.outputs import check_output, printable, printable_tree
    from engine.scoring import BatchItem, scan_folder, score_many

    token = CancelToken()
    journal = None
    try:
        scan = scan_folder(args.folder, recursive=args.recursive)
        out = (check_output(args.out, "csv", inputs=scan.videos, force=args.force, what="--out")
               if args.out else None)  # before any work: a bad --out never fails at the end
        bundle = load_bundle(args)  # fail early on a bad model, before starting workers
        personal = _load_personal(args)
        check_executor(args.executor, args.address)  # and on --executor ray without Ray
        if note := workers_note(args.executor, args.workers):
            print(f"note: {note}", file=sys.stderr)
        meta = _meta_from_args(args)
        if out and (scan.videos or scan.refused):
            journal = BatchJournal(out, _run_key(_model_path(args), meta, _personal_path(args)))
    except EngineError as exc:
        return _fail(str(exc))
    if not scan.videos and not scan.refused:
        hint = "" if args.recursive else " (add -r to look in subfolders)"
        return _fail(f"{args.folder}: no video files found among {scan.skipped_count:,} files{hint}")
    records = [_record(BatchItem(str(p), error=reason)) for p, reason in scan.refused]
    todo = []
    for v in scan.videos:
        rec = journal.reusable(v) if journal else None
        if rec is not None and rec["score"] is not None:
            records.append(rec)
        else:
            todo.append(v)
    reused = len(scan.videos) - len(todo)
    if journal and journal.discarded:
        print(f"note: {printable(journal.path.name)} held {journal.discarded} file(s) scored with another model or "
              "other post details; scoring again", file=sys.stderr)
    if reused:
        print(f"Resuming from {printable(journal.path.name)}: {reused} of {len(scan.videos)} videos were "
              f"scored already with this model; scoring the other {len(todo)}", file=sys.stderr)
    bar = Bar(args, "scoring", total=len(todo), unit="video")
    stopped = False
    try:
        for item in (score_many(todo, meta, bundle_path=_model_path(args), device=args.device,
                                workers=args.workers, progress=bar, cancel=token, executor=args.executor,
                                address=args.address, personal_path=_personal_path(args)) if todo else ()):
            rec = _record(item)
            records.append(rec)
            if journal:  # keep finished work on disk as it comes, so a kill loses nothing scored
                journal.add(rec)
    except KeyboardInterrupt:
        token.cancel()
        stopped = True
    except Cancelled:
        stopped = True
    except EngineError as exc:
        bar.close()
        if journal:
            journal.close(remove=False)
        return _fail(str(exc))
    finally:
        bar.close()
    cue_names = next((r["cues"] for r in records if r["cues"]), [])
    if out:
        try:
            write_ranked_csv(out, records, cue_names)
        except OSError as exc:
            journal.close(remove=False)
            return _fail(f"{printable(str(out))}: cannot be written ({exc.strerror or exc}); what was scored is "
                         f"kept in {printable(journal.path.name)} for the next run")
        journal.close(remove=not stopped)  # after a stop, the next run goes on from the journal
    ranked = _rank_records(records)
    good = [r for r in ranked if r["score"] is not None]
    bad = [r for r in ranked if r["score"] is None]
    if args.json:
        print(json.dumps(printable_tree({
            "scored": [r["report"] | {"rank": n + 1} for n, r in enumerate(good)],
            "skipped": [{"path": r["path"], "reason": r["error"]} for r in bad],
            "not_videos": scan.skipped_count, "stopped": stopped, "model": bundle.name, "reused": reused,
            "personal_model": None if personal is None else personal.name,
        }), ensure_ascii=False, indent=2))
        return 130 if stopped else 0 if good else 1
    lines = [f"Ranked {len(good)} of {len(scan.videos) + len(scan.refused)} videos with {bundle.name}"
             f" on {bundle.provider.replace('ExecutionProvider', '')}" + (" (stopped early)" if stopped else "")
             + (f" ({reused} reused from the interrupted run)" if reused else "")]
    if personal is not None:
        creator = (personal.manifest.get("personal") or {}).get("creator") or personal.name
        lines.append(f"  (own: where each ranks among the posts of {creator}, by {personal.name})")
    for n, r in enumerate(good[: args.top], 1):
        own = (r["report"] or {}).get("personal")
        own = (f"  own {own['percentile']:5.1f}" + ("" if own.get("reliable") else " (not a prediction)")) if own else ""
        lines.append(f"  {n:>3}. {r['score']:5.1f}{own}  {_rel(r['path'], args.folder)}")
    if len(good) > args.top:
        lines.append(f"  ... {len(good) - args.top} more" + (f" in {out}" if out else ""))
    if bad:
        lines.append(f"Skipped {len(bad)} file(s) that could not be scored:")
        for r in bad:
            reason = r["error"] or ""
            name = Path(r["path"]).name
            reason = reason[len(name) + 2:] if reason.startswith(name + ": ") else reason
            lines.append(f"  - {_rel(r['path'], args.folder)}: {reason}")
    if scan.skipped_count:
        lines.append(f"Ignored {scan.skipped_count:,} file(s) that are not videos by name"
                     f" (e.g. {', '.join(p.name for p in scan.skipped_examples[:3])})")
    if out:
        lines.append(f"Wrote {out}" + (f" (stopped: run the same command again to go on; "
                                       f"{journal.path.name} keeps what was scored)" if stopped else ""))
    print(printable("\n".join(lines)))
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
    from engine.outputs import check_output

    try:
        inputs = [p for p in Path(args.smp_dir).rglob("*.json*")] if Path(args.smp_dir).is_dir() else []
        check_output(args.out, "csv", inputs=inputs, force=args.force)
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
        bundle = load_bundle(args)
        result = evaluate(args.posts, bundle)
    except EngineError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(evaluation_table(result))
    if not result["n"]:
        return _fail(f"nothing to evaluate: {result.get('reason') or 'no row could be scored'}", 1)
    return 0


def evaluation_table(r: dict) -> str:
    """evaluate's result as a person reads it: the model against the followers-only baseline, then what was left
    out and why."""
    def num(v, places=3):
        return "-" if v is None else f"{v:.{places}f}"

    lines = [f"{r['model']} on {r['n']:,} posts (label: {r['label']['csv']})", "",
             f"  {'':<22}{'Spearman':>9}{'AUC top 25%':>13}{'MAE':>8}",
             f"  {'model':<22}{num(r['spearman']):>9}{num(r['auc_top25']):>13}{num(r['mae_log_views']):>8}"]
    base = r.get("baseline_followers")
    if base:
        lines.append(f"  {'followers only':<22}{num(base['spearman']):>9}{num(base['auc_top25']):>13}{'':>8}"
                     f"   ({base['n']:,} posts with a follower count; the model on them: "
                     f"{num(base['model_spearman_same_rows'])} / {num(base['model_auc_top25_same_rows'])})")
    left_out = [f"{v:,} {k.replace('_', ' ')}" for k, v in r["skipped"].items() if v and k != "label_unreadable"]
    if left_out:
        lines += ["", "  left out: " + ", ".join(left_out)]
    if r.get("problems"):
        lines.append(f"  {r['problems']:,} problems reading the CSV, e.g. {r['problem_examples'][0]}")
    for note in (r.get("note"), r.get("in_sample")):
        if note:
            lines.append(f"  note: {note}")
    return "\n".join(lines)


def register(sub) -> None:
    from cli import clips_cmd, collect_cmd, dataset_cmd, learn_cmd, train_cmd

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
    p.add_argument("--out", metavar="CSV",
                   help="write the ranking to this CSV file (a stopped or killed run goes on from where it was "
                        "when run again: CSV.partial keeps what was scored)")
    p.add_argument("--force", action="store_true",
                   help="let --out replace an existing file that is not a CSV (never an input of this run)")
    p.add_argument("--workers", type=int, default=None, help="parallel worker processes on this machine (default: one per core); not used "
                        "with --executor ray, which runs one video per cluster CPU")
    add_executor_args(p)
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
    p.add_argument("--force", action="store_true", help="let OUT replace an existing file that is not a CSV")
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
    learn_cmd.register(sub)
    clips_cmd.register(sub)
