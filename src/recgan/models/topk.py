"""Chunk-friendly top-k over dense score blocks, with exact tie-breaking by item index."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` per row of ``scores`` (n, n_items), highest first, ties broken by lower item index.

    Entries equal to ``-inf`` are never returned: their slots hold item ``-1`` and score ``-inf``.
    NaN scores rank below every number. Returns (items int64 (n, k), scores float32 (n, k)). Partial sort:
    O(n_items) per row plus O(k log k); float32 input without NaN uses torch's multi-threaded ``topk``.
    """
    n, m = scores.shape
    k = int(min(k, m))
    if k <= 0 or n == 0:
        return np.empty((n, max(k, 0)), np.int64), np.empty((n, max(k, 0)), np.float32)
    fast = k < m and scores.dtype == np.float32 and not np.isnan(scores).any()
    if fast:
        # torch's multi-threaded partial selection (NaN-free input: torch would rank NaN first)
        # k + 1 sorted: the row has a tie at the boundary exactly when its (k+1)-th value equals its k-th
        vals_t, part_t = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), k + 1, dim=1, sorted=True)
        tied = (vals_t[:, k] == vals_t[:, k - 1]).numpy()
        part, vals = part_t[:, :k].numpy(), vals_t[:, :k].numpy()
    elif k < m:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(scores, part, axis=1)
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
        vals = np.take_along_axis(scores, part, axis=1)
    # exact ties at the boundary: a row with more items >= its k-th value than k needs a stable full sort
    if not fast:
        kth = vals.min(axis=1)
        tied = (scores >= kth[:, None]).sum(axis=1) > k if k < m else np.zeros(n, bool)
    order = np.lexsort((part, -vals), axis=1) if vals.size else np.empty_like(part)
    items = np.take_along_axis(part, order, axis=1)
    out_scores = np.take_along_axis(vals, order, axis=1)
    if tied.any():
        rows = np.flatnonzero(tied)
        full = np.argsort(-scores[rows], axis=1, kind="stable")[:, :k]
        items[rows] = full
        out_scores[rows] = np.take_along_axis(scores[rows], full, axis=1)
    items = items.astype(np.int64)
    out_scores = out_scores.astype(np.float32)
    bad = ~np.isfinite(out_scores) & (out_scores < 0)
    items[bad] = -1
    return items, out_scores


def mask_seen(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    """Set ``scores[u, i] = -inf`` in place for every stored entry of ``seen`` (same row order)."""
    if seen.nnz == 0:
        return
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
