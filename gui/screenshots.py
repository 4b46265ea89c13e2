"""Take screenshots of each page of the real window with real content, for the README.

    xvfb-run -a -s "-screen 0 1280x860x24" env QT_QPA_PLATFORM=xcb python -m gui.screenshots docs/screenshots
    (--personal-only: just the My posts page, then the Score and Batch pages with the personal model it makes)

Ranks the shared clips, imports SMP-Video into a fresh dataset (in a temporary
user data folder, so the user's own data is untouched) and grabs each page.

    xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb python -m gui.screenshots docs/screenshots --sizes

grabs the Score page alone at 1280x720 and 1920x1080 (the whole window), in the light and the dark theme:
score-<theme>-<width>x<height>.png.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def personal_shots(w, wait, grab, clip: Path) -> None:
    """The My posts page after learning from a shared creator's history, then the Score page with that model."""
    w.show_page("My posts")
    pp = w.personal_page
    pp.first.setText(str(SHARED / "creators" / "mikaylanogueira_tiktok.csv"))
    pp.start()
    wait(lambda: pp.job is None, timeout=900)
    grab("personal.png")
    pp.make_active()
    w.show_page("Score")
    sp = w.score_page
    sp.score_file(str(clip))  # opening a file gives it its own (empty) post details: fill them in after
    sp.caption_edit.setText("worst luck ever at the claw machine #fail #clawmachine")
    sp.sound_edit.setText("original")
    wait(lambda: sp.shown is not None and sp.shown.personal is not None and not sp.busy
         and sp.strip.frames and (sp.player.multimedia or sp.player._frames))
    sp.rescore_now()
    wait(lambda: not sp._rescore_timer.isActive() and not sp.rescoring)
    grab("score_personal.png")
    batch_shot(w, wait, grab, clip, "batch_personal.png")  # the same folder ranked, with the "Own posts" column


def batch_shot(w, wait, grab, clip: Path, name: str) -> None:
    """The Batch page after ranking the shared clips, plus what a real folder holds: a download cut short."""
    import shutil

    w.show_page("Batch")
    bp = w.batch_page
    batch_dir = Path(os.environ["XDG_DATA_HOME"]).parent / "my clips"
    if not batch_dir.is_dir():
        batch_dir.mkdir()
        for p in sorted((SHARED / "videos").glob("*/*.mp4")):
            shutil.copy(p, batch_dir / p.name)
        (batch_dir / "download_cut_short.mp4").write_bytes(clip.read_bytes()[:150_000])
    bp.start_folder(str(batch_dir))
    wait(lambda: not bp.busy and (bp.thumb_job is None or not bp.thumb_job.running), timeout=600)
    grab(name)


def _window(out_dir: str, dark: bool, size: tuple[int, int]):
    """A fresh user data folder, the app in a theme, the window at `size` and a wait(cond) that keeps the
    events flowing: (app, window, out folder, wait)."""
    tmp = tempfile.mkdtemp(prefix="vs-shots-")
    os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    from PySide6.QtWidgets import QApplication

    from gui import theme
    from gui.app import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, dark=dark)
    w = MainWindow()
    w.resize(*size)
    w.show()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def wait(cond=lambda: True, timeout=300.0):
        t0 = time.time()
        while not cond():
            app.processEvents()
            time.sleep(0.02)
            if time.time() - t0 > timeout:
                raise TimeoutError("page did not finish in time")
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)

    return app, w, out, wait


def main(out_dir: str = "docs/screenshots", dark: bool = False, personal_only: bool = False) -> int:
    app, w, out, wait = _window(out_dir, dark, (1280, 860))

    def grab(name):
        for _ in range(10):
            app.processEvents()
        w.grab().save(str(out / name))
        print("wrote", out / name)

    clip = SHOT_CLIP  # the Score page itself: score_sizes (--sizes)
    if personal_only:
        personal_shots(w, wait, grab, clip)
        w.close()
        return 0
    batch_shot(w, wait, grab, clip, "batch.png")

    w.show_page("Dataset")
    dp = w.dataset_page
    from gui import userdata

    dp.create_dataset(str(userdata.datasets_dir() / "smp-video.sqlite"))
    wait(lambda: dp.path is not None and dp.load_job is not None and not dp.load_job.running)
    dp.start_import(str(SHARED / "smp-video" / "train"), "smp")
    wait(lambda: not dp.busy and dp.posts_model.rowCount() > 0, timeout=600)
    wait(lambda: dp.load_job is None or not dp.load_job.running)
    grab("dataset.png")

    w.show_page("Train")
    tp = w.train_page
    tp.refresh()
    i = tp.dataset_combo.findText("smp-video")
    if i >= 0:
        tp.dataset_combo.setCurrentIndex(i)
    if tp.start_button.isEnabled() and os.environ.get("SHOT_TRAIN", "1") == "1":
        tp.start()
        wait(lambda: not tp.busy, timeout=900)
    grab("train.png")
    personal_shots(w, wait, grab, clip)
    w.close()
    return 0


SIZES = ((1280, 720), (1920, 1080))
SHOT_CLIP = SHARED / "videos" / "snapugc" / "13bdbeb5f3b1fdbda2a8fbcc646db222.mp4"


def score_sizes(out_dir: str = "docs/screenshots") -> int:
    """The Score page with a scored shared clip at each size in SIZES, light and dark."""
    from gui import theme

    app, w, out, settle = _window(out_dir, False, SIZES[0])
    sp = w.score_page
    sp.followers_edit.setText("12k")
    sp.score_file(str(SHOT_CLIP))
    sp.caption_edit.setText("worst luck ever #fail #clawmachine")
    sp.sound_edit.setText("original")
    settle(lambda: sp.shown is not None and sp.strip.frames and not sp.busy
           and (sp.player.multimedia or sp.player._frames))
    sp.rescore_now()
    sp.seek(2.0)
    for dark in (False, True):
        theme.apply_theme(app, dark=dark)
        sp._show(sp.shown)  # the rich text carries theme colours
        for size in SIZES:
            w.resize(*size)
            settle()
            name = f"score-{'dark' if dark else 'light'}-{size[0]}x{size[1]}.png"
            w.grab().save(str(out / name))
            print("wrote", out / name)
    w.close()
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--sizes" in sys.argv:
        sys.exit(score_sizes(args[0] if args else "docs/screenshots"))
    sys.exit(main(args[0] if args else "docs/screenshots", dark="--dark" in sys.argv,
                  personal_only="--personal-only" in sys.argv))
