"""A tiny multimodal bundle that reads the caption, the frames and the audio, trained on generated clips with
GENERATED view counts (about 40 s on 2 cores): for tests and benchmarks of the mechanics of scoring with a
bundle that looks at the video, never of what it predicts."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from media_factory import make_video

TINY_NN = dict(max_epochs=4, patience=2, hidden=8, head_hidden=8, d_model=8, heads=2, layers=1, folds=3)
FRAMES = 4


def tiny_multimodal(root: Path) -> tuple[Path, list[Path]]:
    """(the bundle's folder, the 4 clips it was trained on): 24 posts of 6 authors over 4 two-second clips,
    extracted and trained into `root`. Needs torch and scikit-learn (training), and the backbones."""
    from engine.data.posts_csv import Post, write_posts_csv
    from engine.data.store import Dataset
    from engine.extract import extract_dataset
    from engine.training import train_model

    root = Path(root)
    clips = [make_video(root / f"clip{i}.mp4", seconds=2.0, size=(240, 320), cuts_at=((1.0,) if i % 2 else ()),
                        audio=("sine", "noise", "silence", "sine")[i]) for i in range(4)]
    rng = np.random.RandomState(0)
    posts = []
    for i in range(24):
        followers = float(10 ** rng.uniform(2, 6))
        posts.append(Post(f"p{i}", author_id=f"a{i % 6}", caption=f"take {i} #test{i % 3}",
                          post_time=datetime(2024, 1, 1) + timedelta(days=i), author_followers=followers,
                          views=float(round(followers * math.exp(rng.normal(0, 1)))),  # GENERATED
                          video_path=str(clips[i % 4])))
    write_posts_csv(root / "posts.csv", posts)
    ds = Dataset.create(root / "mm.sqlite")
    try:
        ds.import_path(root / "posts.csv")
        done = extract_dataset(ds, frames=FRAMES, device="cpu")
        assert done.extracted == len(clips) and not done.failed, done
        train_model(ds, "multimodal", root / "bundle", features=("account", "caption", "frames", "audio"),
                    frames=FRAMES, neural_config=TINY_NN)
    finally:
        ds.close()
    return root / "bundle", clips
