"""The smoke test every installer gets, on every OS: run the installed (or freshly built) binary.

    python packaging/smoke_test.py PATH/TO/virality-studio[.exe] [--clip clip.mp4]

1. `--version` prints "Virality Studio <version>";
2. `score CLIP --json` gives a report with a 0-100 score (CLIP: the one given, else a 4-second test clip made
   with PyAV from the build environment);
3. the window opens offscreen and is shown (VS_SMOKE_TEST, see packaging/launcher.py);
4. opened with CLIP (a file manager's "Open with"), the window scores it ("Scored <name>" in its status bar).
Prints one line per step with its time; exits non-zero at the first failure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_clip(path: Path) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from media_factory import make_video

    return make_video(path, seconds=4.0, size=(360, 640))


def _run(cmd: list[str], env: dict, what: str, timeout: float = 300) -> subprocess.CompletedProcess:
    t = time.perf_counter()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.perf_counter() - t
    if run.returncode != 0:
        sys.exit(f"FAIL {what} (exit {run.returncode}, {took:.1f} s)\n{run.stdout}\n{run.stderr}")
    print(f"ok   {what} ({took:.1f} s)", flush=True)
    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("exe", help="the command-line executable of the frozen app")
    p.add_argument("--clip", help="a video to score (default: a generated test clip)")
    args = p.parse_args(argv)
    exe = os.path.abspath(args.exe)
    with tempfile.TemporaryDirectory(prefix="vs-smoke-") as tmp:
        tmp = Path(tmp)
        clip = Path(args.clip) if args.clip else make_clip(tmp / "smoke clip.mp4")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"),
                   XDG_DATA_HOME=str(tmp / "data"))
        env.pop("PYTHONPATH", None)
        out = _run([exe, "--version"], env, "--version").stdout
        if not out.startswith("Virality Studio "):
            sys.exit(f"FAIL --version printed {out!r}")
        report = json.loads(_run([exe, "score", str(clip), "--json", "-q"], env, f"score {clip.name}").stdout)
        if not 0 <= report["score"] <= 100:
            sys.exit(f"FAIL score out of range: {report['score']}")
        print(f"     score {report['score']} from model {report['model']}")
        env_gui = dict(env, VS_SMOKE_TEST="120")
        print("     " + _run([exe], env_gui, "window shown").stdout.strip().splitlines()[-1])
        out = _run([exe, str(clip)], dict(env_gui, VS_SMOKE_TEST_JOBS="1"), "opened with the clip").stdout
        if f"Scored {clip.name}" not in out:
            sys.exit(f"FAIL the window did not score {clip.name}:\n{out}")
        print("     " + out.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
