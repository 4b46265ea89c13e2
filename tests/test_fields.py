"""engine.fields: the one reading of typed counts and post details, and the one number formatter, that the
CLI, the window and the explanations share."""
import argparse

import pytest

from engine.errors import InputError
from engine.fields import fmt_count, fmt_number, meta_from_fields, read_count


def test_counts_read_as_people_write_them():
    assert read_count("12k") == 12000 and read_count("1,234") == 1234 and read_count("12 000") == 12000
    assert read_count("  ") is None
    for bad in ("lots", "-5", "1e999"):
        with pytest.raises(InputError, match="is not a count"):
            read_count(bad)


def test_numbers_and_counts_for_people():
    assert [fmt_number(v) for v in (2_500_000, 3_000_000, 34_400, 5_640, 5_000, 789.4, 12.5, 0.4213, -14.25)] == \
        ["2.5M", "3M", "34k", "5.6k", "5k", "789", "12.5", "0.42", "-14.25"]
    assert fmt_count(45.6) == "46" and fmt_count(None) == "–" and fmt_number(float("nan"), none="-") == "-"


def test_the_cli_and_the_window_read_post_details_alike():
    from cli.commands import _meta_from_args, parse_count
    from gui.scoring import make_meta

    args = argparse.Namespace(caption=" day 3 #guitar ", hashtags="#fyp, music,", post_time=None,
                              followers=parse_count("12k"), following=None, likes=None, videos=None,
                              sound="original", language=None)
    cli = _meta_from_args(args)
    assert cli == meta_from_fields(caption="day 3 #guitar", hashtags=["fyp", "music"], followers=12000,
                                   sound="original sound")
    assert cli.hashtags == ["fyp", "music"] and cli.music_original is True
    gui = make_meta(" day 3 #guitar ", None, "12k", "original")
    assert gui == meta_from_fields(caption=cli.caption, followers=cli.followers, sound="original")
    with pytest.raises(argparse.ArgumentTypeError, match="'lots' is not a count"):
        parse_count("lots")
    with pytest.raises(InputError, match="'lots' is not a count"):
        make_meta(followers="lots")
