"""A command whose extra is not installed says which extra in one `error:` line (cli/extras.py), never a traceback.
The missing package is simulated by a None in sys.modules (what `import` and find_spec both treat as absent)."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from conftest import ROOT


def run_without(modules, *argv):
    code = (f"import sys; sys.modules.update(dict.fromkeys({list(modules)!r})); import main; "
            f"sys.exit(main.main({list(map(str, argv))!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("blocked, argv, extra, named", [
    (["sklearn"], ["train-default", "--out", "{tmp}/bundle"], "train", "sklearn"),
    (["torch"], ["train", "--dataset", "{tmp}/d.db", "--model", "multimodal", "--out", "{tmp}/b"], "train", "torch"),
    (["skl2onnx"], ["train", "--dataset", "{tmp}/d.db", "--model", "ensemble", "--out", "{tmp}/b"], "train", "skl2onnx"),
    (["TikTokApi"], ["collect", "hashtag", "guitar", "--dataset", "{tmp}/d.db"], "collect", "TikTokApi"),
    (["yt_dlp"], ["collect", "hashtag", "guitar", "--dataset", "{tmp}/d.db", "--download"], "collect", "yt_dlp"),
    (["playwright"], ["refresh", "--dataset", "{tmp}/d.db"], "collect", "playwright"),
    (["matplotlib"], ["learn", "--posts", "{tmp}/posts.csv", "--out", "{tmp}/b"], "train", "matplotlib"),
    (["yt_dlp"], ["learn", "--user", "@maker", "--download", "--out", "{tmp}/b"], "collect", "yt_dlp"),
    (["TikTokApi"], ["learn", "--user", "@maker", "--out", "{tmp}/b"], "collect", "TikTokApi"),
])
def test_a_missing_extra_is_named_in_one_line_before_any_work(tmp_path, blocked, argv, extra, named):
    argv = [a.format(tmp=tmp_path) for a in argv]
    r = run_without(blocked, *argv)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert f"needs the '{extra}' extra" in lines[0] and f"no {named}" in lines[0]
    assert f"pip install 'virality-studio[{extra}]'" in lines[0]
    assert not list(tmp_path.iterdir())  # refused before any work: nothing created


def test_learn_from_an_account_without_either_extra_names_both_in_one_line(tmp_path):
    r = run_without(["matplotlib", "yt_dlp"], "learn", "--user", "@maker", "--download", "--out", tmp_path / "b")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("error: `learn` needs the 'train' and 'collect' extras, which are not installed "
                               "(no matplotlib, yt_dlp): pip install 'virality-studio[train,collect]'")
    assert not list(tmp_path.iterdir())


def test_a_collect_without_download_does_not_need_yt_dlp():
    from cli import extras

    args = argparse.Namespace(command="collect", download=False)
    assert "yt_dlp" not in extras.needs(args)[1]
    assert extras.needs(argparse.Namespace(command="score")) == (None, ())
    assert extras.needs(argparse.Namespace(command="train", model="ensemble"))[1] == extras._SKLEARN_SIDE


def test_a_module_of_an_extra_missing_on_the_way_is_named_too(capsys):
    import main

    def needs_torch_late(args):
        raise ModuleNotFoundError("No module named 'torch'", name="torch.onnx")

    args = argparse.Namespace(command="dataset", dataset_command="extract", func=needs_torch_late)
    assert main.run_command(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: `dataset extract` needs the 'train' extra") and "(no torch)" in err

    def a_real_bug(args):
        raise ModuleNotFoundError("No module named 'engine.nothing'", name="engine.nothing")

    with pytest.raises(ModuleNotFoundError):  # not an extra: a bug, and it must show as one
        main.run_command(argparse.Namespace(command="score", func=a_real_bug))


def test_help_says_a_bare_path_opens_the_window_and_which_commands_need_an_extra():
    import main

    text = main.build_parser().format_help()
    assert "a bare path (no COMMAND) opens the window" in text
    assert "'virality-studio[train]' (train,\ntrain-default, dataset extract, learn)" in text
    assert "'virality-studio[collect]' (collect, refresh, learn --user)" in text
