"""Data: the posts CSV and importers (SMP-Video)."""
