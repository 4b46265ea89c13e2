"""Compare two versions of an edit side by side (issue 11 §4): the score, the likely views, what moved the score
(the report's `contributions`, when the engine gives them), and each cue with the change between the versions.

Opened from the Score page with the video shown as "before" and another file as "after"; both are scored with the
same post details and account, so the difference is the edit's.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QScrollArea, QVBoxLayout

from .theme import colors, score_color
from .widgets import label


def _contributions(report) -> dict:
    """{group: points} from a report's contributions, whatever shape the engine gives them ({} when absent)."""
    c = getattr(report, "contributions", None)
    if not c:
        return {}
    if isinstance(c, dict):
        items = c.items()
    else:  # a list of engine.explain.Contribution (group, label, points) or their as_dict()
        items = []
        for x in c:
            d = x if isinstance(x, dict) else vars(x)
            items.append((d.get("label") or d.get("group") or "?", d.get("points")))
    out = {}
    for k, v in items:
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def _delta(a, b, fmt="{:+.3g}") -> str:
    if a is None or b is None:
        return ""
    d = b - a
    if abs(d) < 1e-9:
        return "same"
    return fmt.format(d)


def compare_rows(a, b) -> list[tuple[str, str, str, str]]:
    """(what, before, after, change) rows for two ScoreReports; plain text, testable."""
    from .score_page import CUE_TITLES, verdict
    from engine.fields import fmt_count

    rows = [("Score", f"{a.score:.0f}", f"{b.score:.0f}", _delta(a.score, b.score, "{:+.0f}")),
            ("Verdict", verdict(a.score), verdict(b.score), "")]
    if a.views_low is not None or b.views_low is not None:
        rows.append(("Likely views",
                     f"{fmt_count(a.views_low)} – {fmt_count(a.views_high)}" if a.views_low is not None else "–",
                     f"{fmt_count(b.views_low)} – {fmt_count(b.views_high)}" if b.views_low is not None else "–", ""))
    ca, cb = _contributions(a), _contributions(b)
    for group in list(dict.fromkeys(list(ca) + list(cb))):
        va, vb = ca.get(group), cb.get(group)
        rows.append((f"Moved by {group}", "–" if va is None else f"{va:+.1f}", "–" if vb is None else f"{vb:+.1f}",
                     _delta(va, vb, "{:+.1f}")))
    cues_a = {c.name: c for c in a.cues.cues}
    cues_b = {c.name: c for c in b.cues.cues}
    for name in list(dict.fromkeys(list(cues_a) + list(cues_b))):
        x, y = cues_a.get(name), cues_b.get(name)
        unit = (x or y).shown_unit
        rows.append((CUE_TITLES.get(name, name), x.text if x else "–", y.text if y else "–",
                     _delta(x.shown_value if x else None, y.shown_value if y else None,
                            "{:+.3g}" + ("" if unit == "0-1" else f" {unit}"))))
    return rows


class CompareDialog(QDialog):
    def __init__(self, before, after, parent=None):
        super().__init__(parent)
        self.before, self.after = before, after
        self.setWindowTitle("Compare two versions")
        self.resize(900, 640)
        col = QVBoxLayout(self)
        c = colors()
        self.rows = compare_rows(before, after)
        head = (f"<tr><th></th><th align='left'>Before: {html.escape(Path(before.path).name)}</th>"
                f"<th align='left'>After: {html.escape(Path(after.path).name)}</th><th align='left'>Change</th></tr>")
        body = []
        for i, (what, x, y, d) in enumerate(self.rows):
            style = ""
            if i == 0:
                style = " style='font-size:18px; font-weight:700'"
                x = f"<span style='color:{score_color(before.score)}'>{x}</span>"
                y = f"<span style='color:{score_color(after.score)}'>{y}</span>"
            else:
                x, y = html.escape(x), html.escape(y)
            body.append(f"<tr{style}><td valign='top' style='padding:4px 12px 4px 0'><b>{html.escape(what)}</b></td>"
                        f"<td valign='top' style='padding:4px 12px 4px 0'>{x}</td>"
                        f"<td valign='top' style='padding:4px 12px 4px 0'>{y}</td>"
                        f"<td valign='top' style='padding:4px 0; color:{c.accent}; white-space:nowrap'>{html.escape(d)}</td></tr>")
        self.table = label("<table cellspacing='0' width='100%'>" + head + "".join(body) + "</table>", wrap=True)
        self.table.setTextFormat(Qt.RichText)
        self.table.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.table)
        col.addWidget(scroll, 1)
        if not _contributions(before) and not _contributions(after):
            col.addWidget(label("What moved each score appears here once the model reports it.", "muted"))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        col.addWidget(buttons)
