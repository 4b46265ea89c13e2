"""engine.jobs.sub_progress: one part of a job reports 0..1, the whole sees its lo..hi share."""
from engine.jobs import sub_progress


def test_sub_progress_maps_a_part_onto_its_share_and_keeps_unknown():
    seen = []
    part = sub_progress(lambda f, m: seen.append((f, m)), 0.2, 0.6, "fold 1: ")
    part(0.0, "start")
    part(0.5, "half")
    part(None, "waiting")
    part(1.0, "end")
    assert seen == [(0.2, "fold 1: start"), (0.4, "fold 1: half"), (None, "fold 1: waiting"), (0.6, "fold 1: end")]
    inner = sub_progress(part, 0.5, 1.0)  # nested: the second half of the part
    inner(0.5, "x")
    assert seen[-1] == (0.2 + 0.4 * 0.75, "fold 1: x")
