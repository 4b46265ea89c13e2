"""The Dataset and Train pages on their own (offscreen, pytest-qt): sorting, filtering and details of a
dataset's posts; the training page's time estimate, plotted metrics and family labels."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402

from engine.data.posts_csv import Post  # noqa: E402
from media_factory import make_video  # noqa: E402


@pytest.fixture
def runner(qtbot):
    from gui.jobs import JobRunner

    r = JobRunner()
    yield r
    assert r.shutdown()


@pytest.fixture
def dataset_page(qtbot, user_dirs, runner):
    from gui.dataset_page import DatasetPage

    page = DatasetPage(runner)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def smp_like_posts(n: int, video: str | None = None) -> list[Post]:
    """Posts as SMP-Video gives them: a popularity, no views."""
    return [Post(f"p{i}", author_id=f"a{i % 9}", caption=f"caption {i}", hashtags=["fyp"] if i % 2 else None,
                 post_time=datetime(2024, 1, 1) + timedelta(hours=7 * i), author_followers=float(10 * ((i * 37) % 101)),
                 popularity=float((i * 53) % 97) / 10, duration_s=5.0 + i % 30,
                 video_path=video if video and i == 3 else None) for i in range(n)]


def load(page, posts):
    info = {"path": "/tmp/smp.sqlite", "posts": len(posts), "authors": 9, "videos": 0, "labelled_posts": len(posts)}
    page._loaded(info, posts)


def shown(page, column: int) -> list:
    m = page.posts_model
    return [m.index(r, column).data() for r in range(m.rowCount())]


def click_header(qtbot, page, column: int) -> None:
    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, 5))


def double_click(qtbot, table, pos) -> None:
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=pos)  # Qt 6 needs the press before the double-click
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=pos)


def test_views_column_is_hidden_when_no_post_has_views(dataset_page):
    from gui.dataset_page import PostsModel

    load(dataset_page, smp_like_posts(20))
    assert dataset_page.table.isColumnHidden(PostsModel.VIEWS)
    with_views = smp_like_posts(20)
    with_views[4].views = 1234.0
    load(dataset_page, with_views)
    assert not dataset_page.table.isColumnHidden(PostsModel.VIEWS)


def test_popularity_sorts_highest_first_on_the_first_click(qtbot, dataset_page):
    load(dataset_page, smp_like_posts(50))
    click_header(qtbot, dataset_page, 7)
    pops = [float(v) for v in shown(dataset_page, 7)]
    assert pops == sorted(pops, reverse=True) and pops[0] > pops[-1]
    click_header(qtbot, dataset_page, 7)  # the second click flips it
    pops = [float(v) for v in shown(dataset_page, 7)]
    assert pops == sorted(pops)
    click_header(qtbot, dataset_page, 1)  # text sorts A to Z first
    ids = shown(dataset_page, 1)
    assert ids == sorted(ids)


def test_sort_and_filter_keep_the_selection_and_match_id_author_caption(qtbot, dataset_page):
    load(dataset_page, smp_like_posts(50))
    table = dataset_page.table
    table.selectRow(0)
    chosen = dataset_page.posts_model.post(0).post_id
    click_header(qtbot, dataset_page, 5)
    row = table.selectionModel().selectedRows()[0].row()
    assert dataset_page.posts_model.post(row).post_id == chosen  # the selection follows its post
    dataset_page.filter_edit.setText("CAPTION 4")
    assert sorted(shown(dataset_page, 1)) == sorted(["p4"] + [f"p{i}" for i in range(40, 50)])
    dataset_page.filter_edit.setText("A3 ")
    assert set(shown(dataset_page, 2)) == {"a3"} and dataset_page.posts_model.rowCount() == 6
    dataset_page.filter_edit.setText("fyp")  # a hashtag
    assert dataset_page.posts_model.rowCount() == 25
    dataset_page.filter_edit.clear()
    assert dataset_page.posts_model.rowCount() == 50


def test_sorting_4000_posts_asks_only_for_the_cells_on_screen(qtbot, dataset_page, monkeypatch):
    # The old proxy model asked Python for two cells per comparison (about 100,000 calls for 4,000 posts):
    # 40 s of frozen window under load. Sorting now orders row numbers by cached keys.
    from gui.dataset_page import PostsModel

    load(dataset_page, smp_like_posts(4000))
    qtbot.wait(50)
    calls = [0]
    original = PostsModel.data

    def counting(self, index, role=Qt.DisplayRole):
        calls[0] += 1
        return original(self, index, role)

    monkeypatch.setattr(PostsModel, "data", counting)
    for column in (3, 5, 7, 4):
        click_header(qtbot, dataset_page, column)
        dataset_page.filter_edit.setText("1")
        dataset_page.filter_edit.clear()
    qtbot.wait(50)
    assert calls[0] < 20_000, calls[0]  # what the view paints; the old proxy made ~100,000 per sort
    assert dataset_page.posts_model.rowCount() == 4000


def test_double_click_shows_the_post_and_plays_its_video(qtbot, dataset_page, tmp_path, monkeypatch):
    from PySide6.QtCore import QUrl

    from gui import dataset_page as dp

    clip = tmp_path / "clip.mp4"
    make_video(clip, seconds=2.0, size=(120, 200))
    load(dataset_page, smp_like_posts(10, video=str(clip)))
    opened = []
    monkeypatch.setattr(dp.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    table = dataset_page.table
    rect = table.visualRect(dataset_page.posts_model.index(3, 1))
    double_click(qtbot, table, rect.center())
    dlg = dataset_page.post_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.fields["Post"] == "p3" and dlg.fields["Caption"] == "caption 3"
    assert dlg.fields["Popularity"] == "6.20 (log scale)"  # (3 * 53) % 97 / 10
    assert dlg.fields["Video"] == str(clip)
    if dp._multimedia() is None:  # no Qt Multimedia in this PySide6: a frame, and the system's player
        qtbot.waitUntil(lambda: dlg.frame.pixmap() is not None and not dlg.frame.pixmap().isNull(), timeout=60_000)
        dlg.play_button.click()
        assert opened and opened[0] == QUrl.fromLocalFile(str(clip))
    else:
        assert dlg.player.source() == QUrl.fromLocalFile(str(clip))
    dlg.close()
    # a post without a video: details only, no player
    rect = table.visualRect(dataset_page.posts_model.index(0, 1))
    double_click(qtbot, table, rect.center())
    dlg = dataset_page.post_dialog
    assert dlg.fields["Post"] == "p0" and "no video" in dlg.fields["Video"] and dlg.player is None
    assert not hasattr(dlg, "play_button")
    dlg.close()


# ----------------------------------------------------------------------------------------- Train page


@pytest.fixture
def train_page(qtbot, user_dirs, runner):
    from gui.model import ActiveModel
    from gui.train_page import TrainPage

    page = TrainPage(runner, ActiveModel())
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def test_time_left_comes_from_the_measured_pace():
    from gui.train_page import Eta, fmt_duration

    eta = Eta(100.0)
    assert eta.update(100.0, 0.0) is None and eta.update(101.0, 0.01) is None  # too little to go on
    assert eta.update(120.0, 0.25) == pytest.approx(60.0)  # 25% in 20 s: 75% takes 60 s more
    assert "about 1 min 00 s left" in eta.text(120.0) and "25%" in eta.text(120.0)
    assert eta.update(125.0, None) == pytest.approx(25 / 0.25 * 0.75)  # no fraction: the last pace, later clock
    assert eta.update(130.0, 0.2) == pytest.approx(30 / 0.25 * 0.75)  # never goes backwards
    assert [fmt_duration(s) for s in (42, 200, 1080, 3900)] == ["42 s", "3 min 20 s", "18 min", "1 h 05 min"]


def test_train_page_plots_the_held_out_spearman_of_each_fold(train_page):
    page = train_page
    page.start_plot()
    for k, rho in ((1, 0.61), (2, 0.64), (3, 0.58)):
        page._progress(0.05 + 0.1 * k, f"grouped CV: fold {k}/5, boosting")
        page._progress(0.1 + 0.1 * k, f"grouped CV: fold {k}/5 done, spearman={rho:.3f} on its held-out posts "
                                      "(members averaged)")
    page._progress(0.6, "time split: fold 1/5 done, spearman=0.500 on its held-out posts (members averaged)")
    assert page.plot.series["grouped CV"] == [(1.0, 0.61), (2.0, 0.64), (3.0, 0.58)]
    assert page.plot.series["time split"] == [(1.0, 0.5)]
    assert (page.plot.x_label, page.plot.y_label) == ("fold", "Spearman ρ")
    rows = {page.fold_table.item(r, 0).text(): r for r in range(page.fold_table.rowCount())}
    assert set(rows) == {"1", "2", "3", "time split 1"}
    cols = [page.fold_table.horizontalHeaderItem(j).text() for j in range(page.fold_table.columnCount())]
    assert page.fold_table.item(rows["2"], cols.index("spearman")).text() == "0.64"
    assert "done %" not in page.plot.series  # the old fallback plotted progress against seconds


def test_train_page_plots_the_loss_of_each_epoch_of_a_network(train_page):
    page = train_page
    page.start_plot()
    for e in (1, 2, 3):
        page._progress(0.01 * e, f"fold 1/5: epoch {e} train_loss={1.0 / e:.4f} val_loss={1.2 / e:.4f}")
    assert page.plot.title == "Loss per epoch: fold 1/5" and page.plot.x_label == "epoch"
    assert page.plot.series["training"] == [(1.0, 1.0), (2.0, 0.5), (3.0, pytest.approx(0.3333))]
    assert [x for x, _ in page.plot.series["validation"]] == [1.0, 2.0, 3.0]
    page._progress(0.2, "fold 1/5 done, spearman=0.640 on its held-out posts")
    page._progress(0.21, "fold 2/5: epoch 1 train_loss=0.9000 val_loss=1.0000")  # the next fit starts afresh
    assert page.plot.title == "Loss per epoch: fold 2/5" and page.plot.series["training"] == [(1.0, 0.9)]
    cols = [page.fold_table.horizontalHeaderItem(j).text() for j in range(page.fold_table.columnCount())]
    rows = {page.fold_table.item(r, 0).text(): r for r in range(page.fold_table.rowCount())}
    assert page.fold_table.item(rows["1"], cols.index("spearman")).text() == "0.64"
    assert page.fold_table.item(rows["2"], cols.index("now")).text() == "epoch 1"
    page.grab()  # paints with labels, without error


def test_family_labels_show_a_measured_duration_not_fast(train_page, user_dirs):
    import json

    from gui import userdata

    texts = {train_page.family_combo.itemData(i): train_page.family_combo.itemText(i)
             for i in range(train_page.family_combo.count())}
    assert texts and not any("fast" in t for t in texts.values())
    assert texts["ensemble"].endswith("about 23 min for 4,000 posts on a busy 2-core machine")  # the benchmark's
    assert all(t.endswith("not yet timed on this computer") for f, t in texts.items() if f != "ensemble")
    run = userdata.models_dir() / "ensemble-smp-1"
    run.mkdir(parents=True)
    (run / "report.json").write_text(json.dumps({"family": "ensemble", "total_seconds": 1080.4, "n_posts": 4000}))
    train_page.refresh()
    i = train_page.family_combo.findData("ensemble")
    assert train_page.family_combo.itemText(i).endswith("took 18 min for 4,000 posts here last time")


def test_a_real_training_shows_its_folds_and_time_left_then_cancels(qtbot, train_page, tmp_path):
    from engine.data.store import Dataset

    csv = tmp_path / "posts.csv"
    rows = ["post_id,author_id,caption,post_time,author_followers,views,duration_s"]
    for i in range(90):
        rows.append(f"p{i},a{i % 30},clip {i} #tag{i % 4},2024-03-{1 + i % 28:02d}T{8 + i % 12}:00,"
                    f"{100 * (1 + (i * 7) % 50)},{40 * (1 + (i * 13) % 70)},{5 + i % 40}")
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = tmp_path / "t.sqlite"
    with Dataset.create(ds) as d:
        d.import_path(csv)
    page = train_page
    page.add_dataset(str(ds))
    for grp, cb in page.group_checks.items():
        cb.setChecked(grp in ("account", "time", "format"))
    qtbot.mouseClick(page.start_button, Qt.LeftButton)
    assert page.busy
    qtbot.waitUntil(lambda: "grouped CV" in page.plot.series, timeout=300_000)  # the first fold is measured
    k, rho = page.plot.series["grouped CV"][0]
    assert k == 1.0 and -1 <= rho <= 1 and page.plot.y_label == "Spearman ρ"
    assert "so far" in page.eta_label.text()
    qtbot.mouseClick(page.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=60_000)
    assert page.job.state == "cancelled" and page.eta_label.text().startswith("Stopped after")
    assert "cancelled" in page.message.text() and page.start_button.isEnabled()


def test_the_dataset_page_extracts_with_a_worker_pool_and_cancel_stops_it_with_whole_videos_only(
        qtbot, dataset_page, tmp_path, monkeypatch):
    """Extract features runs the CLI's default pool (one worker per core: 2 here), with its progress; Cancel as the
    second video comes back stops the pool (its processes end), the videos that came back stay, each whole (all five
    arrays), the rest are left, and the message says so (how many kept, how many left); Extract features again
    does exactly those."""
    import multiprocessing
    import threading

    from engine import executors
    from engine import extract as ex
    from engine.data.store import Dataset
    from test_extract import N_VIDEOS, _videos

    _videos(tmp_path / "clips")
    path = tmp_path / "d.sqlite"
    with Dataset.create(path) as ds:
        ds.import_path(tmp_path / "clips")
    monkeypatch.setattr(executors, "usable_cores", lambda: 2)
    pools, came_back, go_on = [], threading.Event(), threading.Event()
    real = executors.local_map

    def recording(fn, keys, args, **kw):
        pools.append(kw["workers"])
        for i, item in enumerate(real(fn, keys, args, **kw)):
            yield item
            if i == 1 and len(pools) == 1:  # the second video is written: wait for the Cancel click
                came_back.set()
                go_on.wait(60)

    monkeypatch.setattr(executors, "local_map", recording)
    page = dataset_page
    page.open_dataset(str(path))
    qtbot.waitUntil(lambda: page.load_job is not None and not page.load_job.running, timeout=30_000)
    messages = []
    page.start_extract()
    page.job.on_progress(lambda f, m: messages.append(m))
    qtbot.waitUntil(came_back.is_set, timeout=120_000)
    qtbot.mouseClick(page.jobbar.cancel_button, Qt.LeftButton)
    go_on.set()
    qtbot.waitUntil(lambda: not page.busy, timeout=60_000)
    assert page.job.state == "cancelled" and "cancelled" in page.message.text()
    assert pools == [2] and any(m.startswith("video ") for m in messages)  # progress as videos come back
    qtbot.waitUntil(lambda: not multiprocessing.active_children(), timeout=60_000)  # the pool has stopped
    key = ex.video_spec_version(16)
    with Dataset.open(path) as ds:
        rows = dict(ds.conn.execute("SELECT sha256, count(*) FROM features WHERE backbone = 'efficientnet_lite0' "
                                    "GROUP BY sha256").fetchall())
        left = len(ds.videos_without_features(key, "efficientnet_lite0"))
    assert 2 <= len(rows) < N_VIDEOS and set(rows.values()) == {5} and left == N_VIDEOS - len(rows)
    # the message says what is true: the videos finished before the cancel stay, Extract again does the rest
    assert page.message.text() == (f"Extracting features cancelled: {len(rows)} videos finished before the cancel "
                                   f"and keep their features; Extract features again does the {left} left.")

    page.start_extract()  # resume
    qtbot.waitUntil(lambda: not page.busy, timeout=180_000)
    assert page.job.state == "done", page.message.text()
    assert page.message.text().startswith(f"Features extracted: {N_VIDEOS} videos: {left} extracted, "
                                          f"{N_VIDEOS - left} already cached, 0 unreadable")
