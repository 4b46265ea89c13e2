"""The window's Batch page and Train page exports go through engine.outputs (issue 10 §1, 2, 5): refused
destinations, spreadsheet-safe cells, the user's file mode; and the Batch page lists the refused files."""
from __future__ import annotations

import csv
import os
import stat
import zipfile

import pytest

pytest.importorskip("pytestqt")

from media_factory import make_video


def test_batch_page_lists_refused_files_and_exports_safely(window, tmp_path, monkeypatch):  # noqa: F811
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "=cmd.mp4")
    os.symlink("/dev/zero", folder / "zero.mp4")
    page = window.batch_page
    page.start_folder(str(folder))
    assert not page.busy  # nothing to score: no job, no hang on the pipe
    rows = {r.path.rsplit("/", 1)[-1]: r for r in page.table_model.rows}
    assert set(rows) == {"=cmd.mp4", "zero.mp4"}
    assert rows["=cmd.mp4"].status == "failed" and "named pipe" in rows["=cmd.mp4"].error
    assert "device" in rows["zero.mp4"].error

    video = make_video(tmp_path / "keep.mp4", seconds=1.0)
    before = video.read_bytes()
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(video), ""))
    page.choose_export()
    assert warnings and "is a video" in warnings[0]
    assert video.read_bytes() == before

    out = tmp_path / "ranking.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    old = os.umask(0o022)
    try:
        page.choose_export()
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    reasons = {r["path"].rsplit("/", 1)[-1]: r["reason"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert reasons["=cmd.mp4"].startswith("'=cmd.mp4: ")


def test_train_page_export_bundle_refuses_a_video_and_writes_a_zip(window, tmp_path, monkeypatch):  # noqa: F811
    import shutil

    from PySide6.QtWidgets import QFileDialog

    from gui import userdata

    page = window.train_page
    shutil.copytree(userdata.default_model_path(), userdata.models_dir() / "my-run")
    page.refresh()
    row = next(r for r in range(page.runs.rowCount()) if "built in" not in page.runs.item(r, 1).text())
    page.runs.selectRow(row)
    video = tmp_path / "holiday.zip"  # a video under a .zip name: a confirmed overwrite must still not happen
    video.write_bytes(make_video(tmp_path / "keep.mp4", seconds=1.0).read_bytes())
    before = video.read_bytes()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(video), ""))
    page.export_bundle()
    assert video.read_bytes() == before
    assert "is a video" in page.message.text()
    out = tmp_path / "run.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    page.export_bundle()
    with zipfile.ZipFile(out) as z:
        assert "my-run/manifest.json" in z.namelist()
