"""Virality Studio engine: plain Python, never imports Qt (a test enforces it)."""
__version__ = "0.1.0"
