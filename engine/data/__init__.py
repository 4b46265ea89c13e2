"""Data: the dataset store (store.Dataset, one SQLite file: schema.py, writing in ingest.py, reading in reads.py,
db.py) and the formats it imports (importers.py: the posts CSV, SMP-Video, TikTok JSON, a folder of videos)."""
