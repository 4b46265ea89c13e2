"""A light and a dark theme (Fusion + a palette) that follow the system's colour scheme."""
from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Colors:
    dark: bool
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    accent: str
    border: str
    good: str
    mid: str
    bad: str
    series: tuple[str, ...]
    field_border: str  # text fields and buttons: darker than a card's edge, so a field reads as one
    focus: str  # the focus ring


LIGHT = Colors(
    dark=False, window="#f4f5f7", base="#ffffff", alt_base="#f7f8fa", text="#1d2127", muted="#5f6670",
    accent="#3b6fd8", border="#d6d9de", good="#1f9d55", mid="#d98e04", bad="#d64545",
    series=("#3b6fd8", "#e0701f", "#1f9d55", "#b03fb0", "#6b7785", "#c7a900"),
    field_border="#9aa1ab", focus="#2457c5",
)
DARK = Colors(
    dark=True, window="#1e2126", base="#16181c", alt_base="#22262c", text="#e6e8eb", muted="#9aa3ad",
    accent="#6d9bff", border="#3a3f47", good="#3ecf7c", mid="#f2b33d", bad="#ff6b6b",
    series=("#6d9bff", "#ff9a4d", "#3ecf7c", "#e07be0", "#aab4bf", "#f2d64b"),
    field_border="#6b7380", focus="#8fb3ff",
)

_current = LIGHT


def colors() -> Colors:
    return _current


def score_color(score: float) -> str:
    c = colors()
    return c.good if score >= 66 else c.mid if score >= 33 else c.bad


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    try:
        return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5: guess from the palette
        return app.palette().color(QPalette.Window).lightness() < 128


def apply_theme(app: QApplication, dark: bool | None = None) -> Colors:
    """Fusion with our palette; dark=None follows the system."""
    global _current
    if dark is None:
        dark = system_is_dark()
    c = DARK if dark else LIGHT
    _current = c
    app.setStyle("Fusion")
    p = QPalette()
    for role, value in (
        (QPalette.Window, c.window), (QPalette.WindowText, c.text), (QPalette.Base, c.base),
        (QPalette.AlternateBase, c.alt_base), (QPalette.Text, c.text), (QPalette.Button, c.alt_base),
        (QPalette.ButtonText, c.text), (QPalette.ToolTipBase, c.base), (QPalette.ToolTipText, c.text),
        (QPalette.Highlight, c.accent), (QPalette.HighlightedText, "#ffffff"), (QPalette.Link, c.accent),
        (QPalette.PlaceholderText, c.muted), (QPalette.Mid, c.border), (QPalette.Midlight, c.border),
    ):
        p.setColor(role, QColor(value))
    p.setColor(QPalette.Disabled, QPalette.Text, QColor(c.muted))
    p.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(c.muted))
    p.setColor(QPalette.Disabled, QPalette.WindowText, QColor(c.muted))
    app.setPalette(p)
    up, down, tick = _arrow_images(c.text)
    app.setStyleSheet(_STYLE.format(c=c, up=up, down=down, tick=tick))
    return c


def _arrow_images(color: str) -> tuple[str, str, str]:
    """Small up and down triangles in `color` and a white tick, as PNG files: a styled spin box, combo box or
    check box draws none of its own."""
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QImage, QPainter, QPen, QPolygonF

    folder = Path(tempfile.gettempdir()) / f"virality-studio-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    folder.mkdir(exist_ok=True)
    paths = []
    shapes = (("up", color, ((0, 10), (9, 0), (18, 10))), ("down", color, ((0, 0), (9, 10), (18, 0))),
              ("tick", "#ffffff", ((2, 9), (7, 15), (16, 3))))
    for name, ink, pts in shapes:
        path = folder / f"{name}-{ink.lstrip('#')}.png"
        if not path.exists():
            img = QImage(18, 18 if name == "tick" else 10, QImage.Format_ARGB32)
            img.fill(Qt.transparent)
            p = QPainter(img)
            p.setRenderHint(QPainter.Antialiasing)
            poly = QPolygonF([QPointF(x, y) for x, y in pts])
            if name == "tick":
                p.setPen(QPen(QColor(ink), 2.6, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
                p.drawPolyline(poly)
            else:
                p.setPen(Qt.NoPen)
                p.setBrush(QColor(ink))
                p.drawPolygon(poly)
            p.end()
            img.save(str(path))
        paths.append(path.as_posix())
    return paths[0], paths[1], paths[2]


def follow_system(app: QApplication, on_change=None) -> None:
    """Re-apply the theme when the system switches between light and dark."""
    try:
        hints = app.styleHints()
        def changed(_scheme) -> None:
            apply_theme(app)
            if on_change:
                on_change()
        hints.colorSchemeChanged.connect(changed)
    except AttributeError:
        pass


_STYLE = """
QListWidget#nav {{ background: {c.alt_base}; border: none; border-right: 1px solid {c.border}; font-size: 14px; }}
QListWidget#nav::item {{ padding: 12px 16px; border-radius: 6px; margin: 2px 6px; }}
QListWidget#nav::item:selected {{ background: {c.accent}; color: white; }}
QFrame#card {{ background: {c.base}; border: 1px solid {c.border}; border-radius: 10px; }}
QFrame#dropzone {{ border: 2px dashed {c.border}; border-radius: 10px; background: {c.base}; }}
QFrame#dropzone[active="true"] {{ border-color: {c.accent}; }}
QLabel#muted {{ color: {c.muted}; }}
QLabel#h2 {{ font-size: 15px; font-weight: 600; }}
QLabel#error {{ color: {c.bad}; font-weight: 600; }}
QPushButton#primary {{ background: {c.accent}; color: white; border: none; border-radius: 6px; padding: 6px 14px; font-weight: 600; }}
QPushButton#primary:disabled {{ background: {c.border}; color: {c.muted}; }}
QTableView {{ gridline-color: {c.border}; }}
QLineEdit, QAbstractSpinBox, QComboBox, QPlainTextEdit, QTextEdit {{ background: {c.base}; color: {c.text};
    border: 1px solid {c.field_border}; border-radius: 5px; padding: 4px 6px; selection-background-color: {c.accent}; }}
QLineEdit:disabled, QAbstractSpinBox:disabled, QComboBox:disabled {{ color: {c.muted}; background: {c.alt_base}; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 18px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-origin: border; width: 16px; border: none; background: transparent; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({up}); width: 9px; height: 5px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({down}); width: 9px; height: 5px; }}
QComboBox::drop-down, QDateTimeEdit::drop-down {{ border: none; width: 18px; subcontrol-origin: padding;
    subcontrol-position: center right; }}
QComboBox::down-arrow, QDateTimeEdit::down-arrow {{ image: url({down}); width: 9px; height: 5px; }}
QPushButton {{ background: {c.alt_base}; color: {c.text}; border: 1px solid {c.field_border}; border-radius: 6px;
    padding: 5px 12px; }}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; border-color: {c.border}; }}
QLineEdit:focus, QAbstractSpinBox:focus, QComboBox:focus, QPlainTextEdit:focus, QTextEdit:focus, QPushButton:focus,
QPushButton#primary:focus {{ border: 2px solid {c.focus}; padding: 3px 5px; }}
QPushButton:focus, QPushButton#primary:focus {{ padding: 4px 11px; }}
QPushButton#primary:focus {{ border-color: {c.text}; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid {c.field_border}; border-radius: 3px;
    background: {c.base}; }}
QCheckBox::indicator:checked {{ background: {c.accent}; border-color: {c.accent}; image: url({tick}); }}
QCheckBox::indicator:focus {{ border: 2px solid {c.focus}; }}
QCheckBox:focus, QRadioButton:focus {{ color: {c.accent}; text-decoration: underline; }}
QSlider:focus, QListWidget:focus, QTableView:focus {{ border: 1px solid {c.focus}; }}
QLabel#player {{ background: #000000; color: #c8ccd2; border-radius: 6px; }}
"""
