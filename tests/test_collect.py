"""engine.collect against a TikTok served locally: the real TikTokApi driving a real Chromium (Debian's
package), with playwright routing every TikTok URL to recorded answers (tests/collect_fixtures), and
yt-dlp downloading from a server on 127.0.0.1. Nothing leaves the machine: the route aborts any other host.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.collect import (Blocked, CollectSettings, collect, find_browser, load_settings, make_source,
                            media_folder, plan, refresh)
from engine.collect.browser import candidate_paths
from engine.collect.state import load_state
from engine.data.store import Dataset
from engine.errors import Cancelled, InputError
from engine.jobs import CancelToken

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "collect_fixtures"))
from fake_tiktok import FakeTikTok, make_item, post_id  # noqa: E402
from video_server import VideoServer  # noqa: E402


def _browser():
    try:
        return find_browser()
    except Exception:
        return None


def _missing() -> str:
    import importlib.util

    for mod in ("TikTokApi", "playwright", "yt_dlp"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install 'virality-studio[collect]')"
    if _browser() is None:
        return "no Chromium/Chrome on this machine (Debian: apt-get install chromium)"
    return ""


needs_browser = pytest.mark.skipif(bool(_missing()), reason=_missing() or "ok")


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    from media_factory import make_video

    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=1.0, size=(144, 256), audio=None)


@pytest.fixture
def server(video_file):
    with VideoServer(video_file) as vs:
        yield vs


def fast(fake: FakeTikTok, server=None, **kw) -> CollectSettings:
    base = dict(min_interval_s=0.02, jitter_s=0.02, backoff_s=0.02, backoff_max_s=0.2, retries=4,
                request_timeout_s=1.5, session_renewals=0, context_hook=fake.install, download_attempts=2)
    if server is not None:
        base["video_url_template"] = server.url + "/video/{id}.mp4"
    base.update(kw)
    return CollectSettings(**base)


def _post_ids(path: Path) -> list[str]:
    with Dataset.open(path) as ds:
        return [p.post_id for p in ds.posts()]


# ----------------------------------------------------------------------------- without a browser


def test_find_browser_on_each_system():
    win = {"PROGRAMFILES": r"C:\Program Files", "LOCALAPPDATA": r"C:\Users\a\AppData\Local"}
    chrome = r"C:\Program Files\Google\Chrome\Application\chrome.exe"
    assert find_browser(platform="win32", environ=win, which=lambda n: None, is_file=lambda p: p == chrome) == chrome
    edge = r"C:\Users\a\AppData\Local\Microsoft\Edge\Application\msedge.exe"
    assert edge in candidate_paths("win32", win)
    mac = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
    assert find_browser(platform="darwin", environ={"HOME": "/Users/a"}, which=lambda n: None,
                        is_file=lambda p: p == mac) == mac
    assert find_browser(platform="linux", environ={}, which=lambda n: "/opt/bin/chromium" if n == "chromium" else None,
                        is_file=lambda p: False) == "/opt/bin/chromium"
    with pytest.raises(Exception, match="no Chromium"):
        find_browser(platform="linux", environ={"HOME": "/nonexistent"}, which=lambda n: None, is_file=lambda p: False)
    with pytest.raises(Exception, match="not found"):
        find_browser("/no/such/browser", which=lambda n: None)


def test_sources_are_checked_and_normalised():
    assert make_source("hashtag", "#Guitar").key == "hashtag:guitar"
    assert make_source("hashtag", "https://www.tiktok.com/tag/guitar?lang=en").value == "guitar"
    assert make_source("user", "https://www.tiktok.com/@strummer_jo?lang=en").value == "strummer_jo"
    assert make_source("sound", "https://www.tiktok.com/music/original-sound-7016547803243022337").value == \
        "7016547803243022337"
    assert make_source("trending").label == "trending"
    for kind, value in (("hashtag", ""), ("hashtag", "two words"), ("sound", "abc"), ("trending", "x"),
                        ("channel", "x"), ("user", "bad name!")):
        with pytest.raises(InputError):
            make_source(kind, value)


def test_settings_file_env_and_overrides(tmp_path):
    f = tmp_path / "collect.json"
    f.write_text(json.dumps({"ms_token": "from-file", "min_interval_s": 3, "proxy": "http://h:1"}))
    s = load_settings(f, environ={})
    assert (s.ms_token, s.min_interval_s, s.proxy) == ("from-file", 3, "http://h:1")
    assert load_settings(f, environ={"ms_token": "from-env"}).ms_token == "from-env"
    assert load_settings(f, environ={"ms_token": "from-env"}, ms_token="given").ms_token == "given"
    assert load_settings(tmp_path / "absent.json", environ={}).headless is True
    f.write_text(json.dumps({"no_such_setting": 1}))
    with pytest.raises(InputError, match="unknown settings"):
        load_settings(f, environ={})
    f.write_text("{not json")
    with pytest.raises(InputError, match="cannot be read"):
        load_settings(f, environ={})


# ----------------------------------------------------------------------------- with Chromium


@needs_browser
def test_hashtag_collection_survives_bad_answers_and_downloads_checked_videos(tmp_path, server):
    items = [make_item(i, video_base=server.url, author=f"player{i % 3}", author_stats=i % 4 != 0)
             for i in range(9)]
    items[6]["video"]["duration"] = 999  # over the duration limit: not downloaded
    server.behaviour[post_id(2)] = "broken:1"  # yt-dlp's first copy is cut short: retried
    server.behaviour[post_id(3)] = "broken"  # every copy cut short: marked, never kept
    server.behaviour[post_id(4)] = "404"  # yt-dlp fails: TikTokApi's own bytes are used
    fake = FakeTikTok(items, page_size=4)
    # the first page: empty answer, 403, cut-off JSON, an answer slower than the timeout; then one that is
    # slow but in time
    fake.fault("/api/challenge/item_list/", "empty", "403", "truncated", "slow:2.5")
    fake.fault("/api/challenge/detail/", "slow:0.4")
    ds_path = tmp_path / "guitar.sqlite"
    seen = []
    result = collect(make_source("hashtag", "guitar"), ds_path, 9, download=True,
                     settings=fast(fake, server, retries=5), progress=lambda f, m: seen.append((f, m)))

    assert result.collected == 9 and result.added == 9 and result.finished
    assert result.retries == 4 and result.pages == 3
    assert sorted(_post_ids(ds_path)) == sorted(post_id(i) for i in range(9))
    assert seen and seen[-1][0] == pytest.approx(1.0)
    assert set(result.download_failed) == {post_id(3), post_id(6)}
    assert "not a whole video" in result.download_failed[post_id(3)]
    assert "limit" in result.download_failed[post_id(6)]

    folder = media_folder(ds_path)
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{post_id(i)}.mp4" for i in range(9) if i not in (3, 6))  # no partials left
    with Dataset.open(ds_path) as ds:
        posts = {p.post_id: p for p in ds.posts()}
        assert posts[post_id(3)].video_path is None and posts[post_id(6)].video_path is None
        assert posts[post_id(2)].video_path.endswith(f"{post_id(2)}.mp4")
        assert all(v.duration_s and v.duration_s > 0.5 for v in ds.videos())  # probed
        p1 = posts[post_id(1)]
        assert p1.views == 1007 and p1.author_followers == 5400 and p1.hashtags == ["guitar", "music"]
        # items 0, 4, 8 came without author counts: looked up once per author (user detail)
        assert posts[post_id(0)].author_followers == 5410
        readings = ds.label_readings(post_id(1))
        assert len(readings) == 1 and readings[0].measured_at is not None and readings[0].age_hours > 1000
        state = load_state(ds, "hashtag:guitar")
        assert len(state.ids) == 9 and set(state.failed_downloads) == {post_id(3), post_id(6)}
    lookups = [q["uniqueId"] for path, q in fake.requests if path == "/api/user/detail/"]
    assert sorted(lookups) == sorted(set(lookups))


@needs_browser
def test_every_source_kind(tmp_path):
    fake = FakeTikTok([make_item(i) for i in range(6)], page_size=3)
    ds_path = tmp_path / "mixed.sqlite"
    for kind, value in (("user", "strummer_jo"), ("search", "guitar riffs"), ("sound", "7301234567000000001"),
                        ("trending", None)):
        r = collect(make_source(kind, value), ds_path, 4, settings=fast(fake))
        assert r.collected == 4, (kind, r)
    paths = [p for p, _ in fake.requests]
    for endpoint in ("/api/user/detail/", "/api/post/item_list/", "/api/search/item/full/",
                     "/api/music/item_list/", "/api/recommend/item_list/"):
        assert endpoint in paths
    search = [q for p, q in fake.requests if p == "/api/search/item/full/"]
    assert search[0]["keyword"] == "guitar riffs" and search[1].get("search_id") == "20231114224913SEARCHRID"
    signed = [q for p, q in fake.requests if p == "/api/post/item_list/"][0]
    assert signed["X-Bogus"] and signed["msToken"] and signed["secUid"] == "MS4wLjABAAAAstrummerjoSecUidForTests"
    assert sorted(_post_ids(ds_path)) == [post_id(i) for i in range(4)]  # each source took the first 4: stored once


@needs_browser
def test_blocked_session_says_what_to_try_and_a_rerun_continues(tmp_path):
    fake = FakeTikTok([make_item(i) for i in range(10)], page_size=3)
    ds_path = tmp_path / "b.sqlite"
    original = fake.answer

    def answer(path, params):  # after the third page, TikTok answers nothing but empty bodies
        if path == "/api/challenge/item_list/" and int(params.get("cursor") or 0) >= 6:
            fake.block.add(path)
        return original(path, params)

    fake.answer = answer
    with pytest.raises(Blocked) as err:
        collect(make_source("hashtag", "guitar"), ds_path, 10, settings=fast(fake, retries=2))
    text = str(err.value)
    for hint in ("ms_token", "--headed", "--proxy", "run the same command again"):
        assert hint in text
    assert "3 tries, 3 of them empty answers" in text
    assert len(_post_ids(ds_path)) == 9  # the pages read before the block are kept

    fake.block.clear()
    fake.answer = original
    r = collect(make_source("hashtag", "guitar"), ds_path, 10, settings=fast(fake))
    assert r.resumed and r.stored_this_run == 1 and r.collected == 10
    cursors = [q.get("cursor") for p, q in fake.requests if p == "/api/challenge/item_list/"]
    assert cursors[-1] == "9" and "0" not in cursors[1:]  # went on from the saved cursor
    assert sorted(_post_ids(ds_path)) == sorted(post_id(i) for i in range(10))


@needs_browser
def test_cancel_stops_soon_and_keeps_what_was_stored(tmp_path):
    fake = FakeTikTok([make_item(i) for i in range(30)], page_size=3)
    token = CancelToken()

    def progress(f, m):
        if f and f >= 0.2:
            token.cancel()

    t0 = time.monotonic()
    with pytest.raises(Cancelled, match="run the same command again"):
        collect(make_source("hashtag", "guitar"), tmp_path / "c.sqlite", 30,
                settings=fast(fake, min_interval_s=0.5), progress=progress, cancel=token)
    assert time.monotonic() - t0 < 20
    n = len(_post_ids(tmp_path / "c.sqlite"))
    assert 6 <= n < 30


@needs_browser
def test_kill_during_collection_then_restart_stores_every_post_once(tmp_path, server):
    ds_path = tmp_path / "killed.sqlite"
    n_items = 16
    script = HERE / "collect_fixtures" / "run_collection.py"
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))

    def start():
        return subprocess.Popen([sys.executable, str(script), str(ds_path), str(n_items), str(n_items), server.url],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)

    child = start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for the first pages to be stored, then kill it
            if ds_path.exists() and len(_safe_ids(ds_path)) >= 5:
                break
            assert child.poll() is None, child.stdout.read()
            time.sleep(0.1)
        else:
            pytest.fail("the collection stored nothing within 60 s")
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
    stored = len(_safe_ids(ds_path))
    assert 5 <= stored < n_items

    child = start()
    out, _ = child.communicate(timeout=90)
    assert child.returncode == 0, out
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["resumed"] and result["collected"] == n_items
    ids = _post_ids(ds_path)
    assert sorted(ids) == sorted(post_id(i) for i in range(n_items))  # every post, once
    files = sorted(p.name for p in media_folder(ds_path).iterdir() if not p.name.startswith(".partial"))
    assert files == sorted(f"{post_id(i)}.mp4" for i in range(n_items))
    with Dataset.open(ds_path) as ds:
        assert ds.info()["posts_with_video"] == n_items


def _safe_ids(path: Path) -> list[str]:
    try:
        return _post_ids(path)
    except Exception:  # created but not yet migrated, or busy: not there yet
        return []


@needs_browser
def test_refresh_adds_dated_readings_and_follows_an_age(tmp_path):
    fake = FakeTikTok([make_item(i) for i in range(5)], page_size=5)
    ds_path = tmp_path / "r.sqlite"
    collect(make_source("hashtag", "guitar"), ds_path, 5, settings=fast(fake))
    fake.gone.add(post_id(4))
    r = refresh(ds_path, min_gap_hours=0, settings=fast(fake))
    assert r.refreshed == 4 and r.labels_added == 4 and set(r.unavailable) == {post_id(4)}
    with Dataset.open(ds_path) as ds:
        readings = ds.label_readings(post_id(0))
        assert [x.views for x in readings] == [1000, 2000]
        assert readings[1].measured_at >= readings[0].measured_at and readings[1].age_hours > 0
    # no readings due within the gap: a second refresh right away reads nothing
    assert refresh(ds_path, min_gap_hours=1, settings=fast(fake)).due == 0


@needs_browser
def test_refresh_at_a_fixed_age_waits_for_each_post(tmp_path):
    now = time.time()
    items = [make_item(i) for i in range(3)]
    items[0]["createTime"] = int(now - 30 * 3600)  # 30 h old when collected
    items[1]["createTime"] = int(now - 2 * 3600)  # 2 h old
    items[2]["createTime"] = int(now)  # just posted
    fake = FakeTikTok(items, page_size=5)
    ds_path = tmp_path / "age.sqlite"
    collect(make_source("hashtag", "guitar"), ds_path, 3, settings=fast(fake))
    with Dataset.open(ds_path) as ds:
        p = plan(ds, at_age_hours=24)
        assert p.due == []  # post 0 was read at 30 h: it already has a reading past 24 h
        assert [pid for _, pid in p.pending] == [post_id(1), post_id(2)]  # soonest due first
        later = datetime.now(timezone.utc) + timedelta(hours=23)
        assert plan(ds, at_age_hours=24, now=later).due == [post_id(1)]
    # watch: post 2 reaches 4 seconds of age while the job waits; it is read then, and the job ends
    t0 = time.monotonic()
    r = refresh(ds_path, at_age_hours=4 / 3600, watch=True, settings=fast(fake))
    assert r.refreshed == 1 and r.pending == 0 and time.monotonic() - t0 < 30
    with Dataset.open(ds_path) as ds:
        ages = [x.age_hours for x in ds.label_readings(post_id(2))]
        assert len(ages) == 2 and ages[1] >= 4 / 3600


@needs_browser
def test_cli_collect_and_refresh(tmp_path, monkeypatch, capsys):
    import argparse

    import cli.collect_cmd as cmd
    import engine.collect as ec

    fake = FakeTikTok([make_item(i) for i in range(4)], page_size=4)
    real = ec.load_settings
    monkeypatch.setattr(ec, "load_settings", lambda **kw: real(Path(tmp_path / "none.json"), environ={}, **kw)
                        .with_(min_interval_s=0.02, jitter_s=0.0, backoff_s=0.02, context_hook=fake.install))
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    ds = str(tmp_path / "cli.sqlite")

    def run(*argv):
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert run("collect", "hashtag", "guitar", "--count", "3", "--dataset", ds, "-q") == 0
    out = capsys.readouterr().out
    assert "#guitar: 3/3 posts" in out
    assert run("collect", "hashtag", "guitar", "--count", "3", "--dataset", ds, "--json") == 0
    assert "already holds 3 posts" in json.loads(capsys.readouterr().out)["notes"][0]
    assert run("refresh", "--dataset", ds, "--min-gap", "0", "-q") == 0
    assert "3 of 3 posts read again" in capsys.readouterr().out
    assert cmd.parse_age("7d") == 168 and cmd.parse_age("90m") == 1.5
    fake.block.add("/api/challenge/detail/")
    assert run("collect", "hashtag", "other", "--dataset", ds, "-q", "--interval", "0.01") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TikTok is refusing this session") and err.count("\n") == 1
