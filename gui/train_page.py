"""Training page: choose a dataset, a model family and feature groups; train with a live curve and per-fold
metrics; compare finished runs; export a bundle; make one the active model.

The training job is the engine's, called as the CLI calls it (engine.training.train_model); without the
'train' extra the page says which extra to install.
Progress messages are read for numbers ("epoch 3 loss 0.41 val_spearman=0.62", "fold 2/5 spearman 0.66"),
which feed the plot and the fold table: the engine keeps its plain progress protocol.
"""
from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import extras

from . import userdata
from .plots import LinePlot
from .widgets import JobBar, card, label

_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_ .-]*?)\s*[=:]?\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)(?![\d/])")
_FOLD = re.compile(r"\bfold\s*(\d+)(?:\s*/\s*(\d+))?", re.I)
_EPOCH = re.compile(r"\b(?:epoch|iter(?:ation)?|step|round)\s*(\d+)", re.I)
METRIC_WORDS = ("loss", "spearman", "rho", "mae", "auc", "rmse", "r2", "val")
GROUP_HELP = {
    "account": "followers, following, likes, videos",
    "caption": "caption words and hashtags",
    "time": "hour and day of posting",
    "sound": "original sound or a track",
    "format": "length, shape, resolution",
    "content": "cues measured from the video",
    "frames": "frame embeddings (needs extracted features)",
    "audio": "audio features (needs extracted features)",
}


FAMILY_TEXT = {
    "ensemble": "Ensemble: ranking of scikit-learn learners (metadata)",
    "multimodal": "Multimodal network: metadata + caption + frames + audio",
    "video": "Video transformer: over frame embeddings (needs the videos)",
}


def fmt_duration(seconds: float) -> str:
    """45 s, 3 min 20 s, 18 min, 1 h 05 min."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {round(s % 3600 / 60):02d} min"


class Eta:
    """Time left from measured progress: the pace since the first fraction reported, applied to what is left.
    None until there is enough to go on (3 s and 2 % of progress)."""

    def __init__(self, now: float):
        self.started = now
        self.first: Optional[tuple[float, float]] = None
        self.fraction = 0.0

    def update(self, now: float, fraction: Optional[float]) -> Optional[float]:
        if fraction is None:
            return self.left(now)
        self.fraction = max(self.fraction, float(fraction))
        if self.first is None:
            self.first = (now, self.fraction)
        return self.left(now)

    def left(self, now: float) -> Optional[float]:
        if self.first is None:
            return None
        t0, f0 = self.first
        done, took = self.fraction - f0, now - t0
        if done < 0.02 or took < 3.0:
            return None
        return took / done * (1.0 - self.fraction)

    def text(self, now: float) -> str:
        left = self.left(now)
        so_far = f"{100 * self.fraction:.0f}% · {fmt_duration(now - self.started)} so far"
        return so_far + (" · estimating the time left…" if left is None else
                         f" · about {fmt_duration(left)} left at the pace so far")


def measured_durations(models_dir: Path) -> dict[str, tuple[float, int, float]]:
    """family -> (seconds, posts, when) of the newest finished run of that family on this computer, from the
    report.json each trained bundle keeps."""
    out: dict[str, tuple[float, int, float]] = {}
    if not models_dir.is_dir():
        return out
    for rep in models_dir.glob("*/report.json"):
        try:
            r = json.loads(rep.read_text(encoding="utf-8"))
            fam, secs, n = r["family"], float(r["total_seconds"]), int(r["n_posts"])
            when = rep.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if fam not in out or when > out[fam][2]:
            out[fam] = (secs, n, when)
    return out


#: family -> (seconds, posts) measured with `benchmarks/bench_training.py --families ensemble` on SMP-Video train
#: (metadata + caption), on a 2-core machine shared with other work (load ~9); shown until a run here is timed
REFERENCE_SECONDS = {"ensemble": (1353.0, 4000)}


def family_label(family: str, measured: dict) -> str:
    text = FAMILY_TEXT.get(family, family)
    if family in measured:
        secs, n, _ = measured[family]
        return f"{text} · took {fmt_duration(secs)} for {n:,} posts here last time"
    if family in REFERENCE_SECONDS:
        secs, n = REFERENCE_SECONDS[family]
        return f"{text} · about {fmt_duration(secs)} for {n:,} posts on a busy 2-core machine"
    return f"{text} · not yet timed on this computer"


def parse_metrics(message: str) -> dict[str, float]:
    """name -> number for the metric-like pairs in a progress message."""
    out = {}
    for name, num in _PAIR.findall(message or ""):
        key = name.strip().lower().replace(" ", "_").strip("_.-")
        if any(w in key for w in METRIC_WORDS):
            try:
                out[key.split("_")[-1] if key.startswith(("fold", "epoch")) else key] = float(num)
            except ValueError:
                pass
    return out


def train_job(dataset: str, family: str, features: list[str], out_dir: str, progress, cancel) -> dict:
    """The page's training job: engine.training.train_model, called by its own parameter names (as the CLI
    calls it), so a renamed parameter fails loudly here and in the tests."""
    from engine import training

    return training.train_model(dataset, model=family, out_dir=out_dir, features=features,
                                progress=progress, cancel=cancel)


class TrainPage(QWidget):
    status = Signal(str)
    active_model_changed = Signal(object)  # Path

    def __init__(self, runner, model, parent=None):
        super().__init__(parent)
        self.runner, self.model = runner, model
        self.job = None
        self.fit_label: Optional[str] = None  # the network fit whose loss per epoch is plotted
        self.started = 0.0
        self.eta = Eta(0.0)
        self._build()
        self.refresh()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        setup = card()
        g = QGridLayout(setup)
        g.setContentsMargins(14, 10, 14, 10)
        g.addWidget(label("Dataset", "h2"), 0, 0)
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(240)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.choose_dataset)
        row = QHBoxLayout()
        row.addWidget(self.dataset_combo, 1)
        row.addWidget(self.browse_button)
        g.addLayout(row, 0, 1)
        g.addWidget(label("Model family", "h2"), 1, 0)
        self.family_combo = QComboBox()
        from engine import training

        for fam in FAMILY_TEXT:
            if fam in training.MODELS:
                self.family_combo.addItem(FAMILY_TEXT[fam], fam)
        self.family_combo.setToolTip("How long each family took on this computer, from your last run of it; the "
                                     "time left is estimated from the measured pace while it trains")
        g.addWidget(self.family_combo, 1, 1)
        g.addWidget(label("Features", "h2"), 2, 0)
        groups = QHBoxLayout()
        self.group_checks: dict[str, QCheckBox] = {}
        for grp in training.GROUPS:
            cb = QCheckBox(grp)
            cb.setChecked(grp in ("account", "caption", "time", "sound", "format"))
            cb.setToolTip(GROUP_HELP.get(grp, ""))
            groups.addWidget(cb)
            self.group_checks[grp] = cb
        groups.addStretch(1)
        g.addLayout(groups, 2, 1)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.availability = label("", "muted", wrap=True)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.availability, 1)
        g.addLayout(buttons, 3, 0, 1, 2)
        g.setColumnStretch(1, 1)
        outer.addWidget(setup)

        self.jobbar = JobBar()
        self.jobbar.cancel_button.hide()  # the Cancel button above does it
        outer.addWidget(self.jobbar)
        self.eta_label = label("", "muted")
        outer.addWidget(self.eta_label)
        self.message = label("", wrap=True)
        outer.addWidget(self.message)

        mid = QHBoxLayout()
        plot_card = card()
        pv = QVBoxLayout(plot_card)
        pv.setContentsMargins(10, 8, 10, 8)
        self.plot = LinePlot("Held-out Spearman ρ per fold", "fold", y_label="Spearman ρ",
                             empty_text="Each fold's held-out Spearman ρ (the ensemble), or the loss of each epoch "
                                        "(the networks), appears here as the model trains.")
        pv.addWidget(self.plot)
        mid.addWidget(plot_card, 3)
        fold_card = card()
        fv = QVBoxLayout(fold_card)
        fv.setContentsMargins(10, 8, 10, 8)
        self.fold_title = label("Per-fold progress and metrics", "h2")
        fv.addWidget(self.fold_title)
        self.fold_table = QTableWidget(0, 0)
        self.fold_table.verticalHeader().setVisible(False)
        self.fold_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        fv.addWidget(self.fold_table)
        mid.addWidget(fold_card, 2)
        outer.addLayout(mid, 2)

        runs_card = card()
        rv = QVBoxLayout(runs_card)
        rv.setContentsMargins(10, 8, 10, 8)
        rhead = QHBoxLayout()
        rhead.addWidget(label("Finished runs (bundles in your data folder)", "h2"), 1)
        self.active_button = QPushButton("Make active")
        self.active_button.clicked.connect(self.make_active)
        self.export_button = QPushButton("Export bundle…")
        self.export_button.clicked.connect(self.export_bundle)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        for b in (self.active_button, self.export_button, self.refresh_button):
            rhead.addWidget(b)
        rv.addLayout(rhead)
        self.runs = QTableWidget(0, 8)
        self.runs.setHorizontalHeaderLabels(["Active", "Model", "Family", "Created", "Trained on",
                                             "Spearman ρ", "MAE", "AUC top 25%"])
        self.runs.verticalHeader().setVisible(False)
        self.runs.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.runs.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.runs.setSelectionMode(QAbstractItemView.SingleSelection)
        self.runs.horizontalHeader().setSectionResizeMode(4, QHeaderView.Stretch)
        self.runs.setColumnWidth(1, 220)
        self.runs.setSortingEnabled(True)
        self.runs.doubleClicked.connect(lambda _i: self.make_active())
        rv.addWidget(self.runs)
        outer.addWidget(runs_card, 2)

    # ------------------------------------------------------------------ lists
    def refresh(self) -> None:
        current = self.dataset_combo.currentData()
        self.dataset_combo.clear()
        for p in userdata.known_datasets():
            self.dataset_combo.addItem(p.stem, str(p))
        if current:
            i = self.dataset_combo.findData(current)
            if i < 0:
                self.dataset_combo.addItem(Path(current).stem, current)
                i = self.dataset_combo.count() - 1
            self.dataset_combo.setCurrentIndex(i)
        measured = measured_durations(userdata.models_dir())
        for i in range(self.family_combo.count()):
            self.family_combo.setItemText(i, family_label(self.family_combo.itemData(i), measured))
        why = extras.missing("train")
        self.start_button.setEnabled(why is None and not self.busy)
        self.availability.setText("" if why is None else f"Training {why}. Finished runs can still be compared "
                                  "and made active.")
        self._fill_runs()

    def _fill_runs(self) -> None:
        self.runs.setSortingEnabled(False)
        bundles = userdata.list_bundles()
        self.runs.setRowCount(len(bundles))
        active = Path(self.model.path).resolve()
        for i, b in enumerate(bundles):
            is_active = Path(b.path).resolve() == active
            cells = ["●" if is_active else "", b.name + (" (built in)" if b.is_default else ""), b.family,
                     b.created, b.training_data,
                     "" if b.spearman is None else f"{b.spearman:.3f}",
                     "" if b.mae is None else f"{b.mae:.3f}",
                     "" if b.auc is None else f"{b.auc:.3f}"]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, str(b.path))
                item.setToolTip(str(b.path))
                self.runs.setItem(i, j, item)
        self.runs.setSortingEnabled(True)

    def add_dataset(self, path: str) -> None:
        """Offer (and select) a dataset the Dataset page opened, wherever it lives."""
        i = self.dataset_combo.findData(str(path))
        if i < 0 and not self.busy:
            self.dataset_combo.addItem(Path(path).stem, str(path))
            i = self.dataset_combo.count() - 1
        if i >= 0 and not self.busy:
            self.dataset_combo.setCurrentIndex(i)

    def choose_dataset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a dataset", str(userdata.datasets_dir()),
                                              "Datasets (*.sqlite);;All files (*)")
        if path:
            self.dataset_combo.addItem(Path(path).stem, path)
            self.dataset_combo.setCurrentIndex(self.dataset_combo.count() - 1)

    def selected_bundle(self) -> Optional[Path]:
        row = self.runs.currentRow()
        if row < 0 or self.runs.item(row, 0) is None:
            return None
        return Path(self.runs.item(row, 0).data(Qt.UserRole))

    def make_active(self) -> None:
        p = self.selected_bundle()
        if p is None:
            self._say("Select a run first.", error=True)
            return
        self.model.set_path(p)
        self._fill_runs()
        self._say(f"Active model: {p.name}. The Score and Batch pages use it from now on.")
        self.active_model_changed.emit(p)

    def export_bundle(self) -> None:
        p = self.selected_bundle()
        if p is None:
            self._say("Select a run first.", error=True)
            return
        out, _ = QFileDialog.getSaveFileName(self, "Export the bundle", f"{p.name}.zip", "Bundle (*.zip)")
        if out:
            from engine.errors import EngineError
            from engine.outputs import atomic_file, check_output

            made = Path(out if out.lower().endswith(".zip") else out + ".zip")
            files = sorted(f for f in p.rglob("*") if f.is_file())
            try:  # never over the bundle's own files, a dataset, a video or a file that is not a .zip
                check_output(made, "zip", inputs=files)
                with atomic_file(made, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in files:
                        z.write(f, (Path(p.name) / f.relative_to(p)).as_posix())
            except EngineError as exc:
                self._say(str(exc), error=True)
                return
            except OSError as exc:
                self._say(f"{out}: cannot be written ({exc.strerror or exc})", error=True)
                return
            self._say(f"Exported {p.name} to {made}")

    # ------------------------------------------------------------------ training
    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def features(self) -> list[str]:
        return [g for g, cb in self.group_checks.items() if cb.isChecked()]

    def start(self) -> None:
        dataset = self.dataset_combo.currentData()
        if not dataset:
            self._say("Choose a dataset first (make one on the Dataset page).", error=True)
            return
        feats = self.features()
        if not feats:
            self._say("Tick at least one feature group.", error=True)
            return
        family = self.family_combo.currentData()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = userdata.models_dir() / f"{family}-{Path(dataset).stem}-{stamp}"
        self.start_plot()
        self.jobbar.start(f"Training {family} on {Path(dataset).stem}…")
        self._say("")
        job = self.runner.submit(train_job, dataset, family, feats, str(out_dir), name="training")
        self.job = job
        job.on_progress(self._progress)
        job.on_result(lambda r, o=out_dir: self._done(r, o))
        job.on_error(lambda m: self._say(m, error=True))
        job.on_cancelled(lambda: self._say("Training cancelled; no bundle was written and the dataset is untouched."))
        job.on_finished(self._finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.emit("Training…")

    def start_plot(self) -> None:
        """An empty plot and fold table, and the clock of a new run."""
        self.plot.clear()
        self.fold_table.clear()
        self.fold_table.setRowCount(0)
        self.fold_table.setColumnCount(0)
        self.fold_title.setText("Per-fold progress and metrics")
        self.plot.set_axes("Held-out Spearman ρ per fold", "fold", "Spearman ρ", markers=True)
        self.fit_label = None
        self.started = time.perf_counter()
        self.eta = Eta(self.started)
        self.eta_label.setText("")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.jobbar.message.setText("Stopping…")

    def _progress(self, fraction, message: str) -> None:
        self.jobbar.update_progress(fraction, message)
        now = time.perf_counter()
        self.eta.update(now, fraction)
        self.eta_label.setText(self.eta.text(now))
        metrics = parse_metrics(message)
        fold = _FOLD.search(message)
        epoch = _EPOCH.search(message)
        phase = message[:fold.start()].strip(" :,") if fold else ""
        if epoch and any("loss" in k for k in metrics):
            # a network's epoch: plot this fit's training and validation loss
            fit = message[:epoch.start()].strip(" :,") or "training"
            if fit != self.fit_label:
                self.fit_label = fit
                self.plot.clear()
                self.plot.set_axes(f"Loss per epoch: {fit}", "epoch", "loss (MSE)")
            for key, name in (("train_loss", "training"), ("val_loss", "validation")):
                if key in metrics:
                    self.plot.add_point(name, float(epoch.group(1)), metrics[key])
            if fold:
                self._fold_status(int(fold.group(1)), f"epoch {epoch.group(1)}", phase)
            return
        if fold and "spearman" in metrics:
            k = int(fold.group(1))
            self._fold_row(k, {"spearman": metrics["spearman"]}, phase)
            if self.fit_label is None:  # no epochs: the plot is the per-fold measure
                self.plot.add_point(phase or "held-out folds", float(k), metrics["spearman"])
            return
        if fold:
            self._fold_status(int(fold.group(1)), message, phase)

    def _fold_key(self, fold: int, phase: str = "") -> str:
        return str(fold) if phase in ("", "grouped CV") else f"{phase} {fold}"

    def _fold_table_row(self, key: str) -> int:
        row = next((i for i in range(self.fold_table.rowCount())
                    if self.fold_table.item(i, 0) and self.fold_table.item(i, 0).text() == key), None)
        if row is None:
            row = self.fold_table.rowCount()
            self.fold_table.insertRow(row)
            self.fold_table.setItem(row, 0, QTableWidgetItem(key))
        return row

    def _fold_columns(self, wanted: list[str]) -> list[str]:
        cols = [self.fold_table.horizontalHeaderItem(j).text() for j in range(self.fold_table.columnCount())]
        cols = cols or ["fold"]
        for k in wanted:
            if k not in cols:
                cols.append(k)
        self.fold_table.setColumnCount(len(cols))
        self.fold_table.setHorizontalHeaderLabels(cols)
        self.fold_table.horizontalHeader().setStretchLastSection(True)
        return cols

    def _fold_status(self, fold: int, message: str, phase: str = "") -> None:
        """What each fold is doing now (the member or epoch being fitted), beside its held-out measure."""
        cols = self._fold_columns(["now"])
        row = self._fold_table_row(self._fold_key(fold, phase))
        self.fold_table.setItem(row, cols.index("now"), QTableWidgetItem(message.split(",")[-1].split(":")[-1].strip()))

    def _fold_row(self, fold: int, metrics: dict[str, float], phase: str = "") -> None:
        cols = self._fold_columns(list(metrics))
        row = self._fold_table_row(self._fold_key(fold, phase))
        for k, v in metrics.items():
            self.fold_table.setItem(row, cols.index(k), QTableWidgetItem(f"{v:.4g}"))
        if "now" in cols:
            self.fold_table.setItem(row, cols.index("now"), QTableWidgetItem("done"))

    def _done(self, result, out_dir: Path) -> None:
        took = time.perf_counter() - self.started
        self._say(f"Trained in {took:.0f} s: bundle {out_dir.name} in your data folder. The run is listed below;"
                  " select it and press Make active to score with it.")
        if isinstance(result, dict):
            self.show_report(result)

    def show_report(self, report: dict) -> None:
        """The finished run's learning curve and held-out metrics, from the report the job returned."""
        curve, xlabel = None, "epoch"
        lc = report.get("learning_curve")
        if isinstance(lc, dict):
            curve = lc.get("curve", lc)
            xlabel = f"boosting iterations (x{lc['every']})" if lc.get("every") else xlabel
        for key in ("curves", "curve", "final_curve"):
            if curve is None and isinstance(report.get(key), dict):
                curve, xlabel = report[key], "epoch"
        if isinstance(curve, dict) and any(isinstance(v, list) and v for v in curve.values()):
            self.plot.clear()
            mae = any("mae" in k for k in curve)
            title = ("Learning curve: boosting member, one held-out fold" if lc and lc.get("every") else
                     "Learning curve: the final network")
            self.plot.set_axes(title, xlabel, "MAE" if mae else "loss (MSE)")
            for name, ys in curve.items():
                if isinstance(ys, list):
                    for i, y in enumerate(ys, 1):
                        if isinstance(y, (int, float)):
                            self.plot.add_point(name.replace("_", " "), float(i), float(y))
        folds = report.get("folds") or report.get("fold_metrics")
        if isinstance(folds, list):
            for i, f in enumerate(folds, 1):
                if isinstance(f, dict):
                    self._fold_row(int(f.get("fold", i)), {k: float(v) for k, v in f.items()
                                                           if isinstance(v, (int, float)) and k != "fold"})
        metrics = report.get("metrics")
        if isinstance(metrics, dict):
            self._metrics_table(metrics)

    def _metrics_table(self, metrics: dict) -> None:
        """Held-out metrics: cross-validation and the time-ordered holdout, the model beside the baselines."""
        rows = []
        for split, title in (("cv", "cross-validation"), ("time_split", "time-ordered holdout")):
            block = metrics.get(split)
            if not isinstance(block, dict):
                continue
            for who, name in (("model", "this model"), ("followers_only", "followers only"), ("mean", "mean")):
                m = block.get(who)
                if isinstance(m, dict):
                    rows.append((f"{title}: {name}", m.get("spearman"), m.get("mae"), m.get("auc_top25")))
        if not rows:
            return
        self.fold_title.setText("Held-out metrics")
        self.fold_table.clear()
        self.fold_table.setColumnCount(4)
        self.fold_table.setHorizontalHeaderLabels(["", "Spearman ρ", "MAE", "AUC top 25%"])
        self.fold_table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                text = v if isinstance(v, str) else ("" if v is None else f"{v:.3f}")
                self.fold_table.setItem(i, j, QTableWidgetItem(text))
        hh = self.fold_table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.Stretch)
        for j in range(1, 4):
            hh.setSectionResizeMode(j, QHeaderView.ResizeToContents)

    def _finished(self, job) -> None:
        if job is not self.job:
            return
        self.jobbar.stop()
        took = fmt_duration(time.perf_counter() - self.started)
        self.eta_label.setText({"done": f"Finished in {took}.", "cancelled": f"Stopped after {took}."}.get(
            job.state, f"Failed after {took}."))
        self.cancel_button.setEnabled(False)
        self.refresh()
        self.status.emit("Training " + {"done": "finished", "cancelled": "cancelled"}.get(job.state, "failed"))

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setObjectName("error" if error else "")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        if text:
            self.status.emit(text)
