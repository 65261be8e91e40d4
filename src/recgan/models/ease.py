"""EASE (Steck, WWW 2019): closed-form shallow autoencoder.

B = argmin ||X - XB||^2 + lambda ||B||^2, diag(B) = 0  =>  P = (X^T X + lambda I)^-1, B = -P / diag(P),
diag(B) = 0. Fit is one n_items x n_items inversion (O(n_items^3)); scores = X @ B.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import torch
from pydantic import Field
from scipy.sparse.linalg import svds

from recgan.core.memory import MEMORY_FRACTION, available_memory, gib
from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models._itemitem import ItemItemModel
from recgan.models.base import Config, register

log = logging.getLogger(__name__)

BLOCK = 2048
"""Block size (items) of the blocked Cholesky / inverse: panels of n x BLOCK float32 are the only temporaries."""

FLOAT64_MAX_ITEMS = 12_000
"""Up to this many items the exact solver works in float64 (the closed form through LAPACK's inverse, ~24 n^2
bytes: 3.5 GB at 12,000 items); above it in float32 in place (~4 n^2 bytes). float32 loses digits when the
ridge is small against X^T X (ml-100k-p1 at 5 interactions per user, l2=50: NDCG@10 0.099219 vs 0.099133)."""

APPROX_NEIGHBOURS, APPROX_KEEP = 16_384, 4_096
"""Defaults of the approximate solver. On Gowalla (40,981 items, l2 = 50) they keep 97.0 % of exact EASE's
test NDCG@20 at 3.5 GB peak and 485 CPU s; 8,192 / 1,024 keep 93.3 % at 1.5 GB and 175 CPU s, and 8,192 /
4,096 94.8 % (benchmarks/results/92-ease-approx.md)."""
TUNE_EXACT_MAX_ITEMS = 15_000
"""``--tune`` with ``solver="auto"`` scores its grid with the approximate solver above this many items."""

TUNE_NEIGHBOURS, TUNE_KEEP = 2048, 1024
"""Neighbourhood and kept weights per item of the approximate solver while ``--tune`` scores an l2 grid above
``TUNE_EXACT_MAX_ITEMS`` items (or with ``solver="approx"`` and larger values): the grid's job is to rank the
ridges, each group's Gram block is shared by the whole grid (:func:`ease_weights_approx_grid`), and the grid
holds one (n_items x keep) result per ridge at once."""



# --------------------------------------------------------------------------- exact solver
def gram(X: sp.spmatrix, l2: float | np.ndarray = 0.0, *, block: int = BLOCK) -> np.ndarray:
    """G = X^T X + diag(l2) as a dense (n, n) float32 C-order array, built in row blocks of ``block`` items
    (each a sparse (block, users) x (users, n) product written straight into G), so the only temporary is one
    sparse block: peak memory ~ 4 n^2 bytes + one block."""
    X = sp.csr_matrix(X, dtype=np.float32)
    n = X.shape[1]
    XT = sp.csr_matrix(X.T)  # (n, users)
    G = np.empty((n, n), np.float32)
    for r0 in range(0, n, block):
        r1 = min(r0 + block, n)
        (XT[r0:r1] @ X).toarray(out=G[r0:r1])
    G[np.diag_indices(n)] += np.asarray(l2, dtype=np.float32)
    return G


def cholesky_inplace(A: np.ndarray, *, block: int = BLOCK) -> None:
    """Overwrite the lower triangle of the SPD float32 C-order matrix ``A`` (n, n) with its Cholesky factor L
    (A = L L^T), right-looking and blocked: per block column one small Cholesky, one triangular solve of the
    panel below it and in-place rank-``block`` updates of the trailing lower triangle. Diagonal blocks end
    exactly lower triangular; blocks above the diagonal are left as they were. Raises
    :class:`numpy.linalg.LinAlgError` when A is not positive definite."""
    T = torch.from_numpy(A)
    n = T.shape[0]
    for k0 in range(0, n, block):
        k1 = min(k0 + block, n)
        Lkk, info = torch.linalg.cholesky_ex(T[k0:k1, k0:k1])
        if int(info) != 0:
            raise np.linalg.LinAlgError(f"matrix is not positive definite (pivot {k0 + int(info)})")
        T[k0:k1, k0:k1] = Lkk
        if k1 == n:
            break
        panel = torch.linalg.solve_triangular(Lkk.mT, T[k1:, k0:k1], upper=True, left=False)
        T[k1:, k0:k1] = panel
        for i0 in range(k1, n, block):
            i1 = min(i0 + block, n)
            T[i0:i1, k1:i1].addmm_(panel[i0 - k1:i1 - k1], panel[: i1 - k1].mT, alpha=-1.0)


def tri_inverse_inplace(A: np.ndarray, *, block: int = BLOCK) -> None:
    """Overwrite the lower-triangular factor L held in ``A``'s lower triangle (diagonal blocks exactly lower
    triangular, as :func:`cholesky_inplace` leaves them) with L^-1, blocked, bottom block column first."""
    T = torch.from_numpy(A)
    n = T.shape[0]
    starts = list(range(0, n, block))
    for j0 in reversed(starts):
        j1 = min(j0 + block, n)
        eye = torch.eye(j1 - j0, dtype=T.dtype)
        inv_jj = torch.linalg.solve_triangular(T[j0:j1, j0:j1], eye, upper=False)
        # block rows below: X_i = -(sum_{j<l<=i} Linv[i, l] L[l, j]) Linv[j, j], bottom-up so that each
        # X_i reads only rows l <= i that still hold L
        for i0 in reversed(range(j1, n, block)):
            i1 = min(i0 + block, n)
            tmp = T[i0:i1, j1:i1] @ T[j1:i1, j0:j1]
            T[i0:i1, j0:j1] = -(tmp @ inv_jj)
        T[j0:j1, j0:j1] = inv_jj


def lower_gram_inplace(A: np.ndarray, *, block: int = BLOCK) -> None:
    """Overwrite the lower-triangular M held in ``A``'s lower triangle with the lower triangle of M^T M
    (LAPACK's lauum), blocked, top block row first; then mirror it to the upper triangle (A symmetric)."""
    T = torch.from_numpy(A)
    n = T.shape[0]
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        new = T[i0:i1, i0:i1].mT @ T[i0:i1, :i1]
        if i1 < n:
            new.addmm_(T[i1:, i0:i1].mT, T[i1:, :i1])
        T[i0:i1, :i1] = new
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        T[i0:i1, i0:i1] = torch.tril(T[i0:i1, i0:i1]) + torch.tril(T[i0:i1, i0:i1], -1).mT
        if i1 < n:
            T[i0:i1, i1:] = T[i1:, i0:i1].mT


def spd_inverse_inplace(A: np.ndarray, *, block: int = BLOCK) -> None:
    """Overwrite the SPD float32 C-order matrix ``A`` (n, n) with its inverse, in place: blocked Cholesky,
    triangular inverse, then P = L^-T L^-1. About n^3 flops; memory: A plus panels of n x ``block``."""
    if A.dtype != np.float32 or not A.flags.c_contiguous or A.shape[0] != A.shape[1]:
        raise ValueError("expected a square C-order float32 array")
    cholesky_inplace(A, block=block)
    tri_inverse_inplace(A, block=block)
    lower_gram_inplace(A, block=block)


def ease_weights(X: sp.spmatrix, l2: float | np.ndarray, *, block: int = BLOCK,
                 float64_max_items: int = FLOAT64_MAX_ITEMS) -> np.ndarray:
    """EASE closed form (Steck 2019): B = -P / diag(P), diag(B) = 0, P = (X^T X + diag(l2))^-1; (n, n)
    float32, C order. ``X``: (users, n) weights; ``l2``: one ridge for every item, or an (n,) array of per-item
    ridges (e.g. EDLAE's l2 + p/(1-p) (X^T X)_ii). Up to ``float64_max_items`` items in float64 through
    LAPACK's inverse (~24 n^2 bytes); above, in float32 in one (n, n) array: Gram matrix in row blocks, then an
    in-place blocked Cholesky inverse (:func:`spd_inverse_inplace`): peak memory ~ 4 n^2 bytes plus panels of
    4 n ``block`` bytes (:func:`exact_memory`)."""
    n = X.shape[1]
    if n <= float64_max_items:  # small catalogue: float64 costs little, and small ridges need its precision
        G = (sp.csr_matrix(X).T @ sp.csr_matrix(X)).toarray().astype(np.float64)
        G[np.diag_indices_from(G)] += l2
        try:
            P64 = scipy.linalg.inv(G, overwrite_a=True, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            raise RecganError("EASE: X^T X + l2 I is not invertible (is l2 > 0?)") from None
        B = P64 / (-np.diag(P64))
        B[np.diag_indices_from(B)] = 0.0
        return np.ascontiguousarray(B, dtype=np.float32)
    release_free_heap()  # what earlier work (e.g. a tuning grid) freed, before the big allocation
    P = gram(X, l2, block=block)
    try:
        spd_inverse_inplace(P, block=block)
    except np.linalg.LinAlgError:
        raise RecganError("EASE: X^T X + l2 I is not positive definite (is l2 > 0?)") from None
    T = torch.from_numpy(P)
    d = torch.diagonal(T).clone()
    T.div_(-d)
    torch.diagonal(T).zero_()
    return P


def release_free_heap() -> None:
    """Give the C heap's free pages back to the operating system (glibc ``malloc_trim``; a no-op elsewhere):
    freed small and medium arrays otherwise stay in this process's resident memory."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def exact_memory(n_items: int, block: int = BLOCK) -> int:
    """Bytes the exact solver needs for ``n_items`` items: up to ``FLOAT64_MAX_ITEMS`` three (n, n) float64
    arrays; above, the (n, n) float32 array and ~3 panels (n, block)."""
    if n_items <= FLOAT64_MAX_ITEMS:
        return 3 * 8 * n_items * n_items
    return 4 * n_items * n_items + 3 * 4 * n_items * min(block, n_items)


# --------------------------------------------------------------------------- approximate solver
def item_groups(X: sp.csr_matrix, size: int, dims: int = 16) -> list[np.ndarray]:
    """Partition the items into ceil(n / size) groups of co-occurring items, each of at most ``size``: a
    spectral embedding (the top ``dims`` right singular vectors of the degree-normalised (users, n) matrix),
    then recursive bisection along the embedding coordinate of largest spread (deterministic)."""
    n = X.shape[1]
    if n <= size:
        return [np.arange(n)]
    du = np.asarray(X.sum(1)).ravel()
    di = np.asarray(X.sum(0)).ravel()
    Xn = sp.diags(1.0 / np.sqrt(du + 1.0)) @ X @ sp.diags(1.0 / np.sqrt(di + 1.0))
    k = int(min(dims, min(X.shape) - 2))
    v0 = np.full(min(X.shape), 1.0 / np.sqrt(min(X.shape)))
    _, _, Vt = svds(sp.csr_matrix(Xn, dtype=np.float64), k=k, v0=v0, solver="arpack")
    E = Vt.T  # (n, k)
    todo, out = [np.arange(n)], []
    while todo:
        g = todo.pop()
        parts = -(-len(g) // size)
        if parts <= 1:
            out.append(np.sort(g))
            continue
        sub = E[g]
        order = np.argsort(sub[:, int(np.argmax(sub.var(axis=0)))], kind="stable")
        cut = len(g) * (parts // 2) // parts
        todo += [g[order[:cut]], g[order[cut:]]]
    return sorted(out, key=lambda a: int(a[0]))


def ease_weights_approx(
    X: sp.spmatrix, l2: float, *, neighbours: int = APPROX_NEIGHBOURS, keep: int = APPROX_KEEP,
    block: int = BLOCK,
) -> sp.csr_matrix:
    """Approximate EASE for catalogues whose dense n x n inverse does not fit. The items are split into groups
    of co-occurring items (:func:`item_groups`, ``neighbours // 4`` items each); for every group g, U = g plus
    the items that co-occur most with g, ``neighbours`` in all, and the EASE columns of g are solved exactly
    over U: B[U, g] = -P[:, g] / diag(P)[g], P = (X_U^T X_U + l2 I)^-1 (each item regressed on U, the
    restriction of its EASE regression to U; with U = every item it is exact EASE), then sparsified to the
    ``keep`` largest-magnitude weights per column. This is a sparse approximate inverse computed block of
    columns by block of columns over a chosen sparsity pattern, in the spirit of SANSA (Spisak et al.,
    RecSys 2023), with each block's pattern chosen by co-occurrence.

    Returns CSR (n, n) float32 with at most ``keep`` entries per column, zero diagonal. Memory: one dense
    ``neighbours`` x ``neighbours`` float32 block plus the output (:func:`approx_memory`); time about
    ceil(n / (neighbours / 4)) x 0.83 neighbours^3 flops."""
    return ease_weights_approx_grid(X, [l2], neighbours=neighbours, keep=keep, block=block)[0]


def ease_weights_approx_grid(
    X: sp.spmatrix, l2s: list[float], *, neighbours: int = APPROX_NEIGHBOURS, keep: int = APPROX_KEEP,
    block: int = BLOCK,
    group: int | None = None,
) -> list[sp.csr_matrix]:
    """:func:`ease_weights_approx` for several ridges at once, one CSR (n, n) per entry of ``l2s``: the
    groups, each group's neighbourhood U and its Gram block X_U^T X_U are built once and shared by every
    ridge (only the diagonal changes); per ridge, one Cholesky factorisation of X_U^T X_U + l2 I and two
    triangular solves for the group's columns (c^3 / 3 + 2 c^2 |g| flops, c = ``neighbours``). Memory: two
    dense c x c float32 blocks plus ``len(l2s)`` outputs of n x ``keep`` (int32 row, float32 value).
    ``group``: items per group (default ``neighbours // 4``; smaller groups get better-fitted neighbourhoods
    for more factorisations)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    n = X.shape[1]
    c = int(min(max(neighbours, 2), n))
    groups = item_groups(X, c if c == n else max(group or c // 4, 1))
    Xc = sp.csc_matrix(X)
    XT = sp.csr_matrix(X.T)
    k = min(keep, c)
    # outputs preallocated in CSC order (one large array per ridge, not thousands of small pieces that would
    # fragment the heap and keep its memory after the fit): column j's k entries at k * j .. k * j + k
    rows_out = [np.empty((n, k), np.int32) for _ in l2s]
    vals_out = [np.empty((n, k), np.float32) for _ in l2s]
    for g in groups:
        if c >= n:
            U = np.arange(n)
        else:
            co = np.asarray(XT @ np.asarray(Xc[:, g].sum(axis=1)).ravel()).ravel()  # co-occurrence with g
            co[g] = np.inf
            U = np.sort(np.argpartition(-co, c - 1)[:c])
        G = gram(Xc[:, U], 0.0, block=block)
        loc = torch.from_numpy(np.searchsorted(U, g))
        cols = torch.arange(len(g))
        for j, l2 in enumerate(l2s):
            A = G.copy() if j < len(l2s) - 1 else G  # the last ridge may overwrite the shared Gram block
            A[np.diag_indices(c)] += np.float32(l2)
            try:
                cholesky_inplace(A, block=block)
            except np.linalg.LinAlgError:
                raise RecganError("EASE: X^T X + l2 I is not positive definite (is l2 > 0?)") from None
            L = torch.from_numpy(A)  # lower triangle: the factor (the solves read no other entry)
            E = torch.zeros((c, len(g)), dtype=torch.float32)
            E[loc, cols] = 1.0
            Bg = torch.linalg.solve_triangular(L.mT, torch.linalg.solve_triangular(L, E, upper=False),
                                               upper=True)  # P[:, g], (c, |g|)
            del A, L, E
            Bg /= -Bg[loc, cols]
            Bg[loc, cols] = 0.0
            idx = torch.topk(Bg.abs(), k, dim=0, sorted=False).indices if k < c else \
                torch.arange(c)[:, None].expand(c, len(g))
            rows_out[j][g] = U[idx.numpy()].T
            vals_out[j][g] = torch.gather(Bg, 0, idx).numpy().T
            del Bg, idx
        del G
    indptr = np.arange(0, k * n + 1, k, dtype=np.int64 if k * n >= 2**31 else np.int32)
    out = []
    for j in range(len(l2s)):
        rows, vals = rows_out[j].ravel(), vals_out[j].ravel()
        rows_out[j] = vals_out[j] = np.empty(0)
        B = sp.csc_matrix((vals, rows, indptr), shape=(n, n)).tocsr()  # the only copy: CSC -> CSR
        del rows, vals
        B.eliminate_zeros()
        out.append(B)
    return out


def approx_memory(n_items: int, neighbours: int = APPROX_NEIGHBOURS, keep: int = APPROX_KEEP,
                  block: int = BLOCK) -> int:
    """Bytes :func:`ease_weights_approx` needs: during the fit one dense ``neighbours``^2 float32 block with its
    panels and column slice beside the (n_items x keep) output (int32 row, float32 value: 8 bytes an entry);
    at the end that output in CSC and in CSR form at once (16 bytes an entry)."""
    c = min(neighbours, n_items)
    k = min(keep, c)
    return int(max(exact_memory(c, block) + 4 * c * c // 4 + 8 * n_items * k, 16 * n_items * k))




def choose_solver(n_items: int, solver: str, neighbours: int = APPROX_NEIGHBOURS, available: int | None = None,
                  keep: int = APPROX_KEEP) -> str:
    """The solver a fit of ``n_items`` items uses: ``solver`` itself when given, else (``"auto"``) exact EASE
    when its memory (:func:`exact_memory`) is within ``MEMORY_FRACTION`` of the available memory, else the
    approximate one when that fits. Raises :class:`RecganError` before anything is allocated when the chosen
    (or every) solver would not fit."""
    avail = available_memory() if available is None else available
    budget = MEMORY_FRACTION * avail
    need_exact, need_approx = exact_memory(n_items), approx_memory(n_items, neighbours, keep)
    if solver == "exact" and need_exact > budget:
        raise RecganError(
            f"EASE: exact solver for {n_items} items needs ~{gib(need_exact)}, {gib(avail)} available; "
            f"use --param solver=approx (or solver=auto)")
    if solver == "approx" and need_approx > budget:
        raise RecganError(
            f"EASE: approximate solver for {n_items} items needs ~{gib(need_approx)}, {gib(avail)} available; "
            f"lower --param neighbours= or --param keep=")
    if solver != "auto":
        return solver
    if need_exact <= budget:
        return "exact"
    if need_approx <= budget:
        return "approx"
    raise RecganError(
        f"EASE: {n_items} items need ~{gib(need_exact)} (exact) or ~{gib(need_approx)} (approx), "
        f"{gib(avail)} available; lower --param neighbours= or --param keep=, or use a machine with more memory")


class EASEConfig(Config):
    l2: float = Field(500.0, gt=1e-6)
    """Ridge strength lambda on the item-item weights (ANCHORS: 500 for ml-100k, 1000 for ml-1m)."""
    solver: Literal["auto", "exact", "approx"] = "auto"
    """"exact": dense float32 closed form (~4 n_items^2 bytes); "approx": sparse EASE restricted to each item's
    strongest neighbours (memory ~ n_items x neighbours); "auto": exact when it fits in the available memory."""
    neighbours: int = Field(APPROX_NEIGHBOURS, ge=2)
    """Approximate solver: the items each item's weights are fitted over (its group of co-occurring items and
    the items that co-occur most with that group); memory ~ 4 neighbours^2 bytes."""
    keep: int = Field(APPROX_KEEP, ge=1)
    """Approximate solver: the largest-magnitude weights kept per item (column of B); memory ~ 16 n_items keep
    bytes."""


@register
class EASE(ItemItemModel):
    """EASE (Steck 2019): closed-form shallow autoencoder, item-item weights by ridge regression."""

    name = "ease"
    config_class = EASEConfig
    tune_grid = {"l2": [10.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0]}

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        # interaction weights (1.0 for plain implicit data; augmentation may down-weight)
        c = self.config
        n = data.n_items
        solver = choose_solver(n, c.solver, c.neighbours, keep=c.keep)
        if solver == "exact":
            self.W_ = ease_weights(data.X, c.l2)
            mem = exact_memory(n)
        else:
            self.W_ = ease_weights_approx(data.X, c.l2, neighbours=c.neighbours, keep=c.keep)
            mem = approx_memory(n, c.neighbours, c.keep)
        how = "asked for" if c.solver == solver else f"picked by solver=auto for {n} items"
        message = f"EASE solver: {solver} ({how}; ~{gib(mem)} needed)"
        self.info["solver"] = {"solver": solver, "requested": c.solver, "memory_bytes": int(mem),
                               "message": message}
        log.info(message)

    @classmethod
    def fit_grid(cls, params: dict[str, Any], points: list[dict[str, Any]],
                 data: Interactions) -> tuple[str, Iterator[tuple[dict[str, Any], EASE]]] | None:
        """How ``--tune`` fits an l2 grid on ``data`` (the carve's train part) when the dense solver is too
        slow to fit every point: with ``solver="auto"`` above ``TUNE_EXACT_MAX_ITEMS`` items (or with
        ``solver="approx"``), every point is fitted by the approximate solver at ``TUNE_NEIGHBOURS``
        neighbours (at most the given ``neighbours``), each group's Gram block built once for the whole grid
        (:func:`ease_weights_approx_grid`). Returns (a sentence saying so, an iterator of (point, fitted
        model)), or None (each point fitted on its own) for small catalogues, an exact solver asked for, or a
        grid over anything but l2. The final fit keeps the given settings."""
        solver = params.get("solver", "auto")
        big = solver == "approx" or (solver == "auto" and data.n_items > TUNE_EXACT_MAX_ITEMS)
        if not big or not points or any(set(p) != {"l2"} for p in points):
            return None
        base = cls(**params).config
        c, keep = min(TUNE_NEIGHBOURS, base.neighbours), min(TUNE_KEEP, base.keep)
        choose_solver(data.n_items, "approx", c, keep=keep)  # fails before allocating when even this cannot fit
        how = (f"l2 grid scored with the approximate solver (neighbours={c}, keep={keep}; one Gram block "
               f"per item group shared by the {len(points)} ridges) on the validation carve; the final fit "
               f"uses solver={solver}")

        def fitted() -> Iterator[tuple[dict[str, Any], EASE]]:
            Ws = ease_weights_approx_grid(data.X, [float(p["l2"]) for p in points], neighbours=c, keep=keep)
            for p in points:
                m = cls(**{**params, **p, "solver": "approx", "neighbours": c, "keep": keep})
                m.data_, m.W_ = data, Ws.pop(0)
                m.info["solver"] = {"solver": "approx", "requested": solver, "message": how,
                                    "memory_bytes": int(approx_memory(data.n_items, c, keep))}
                yield p, m

        return how, fitted()
