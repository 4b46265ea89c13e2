"""The Clips page's screenshot for the README, with real content: the shared clips joined with espeak-ng
sentences (tests/clips_material.py) and the clips found in them.

    QT_QPA_PLATFORM=offscreen python -m gui.clips_screenshot docs/screenshots
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(out_dir: str = "docs/screenshots") -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vs-clips-shot-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    sys.path.insert(0, str(ROOT / "tests"))
    from clips_material import make_long_video
    from PySide6.QtWidgets import QApplication

    from gui import theme
    from gui.app import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app)
    material = make_long_video(tmp / "my podcast.mp4")
    w = MainWindow()
    w.resize(1280, 860)
    w.show()
    w.show_page("Clips")
    page = w.clips_page
    page.count.setValue(5)
    page.min_len.setValue(8)
    page.max_len.setValue(20)
    page.find(str(material.path), cache_dir=str(tmp / "cache"))
    t0 = time.time()
    while page.plan is None and time.time() - t0 < 600:
        app.processEvents()
        time.sleep(0.02)
    t0 = time.time()
    while not (page.player.multimedia or page.player._frames) and time.time() - t0 < 120:
        app.processEvents()  # the silent preview's frames are decoded in a job
        time.sleep(0.02)
    page.select(0)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(out / "clips.png"))
    print("wrote", out / "clips.png")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
