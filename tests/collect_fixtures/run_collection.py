"""Run one collection against FakeTikTok in this process (the kill test runs it as a child and kills it).

    python run_collection.py DATASET COUNT N_ITEMS VIDEO_BASE_URL
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine.collect import CollectSettings, collect, make_source  # noqa: E402
from fake_tiktok import FakeTikTok, make_item  # noqa: E402

dataset, count, n_items, video_base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fake = FakeTikTok([make_item(i, video_base=video_base) for i in range(n_items)], page_size=4)
settings = CollectSettings(min_interval_s=0.2, jitter_s=0.1, backoff_s=0.05, retries=2, request_timeout_s=10,
                           video_url_template=video_base + "/video/{id}.mp4", context_hook=fake.install)
result = collect(make_source("hashtag", "guitar"), dataset, count, download=True, settings=settings,
                 progress=lambda f, m: print(f"progress {f} {m}", flush=True))
print("RESULT " + json.dumps(result.as_dict()), flush=True)
