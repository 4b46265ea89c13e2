"""Scoring one file with a bundle that reads the frames and the sound: one decoding pass for the cues, the
embedded frames, the audio input and the window's strip (now) beside the passes as they were (the cue pass, then
the frames and the sound decoded again for the model's inputs, then the strip decoded by a job of its own).
Prints the seconds and the number of times the file is opened, side by side.

    python benchmarks/bench_one_pass.py                  # the shared clips; trains a tiny bundle first (~40 s)
    python benchmarks/bench_one_pass.py CLIP.mp4 ...

The bundle is tiny (4 frames, GENERATED labels): the figures are the mechanics' cost, not a model's quality.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


class Opens:
    """Counts av.open calls (every open of a media file goes through it)."""

    def __init__(self) -> None:
        import av

        self.n, self._real = 0, av.open

        def counted(*a, **k):
            self.n += 1
            return self._real(*a, **k)

        av.open = counted


def main(argv: list[str]) -> int:
    from engine import media
    from engine.cues import measure_cues
    from engine.features import inputs
    from engine.features.spec import PostMeta
    from engine.models.bundle import ModelBundle
    from engine.scoring import score_video
    from tiny_bundles import tiny_multimodal

    shared = ROOT.parent / "shared" / "data" / "videos" / "snapugc"
    clips = [Path(a) for a in argv] or sorted(shared.glob("*.mp4"))[:3]
    if not clips:
        print("no clips: pass some video files")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path, _ = tiny_multimodal(Path(tmp))
        print(f"tiny multimodal bundle trained in {time.perf_counter() - t0:.0f} s")
        bundle = ModelBundle.load(path, device="cpu")
        meta = PostMeta(caption="bench #test1")
        opens = Opens()

        def now(clip):
            score_video(clip, meta, bundle=bundle, device="cpu", strip=8, on_strip=lambda f: None)

        def before(clip):  # the cue pass; the model's frames and sound again; the strip's own job
            info = media.probe(clip)
            cues = measure_cues(clip, info, device="cpu")
            inputs.bundle_inputs(bundle.manifest, clip, meta, cues, info, device="cpu")
            strip_info = media.probe(clip)
            media.sample_frames(clip, inputs.strip_requests(strip_info), info=strip_info)

        print(f"{'clip':<28} {'before (s)':>11} {'opens':>6} {'one pass (s)':>13} {'opens':>6} {'ratio':>6}")
        for clip in clips:
            row = []
            for fn in (before, now):
                fn(clip)  # warm: models loaded, file in the page cache
                times = []
                for _ in range(3):
                    opens.n = 0
                    t = time.perf_counter()
                    fn(clip)
                    times.append(time.perf_counter() - t)
                row += [statistics.median(times), opens.n]
            print(f"{clip.name[:28]:<28} {row[0]:>11.3f} {row[1]:>6} {row[2]:>13.3f} {row[3]:>6}"
                  f" {row[0] / row[2]:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
