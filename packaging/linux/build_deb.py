"""Wrap the frozen one-folder application in a Debian package, with dpkg-deb alone (no debhelper).

    python packaging/linux/build_deb.py [dist/virality-studio] [--out dist]

Layout of the package:
    /opt/virality-studio/                         the PyInstaller folder, unchanged
    /usr/bin/virality-studio                      symlink to ../../opt/virality-studio/virality-studio
    /usr/share/applications/virality-studio.desktop   "Open with Virality Studio" for mp4, mov, mkv, webm
    /usr/share/icons/hicolor/{512x512,scalable}/apps/virality-studio.{png,svg}
    /usr/share/doc/virality-studio/copyright

The desktop and icon caches are refreshed by the triggers of desktop-file-utils and the icon theme, so the
package needs no maintainer scripts. Depends lists what the bundle leaves to the system (the GL/EGL, xcb and
Wayland client libraries Qt loads, fontconfig's configuration and fonts, the XKB keyboard data) and the glibc
found by reading the highest GLIBC_ symbol version the bundled ELF files import.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = "virality-studio"
INSTALL_DIR = f"/opt/{PACKAGE}"
# Libraries PyInstaller leaves to the system (its exclude list) that Qt's platform plugins link, plus data files.
DEPENDS = ["libgl1", "libegl1", "libxcb1", "libwayland-client0", "libwayland-cursor0", "libwayland-egl1",
           "fontconfig", "xkb-data"]
DESCRIPTION = """\
Score short videos for their chance to go viral, before posting
 Drop a video (or a folder) on the window and get a 0-100 score, the predicted
 view range and the content cues behind it (hook motion, cuts, faces, on-screen
 text, loudness, speech). Scoring runs locally with ONNX Runtime.
 .
 The same program scores from the command line: virality-studio score clip.mp4"""


def _version() -> str:
    text = (REPO / "engine" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def required_glibc(app: Path) -> str | None:
    """The highest GLIBC_x.y symbol version imported by any ELF file in the folder (objdump -T)."""
    if shutil.which("objdump") is None:
        return None
    files = [p for p in app.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    best = (0, 0)
    for i in range(0, len(files), 200):
        out = subprocess.run(["objdump", "-T", *map(str, files[i:i + 200])], capture_output=True, text=True).stdout
        for major, minor in re.findall(r"GLIBC_(\d+)\.(\d+)", out):
            best = max(best, (int(major), int(minor)))
    return f"{best[0]}.{best[1]}" if best != (0, 0) else None


def _architecture() -> str:
    if shutil.which("dpkg"):
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def _tree_size_kib(root: Path) -> int:
    return sum(-(-p.lstat().st_size // 1024) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def stage(app: Path, root: Path) -> Path:
    """Lay the package's files out under root (emptied first)."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / INSTALL_DIR.lstrip("/")
    shutil.copytree(app, opt, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    # relative, so the command also works in a tree unpacked elsewhere with dpkg -x (the tests do that)
    os.symlink(f"../..{INSTALL_DIR}/{PACKAGE}", root / "usr/bin" / PACKAGE)
    apps = root / "usr/share/applications"
    apps.mkdir(parents=True)
    shutil.copy(HERE / f"{PACKAGE}.desktop", apps / f"{PACKAGE}.desktop")
    icons = REPO / "packaging" / "icons"
    for size_dir, src in (("512x512", icons / f"{PACKAGE}.png"), ("scalable", icons / f"{PACKAGE}.svg")):
        dest = root / "usr/share/icons/hicolor" / size_dir / "apps"
        dest.mkdir(parents=True)
        shutil.copy(src, dest / src.name)
    doc = root / "usr/share/doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Virality Studio: proprietary. Bundled third-party components keep their own licences (Qt and PySide6:\n"
        "LGPL-3.0; FFmpeg in PyAV and OpenCV: LGPL-2.1+; ONNX Runtime: MIT; OpenCV: Apache-2.0; RapidOCR models:\n"
        "Apache-2.0; Silero VAD: MIT); their licence files lie beside them under /opt/virality-studio/_internal.\n",
        encoding="utf-8")
    # Packaged files: no group/other write bits, whatever the umask of the build was.
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode & ~0o022)
    return opt


def control(app: Path, version: str, arch: str, installed_kib: int) -> str:
    glibc = required_glibc(app)
    depends = [f"libc6 (>= {glibc})" if glibc else "libc6", *DEPENDS]
    return (f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\n"
            "Maintainer: Virality Studio <packaging@virality.studio>\nSection: video\nPriority: optional\n"
            f"Installed-Size: {installed_kib}\nDepends: {', '.join(depends)}\n"
            f"Recommends: fonts-dejavu-core | fonts-liberation\nDescription: {DESCRIPTION}\n")


def build_deb(app: str | os.PathLike = REPO / "dist" / PACKAGE, out_dir: str | os.PathLike = REPO / "dist",
              compression: str = "xz") -> Path:
    """Build dist/virality-studio_<version>_<arch>.deb from the frozen folder; returns its path."""
    app = Path(app)
    if not (app / PACKAGE).is_file():
        raise SystemExit(f"{app}/{PACKAGE} not found: build the application first (python packaging/build.py)")
    version, arch = _version(), _architecture()
    root = REPO / "build" / "deb" / PACKAGE
    stage(app, root)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(control(app, version, arch, _tree_size_kib(root)), encoding="utf-8")
    out = Path(out_dir) / f"{PACKAGE}_{version}_{arch}.deb"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(out)], check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app", nargs="?", default=str(REPO / "dist" / PACKAGE), help="the frozen one-folder application")
    p.add_argument("--out", default=str(REPO / "dist"), help="folder for the .deb (default dist/)")
    p.add_argument("-Z", dest="compression", default="xz", choices=("xz", "zstd", "gzip", "none"),
                   help="dpkg-deb compression (default xz: 186 MB against zstd's 243 MB, but minutes instead of "
                        "seconds on 2 cores; zstd is read by the dpkg of Debian 12 and Ubuntu 21.10 on)")
    args = p.parse_args(argv)
    print(build_deb(args.app, args.out, args.compression))
    return 0


if __name__ == "__main__":
    sys.exit(main())
