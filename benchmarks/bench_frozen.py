"""The frozen application against the source: bundle sizes, start to a shown window, scoring one clip.

    python benchmarks/bench_frozen.py [--runs 3] [--clip PATH]

Needs dist/virality-studio (python packaging/build.py); dist/virality-studio-full is measured when built.
Window: the process is started offscreen with VS_SMOKE_TEST (packaging/launcher.py) and timed from the start of
the process to the line saying the main window is exposed, read from its stdout. Scoring: wall time of
`score CLIP --json -q`, a whole process each time (start-up, model and cue models loaded, decode, score).
Page cache: dropped before the first ("cold") run when this process may write /proc/sys/vm/drop_caches.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCORING = ROOT / "dist" / "virality-studio"
FULL = ROOT / "dist" / "virality-studio-full"
TARGET_MB = 400


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def biggest(path: Path, n: int = 8) -> list[tuple[str, float]]:
    internal = path / "_internal"
    sizes = {}
    for f in internal.rglob("*"):
        if f.is_file() and not f.is_symlink():
            top = f.relative_to(internal).parts[0]
            sizes[top] = sizes.get(top, 0) + f.stat().st_size / 1e6
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def env_for(tmp: Path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_DATA_HOME=str(tmp / "data"))
    env.pop("PYTHONPATH", None)
    return env


def time_to_window(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=dict(env, VS_SMOKE_TEST="120"), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    shown = None
    for line in proc.stdout:
        if line.startswith("VS_SMOKE_TEST shown") and shown is None:
            shown = time.perf_counter() - t0
    if proc.wait() != 0 or shown is None:
        raise SystemExit(f"{cmd[0]}: the window was not shown (exit {proc.returncode})")
    return shown


def time_score(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{run.stderr}")
    return time.perf_counter() - t0


def series(fn, cmd, env, runs: int, cold: bool) -> tuple[str, list[float]]:
    first = "cold" if cold and drop_caches() else "warm cache"
    times = [fn(cmd, env) for _ in range(runs)]
    return first, times


def fmt(label: str, times: list[float]) -> str:
    return f"first {times[0]:.2f} s ({label}), median {statistics.median(times):.2f} s of {len(times)}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clip", help="a video (default: the first shared SnapUGC clip)")
    args = p.parse_args(argv)
    exe = SCORING / ("virality-studio.exe" if sys.platform == "win32" else "virality-studio")
    if not exe.is_file():
        raise SystemExit(f"{exe} not found: python packaging/build.py")
    clip = Path(args.clip) if args.clip else sorted((ROOT.parent / "shared/data/videos/snapugc").glob("*.mp4"))[0]
    launcher = [sys.executable, str(ROOT / "packaging" / "launcher.py")]  # the frozen entry point, from source

    with tempfile.TemporaryDirectory(prefix="vs-bench-") as tmp:
        env = env_for(Path(tmp))
        src_env = dict(env, PYTHONPATH=str(ROOT))
        print(f"machine: {os.cpu_count()} cores, {sys.platform}; clip {clip.name} ({clip.stat().st_size / 1e6:.1f} MB)")
        print()
        print("size (unpacked)")
        scoring_mb = folder_mb(SCORING)
        verdict = "under" if scoring_mb < TARGET_MB else "OVER"
        print(f"  scoring bundle  {scoring_mb:7.0f} MB   ({verdict} the {TARGET_MB} MB target)")
        print(f"  full bundle     {folder_mb(FULL):7.0f} MB" if FULL.is_dir() else "  full bundle     not built")
        print("  largest parts of the scoring bundle: "
              + ", ".join(f"{name} {mb:.0f}" for name, mb in biggest(SCORING)))
        print()
        print(f"{'':28}{'frozen':44}{'source (python)':44}")
        f_label, f_win = series(time_to_window, [str(exe)], env, args.runs, cold=True)
        s_label, s_win = series(time_to_window, launcher, src_env, args.runs, cold=True)
        print(f"{'start to shown window':28}{fmt(f_label, f_win):44}{fmt(s_label, s_win):44}"
              f"frozen/source {statistics.median(f_win) / statistics.median(s_win):.2f}x")
        score = ["score", str(clip), "--json", "-q"]
        f_label, f_score = series(time_score, [str(exe), *score], env, args.runs, cold=True)
        s_label, s_score = series(time_score, [sys.executable, "main.py", *score], src_env, args.runs, cold=True)
        print(f"{'score one clip (process)':28}{fmt(f_label, f_score):44}{fmt(s_label, s_score):44}"
              f"frozen/source {statistics.median(f_score) / statistics.median(s_score):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
