"""Copying and collapse alarms for generative recommenders: pure numpy functions on score matrices and
top-k lists (no model, no torch), so any GAN in recgan can report them.

* **Copying** (the degenerate autoencoder solution, ECIR 2022): a generator conditioned on a row's own
  purchase vector c can win by reproducing c. Two measures:
  ``copy_mass`` = share of the generator's top-k score mass (negative scores count 0) that falls on the
  condition's own items, and ``self_similarity`` = mean cosine(G(c), c). Both near 1 = copying.
* **Collapse** (mode collapse): everybody gets the same list. ``distinct_lists`` = distinct top-k lists /
  rows, ``item_coverage`` = distinct recommended items / catalogue. Both near 0 = collapse.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

COPY_ALARM = 0.9
"""copy_mass above this raises the copying alarm."""
COLLAPSE_ALARM = 0.1
"""distinct_lists below this raises the collapse alarm."""


def _rows_topk(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def copy_mass(scores: np.ndarray, condition: sp.csr_matrix | np.ndarray, k: int = 20) -> float:
    """Mean over rows with a non-empty condition of (top-k mass on condition items) / (top-k mass).

    ``scores`` (n, m): raw generator output (seen items *not* masked); ``condition`` (n, m): the row's own
    vector (> 0 = in the condition). A row whose top-k mass is 0 counts 0."""
    C = condition.toarray() if sp.issparse(condition) else np.asarray(condition)
    keep = (C > 0).any(1)
    if not keep.any():
        return 0.0
    s, C = np.asarray(scores)[keep], C[keep] > 0
    top = _rows_topk(s, k)
    mass = np.clip(np.take_along_axis(s, top, 1), 0, None).astype(np.float64)
    on_c = np.take_along_axis(C, top, 1)
    total = mass.sum(1)
    share = np.divide((mass * on_c).sum(1), total, out=np.zeros_like(total), where=total > 0)
    return float(share.mean())


def self_similarity(scores: np.ndarray, condition: sp.csr_matrix | np.ndarray) -> float:
    """Mean cosine similarity between each generated row and its condition (rows with a non-empty one)."""
    C = condition.toarray() if sp.issparse(condition) else np.asarray(condition, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    nc, ns = np.linalg.norm(C, axis=1), np.linalg.norm(s, axis=1)
    keep = (nc > 0) & (ns > 0)
    if not keep.any():
        return 0.0
    return float(((s[keep] * C[keep]).sum(1) / (nc[keep] * ns[keep])).mean())


def distinct_lists(top: np.ndarray) -> float:
    """Distinct top-k lists (as ordered tuples) / number of lists. ``top`` int (n, k), -1 = empty slot."""
    if len(top) == 0:
        return 0.0
    return len(np.unique(np.asarray(top), axis=0)) / len(top)


def item_coverage(top: np.ndarray, n_items: int) -> float:
    """Distinct items in all lists / catalogue size."""
    top = np.asarray(top)
    return len(np.unique(top[top >= 0])) / max(n_items, 1)


def alarms(scores: np.ndarray, condition: sp.csr_matrix | np.ndarray, top: np.ndarray, n_items: int,
           k: int = 20) -> dict[str, float]:
    """All four figures plus the two alarm flags (1.0 = raised) in one dict, as logged per epoch."""
    out = {
        "copy_mass": copy_mass(scores, condition, k),
        "self_similarity": self_similarity(scores, condition),
        "distinct_lists": distinct_lists(top),
        "item_coverage": item_coverage(top, n_items),
    }
    out["copy_alarm"] = float(out["copy_mass"] > COPY_ALARM)
    out["collapse_alarm"] = float(out["distinct_lists"] < COLLAPSE_ALARM)
    return out
