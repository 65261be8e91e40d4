"""Shared machinery for item-item models (ItemKNN, RP3beta, EASE): a weight matrix W (n_items, n_items),
scores = X @ W with X the weighted target matrix, fold-in = history @ W, item similarity = rows of W."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import torch

from recgan.models.base import Recommender


def keep_topk_per_column(W: np.ndarray, k: int) -> sp.csr_matrix:
    """Sparsify a dense (n, n) matrix keeping the ``k`` largest entries of each column."""
    n = W.shape[0]
    k = min(k, n)
    idx = np.argpartition(-W, k - 1, axis=0)[:k]  # (k, n) row indices per column
    vals = np.take_along_axis(W, idx, axis=0)
    cols = np.broadcast_to(np.arange(n), idx.shape)
    M = sp.csr_matrix((vals.ravel(), (idx.ravel(), cols.ravel())), shape=(n, n), dtype=np.float32)
    M.eliminate_zeros()
    return M


def topk_per_column_blocked(column_block, n: int, k: int, block: int = 2048) -> sp.csr_matrix:
    """:func:`keep_topk_per_column` of an (n, n) matrix given one dense column block at a time:
    ``column_block(c0, c1)`` returns columns c0..c1 as an (n, c1 - c0) float32 array (its diagonal entries
    already zeroed by the caller). Memory: one block plus the result."""
    k = min(k, n)
    rows, cols, vals = [], [], []
    for c0 in range(0, n, block):
        c1 = min(c0 + block, n)
        S = column_block(c0, c1)
        idx = np.argpartition(-S, k - 1, axis=0)[:k].copy()  # a copy: the view would pin the whole (n, block)
        rows.append(idx.ravel())
        cols.append(np.broadcast_to(np.arange(c0, c1), idx.shape).ravel())
        vals.append(np.take_along_axis(S, idx, axis=0).ravel())
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n),
                      dtype=np.float32)
    M.eliminate_zeros()
    return M


def sparse_dense_product(A: sp.csr_matrix, W: np.ndarray) -> np.ndarray:
    """A @ W for a CSR (n, m) and a dense (m, p) float32 array: torch's multi-threaded sparse kernel (scipy's
    runs on one core), float32 (n, p)."""
    if W.dtype != np.float32 or not W.flags.c_contiguous or A.nnz == 0:
        return np.asarray(A @ W, dtype=np.float32)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        At = torch.sparse_csr_tensor(
            torch.from_numpy(A.indptr.astype(np.int64)), torch.from_numpy(A.indices.astype(np.int64)),
            torch.from_numpy(np.asarray(A.data, dtype=np.float32)), size=A.shape, check_invariants=False,
        )
        out = np.empty((A.shape[0], W.shape[1]), np.float32)  # numpy's large arrays get huge pages (fewer faults)
        torch.mm(At, torch.from_numpy(W), out=torch.from_numpy(out))
        return out


def sparse_sparse_dense_product(A: sp.csr_matrix, W: sp.csr_matrix, min_rows: int = 64) -> np.ndarray:
    """(A @ W) as a dense float32 (n, p) array for a CSR (n, m) and a CSR (m, p): scipy's sparse product
    (one core per call, the GIL released) on row slices of ``A`` in ``torch.get_num_threads()`` threads, so a
    sparse item-item model scores on every core torch may use (OMP_NUM_THREADS). Same values as ``A @ W``."""
    n_threads = max(1, min(torch.get_num_threads(), A.shape[0] // min_rows))
    if n_threads == 1:
        return np.asarray((A @ W).toarray(), dtype=np.float32)
    out = np.empty((A.shape[0], W.shape[1]), np.float32)
    bounds = np.linspace(0, A.shape[0], n_threads + 1).astype(int)

    def part(i: int) -> None:
        a, b = bounds[i], bounds[i + 1]
        out[a:b] = (A[a:b] @ W).toarray()

    with ThreadPoolExecutor(max_workers=n_threads) as ex:
        list(ex.map(part, range(n_threads)))
    return out


class ItemItemModel(Recommender):
    """A recommender whose state is an item-item weight matrix ``W_`` (dense ndarray or CSR)."""

    supports_fold_in = True
    W_: np.ndarray | sp.csr_matrix

    def _input(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        return rows

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self._score_history(self._check_fitted().X[users])

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        H = self._input(history)
        if sp.issparse(H) and isinstance(self.W_, np.ndarray):
            return sparse_dense_product(sp.csr_matrix(H), self.W_)
        if sp.issparse(H) and sp.issparse(self.W_):
            return sparse_sparse_dense_product(sp.csr_matrix(H), sp.csr_matrix(self.W_))
        out = H @ self.W_
        return out.toarray() if sp.issparse(out) else np.asarray(out)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        W = self.W_
        rows = W[items]
        return rows.toarray() if sp.issparse(rows) else np.asarray(rows)

    def _state(self) -> dict:
        if sp.issparse(self.W_):
            W = sp.csr_matrix(self.W_)
            return {"W_data": W.data, "W_indices": W.indices, "W_indptr": W.indptr}
        return {"W": np.asarray(self.W_, dtype=np.float32)}

    def _set_state(self, state: dict) -> None:
        if "W" in state:
            # C order: scipy's sparse @ dense copies a Fortran-ordered W on every call (80x slower scoring)
            self.W_ = np.ascontiguousarray(state["W"], dtype=np.float32)
        else:
            n = len(state["W_indptr"]) - 1
            self.W_ = sp.csr_matrix(
                (np.asarray(state["W_data"]), np.asarray(state["W_indices"]), np.asarray(state["W_indptr"])),
                shape=(n, n),
            )
