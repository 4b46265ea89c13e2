"""Build the frozen application: export the backbones (full build), then run PyInstaller on the spec.

    python packaging/build.py                 scoring build  -> dist/virality-studio/
    python packaging/build.py --full          full build     -> dist/virality-studio-full/ (exports backbones first)
    python packaging/build.py --deb           and wrap the result in a .deb (Linux; packaging/linux/build_deb.py)

The backbones (EfficientNet-Lite0, all-MiniLM-L6-v2) are exported to ONNX from the weights shipped in their pip
packages by engine.models.export_backbones (torch: the training extra), into build/backbones/<name>/. Nothing
exported is committed. Everything written lies under build/ and dist/ (git-ignored).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "virality_studio.spec"
BACKBONES = ("efficientnet_lite0", "minilm")


def export_backbones(out: Path) -> dict[str, Path]:
    """Export the default backbones once (cached under build/backbones-cache) and lay them out as
    out/<name>/<name>.onnx (+ tokenizer.json for minilm), the layout the spec ships as resources/backbones."""
    sys.path.insert(0, str(REPO))
    from engine.models.export_backbones import ensure_backbones

    cache = REPO / "build" / "backbones-cache"
    exported = ensure_backbones(cache, names=BACKBONES, progress=lambda f, msg: print(f"  {msg}", flush=True))
    out.mkdir(parents=True, exist_ok=True)
    for name, onnx_path in exported.items():
        dest = out / name
        dest.mkdir(exist_ok=True)
        for f in onnx_path.parent.iterdir():
            if f.suffix in (".onnx", ".json"):
                shutil.copy2(f, dest / f.name)
    return {name: out / name / p.name for name, p in exported.items()}


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def strip_libpython(app: Path) -> None:
    """Strip the symbol table of libpython (pyenv's and actions/setup-python's keep it: 17 MB). Only libpython:
    wheels' libraries were patched by auditwheel and strip breaks them (see the spec)."""
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return
    for lib in (app / "_internal").glob("libpython3*.so*"):
        if lib.is_file() and not lib.is_symlink():
            subprocess.run(["strip", "--strip-unneeded", str(lib)], check=True)


def build(full: bool, clean: bool = False) -> Path:
    env = dict(os.environ, VS_BUILD="full" if full else "scoring")
    if full:
        t = time.perf_counter()
        print("exporting backbones to build/backbones ...", flush=True)
        export_backbones(REPO / "build" / "backbones")
        print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
    else:
        # The scoring build ships exported backbones only when asked (VS_BACKBONES_DIR); the default model
        # (an ensemble over the content cues and metadata) does not use them.
        env.setdefault("VS_BACKBONES_DIR", str(REPO / "build" / "no-backbones"))
    name = "virality-studio-full" if full else "virality-studio"
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(REPO / "dist"), "--workpath", str(REPO / "build" / "pyinstaller" / name), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    t = time.perf_counter()
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    out = REPO / "dist" / name
    strip_libpython(out)
    print(f"built {out} in {time.perf_counter() - t:.0f} s: {folder_size(out) / 1e6:.0f} MB unpacked", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the full build with training (torch, scikit-learn)")
    p.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    p.add_argument("--deb", action="store_true", help="then build the .deb from the result (Linux)")
    args = p.parse_args(argv)
    out = build(args.full, args.clean)
    if args.deb:
        sys.path.insert(0, str(REPO / "packaging" / "linux"))
        from build_deb import build_deb

        print(f"built {build_deb(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
