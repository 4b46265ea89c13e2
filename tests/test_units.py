"""A cue's value and unit agree with what is shown (issue 12 §12): a share (0-1 of the frames, of the sound, of the
picture) is shown as a percentage with unit "%" in its text, the JSON, the text report and the Compare dialog,
while the models keep reading it as 0-1."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from engine.cues import CueReport, cue_values
from engine.cues import wording

#: one cue of each kind whose text gives a number, with the values it was made from
CUES = [wording.faces(3, 8), wording.face_size(0.0123, True), wording.face_size(0.2, True),
        wording.onscreen_text(2, 5, ["hi"]), wording.speech(0.4132, True), wording.music(0.6, True),
        wording.silence(0.5, True), wording.silence(0.0, True), wording.duration(12.5), wording.aspect(720, 1280),
        wording.loudness(-14.2), wording.brightness(0.4), wording.cuts(3, 30.0, 0.2)]


def _percent_in_text(text: str):
    """The share a cue's text states, in percent: '41%' or '3 of 8 sampled frames'; None when it states none."""
    found = re.findall(r"(\d+(?:\.\d+)?)%", text)
    if found:
        return float(found[0])
    found = re.findall(r"(\d+) of (\d+) sampled frames", text)
    return 100 * int(found[0][0]) / int(found[0][1]) if found else None


@pytest.mark.parametrize("cue", CUES, ids=[f"{c.name}-{i}" for i, c in enumerate(CUES)])
def test_a_cue_shown_as_a_percentage_carries_unit_percent(cue):
    pct = _percent_in_text(cue.text)
    if pct is None:  # not a share, or a share with no figure in its text ("No music recognised")
        assert cue.shown_unit != "%" or cue.value in (0.0, 1.0)
        if cue.shown_unit != "%":
            assert cue.shown_value == cue.value
        return
    assert cue.shown_unit == "%", cue
    assert cue.shown_value == pytest.approx(pct, abs=0.5)  # the text rounds to a whole percent (or to 0.1)
    assert cue.value == pytest.approx(cue.shown_value / 100, abs=5e-4)  # the model's 0-1 value is untouched


def test_the_json_gives_the_shown_value_and_unit_beside_the_models_value():
    report = CueReport(cues=[wording.speech(0.4132, True), wording.aspect(720, 1280), wording.loudness(-14.2)])
    cues = {c["name"]: c for c in report.as_dict()["cues"]}
    assert (cues["speech_share"]["value"], cues["speech_share"]["shown_value"], cues["speech_share"]["shown_unit"]) \
        == (0.4132, 41.3, "%")
    assert cues["aspect"]["shown_unit"] == cues["aspect"]["unit"] and cues["aspect"]["shown_value"] == 1.7778
    assert (cues["loudness"]["shown_value"], cues["loudness"]["shown_unit"]) == (-14.2, "LUFS")
    # what the models read is still the share, 0-1
    assert cue_values(report)["speech_share"] == 0.4132


def test_the_text_report_shows_a_share_in_percent_and_the_aspect_as_a_ratio():
    from cli.commands import render_report

    cues = CueReport(cues=[wording.speech(0.4132, True), wording.face_size(0.0123, True), wording.aspect(720, 1280)])
    r = SimpleNamespace(path="clip.mp4", score=50.0, not_meaningful=[], viral_probability=None, views_low=None,
                        views_high=None, model="m", provider="CPUExecutionProvider", contributions=[],
                        typical_score=None, assumed=[], notes=[], cues=cues)
    lines = {line.split()[0]: line for line in render_report(r).splitlines() if line.startswith("    ")}
    assert "41.3 %" in lines["speech_share"] and "Speech during 41%" in lines["speech_share"]
    assert "1.2 %" in lines["face_size"] and "1.2% of the frame" in lines["face_size"]
    assert "1.78 ratio" in lines["aspect"] and "%" not in lines["aspect"]


def test_compare_gives_a_shares_change_in_percent_and_other_changes_in_their_unit():
    pytest.importorskip("PySide6")
    from gui.compare import compare_rows

    def report(speech, lufs, brightness):
        return SimpleNamespace(path="a.mp4", score=50.0, views_low=None, views_high=None, contributions=None,
                               cues=CueReport(cues=[wording.speech(speech, True), wording.loudness(lufs),
                                                    wording.brightness(brightness)]))

    from gui.score_page import CUE_TITLES

    rows = {r[0]: r for r in compare_rows(report(0.40, -20.0, 0.4), report(0.52, -14.0, 0.5))}
    assert rows[CUE_TITLES.get("speech_share", "speech_share")][3] == "+12 %"  # was "+0.12" beside "40%" and "52%"
    assert rows[CUE_TITLES.get("loudness", "loudness")][3] == "+6 LUFS"
    assert rows[CUE_TITLES.get("brightness", "brightness")][3] == "+0.1"
