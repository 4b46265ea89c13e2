"""The About box (Help > About): the version and the active model, read from its manifest, and it follows the
Train page's "Make active" while open."""
from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine import __version__

DEFAULT_NAME = "virality-ensemble-smp-video"


def shown_texts(dialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_about_shows_the_version_and_follows_make_active(window, qtbot, user_dirs):
    from gui import userdata

    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert window.about_action in menus["Help"].actions()
    window.about_action.trigger()
    dialog = window.about_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    assert __version__ in text and DEFAULT_NAME in text and "built in" in text
    assert "Providers" in text and "CPU" in text
    assert __version__ in shown_texts(dialog) and DEFAULT_NAME in shown_texts(dialog)

    # a second bundle: the built-in one under another name, made active with the Train page's button
    run = userdata.models_dir() / "my-run"
    shutil.copytree(userdata.default_model_path(), run)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["name"] = "about-test-model"
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    page = window.train_page
    page.refresh()
    row = next(r for r in range(page.runs.rowCount()) if "about-test-model" in page.runs.item(r, 1).text())
    page.runs.selectRow(row)
    qtbot.mouseClick(page.active_button, Qt.LeftButton)

    text = dialog.text()
    assert "about-test-model" in text and str(run) in text
    assert DEFAULT_NAME not in text and "built in" not in text
    assert "about-test-model" in shown_texts(dialog) and DEFAULT_NAME not in shown_texts(dialog)
    qtbot.waitUntil(lambda: window.model.loaded is not None, timeout=60_000)
    qtbot.waitUntil(lambda: "Running on" in dialog.text(), timeout=10_000)


def test_about_reopens_on_the_current_model(window, qtbot, user_dirs, tmp_path):
    """Closed and opened again after the model changed, the box shows the new one; a bundle whose manifest
    cannot be read is named by its path with the reason."""
    window.show_about().close()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    window.model.set_path(broken, remember=False)
    text = window.show_about().text()
    assert str(broken) in text and "damaged" in text and __version__ in text
