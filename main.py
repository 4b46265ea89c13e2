"""Virality Studio: no arguments opens the window; subcommands run headless.

    python main.py                       open the window
    python main.py score clip.mp4 ...    score one video
    python main.py batch FOLDER ...      score and rank a folder of videos
    python main.py clip.mp4              open the window on a video (as "Open with" does)
    python main.py --version             the version and the active model (the one score and batch use)
    python main.py --help                everything else

Each subcommand imports only what it needs: scoring never loads torch or scikit-learn.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn


WINDOW_HELP = """\
the window:
  virality-studio                      open the window
  virality-studio clip.mp4 [FOLDER]    a bare path (no COMMAND) opens the window on that video or folder

training, feature extraction and collection need an extra: pip install 'virality-studio[train]' (train,
train-default, dataset extract, learn) or 'virality-studio[collect]' (collect, refresh, learn --user)"""


def version_text() -> str:
    """'Virality Studio <version>', then the active model (name, built in or not, family, version and date,
    path). Reads the bundle's manifest only: no numpy, ONNX Runtime, Qt, torch or scikit-learn."""
    from engine import __version__
    from engine.models.active import describe_active_model

    return "\n".join([f"Virality Studio {__version__}", *describe_active_model()])


class _VersionAction(argparse.Action):
    """argparse's own version action reflows its text into one paragraph; this one prints the lines as they are."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text(), flush=True)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from cli import commands

    parser = argparse.ArgumentParser(
        prog="virality-studio",
        description="Score short videos for their chance to go viral, before posting.",
        epilog=WINDOW_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="show the program's version and the active model (the one score and batch use), then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.register(sub)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def opens_window(argv: list[str], parser: argparse.ArgumentParser | None = None) -> bool:
    """True when every argument is an existing file or folder and the first is not a subcommand:
    `virality-studio clip.mp4`, or a file manager's "Open with", opens the window on them."""
    if not argv or argv[0].startswith("-") or not all(os.path.exists(a) for a in argv):
        return False
    return argv[0] not in _subcommands(parser or build_parser())


#: Commands after which the process may end at once (os._exit) once its output is out: they write nothing but
#: stdout and stderr and start no worker, and the interpreter's teardown (ONNX Runtime's sessions, the decoders,
#: every module) is about a quarter of a cold `score`'s start-up cost (benchmarks/bench_startup.py).
QUICK_EXIT = ("score",)
_command: str | None = None  # the subcommand main() ran


#: The exit status after stdout was closed by its reader (`score CLIP | head -1`): 128 + SIGPIPE, what the shell
#: reports for any program the closed pipe stopped (`yes | head` gives 141), so a `set -o pipefail` script treats a
#: cut-off output alike from every program, and it is not mistaken for a complete one (0) or an error (1, 2).
STDOUT_CLOSED = 141


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        if not stdout_closed():  # another pipe (a worker's): not the reader going away
            raise
        return quiet_stdout()


def stdout_closed() -> bool:
    """True when stdout is a pipe whose reader has gone (poll says so: POLLERR on Linux, POLLHUP on the BSDs and
    macOS; where poll cannot tell, assumed)."""
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout is not a file
        return True
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def quiet_stdout() -> int:
    """Point stdout at the null device, so that what is still buffered (and the interpreter's flush at exit) goes
    nowhere instead of ending in a second BrokenPipeError; returns STDOUT_CLOSED."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        sys.stdout = open(os.devnull, "w")
    return STDOUT_CLOSED


def _main(argv: list[str] | None) -> int:
    global _command
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from gui.app import run_app

        return run_app()
    parser = build_parser()
    if opens_window(argv, parser):
        from gui.app import run_app

        return run_app([sys.argv[0], *argv])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _command = args.command
    return run_command(args)


def finish(status: int) -> NoReturn:
    """Exit with `status` once main() has returned: at once after a QUICK_EXIT command (exit_now), else as usual.
    Every entry point ends this way: `python main.py`, the `virality-studio` script (run), the frozen launcher.
    Output still buffered for a stdout whose reader has gone is dropped, and the status is STDOUT_CLOSED."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        status = quiet_stdout()
    except (OSError, ValueError):
        pass
    if _command in QUICK_EXIT:
        exit_now(status)
    sys.exit(status)


def run() -> NoReturn:
    """The `virality-studio` console script."""
    finish(main())


def exit_now(code: int) -> None:
    """End the process with `code` without the interpreter's teardown, once stdout and stderr are flushed and
    the threads that are not daemons (the cue models' loader, which may be writing an optimised copy) are done.
    Returns only when the output cannot be flushed (a closed pipe), for the usual exit to report it."""
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; a command whose extra (train, collect) is not installed stops with one line
    saying which, before any work or when the missing module is first imported (cli/extras.py)."""
    from cli import extras
    from cli.jobrun import fail

    missing = extras.missing_line(args)
    if missing:
        return fail(missing)
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        line = extras.explain(args, exc)
        if line is None:
            raise
        return fail(line)


if __name__ == "__main__":
    if getattr(sys, "frozen", False):  # batch's worker processes, in a frozen build (a no-op elsewhere)
        import multiprocessing

        multiprocessing.freeze_support()
    finish(main())
