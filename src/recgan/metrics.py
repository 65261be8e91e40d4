"""Ranking metrics as small pure functions over a hit matrix (PROTOCOL.md definitions). A leaf module:
imported by training (validation) and evaluation alike.

Inputs everywhere: ``hits`` bool (n_users, K), ``hits[u, r]`` = the item at rank r+1 of user u's list is
relevant; ``n_rel`` int (n_users,) = |test_u| (>= 1). Each function returns per-user values (n_users,).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def precision_at(hits: np.ndarray, k: int) -> np.ndarray:
    """precision@k = hits@k / k."""
    return hits[:, :k].sum(1) / k


def recall_at(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """recall@k = hits@k / |test_u|."""
    return hits[:, :k].sum(1) / n_rel


def ndcg_at(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """ndcg@k = DCG@k / IDCG@k, gain 1/log2(rank+1), IDCG over min(k, |test_u|) relevant items."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits[:, :k] * disc[: hits[:, :k].shape[1]]).sum(1)
    idcg = np.cumsum(disc)[np.minimum(n_rel, k) - 1]
    return dcg / idcg


def mrr_at(hits: np.ndarray, k: int) -> np.ndarray:
    """mrr@k = 1 / rank of the first hit within k (0 if none)."""
    h = hits[:, :k]
    first = h.argmax(1)
    return np.where(h.any(1), 1.0 / (first + 1), 0.0)


def hitrate_at(hits: np.ndarray, k: int) -> np.ndarray:
    """hitrate@k = 1 if any hit within k."""
    return hits[:, :k].any(1).astype(np.float64)


def map_at(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """MAP@k = sum over hit ranks r <= k of precision@r, divided by min(k, |test_u|)."""
    h = hits[:, :k].astype(np.float64)
    prec = np.cumsum(h, 1) / np.arange(1, h.shape[1] + 1)
    return (prec * h).sum(1) / np.minimum(n_rel, k)


def coverage(top: np.ndarray, n_catalogue: int) -> float:
    """Distinct items in all lists / catalogue size. ``top`` int (n, k), -1 = empty slot."""
    return len(np.unique(top[top >= 0])) / n_catalogue


def gini(top: np.ndarray, n_catalogue: int) -> float:
    """Gini coefficient of recommendation counts over the catalogue (never-recommended items count 0)."""
    counts = np.sort(np.bincount(top[top >= 0], minlength=n_catalogue).astype(np.float64))
    n = len(counts)
    if counts.sum() == 0:
        return 0.0
    idx = np.arange(1, n + 1)
    return float(((2 * idx - n - 1) * counts).sum() / (n * counts.sum()))


def novelty(top: np.ndarray, item_pop: np.ndarray, n_users: int) -> float:
    """Mean self-information -log2(pop_i / n_users) of recommended items (pop = training users of i)."""
    items = top[top >= 0]
    if len(items) == 0:
        return 0.0
    p = np.maximum(item_pop[items], 1) / max(n_users, 1)
    return float(np.mean(-np.log2(p)))


def hits_from_lists(top: np.ndarray, test: sp.csr_matrix) -> np.ndarray:
    """hits bool (n, K): whether ``top[u, r]`` is stored in row u of ``test`` (same row order).

    Vectorised membership test: encode (row, item) pairs as int64 keys and search the sorted test keys.
    """
    n, K = top.shape
    test = sp.csr_matrix(test)
    test.sort_indices()
    width = np.int64(max(test.shape[1], int(top.max(initial=0)) + 1) + 1)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(test.indptr))
    keys = rows * width + test.indices.astype(np.int64)
    q = np.arange(n, dtype=np.int64)[:, None] * width + np.where(top >= 0, top, width - 1)
    pos = np.searchsorted(keys, q.ravel())
    pos = np.minimum(pos, max(len(keys) - 1, 0))
    found = (keys[pos] == q.ravel()) if len(keys) else np.zeros(q.size, bool)
    return found.reshape(n, K) & (top >= 0)
