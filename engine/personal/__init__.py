"""The personal model: learn from one creator's own posts (issue 13).

history   a creator's posts in time order and the creator-relative label (sources: dataset author, posts CSV,
          a folder of videos + stats)
model     the small-sample family (standardised ridge, penalty by leave-one-out) and its ONNX export
evaluate  expanding-window time-ordered evaluation against three baselines, bootstrap intervals, drivers
learn     the job: history -> evaluated personal bundle
"""
