"""`train`: train a model family on a dataset and write its bundle (engine.training.train_model).

    python main.py train --dataset D --model ensemble|multimodal|video
                         [--features account,caption,time,sound,format,content,frames,audio]
                         [--content-only] --out BUNDLE_DIR

Errors print one line starting with "error: " on stderr and exit with 2; a stop (Ctrl+C) exits with 130 and
leaves any previous bundle at BUNDLE_DIR as it was.
"""
from __future__ import annotations

import json

GROUPS = ("account", "caption", "time", "sound", "format", "content", "frames", "audio")


from .jobrun import fail as _fail, run_job


def cmd_train(args) -> int:
    from engine.data.store import resolve_dataset_path
    from engine.errors import EngineError
    from engine.outputs import check_output
    from engine.training import parse_features, train_model

    neural, ensemble = {}, {}
    if args.max_epochs:
        neural["max_epochs"] = args.max_epochs
    if args.folds:
        neural["folds"] = ensemble["folds"] = args.folds
    path = resolve_dataset_path(args.dataset)
    if not path.exists():
        return _fail(f"{path}: no such dataset; make one with 'dataset create' and 'dataset import'")
    try:  # before training: --out is replaced whole at the end, so it must be a bundle or a new folder
        check_output(args.out, "bundle", inputs=[path], force=args.force, what="--out")
    except EngineError as exc:
        return _fail(str(exc))
    report, code = run_job(args, lambda progress, cancel: train_model(
        path, args.model, args.out, features=parse_features(args.features),
        content_only=args.content_only, backbone=args.backbone, frames=args.frames,
        name=args.name, ensemble_config=ensemble, neural_config=neural, seed=args.seed,
        device=args.device, progress=progress, cancel=cancel),
        "training", "stopped; the dataset and any previous bundle are untouched")
    if code is not None:
        return code
    if args.json:
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        return 0
    s = report["summary"]
    print(f"Trained {report['family']} on {report['n_posts']} posts ({report['n_authors']} authors), "
          f"features: {', '.join(report['features'])}")
    for note in report["notes"]:
        print(f"  note: {note}")
    what = "grouped by author" if s["scheme"] == "grouped" else "time blocks (one author)"
    print(f"  held out ({what}):  Spearman {s.get('cv_model_spearman')}  MAE {s.get('cv_model_mae')}  "
          f"AUC top 25% {s.get('cv_model_auc_top25')}")
    print(f"    followers only:  Spearman {s.get('cv_followers_only_spearman')}  MAE {s.get('cv_followers_only_mae')}"
          f"  AUC top 25% {s.get('cv_followers_only_auc_top25')};  mean predictor MAE {s.get('cv_mean_mae')}")
    if "time_split_model_spearman" in s:
        print(f"  latest 20% by time:  Spearman {s['time_split_model_spearman']}  MAE {s['time_split_model_mae']}  "
              f"AUC top 25% {s['time_split_model_auc_top25']}")
    print(f"Wrote {report['bundle']} (report.json, learning_curve.png, predicted_vs_actual.png inside)")
    return 0


def register(sub) -> None:
    """Add the `train` command to an argparse subparsers object."""
    p = sub.add_parser("train", help="train a model on a dataset and write a bundle",
                       description="Train the ensemble, the multimodal network or the video transformer on a "
                                   "dataset, measure it on held-out posts (folds grouped by author, and the latest "
                                   "posts by time), and write an ONNX bundle with a report and plots.")
    p.add_argument("--dataset", required=True, metavar="D",
                   help="the dataset file (a bare name is one in the per-user data folder)")
    p.add_argument("--model", required=True, choices=("ensemble", "multimodal", "video"), help="the model family")
    p.add_argument("--features", metavar="GROUPS",
                   help=f"comma-separated feature groups from {','.join(GROUPS)} (default: all the dataset has)")
    p.add_argument("--content-only", action="store_true",
                   help="only what the video file carries: content cues, frames, audio (no account, no caption)")
    p.add_argument("--out", required=True, metavar="BUNDLE_DIR", help="the bundle folder to write (replaced whole)")
    p.add_argument("--force", action="store_true",
                   help="let --out replace an existing folder that is not a model bundle (and all it holds)")
    p.add_argument("--name", help="the model's name in its manifest")
    p.add_argument("--backbone", default="efficientnet_lite0", help="frame backbone the features were extracted with")
    p.add_argument("--frames", type=int, default=16, help="frames per video the features were extracted with")
    p.add_argument("--folds", type=int, default=None, help="folds for the held-out measures (default 5)")
    p.add_argument("--max-epochs", type=int, default=None, help="multimodal/video: most epochs (default 150)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where ONNX Runtime runs backbones for captions not cached")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
