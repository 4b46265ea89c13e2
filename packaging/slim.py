"""Make the frozen one-folder application smaller after PyInstaller has collected it (Linux).

    python packaging/slim.py dist/virality-studio          (packaging/build.py runs it on every Linux build)

One step, checked before it is kept: **strip**. Extension modules and libraries that still carry symbol tables
and debug sections (PyAV's Cython modules carry 26 MB of them) are stripped with `strip --strip-unneeded`.
`strip` can break a library that patchelf (auditwheel) rewrote, leaving segments whose file offset and address
disagree modulo the page size, which the loader refuses ("ELF load command address/offset not page-aligned").
Every stripped file is therefore parsed again and kept only when its PT_LOAD segments are still congruent and lie
inside the file; otherwise the original is kept. (OpenCV, and with it the second copy of FFmpeg it linked, is
excluded from the frozen application by the spec, so there is no second FFmpeg to merge.)

It prints what it saved. Nothing here is needed for the app to work: a build without it is only larger.
"""
from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path


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


def elf_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


# --------------------------------------------------------------------------------------------- strip
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
    return strip_all(internal, log)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app", help="the one-folder application (dist/virality-studio)")
    args = p.parse_args(argv)
    saved = slim(Path(args.app))
    print(f"slim: {saved / 1e6:.1f} MB saved in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
