"""Spectral start of the behaviour GAN's generator: the top eigenvectors of the item co-occurrence matrix.

Each user's profile (the union of their behaviours, binary) is scaled to unit L2 norm, x_u / |x_u|, and the
co-occurrence matrix of the ``max_items`` most popular items is

    C = sum_u (x_u / |x_u|)_M (x_u / |x_u|)_M^T        (M x M, M = min(max_items, items))

Adding or removing one user changes C by at most 1 in Frobenius norm, so releasing its upper triangle with
N(0, sigma^2) noise per entry is the Gaussian mechanism with L2 sensitivity 1 (one step at sample rate 1 in
the RDP accountant of :mod:`recgan.synth.dp`).

The release under DP (``within_items=True, diagonal=False``; measured on a development carve of ml-1m's
training users, docs/privacy.md) differs in two ways, at the same sensitivity 1:

* each profile is normalised over the released items only: with k = |x_u restricted to M| (a user with
  k = 0 contributes nothing), the term is t_u = x x^T / k over M, so mass on items outside M is not wasted;
* the diagonal is not released, and the strictly upper triangle is scaled by sqrt 2. Sensitivity: adding or
  removing user u changes the released vector (the strictly upper triangle of sqrt(2) C, the only entries
  that get noise; the lower one is its mirror, the diagonal is 0) by exactly sqrt(2) times u's strictly upper
  triangle, which has k (k - 1) / 2 entries equal to 1 / k, so its squared L2 norm is
  2 * k (k - 1) / 2 / k^2 = (k - 1) / k < 1, for every k >= 1 (0 for a single-item user). Other users' terms
  do not depend on u (each profile is normalised by its own k; M is chosen by the already released,
  DP-noised popularity prior, i.e. post-processing), so the L2 sensitivity is <= 1 under add/remove, and the
  same noise sigma is the same Gaussian mechanism in the accountant. Without the diagonal a user's share of
  the released signal is sqrt((k - 1) / k) instead of sqrt((k + 1) / 2k), about sqrt 2 more signal per
  unit of noise for every user with k >= 2. The spectral start needs no diagonal: it is a popularity term,
  which the popularity prior already carries.

Everything after the release is post-processing: the top
``rank`` eigenpairs (lambda, V) of the released matrix define a linear generator

    logits = a * (z diag(sqrt(lambda / n)) V^T) / s + b,    z ~ N(0, I_rank)

(``s`` the standard deviation of the linear part over items, so ``a`` is its scale in logit units; ``b`` the
popularity prior), i.e. profiles drawn from a Gaussian in the span of the co-occurrence's main directions,
which the GAN then refines adversarially. Items outside the M most popular keep a zero embedding (their
popularity term only). Which M items: by the popularity prior given (DP-noised under DP), never by a second
look at the data.

Cost: one sparse product (users x M) -> M x M dense, and one dense symmetric eigendecomposition O(M^3); with
the default M = 4096 that is a few seconds, whatever the catalogue size.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recgan.errors import RecganError


def union_profiles(mats: list[sp.csr_matrix]) -> sp.csr_matrix:
    """Binary (users, items) CSR: items each user touched in any behaviour."""
    x = mats[0].copy()
    for m in mats[1:]:
        x = x + m
    x = sp.csr_matrix(x)
    x.data[:] = 1.0
    return x


def cooccurrence(mats: list[sp.csr_matrix], items: np.ndarray, *, within_items: bool = False,
                 diagonal: bool = True) -> np.ndarray:
    """(len(items), len(items)) float64 C = sum_u x_u x_u^T / |x_u|^2 over the given item indices (x_u the
    union profile; a user's term has Frobenius norm <= 1, the release's L2 sensitivity). ``within_items``:
    |x_u| counts the given items only (else the whole catalogue); ``diagonal=False``: the diagonal is 0 and the
    rest is scaled by sqrt 2 (a user's strictly upper triangle then has L2 norm sqrt((k - 1) / k) <= 1; see the
    module docstring)."""
    x = union_profiles(mats)
    if within_items:
        xm = sp.csr_matrix(sp.csc_matrix(x.astype(np.float64))[:, np.asarray(items)])
        norms = np.sqrt(np.maximum(np.diff(xm.indptr), 1)).astype(np.float64)
        xm = sp.diags(1.0 / norms) @ xm
    else:
        norms = np.sqrt(np.maximum(np.diff(x.indptr), 1)).astype(np.float64)
        xh = sp.diags(1.0 / norms) @ x.astype(np.float64)
        xm = sp.csc_matrix(xh)[:, np.asarray(items)]
    c = (xm.T @ xm).toarray()
    if not diagonal:
        np.fill_diagonal(c, 0.0)
        c *= np.sqrt(2.0)
    return c


def spectral_basis(mats: list[sp.csr_matrix], *, rank: int, items: np.ndarray, sigma: float = 0.0,
                   rng: np.random.Generator | None = None, within_items: bool = False,
                   diagonal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(V (len(items), r) orthonormal columns, lambda (r,) >= 0, descending) of the released co-occurrence
    matrix over the given item indices; ``sigma`` > 0 adds the Gaussian mechanism's noise (see the module
    docstring) to the upper triangle (the strictly upper one with ``diagonal=False``: the diagonal is not
    released); ``within_items`` / ``diagonal`` as in :func:`cooccurrence`. r = min(rank, len(items))."""
    if rank < 1 or len(items) < 1:
        raise RecganError(f"spectral start needs rank >= 1 and at least one item (rank {rank}, items {len(items)})")
    if sigma < 0 or not np.isfinite(sigma):
        raise RecganError(f"spectral noise must be a finite number >= 0, got {sigma}")
    c = (cooccurrence(mats, items) if not within_items and diagonal else
         cooccurrence(mats, items, within_items=within_items, diagonal=diagonal))
    if sigma > 0:
        if rng is None:
            raise RecganError("spectral noise needs a random generator")
        noise = np.triu(rng.normal(0.0, sigma, c.shape), 0 if diagonal else 1)
        c += noise + np.triu(noise, 1).T
    r = min(rank, len(items))
    lam, vec = scipy.linalg.eigh(c, subset_by_index=[len(items) - r, len(items) - 1], overwrite_a=True)
    order = np.argsort(lam)[::-1]
    return vec[:, order], np.clip(lam[order], 0.0, None)


def linear_generator(lam: np.ndarray, n_users: int, n_items: int, scale: float) -> np.ndarray:
    """(r,) per-latent weights w = a sqrt(lambda / n) / s: logits' linear part (z * w) @ V^T, z ~ N(0, I_r),
    then has a mean per-item variance of ``scale``^2 over the catalogue (``n_items`` counts every item,
    those outside V included, as V's columns are orthonormal)."""
    w = np.sqrt(np.asarray(lam, dtype=np.float64) / max(n_users, 1))
    s = float(np.sqrt((w**2).sum() / max(n_items, 1)))
    if not s > 0:
        raise RecganError("spectral start: the released co-occurrence matrix has no positive eigenvalue "
                          "(too much noise for this data: raise epsilon or lower dp_spectral_sigma)")
    return w * (scale / s)
