"""What a score from a personal bundle adds to the report: where the draft ranks among the creator's own posts,
said as a prediction only when the time-ordered evaluation showed the model ranks better than chance."""
from __future__ import annotations

from typing import Optional


def personal_part(manifest: dict, score: float) -> Optional[dict]:
    """{creator, percentile, reliable, line} for a personal bundle's manifest, None for any other bundle.

    `score` is the bundle's percentile of the prediction; a personal bundle's quantiles are its creator's own
    posts (each predicted from the posts before it), so it reads "ranks above N% of your own posts"."""
    if manifest.get("family") != "personal":
        return None
    p = manifest.get("personal") or {}
    creator = p.get("creator") or "this creator"
    reliable = bool(p.get("reliable"))
    n = round(float(score))
    if reliable:
        line = f"Against your own posts ({creator}): ranks above {n}% of them."
    else:
        line = (f"Against your own posts ({creator}): would rank above {n}% of them, but this is not a prediction: "
                f"{p.get('summary') or 'the personal model could not be told from chance'}.")
    return {"creator": creator, "percentile": float(score), "reliable": reliable, "line": line,
            "typical_views": p.get("typical_views")}
