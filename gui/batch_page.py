"""Batch page: drop a folder (or files) and watch a table fill in as the videos finish.

engine.scoring.score_many runs in worker processes and yields each video as it is done; the table is a
QAbstractTableModel behind a sort/filter proxy. Cancel stops handing out files at once and keeps what
finished; the rows not reached say so.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError

from . import scoring as adapt
from .theme import colors, score_color
from .widgets import DropTarget, JobBar, TableModel, label, to_pixmap

SORT_ROLE = Qt.UserRole + 1
STATUS_ROLE = Qt.UserRole + 2


@dataclass
class BatchRow:
    path: str
    status: str = "waiting"  # waiting | scored | failed | stopped
    report: Any = None
    error: Optional[str] = None
    thumb: Optional[QPixmap] = None


class BatchTableModel(TableModel):
    COLUMNS = ("", "Video", "Score", "Own posts", "Duration", "Key cues", "Status")
    THUMB, NAME, SCORE, OWN, DURATION, CUES, STATUS = range(7)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[BatchRow] = []
        self._index: dict[str, int] = {}
        self.own_tip = ""  # the "Own posts" header's tooltip: whose posts, by which personal model

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole and section == self.OWN and self.own_tip:
            return self.own_tip
        return super().headerData(section, orientation, role)

    def set_paths(self, paths: list[str]) -> None:
        self.beginResetModel()
        self.rows = [BatchRow(str(p)) for p in paths]
        self._index = {r.path: i for i, r in enumerate(self.rows)}
        self.endResetModel()

    def row_for(self, path: str) -> Optional[int]:
        return self._index.get(str(path))

    def update_item(self, item) -> None:
        i = self.row_for(item.path)
        if i is None:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
            self.rows.append(BatchRow(item.path))
            self._index[item.path] = i = len(self.rows) - 1
            self.endInsertRows()
        row = self.rows[i]
        row.report, row.error = item.report, item.error
        row.status = "scored" if item.report is not None else "failed"
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))

    def set_thumb(self, path: str, pm: Optional[QPixmap]) -> None:
        i = self.row_for(path)
        if i is not None and pm is not None:
            self.rows[i].thumb = pm
            self.dataChanged.emit(self.index(i, 0), self.index(i, 0), [Qt.DecorationRole])

    def mark_unfinished(self, status: str) -> int:
        n = 0
        for i, r in enumerate(self.rows):
            if r.status == "waiting":
                r.status = status
                n += 1
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))
        return n

    def counts(self) -> dict[str, int]:
        out = {"waiting": 0, "scored": 0, "failed": 0, "stopped": 0}
        for r in self.rows:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def status_text(self, r: BatchRow) -> str:
        if r.status == "scored":
            if r.report is not None and not r.report.meaningful:
                return "score not meaningful: " + "; ".join(r.report.not_meaningful)
            return "scored"
        if r.status == "failed":
            reason = r.error or "could not be scored"
            name = Path(r.path).name
            if reason.startswith(name + ": "):
                reason = reason[len(name) + 2:]
            return f"could not score: {reason}"
        if r.status == "stopped":
            return "not scored (stopped)"
        return "waiting…"

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        rep = r.report
        if role == Qt.DisplayRole:
            if col == self.NAME:
                return Path(r.path).name
            if col == self.SCORE:
                return f"{rep.score:.0f}" if rep else ""
            if col == self.OWN:
                return own_text(rep)
            if col == self.DURATION:
                return f"{rep.info.duration_s:.1f} s" if rep else ""
            if col == self.CUES:
                return adapt.key_cues(rep) if rep else ""
            if col == self.STATUS:
                return self.status_text(r)
        elif role == SORT_ROLE:
            if col == self.SCORE:  # a score that is not meaningful sorts below every meaningful one
                return -1.0 if not rep else rep.score if rep.meaningful else -0.5 + rep.score / 1000
            if col == self.DURATION:
                return rep.info.duration_s if rep else -1.0
            if col == self.OWN:  # one that is not a prediction sorts below every one that is
                own = rep.personal if rep else None
                if not own:
                    return -1.0
                return own["percentile"] if own.get("reliable") else -0.5 + own["percentile"] / 1000
            if col == self.THUMB:
                return index.row()
            return self.data(index, Qt.DisplayRole) or ""
        elif role == STATUS_ROLE:
            return r.status
        elif role == Qt.DecorationRole and col == self.THUMB:
            return r.thumb
        elif role == Qt.ToolTipRole:
            if col == self.STATUS or col == self.NAME:
                return r.path + ("\n" + r.error if r.error else "")
            if col == self.CUES and rep:
                return "\n".join(c.text for c in rep.cues.cues)
            if col == self.OWN and rep and rep.personal:
                return rep.personal["line"]
        elif role == Qt.ForegroundRole:
            if col == self.SCORE and rep:
                return QColor(score_color(rep.score))
            if col == self.OWN and rep and rep.personal:
                return QColor(score_color(rep.personal["percentile"]) if rep.personal.get("reliable")
                              else colors().muted)
            if col == self.STATUS and r.status == "failed":
                return QColor(colors().bad)
            if col == self.STATUS and r.status in ("waiting", "stopped"):
                return QColor(colors().muted)
        elif role == Qt.TextAlignmentRole and col in (self.SCORE, self.OWN, self.DURATION):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None


def own_text(report) -> str:
    """The "Own posts" cell: where the video ranks among the creator's own posts (the personal model's
    percentile), "(not a prediction)" after it when that model could not be told from chance; "" without one."""
    own = report.personal if report is not None else None
    if not own:
        return ""
    return f"{own['percentile']:.0f}%" + ("" if own.get("reliable") else " (not a prediction)")


class BatchFilter(QSortFilterProxyModel):
    """Filter by text in the name or cues, and by status (all / scored / could not score)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.status = "all"
        self.setSortRole(SORT_ROLE)

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: invalidateFilter() is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "text", text.strip().lower()))

    def set_status(self, status: str) -> None:
        self._refilter(lambda: setattr(self, "status", status))

    def filterAcceptsRow(self, row, parent) -> bool:  # noqa: N802
        m: BatchTableModel = self.sourceModel()
        r = m.rows[row]
        if self.status == "scored" and r.status != "scored":
            return False
        if self.status == "failed" and r.status != "failed":
            return False
        if self.text:
            hay = (Path(r.path).name + " " + (adapt.key_cues(r.report) if r.report else "") + " "
                   + (r.error or "")).lower()
            return self.text in hay
        return True


def _batch_job(paths, bundle_path, workers, progress, cancel, meta=None, personal_path=None):
    from engine.scoring import score_many

    return score_many(paths, meta, bundle_path=bundle_path, workers=workers, progress=progress, cancel=cancel,
                      personal_path=personal_path)


def _thumbs_job(paths, progress, cancel):
    for p in paths:
        cancel.raise_if_cancelled()
        try:
            yield p, adapt.thumbnail(p)
        except EngineError:
            yield p, None
        except Exception:  # an odd file: no thumbnail, the row still shows
            yield p, None


class BatchPage(DropTarget, QWidget):
    open_report = Signal(object)  # ScoreReport: show it on the Score page
    status = Signal(str)

    def __init__(self, runner, model, parent=None):
        super().__init__(parent)
        self.runner, self.model = runner, model
        self.setAcceptDrops(True)
        self.job = None
        self.thumb_job = None
        self._thumb_queue: list[str] = []
        self.folder: Optional[str] = None
        self.not_videos = 0
        self._build()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        head = QHBoxLayout()
        self.title = QLabel("Drop a folder of videos here to score and rank them")
        self.title.setObjectName("h2")
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.setObjectName("primary")
        self.choose_button.clicked.connect(self.choose_folder)
        self.workers = QSpinBox()
        self.workers.setRange(1, max(1, os.cpu_count() or 1))
        from engine.scoring import default_workers

        self.workers.setValue(default_workers())
        self.workers.setPrefix("workers: ")
        self.workers.setToolTip("Videos scored side by side (one process each)")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.choose_export)
        self.export_button.setEnabled(False)
        head.addWidget(self.title, 1)
        head.addWidget(self.workers)
        head.addWidget(self.export_button)
        head.addWidget(self.choose_button)
        outer.addLayout(head)

        self.account_note = label("", "muted", wrap=True)
        outer.addWidget(self.account_note)
        self.show_account()
        self.personal_note = label("", "muted", wrap=True)  # which personal model the "Own posts" column is from
        outer.addWidget(self.personal_note)
        self.personal_note.setVisible(False)

        self.jobbar = JobBar()
        self.jobbar.cancel_clicked.connect(self.cancel)
        outer.addWidget(self.jobbar)

        filt = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name or cue…")
        self.filter_edit.setClearButtonEnabled(True)
        self.status_combo = QComboBox()
        for text, key in (("All videos", "all"), ("Scored", "scored"), ("Could not score", "failed")):
            self.status_combo.addItem(text, key)
        filt.addWidget(self.filter_edit, 1)
        filt.addWidget(self.status_combo)
        outer.addLayout(filt)

        self.table_model = BatchTableModel(self)
        self.proxy = BatchFilter(self)
        self.proxy.setSourceModel(self.table_model)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.status_combo.currentIndexChanged.connect(lambda _i: self.proxy.set_status(self.status_combo.currentData()))
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(BatchTableModel.SCORE, Qt.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setIconSize(adapt_size := self._thumb_size())
        self.table.verticalHeader().setDefaultSectionSize(adapt_size.height() + 6)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(BatchTableModel.NAME, QHeaderView.Interactive)
        hh.setSectionResizeMode(BatchTableModel.CUES, QHeaderView.Interactive)
        hh.setSectionResizeMode(BatchTableModel.STATUS, QHeaderView.Stretch)
        self.table.setColumnWidth(BatchTableModel.THUMB, adapt_size.width() + 12)
        self.table.setColumnWidth(BatchTableModel.NAME, 250)
        self.table.setColumnWidth(BatchTableModel.SCORE, 60)
        self.table.setColumnWidth(BatchTableModel.OWN, 90)
        self.table.setColumnHidden(BatchTableModel.OWN, True)  # shown for a batch scored with a personal model
        self.table.setColumnWidth(BatchTableModel.DURATION, 80)
        self.table.setColumnWidth(BatchTableModel.CUES, 330)
        self.table.setWordWrap(True)
        self.table.doubleClicked.connect(self._open_index)
        outer.addWidget(self.table, 1)
        self.summary = label("", "muted", wrap=True)
        outer.addWidget(self.summary)

    @staticmethod
    def _thumb_size():
        from PySide6.QtCore import QSize

        return QSize(52, 46)

    # ------------------------------------------------------------------ gestures
    def handle_drop(self, paths: list[str]) -> None:
        if len(paths) == 1 and Path(paths[0]).is_dir():
            self.start_folder(paths[0])
        else:
            self.start_files(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of videos")
        if folder:
            self.start_folder(folder)

    def start_folder(self, folder: str) -> None:
        from engine.scoring import scan_folder

        try:
            scan = scan_folder(folder, recursive=True)
        except EngineError as exc:
            self._say(str(exc), error=True)
            return
        self.folder = folder
        self.not_videos = scan.skipped_count
        if not scan.videos and not scan.refused:
            self._say(f"{Path(folder).name}: no video files here among {scan.skipped_count:,} files.", error=True)
            return
        self.start_files([str(p) for p in scan.videos], title=Path(folder).name, refused=scan.refused)

    def start_files(self, paths: list[str], title: Optional[str] = None, refused=()) -> None:
        """Score `paths` (folders among them are scanned); `refused`: (path, reason) of the files named like videos
        that are not regular files (a pipe, a device), shown at once as not scored, with the reason."""
        from engine.media import is_video_name
        from engine.scoring import BatchItem

        files: list[str] = []
        refused = list(refused)
        for p in paths:
            if Path(p).is_dir():
                from engine.scoring import scan_folder

                try:
                    scan = scan_folder(p, recursive=True)
                except EngineError:
                    continue
                files += [str(v) for v in scan.videos]
                refused += scan.refused
            elif is_video_name(p) or Path(p).is_file():
                files.append(str(p))
        if not files and not refused:
            self._say("Nothing to score: drop a folder of videos or video files.", error=True)
            return
        self.cancel()
        self.table_model.set_paths(files + [str(p) for p, _ in refused])
        for p, reason in refused:
            self.table_model.update_item(BatchItem(str(p), error=reason))
        if not files:
            self._say(f"Nothing to score: {len(refused)} file(s) named like videos are not regular files "
                      "(see the list).", error=True)
            return
        self._thumb_queue = []
        self.title.setText(f"{title or 'Dropped files'}: {len(files)} video{'s' if len(files) != 1 else ''}")
        self.export_button.setEnabled(False)
        self.jobbar.start(f"Scoring {len(files)} videos…")
        self.summary.setText("")
        workers = min(self.workers.value(), len(files))
        meta = self.show_account()
        personal = self.show_personal(check=True)
        job = self.runner.submit(_batch_job, files, str(self.model.path), workers, meta=meta,
                                 personal_path=None if personal is None else str(personal), name="batch")
        self.job = job
        job.on_item(lambda item, j=job: self._item(j, item))
        job.on_progress(lambda f, m, j=job: j is self.job and self.jobbar.update_progress(f, f"done: {m}"))
        job.on_error(lambda msg, j=job: j is self.job and self._say(msg, error=True))
        job.on_finished(self._finished)
        self.status.emit(f"Scoring {len(files)} videos…")

    def show_account(self):
        """Say which account values every video is scored with; returns them as PostMeta (None when unusable)."""
        from . import post_details

        account = post_details.load_account()
        try:
            meta = post_details.account_meta(account)
        except EngineError as exc:
            self.account_note.setText(f"Scored without account details ({exc}). Captions, post times and sounds "
                                      "belong to each video and are not used here.")
            return None
        self.account_note.setText(f"Every video is scored with {post_details.describe_account(account)}. Captions, "
                                  "post times and sounds belong to each video: enter them on its Score page "
                                  "(double-click a row).")
        return meta

    def show_personal(self, check: bool = False):
        """Show the "Own posts" column and say whose posts it ranks against when a personal model is active (as
        `batch` does); returns its path, or None (the column is hidden). With `check` (as a batch starts) the
        bundle is opened first: a damaged one (a file removed, its manifest edited) is left out, the note saying
        why and what to do, so that the batch scores every video with the general model rather than stopping at
        the first one with the bundle's error (a personal model is loaded in a few ms)."""
        from engine.errors import BundleError
        from engine.models.active import read_manifest

        path = self.model.personal_path
        self.personal_note.setVisible(path is not None)
        problem = None
        if path is not None and check:
            from engine.models.bundle import ModelBundle

            try:
                ModelBundle.load(path, device="cpu")
            except BundleError as exc:
                problem = str(exc)
        self.table.setColumnHidden(BatchTableModel.OWN, path is None or problem is not None)
        if path is None:
            return None
        try:
            manifest = read_manifest(path)
        except BundleError:
            manifest = {}
        name = manifest.get("name") or Path(path).name
        if problem is not None:
            self.personal_note.setText(f"Own posts left out: the personal model {name} cannot be used ({problem}). "
                                       "Make it again on My posts, or Stop using it on the Score page.")
            return None
        creator = (manifest.get("personal") or {}).get("creator") or name
        self.personal_note.setText(f"Own posts: where each video ranks among the posts of {creator} (personal "
                                   f"model {name}; Stop using on the Score page leaves it out).")
        self.table_model.own_tip = f"Where each video ranks among the posts of {creator}, by {name}"
        return path

    def showEvent(self, e) -> None:  # noqa: N802 (the account may have changed on the Score page)
        self.show_account()
        super().showEvent(e)

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.jobbar.cancel_button.setEnabled(False)
            self.jobbar.message.setText("Stopping…")

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    # ------------------------------------------------------------------ results
    def _item(self, job, item) -> None:
        if job is not self.job:
            return
        self.table_model.update_item(item)
        self.export_button.setEnabled(True)
        if item.report is not None:
            self._queue_thumb(item.path)
        c = self.table_model.counts()
        self.summary.setText(f"{c['scored']} scored, {c['failed']} could not be scored, {c['waiting']} to go")

    def _finished(self, job) -> None:
        if job is not self.job:
            return
        stopped = self.table_model.mark_unfinished("stopped")
        self.jobbar.stop()
        c = self.table_model.counts()
        parts = [f"{c['scored']} scored", f"{c['failed']} could not be scored"]
        if stopped:
            parts.append(f"{stopped} not scored (stopped)")
        if self.not_videos:
            parts.append(f"{self.not_videos} files ignored (not videos by name)")
        text = ", ".join(parts) + ". Double-click a row to see its score page."
        if job.state == "failed":
            text = f"Stopped by an error: {job.error_message}. " + text
        self.summary.setText(text)
        self.status.emit("Batch " + ("stopped" if job.state == "cancelled" else "done") + f": {c['scored']} scored")

    def _queue_thumb(self, path: str) -> None:
        self._thumb_queue.append(path)
        if self.thumb_job is None or not self.thumb_job.running:
            self._next_thumbs()

    def _next_thumbs(self) -> None:
        if not self._thumb_queue:
            self.thumb_job = None
            return
        paths, self._thumb_queue = self._thumb_queue, []
        job = self.runner.submit(_thumbs_job, paths, name="thumbnails")
        self.thumb_job = job
        job.on_item(lambda pi: self.table_model.set_thumb(pi[0], to_pixmap(pi[1])))
        job.on_finished(lambda j: j is self.thumb_job and self._next_thumbs())

    def _open_index(self, proxy_index) -> None:
        row = self.table_model.rows[self.proxy.mapToSource(proxy_index).row()]
        if row.report is not None:
            self.open_report.emit(row.report)
        elif row.error:
            self._say(row.error, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.summary.setText(text)
        self.summary.setObjectName("error" if error else "muted")
        self.summary.style().unpolish(self.summary)
        self.summary.style().polish(self.summary)
        self.status.emit(text)

    # ------------------------------------------------------------------ export
    def choose_export(self) -> None:
        from engine.outputs import check_output

        start = str(Path(self.folder or ".") / "ranking.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export the ranking", start, "CSV (*.csv)")
        if path:
            try:  # never over a video of this batch, a dataset or a file that is not a CSV
                check_output(path, "csv", inputs=[r.path for r in self.table_model.rows])
                n = self.export_csv(path)
            except EngineError as exc:
                QMessageBox.warning(self, "Export", str(exc))
                return
            except OSError as exc:
                QMessageBox.warning(self, "Export", f"{path}: cannot be written ({exc.strerror or exc})")
                return
            self._say(f"Wrote {n} rows to {path}")

    def export_csv(self, path: str) -> int:
        """Best first, then the files that could not be scored; written whole or not at all, spreadsheet-safe."""
        from engine.outputs import atomic_file, safe_row
        from engine.scoring import ranking_cells, ranking_fields

        rows = sorted(self.table_model.rows,
                      key=lambda r: (r.report is None, r.report is not None and not r.report.meaningful,
                                     -(r.report.score if r.report else 0), r.path))
        cue_names = []
        for r in rows:
            if r.report is not None:
                cue_names = [c.name for c in r.report.cues.cues]
                break
        fields = ranking_fields(cue_names)
        rank = 0
        with atomic_file(path) as fh:
            w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                row = {"path": r.path, "status": r.status, "reason": r.error or ""}
                if r.report is not None:
                    rank += 1
                    row.update(ranking_cells(r.report), rank=rank)
                w.writerow(safe_row(row))
        return len(rows)
