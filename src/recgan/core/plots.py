"""PNG plots of training curves (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

import os
from typing import Any

from recgan.io import atomic_path

GROUPS = [
    ("losses", ("loss", "loss_d", "loss_g", "loss_rec", "loss_bpr", "loss_adv")),
    ("discriminator", ("d_real", "d_fake")),
    ("validation", ("val_ndcg@20", "val_recall@20", "val_ndcg@10")),
    ("alarms", ("copy_mass", "self_similarity", "distinct_lists", "item_coverage")),
]


def plot_history(history: list[dict[str, Any]], path: str | os.PathLike[str], title: str = "") -> None:
    """Draw each group of curves present in ``history`` (per-epoch dicts) into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(g, [k for k in keys if any(k in h for h in history)]) for g, keys in GROUPS]
    groups = [(g, ks) for g, ks in groups if ks]
    if not groups:
        return
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2), squeeze=False)
    for ax, (g, keys) in zip(axes[0], groups, strict=True):
        for key in keys:
            pts = [(h["epoch"], h[key]) for h in history if key in h and isinstance(h[key], int | float)]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=key, marker="." if len(pts) < 30 else None)
        ax.set_title(g)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
