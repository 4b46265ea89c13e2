"""Virality Studio: no arguments opens the window; subcommands run headless.

    python main.py                       open the window
    python main.py score clip.mp4 ...    score one video
    python main.py batch FOLDER ...      score and rank a folder of videos
    python main.py clip.mp4              open the window on a video (as "Open with" does)
    python main.py --help                everything else

Each subcommand imports only what it needs: scoring never loads torch or scikit-learn.
"""
from __future__ import annotations

import argparse
import os
import sys


def _version() -> str:
    from engine import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    from cli import commands

    parser = argparse.ArgumentParser(
        prog="virality-studio",
        description="Score short videos for their chance to go viral, before posting.",
    )
    parser.add_argument("--version", action="version", version=f"Virality Studio {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.register(sub)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from gui.app import run_app

        return run_app()
    parser = build_parser()
    if not argv[0].startswith("-") and argv[0] not in _subcommands(parser) and all(os.path.exists(a) for a in argv):
        # `virality-studio clip.mp4`, or a file manager's "Open with": the window, scoring what was given
        from gui.app import run_app

        return run_app([sys.argv[0], *argv])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # batch's worker processes, in a frozen build
    sys.exit(main())
