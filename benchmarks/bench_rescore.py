"""One keystroke on the Score page with a bundle that looks at the video: the re-score as it was (every input
computed from the file again: probe, decode frames, frame backbone, decode audio, caption backbone) beside the
re-score now (the report's per-video inputs reused; only a changed caption embedded again), for a caption
edit and a follower-count edit.

    python benchmarks/bench_rescore.py            # trains a tiny multimodal bundle first (about 40 s)

The bundle is tiny (4 frames, generated clips of 2 s, GENERATED labels): the timings are the mechanics' cost. A
real clip of 30 s with 16 frames decodes for longer, so the old way's cost only grows from here.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _ms(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> int:
    from engine.features.spec import PostMeta
    from engine.models.bundle import ModelBundle
    from engine.scoring import rescore, score_video
    from tiny_bundles import tiny_multimodal

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path, clips = tiny_multimodal(Path(tmp))
        print(f"tiny multimodal bundle trained in {time.perf_counter() - t0:.0f} s")
        bundle = ModelBundle.load(path, device="cpu")
        report = score_video(clips[1], PostMeta(caption="first words #test1", followers=2000), bundle=bundle,
                             device="cpu")
        blank = replace(report, model_inputs=None)  # what the old rescore had: nothing kept, all from the file
        edits = {"caption edit": ["new words #test2", "other words #test0"], "followers edit": None}
        print(f"{'one keystroke':<16} {'from the file (ms)':>19} {'reusing inputs (ms)':>20} {'ratio':>7}")
        for name, captions in edits.items():
            turn = [0]

            def meta() -> PostMeta:  # a different caption each call, so that no embedding is reused by chance
                turn[0] += 1
                caption = captions[turn[0] % 2] if captions else "first words #test1"
                return PostMeta(caption=caption, followers=2000 + turn[0])

            old = _ms(lambda: rescore(blank, meta(), bundle, device="cpu"))
            new = _ms(lambda: rescore(report, meta(), bundle, device="cpu"))
            print(f"{name:<16} {old:>19.1f} {new:>20.1f} {old / new:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
