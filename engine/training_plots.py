"""The PNG plots a training run writes into its bundle (engine.training): learning curve and predicted
versus actual."""
from __future__ import annotations

import io
from typing import Optional

import numpy as np


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plot_learning_curve(curve: dict, title: str, xlabel: str, ylabel: str, best: Optional[int] = None) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curve.items():
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, label=name.replace("_", " "))
    if best:
        ax.axvline(best, color="grey", linestyle="--", linewidth=1, label=f"kept ({best})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_predicted_vs_actual(y: np.ndarray, pred: np.ndarray, title: str, label: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from .metrics import spearman

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y, pred, s=6, alpha=0.4)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1)
    ax.set_xlabel(f"actual {label}")
    ax.set_ylabel(f"predicted {label} (held out)")
    rho = spearman(y, pred)
    ax.set_title(f"{title}\nSpearman rho {'-' if rho is None else f'{rho:.3f}'}, n = {y.size}")
    ax.grid(alpha=0.3)
    return _png(fig)

