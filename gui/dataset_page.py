"""Dataset page: create or open a dataset, import into it with progress, browse its posts, see how views,
followers and durations are spread, and start feature extraction or a collection where the build has them.

Every store access runs in a job that opens its own Dataset (a Dataset is used from one thread at a time).
"""
from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QModelIndex, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


from engine import extras
from engine.fields import fmt_count

from . import userdata
from .plots import Histogram
from .widgets import DropTarget, JobBar, TableModel, card, label, to_pixmap

THUMB_LIMIT = 300  # thumbnails for at most this many posts (the first ones with a video file)


def _open_info(path: str, progress, cancel):
    """(info dict, posts list, filter text of each post) of a dataset; a job function. The lower-cased text the
    filter searches is made here, in the worker thread, so that typing in the filter only compares strings."""
    from engine.data.store import Dataset

    progress(None, "reading the dataset")
    with Dataset.open(path) as ds:
        info = ds.info()
        posts, hay = [], []
        for i, p in enumerate(ds.posts()):
            if p.video_path and not Path(p.video_path).is_file():
                p.video_path = None  # the source named a file that is not here: show no video
            posts.append(p)
            hay.append(filter_text(p))
            if i % 2000 == 0:
                cancel.raise_if_cancelled()
    return info, posts, hay


def filter_text(p) -> str:
    """What the filter box matches a post on: its id, author, caption and hashtags, lower case."""
    return " ".join((p.post_id or "", p.author_id or "", p.caption or "", " ".join(p.hashtags or ()))).lower()


def _create(path: str, progress, cancel):
    from engine.data.store import Dataset

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Dataset.create(path).close()
    return path


def _import(path: str, source: str, fmt: Optional[str], progress, cancel):
    from engine.data.store import Dataset

    with Dataset.open(path) as ds:
        return ds.import_path(source, fmt, progress=progress, cancel=cancel)


def _thumbs(paths: list[str], progress, cancel):
    from .scoring import thumbnail

    for p in paths:
        cancel.raise_if_cancelled()
        try:
            yield p, thumbnail(p, 64)
        except Exception:  # a missing or broken file: no thumbnail
            yield p, None


class PostsModel(TableModel):
    """The posts of a dataset, sorted and filtered by the model itself.

    A QSortFilterProxyModel over 4,000 posts asks Python for each compared cell (about 100,000 calls per sort,
    and one per cell per filter keystroke): seconds of frozen window, tens of seconds under load. Here a
    sort orders row numbers by one precomputed key per post (made once per column, then cached) and a filter
    tests the lower-cased text made in the loading job; Qt only asks for the rows on screen."""

    COLUMNS = ("", "Post", "Author", "Caption", "Posted", "Followers", "Views", "Popularity", "Duration")
    NUMBERS = {5: "author_followers", 6: "views", 7: "popularity", 8: "duration_s"}
    VIEWS = 6
    HIGHEST_FIRST = (4, 5, 6, 7, 8)  # the first click on these sorts newest / highest first

    def __init__(self, parent=None):
        super().__init__(parent)
        self.posts: list = []
        self.rows: list[int] = []  # the posts shown, as indices into self.posts, in display order
        self.thumbs: dict[str, object] = {}
        self._hay: list[str] = []
        self._keys: dict[int, list] = {}
        self._texts: dict[int, tuple] = {}
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.AscendingOrder)
        self._needle = ""

    def set_posts(self, posts: list, hay: Optional[list[str]] = None) -> None:
        self.beginResetModel()
        self.posts = posts
        self._hay = hay if hay is not None and len(hay) == len(posts) else [filter_text(p) for p in posts]
        self._keys = {}
        self._texts = {}
        self.thumbs = {}
        self.rows = self._ordered()
        self.endResetModel()

    def post(self, row: int):
        """The post shown at a row."""
        return self.posts[self.rows[row]]

    def has_views(self) -> bool:
        return any(p.views is not None for p in self.posts)

    # ---- sorting and filtering
    def _key(self, column: int) -> list:
        if column not in self._keys:
            get = lambda p: p.video_path is not None  # noqa: E731
            if column in self.NUMBERS:
                name = self.NUMBERS[column]
                get = lambda p: getattr(p, name)  # noqa: E731
            elif column == 1:
                get = lambda p: p.post_id or ""  # noqa: E731
            elif column == 2:
                get = lambda p: (p.author_id or "").lower()  # noqa: E731
            elif column == 3:
                get = lambda p: (p.caption or "").lower()  # noqa: E731
            elif column == 4:
                get = lambda p: p.post_time.isoformat() if p.post_time else None  # noqa: E731
            self._keys[column] = [get(p) for p in self.posts]
        return self._keys[column]

    def _ordered(self) -> list[int]:
        column, order = self._sort
        idx = range(len(self.posts))
        if 0 <= column < len(self.COLUMNS):
            key = self._key(column)
            known = [i for i in idx if key[i] is not None]
            known.sort(key=key.__getitem__, reverse=order == Qt.DescendingOrder)
            idx = known + [i for i in idx if key[i] is None]  # posts without the value last, either way
        if self._needle:
            needle, hay = self._needle, self._hay
            return [i for i in idx if needle in hay[i]]
        return list(idx)

    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        shown = [self.rows[i.row()] if i.isValid() and i.row() < len(self.rows) else None for i in old]
        self.rows = self._ordered()
        where = {p: r for r, p in enumerate(self.rows)}
        self.changePersistentIndexList(old, [self.index(where[p], i.column()) if p in where else QModelIndex()
                                             for p, i in zip(shown, old)])
        self.layoutChanged.emit()

    def set_filter(self, text: str) -> None:
        self.beginResetModel()
        self._needle = (text or "").strip().lower()
        self.rows = self._ordered()
        self.endResetModel()

    # ---- Qt
    def set_thumb(self, video_path: str, pm) -> None:
        if pm is None:
            return
        self.thumbs[video_path] = pm
        for r, i in enumerate(self.rows):
            if self.posts[i].video_path == video_path:
                self.dataChanged.emit(self.index(r, 0), self.index(r, 0), [Qt.DecorationRole])

    def _cells(self, i: int) -> tuple:
        """The texts of post i's row, made once (a repaint asks for each visible cell several times)."""
        cells = self._texts.get(i)
        if cells is None:
            p = self.posts[i]
            nums = []
            for col, name in self.NUMBERS.items():
                v = getattr(p, name)
                nums.append("" if v is None else f"{v:.2f}" if col == 7 else f"{v:.1f} s" if col == 8 else fmt_count(v))
            caption = ((p.caption or "") + ("  #" + " #".join(p.hashtags) if p.hashtags else ""))[:140]
            cells = ("▶" if p.video_path else "", p.post_id, p.author_id or "", caption,
                     p.post_time.isoformat(" ", "minutes") if p.post_time else "", *nums)
            self._texts[i] = cells
        return cells

    def data(self, index, role=Qt.DisplayRole):
        # Called from C++ for every visible cell and role on each repaint: compare plain ints, not enum members
        # (PySide's enum comparisons cost microseconds each), and read texts made once per row.
        role = role if role.__class__ is int else role.value
        if role not in _ROLES:
            return None
        row, col = index.row(), index.column()
        if not 0 <= row < len(self.rows):
            return None
        i = self.rows[row]
        if role == _DISPLAY:
            return self._cells(i)[col]
        if role == _ALIGN:
            return _RIGHT if col >= 5 else None
        p = self.posts[i]
        if role == _DECORATION:
            return self.thumbs.get(p.video_path) if col == 0 and p.video_path else None
        if col == 3:
            return p.caption
        if col == 0 and p.video_path:
            return "Double-click to see the post and play its video"
        return None


_DISPLAY, _DECORATION, _TOOLTIP, _ALIGN = (r.value for r in (Qt.DisplayRole, Qt.DecorationRole, Qt.ToolTipRole,
                                                             Qt.TextAlignmentRole))
_ROLES = frozenset((_DISPLAY, _DECORATION, _TOOLTIP, _ALIGN))
_RIGHT = int((Qt.AlignRight | Qt.AlignVCenter).value)


def _multimedia():
    """(QMediaPlayer, QAudioOutput, QVideoWidget) when this PySide6 has Qt Multimedia, else None."""
    try:
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        from PySide6.QtMultimediaWidgets import QVideoWidget
    except ImportError:
        return None
    return QMediaPlayer, QAudioOutput, QVideoWidget


def post_details(p) -> list[tuple[str, str]]:
    """(label, text) of what the dataset knows about a post, for the details dialog."""
    def num(v, unit=""):
        return "" if v is None else f"{fmt_count(v)}{unit}"

    rows = [("Post", p.post_id), ("Author", p.author_id or ""),
            ("Caption", p.caption or ""), ("Hashtags", " ".join(f"#{h}" for h in p.hashtags or ())),
            ("Posted", p.post_time.isoformat(" ", "minutes") if p.post_time else ""),
            ("Views", num(p.views)), ("Popularity", "" if p.popularity is None else f"{p.popularity:.2f} (log scale)"),
            ("Likes", num(p.likes)), ("Comments", num(p.comments)), ("Shares", num(p.shares)),
            ("Followers", num(p.author_followers)), ("Following", num(p.author_following)),
            ("Author likes", num(p.author_likes)), ("Author videos", num(p.author_videos)),
            ("Duration", "" if p.duration_s is None else f"{p.duration_s:.1f} s"),
            ("Size", f"{p.width} x {p.height}" if p.width and p.height else ""),
            ("Sound", (p.music_title or "") + (" (original)" if p.music_original else "")),
            ("Language", p.language or ""), ("Video", p.video_path or "no video file in this dataset")]
    return [(k, v) for k, v in rows if v]


class PostDialog(QDialog):
    """A post's details; its video plays here when Qt Multimedia is installed, else a frame of it is shown
    with a button that opens the file in the system's player."""

    def __init__(self, post, runner=None, parent=None):
        super().__init__(parent)
        self.post = post
        self.player = None
        self.setWindowTitle(f"Post {post.post_id}")
        outer = QHBoxLayout(self)
        if post.video_path:
            side = QVBoxLayout()
            mm = _multimedia()
            if mm is not None:
                player_cls, audio_cls, video_cls = mm
                self.video = video_cls()
                self.video.setMinimumSize(270, 480)
                self.player = player_cls(self)
                self.audio = audio_cls(self)
                self.player.setAudioOutput(self.audio)
                self.player.setVideoOutput(self.video)
                self.player.setSource(QUrl.fromLocalFile(post.video_path))
                side.addWidget(self.video, 1)
                self.play_button = QPushButton("Play / pause")
                self.play_button.clicked.connect(self.toggle_play)
                side.addWidget(self.play_button)
                self.player.play()
            else:
                self.frame = label("loading a frame…", "muted")
                self.frame.setAlignment(Qt.AlignCenter)
                self.frame.setMinimumSize(240, 240)
                side.addWidget(self.frame, 1)
                if runner is not None:
                    job = runner.submit(_thumb, post.video_path, 360, name="post frame")
                    job.on_result(self._show_frame)
                self.play_button = QPushButton("Play in your video player")
                self.play_button.setToolTip("This build has no Qt Multimedia: the system's player opens the file")
                self.play_button.clicked.connect(
                    lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(post.video_path)))
                side.addWidget(self.play_button)
            outer.addLayout(side)
        form = QFormLayout()
        self.fields: dict[str, str] = {}
        for name, text in post_details(post):
            value = label(text, wrap=True)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addRow(label(name, "muted"), value)
            self.fields[name] = text
        box = QVBoxLayout()
        box.addLayout(form)
        box.addStretch(1)
        bb = QDialogButtonBox(QDialogButtonBox.Close)
        bb.rejected.connect(self.reject)
        box.addWidget(bb)
        outer.addLayout(box, 1)
        self.resize(760 if post.video_path else 460, 520)

    def toggle_play(self) -> None:
        if self.player is not None:
            playing = self.player.playbackState() == self.player.PlaybackState.PlayingState
            self.player.pause() if playing else self.player.play()

    def _show_frame(self, image) -> None:
        pm = to_pixmap(image)
        if pm is not None and self.isVisible():
            self.frame.setPixmap(pm)
        elif pm is None:
            self.frame.setText("no frame could be read")

    def done(self, r) -> None:
        if self.player is not None:
            self.player.stop()
        super().done(r)


def extract_job(path: str, progress, cancel, left: Optional[list] = None):
    """`dataset extract`'s job, called as the CLI calls it (engine.extract.dataset_extract_job), with its default
    pool: one worker process per core (engine.scoring.default_workers; the videos come back one by one, this
    process alone writes the dataset, a cancel stops the pool). `left`, when given, gets the number of videos
    still to extract before the run and, on a cancel, after it (what finished before the cancel stays cached)."""
    from engine import extract
    from engine.errors import Cancelled
    from engine.scoring import default_workers

    if left is None:
        return extract.dataset_extract_job(path, progress=progress, cancel=cancel, workers=default_workers())
    left.append(_videos_left(path))
    try:
        return extract.dataset_extract_job(path, progress=progress, cancel=cancel, workers=default_workers())
    except Cancelled:
        left.append(_videos_left(path))
        raise


def _videos_left(path: str) -> Optional[int]:
    """How many videos of the dataset at `path` `dataset extract` (its defaults) still has to do: none cached and
    no failure recorded; None when the dataset cannot be read."""
    from engine.data.store import Dataset
    from engine.errors import EngineError
    from engine.extract import video_spec_version

    key, backbone = video_spec_version(), "efficientnet_lite0"
    try:
        with Dataset.open(path) as ds:
            failed = ds.feature_failures(key, backbone)
            return sum(v.sha256 not in failed for v in ds.videos_without_features(key, backbone))
    except (EngineError, OSError):
        return None


def extract_cancelled_message(left: list) -> str:
    """What a cancelled extraction kept (the videos finished before the cancel stay cached) and what is left."""
    if len(left) < 2 or None in left:
        return ("Extracting features cancelled; the videos finished before the cancel keep their features: "
                "Extract features again does the rest.")
    kept, rest = max(0, left[0] - left[1]), left[1]
    said = f"{kept} video{'s' if kept != 1 else ''}" if kept else "no video"
    return (f"Extracting features cancelled: {said} finished before the cancel and keep their features; "
            f"Extract features again does the {rest} left." if rest else
            f"Extracting features cancelled: {said} finished before the cancel and keep their features.")


def collect_job(path: str, kind: str, value: str, count: int, download: bool, progress, cancel):
    """`collect`'s job, called as the CLI calls it (engine.collect.collect on make_source(kind, value))."""
    from engine import collect

    return collect.collect(collect.make_source(kind, value or None), path, count, download=download,
                           progress=progress, cancel=cancel)


def _thumb(path: str, side: int, progress, cancel):
    from .scoring import thumbnail

    return thumbnail(path, side)


class CollectDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Collect posts")
        form = QFormLayout(self)
        self.source = QComboBox()
        from engine.collect import KINDS

        self.source.addItems(KINDS)
        self.query = QLineEdit()
        self.query.setPlaceholderText("hashtag, user name, search words or sound id")
        self.count = QSpinBox()
        self.count.setRange(1, 100000)
        self.count.setValue(100)
        self.download = QCheckBox("Download the videos too")
        form.addRow("Source", self.source)
        form.addRow("What", self.query)
        form.addRow("How many", self.count)
        form.addRow("", self.download)
        bb = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        form.addRow(bb)


class DatasetPage(DropTarget, QWidget):
    status = Signal(str)
    datasets_changed = Signal()
    dataset_opened = Signal(str)  # path

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.setAcceptDrops(True)
        self.path: Optional[str] = None
        self.job = None
        self.load_job = None
        self.thumb_job = None
        self.info: dict = {}
        self.post_dialog: Optional[PostDialog] = None
        self._build()
        self.refresh_list()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        head = QHBoxLayout()
        head.addWidget(label("Dataset", "h2"))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(260)
        self.combo.activated.connect(lambda _i: self.combo.currentData() and self.open_dataset(self.combo.currentData()))
        self.new_button = QPushButton("New…")
        self.new_button.clicked.connect(self.choose_new)
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.choose_open)
        self.import_button = QToolButton()
        self.import_button.setText("Import")
        self.import_button.setObjectName("primary")
        self.import_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.import_button)
        menu.addAction("Posts CSV…", lambda: self.choose_import("posts-csv"))
        menu.addAction("SMP-Video folder…", lambda: self.choose_import("smp"))
        menu.addAction("TikTok JSON…", lambda: self.choose_import("tiktok-json"))
        menu.addAction("Folder of videos…", lambda: self.choose_import("video-folder"))
        self.import_button.setMenu(menu)
        self.extract_button = QPushButton("Extract features")
        self.extract_button.clicked.connect(self.start_extract)
        self.collect_button = QPushButton("Collect…")
        self.collect_button.clicked.connect(self.start_collect)
        for w in (self.combo, self.new_button, self.open_button, self.import_button, self.extract_button,
                  self.collect_button):
            head.addWidget(w)
        head.addStretch(1)
        outer.addLayout(head)
        self.info_label = label("Create a dataset, or open one, then import posts into it (or drop a file here).",
                                "muted", wrap=True)
        outer.addWidget(self.info_label)
        self.jobbar = JobBar()
        self.jobbar.cancel_clicked.connect(self.cancel)
        outer.addWidget(self.jobbar)
        self.message = label("", wrap=True)
        outer.addWidget(self.message)

        hist_card = card()
        hl = QHBoxLayout(hist_card)
        hl.setContentsMargins(10, 8, 10, 8)
        log_fmt = lambda v: fmt_count(10 ** v)  # noqa: E731
        self.views_hist = Histogram("Views", fmt=log_fmt)
        self.followers_hist = Histogram("Followers", fmt=log_fmt)
        self.duration_hist = Histogram("Duration", fmt=lambda v: f"{v:.0f} s")
        for h in (self.views_hist, self.followers_hist, self.duration_hist):
            h.setMinimumHeight(170)
            hl.addWidget(h)
        outer.addWidget(hist_card)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter posts by id, author or caption…")
        self.filter_edit.setClearButtonEnabled(True)
        outer.addWidget(self.filter_edit)
        self.posts_model = PostsModel(self)
        self.filter_edit.textChanged.connect(self.posts_model.set_filter)
        self.table = QTableView()
        self.table.setModel(self.posts_model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.AscendingOrder)  # import order until the user sorts
        self.table.doubleClicked.connect(lambda ix: self.show_post(ix.row()))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setIconSize(QSize(40, 40))
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.Stretch)
        for col, w in ((0, 48), (1, 150), (2, 110), (4, 130), (5, 80), (6, 80), (7, 80), (8, 70)):
            self.table.setColumnWidth(col, w)
        outer.addWidget(self.table, 1)
        self._update_hook_buttons()

    def _update_hook_buttons(self) -> None:
        for button, extra, what in ((self.extract_button, None, "Feature extraction"),
                                    (self.collect_button, "collect", "Collection")):
            why = extras.missing(extra) if extra else None
            button.setEnabled(why is None and self.path is not None)
            button.setToolTip(f"{what} {why}" if why else
                              (f"{what} into this dataset" if self.path else "Open a dataset first"))
            button.setText(button.text().split(" (")[0] + (f" (needs the '{extra}' extra)" if why else ""))
        has = self.path is not None
        self.import_button.setEnabled(has)

    # ------------------------------------------------------------------ datasets
    def refresh_list(self) -> None:
        current = self.path
        self.combo.clear()
        self.combo.addItem("— choose a dataset —", None)
        paths = [str(p) for p in userdata.known_datasets()]
        if current and current not in paths:
            paths.append(current)
        for p in paths:
            self.combo.addItem(Path(p).stem, p)
        if current:
            self.combo.setCurrentIndex(self.combo.findData(current))

    def choose_new(self) -> None:
        name, ok = QInputDialog.getText(self, "New dataset", "Name (stored in your data folder):")
        if ok and name.strip():
            self.create_dataset(str(userdata.datasets_dir() / f"{name.strip()}.sqlite"))

    def choose_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", str(userdata.datasets_dir()),
                                              "Datasets (*.sqlite);;All files (*)")
        if path:
            self.open_dataset(path)

    def create_dataset(self, path: str) -> None:
        if Path(path).exists():
            self.open_dataset(path)
            return
        job = self.runner.submit(_create, path, name="create dataset")
        job.on_result(lambda p: (self.datasets_changed.emit(), self.open_dataset(p)))
        job.on_error(lambda m: self._say(m, error=True))

    def open_dataset(self, path: str) -> None:
        self.path = str(path)
        self.refresh_list()
        self._update_hook_buttons()
        self.info_label.setText(f"Opening {Path(path).name}…")
        if self.load_job is not None:
            self.load_job.cancel()
        job = self.runner.submit(_open_info, self.path, name="open dataset")
        self.load_job = job
        job.on_result(lambda r, j=job: j is self.load_job and self._loaded(*r))
        job.on_error(lambda m, j=job: j is self.load_job and self._say(m, error=True))

    def _loaded(self, info: dict, posts: list, hay: Optional[list[str]] = None) -> None:
        self.info = info
        srcs = ", ".join(f"{k} {v:,}" for k, v in info.get("sources", {}).items())
        span = ""
        if info.get("first_post"):
            span = f" · posted {str(info['first_post'])[:10]} to {str(info['last_post'])[:10]}"
        self.info_label.setText(
            f"<b>{Path(info['path']).name}</b>: {info['posts']:,} posts, {info['authors']:,} authors, "
            f"{info['videos']:,} videos, {info['labelled_posts']:,} labelled posts{span}"
            + (f" · from {srcs}" if srcs else ""))
        self.posts_model.set_posts(posts, hay)
        self.table.setColumnHidden(PostsModel.VIEWS, not self.posts_model.has_views())  # SMP-Video has none
        views = [math.log10(1 + p.views) for p in posts if p.views is not None and p.views >= 0]
        if views:
            self.views_hist.title = "Views"
            self.views_hist.fmt = lambda v: fmt_count(10 ** v)
            self.views_hist.set_values(views, "log scale")
        else:  # SMP-Video gives a log-scale popularity, not views
            self.views_hist.title = "Popularity (log-scale views)"
            self.views_hist.fmt = lambda v: f"{v:.1f}"
            self.views_hist.set_values([p.popularity for p in posts])
        self.followers_hist.set_values(
            [math.log10(1 + p.author_followers) for p in posts if p.author_followers is not None and p.author_followers >= 0],
            "log scale")
        durations = sorted(p.duration_s for p in posts if p.duration_s is not None)
        if durations:
            cap = durations[int(0.98 * (len(durations) - 1))]
            longer = sum(d > cap for d in durations)
            self.duration_hist.set_values([min(d, cap) for d in durations],
                                          f"{longer} longer in the last bar" if longer else "")
        else:
            self.duration_hist.set_values([])
        self._start_thumbs(posts)
        self.status.emit(f"Opened {Path(info['path']).name}")
        self.dataset_opened.emit(str(info["path"]))

    def _start_thumbs(self, posts) -> None:
        if self.thumb_job is not None:
            self.thumb_job.cancel()
        paths = []
        seen = set()
        for p in posts:
            if p.video_path and p.video_path not in seen and Path(p.video_path).is_file():
                seen.add(p.video_path)
                paths.append(p.video_path)
                if len(paths) >= THUMB_LIMIT:
                    break
        if not paths:
            return
        job = self.runner.submit(_thumbs, paths, name="post thumbnails")
        self.thumb_job = job
        job.on_item(lambda pi: self.posts_model.set_thumb(pi[0], to_pixmap(pi[1])))

    def show_post(self, row: int) -> Optional[PostDialog]:
        """The details of the post shown at a row (and its video, when it has one)."""
        if not 0 <= row < self.posts_model.rowCount():
            return None
        dlg = PostDialog(self.posts_model.post(row), self.runner, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.show()
        self.post_dialog = dlg
        return dlg

    # ------------------------------------------------------------------ import
    def handle_drop(self, paths: list[str]) -> None:
        if self.path is None:
            self._say("Open or create a dataset first, then drop files to import into it.", error=True)
            return
        self.start_import(paths[0], None)

    def choose_import(self, fmt: str) -> None:
        if fmt in ("smp", "video-folder"):
            src = QFileDialog.getExistingDirectory(self, "Choose the folder to import")
        else:
            filt = "Posts CSV (*.csv *.tsv *.txt)" if fmt == "posts-csv" else "TikTok JSON (*.json *.jsonl *.ndjson)"
            src, _ = QFileDialog.getOpenFileName(self, "Choose the file to import", "", filt + ";;All files (*)")
        if src:
            self.start_import(src, fmt)

    def start_import(self, source: str, fmt: Optional[str]) -> None:
        if self.busy:
            self._say("Wait for the running job to finish, or cancel it.", error=True)
            return
        self._run(_import, self.path, source, fmt, what=f"Importing {Path(source).name}",
                  done=lambda r: self._say(f"Imported {Path(source).name}: {r.summary()}"
                                           + (f". Problems: {'; '.join(r.problems[:3])}" if r.problems else "")))

    # ------------------------------------------------------------------ engine jobs
    def start_extract(self) -> None:
        if self.path and not self.busy:
            left: list = []  # videos still to do before the run, and after a cancel
            self._run(partial(extract_job, left=left), self.path, what="Extracting features",
                      done=lambda r: self._say(f"Features extracted: {r.summary()}"),
                      cancelled=lambda: self._say(extract_cancelled_message(left)))

    def start_collect(self) -> None:
        if not self.path or self.busy:
            return
        dlg = CollectDialog(self)
        if dlg.exec() != QDialog.Accepted:
            return
        self._run(collect_job, self.path, dlg.source.currentText(), dlg.query.text().strip(),
                  dlg.count.value(), dlg.download.isChecked(), what="Collecting",
                  done=lambda r: self._say(f"Collection finished: {r.summary()}"),
                  cancelled=lambda: self._say("Collecting cancelled; the posts read before the cancel are stored: "
                                              "Collect again goes on from there."))

    # ------------------------------------------------------------------ running
    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def _run(self, fn, *args, what: str, done, cancelled=None) -> None:
        """Run `fn(*args)` as the page's job; `cancelled` says what a cancel left (by default: nothing changed, as
        for an import, one transaction)."""
        self.jobbar.start(what + "…")
        self._say("")
        job = self.runner.submit(fn, *args, name=what.lower())
        self.job = job
        job.on_progress(self.jobbar.update_progress)
        job.on_result(done)
        job.on_error(lambda m: self._say(m, error=True))
        job.on_cancelled(cancelled or (lambda: self._say(f"{what} cancelled; the dataset is as it was before.")))
        job.on_finished(self._job_finished)

    def _job_finished(self, job) -> None:
        if job is self.job:
            self.jobbar.stop()
            if self.path:
                self.open_dataset(self.path)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.jobbar.message.setText("Stopping…")

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setObjectName("error" if error else "")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        if text:
            self.status.emit(text)
