"""The clip finder: a long video in, ranked short clips out, with reasons, cut, reframed and captioned.

    analysis = analyse_cached("talk.mp4")          # one streaming pass, cached by the file's sha256
    clips = find_clips(analysis, count=10, length=(20, 60))
    for c in clips: print(c.start_s, c.end_s, c.score, c.reasons)
"""
from .analysis import Analysis, analyse, analyse_cached, file_sha256

__all__ = ["Analysis", "analyse", "analyse_cached", "file_sha256"]
