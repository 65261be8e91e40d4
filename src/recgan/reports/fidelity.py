"""Fidelity of a synthetic user set to the real one: small pure functions on binary CSR profiles (users x
items, one matrix per behaviour, both sets in the real training item space). Higher is better for every
function here except :func:`detection_auc` (0.5 = indistinguishable, 1.0 = trivially told apart).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy import stats


def _counts(X: sp.csr_matrix) -> np.ndarray:
    return np.asarray(sp.csr_matrix(X).sum(0), dtype=np.float64).ravel()


def _sizes(X: sp.csr_matrix) -> np.ndarray:
    return np.diff(sp.csr_matrix(X).indptr)


def popularity_similarity(real: sp.csr_matrix, syn: sp.csr_matrix) -> float:
    """1 - TVD(p_real, p_syn), p = item interaction counts / total (1 = same popularity distribution)."""
    a, b = _counts(real), _counts(syn)
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(1.0 - 0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def popularity_spearman(real: sp.csr_matrix, syn: sp.csr_matrix) -> float:
    """Spearman rank correlation of item interaction counts over the catalogue."""
    a, b = _counts(real), _counts(syn)
    if np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def longtail_coverage(real: sp.csr_matrix, syn: sp.csr_matrix, min_count: int = 5) -> float:
    """Share of items with >= ``min_count`` real interactions that appear at least once in the synthetic set."""
    a, b = _counts(real), _counts(syn)
    eligible = a >= min_count
    return float((b[eligible] > 0).mean()) if eligible.any() else 1.0


def activity_ks_similarity(real: sp.csr_matrix, syn: sp.csr_matrix) -> float:
    """1 - Kolmogorov-Smirnov distance between the per-user size distributions."""
    a, b = _sizes(real), _sizes(syn)
    if not len(a) or not len(b):
        return 0.0
    return float(1.0 - stats.ks_2samp(a, b).statistic)


def funnel_ratios(mats: dict[str, sp.csr_matrix], pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """For each (child, parent) behaviour pair: ``containment`` = share of child interactions whose item the
    same user also has in parent (buy => viewed), and ``volume`` = |child| / |parent|."""
    out = {}
    for child, parent in pairs:
        c, p = sp.csr_matrix(mats[child]), sp.csr_matrix(mats[parent])
        out[f"{child}<{parent}"] = {
            "containment": float(c.multiply(p).nnz / c.nnz) if c.nnz else 0.0,
            "volume": float(c.nnz / p.nnz) if p.nnz else 0.0,
        }
    return out


def funnel_similarity(real: dict[str, dict[str, float]], syn: dict[str, dict[str, float]]) -> float:
    """1 - mean absolute difference of the containment shares (1 when there is no pair to compare)."""
    diffs = [abs(real[k]["containment"] - syn[k]["containment"]) for k in real]
    return float(1.0 - np.mean(diffs)) if diffs else 1.0


def _cooc_lift(X: sp.csr_matrix, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Xs = sp.csr_matrix(X)[:, items]
    G = (Xs.T @ Xs).toarray().astype(np.float64)
    c = np.diag(G).copy()
    n = max(X.shape[0], 1)
    denom = np.outer(c, c)
    lift = np.divide(G * n, denom, out=np.zeros_like(G), where=denom > 0)
    return G, lift


def _top_pairs(real: sp.csr_matrix, top_items: int, top_pairs: int):
    pop = _counts(real)
    items = np.argsort(-pop, kind="stable")[: min(top_items, int((pop > 0).sum()))]
    Gr, Lr = _cooc_lift(real, items)
    iu = np.triu_indices(len(items), 1)
    order = np.argsort(-Gr[iu], kind="stable")[:top_pairs]
    return items, iu, order, Gr, Lr


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.all(b == b[0]) or np.all(a == a[0]):
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def cooccurrence_correlation(real: sp.csr_matrix, syn: sp.csr_matrix, top_items: int = 200,
                             top_pairs: int = 1000) -> float:
    """Spearman correlation between real and synthetic co-occurrence rates n_ij / n_users over the
    ``top_pairs`` item pairs that co-occur most in the real data (among its ``top_items`` most popular
    items). Popularity drives much of it: see :func:`cooccurrence_lift_correlation` for the part it does not."""
    items, iu, order, Gr, _ = _top_pairs(real, top_items, top_pairs)
    if len(items) < 3:
        return 0.0
    Xs = sp.csr_matrix(syn)[:, items]
    Gs = (Xs.T @ Xs).toarray()
    return _spearman(Gr[iu][order] / max(real.shape[0], 1), Gs[iu][order] / max(syn.shape[0], 1))


def cooccurrence_lift_correlation(real: sp.csr_matrix, syn: sp.csr_matrix, top_items: int = 200,
                                  top_pairs: int = 1000) -> float:
    """Spearman correlation of the co-occurrence *lift* n_ij * n / (n_i * n_j) over the same pairs as
    :func:`cooccurrence_correlation`. Lift removes popularity: a sampler that keeps only marginals has lift
    ~ constant; a set that keeps who-goes-with-whom scores near the real-holdout value. Noisy on small sets."""
    items, iu, order, _, Lr = _top_pairs(real, top_items, top_pairs)
    if len(items) < 3:
        return 0.0
    _, Ls = _cooc_lift(syn, items)
    return _spearman(Lr[iu][order], Ls[iu][order])


# ----------------------------------------------------------------------------- detection
def reduce_users(mats: list[sp.csr_matrix], bases: list[np.ndarray]) -> np.ndarray:
    """Reduced user vectors: per behaviour, the row-normalised profile projected on that behaviour's top
    singular vectors (``bases``), plus log1p(size); concatenated."""
    feats = []
    for X, V in zip(mats, bases, strict=True):
        X = sp.csr_matrix(X, dtype=np.float64)
        k = _sizes(X)
        Xn = sp.diags(1.0 / np.maximum(k, 1)) @ X
        feats.append(np.asarray(Xn @ V) * np.sqrt(V.shape[0]))
        feats.append(np.log1p(k)[:, None])
    return np.hstack(feats)


def svd_bases(mats: list[sp.csr_matrix], k: int = 32, seed: int = 0) -> list[np.ndarray]:
    """Top-``k`` right singular vectors (items x k) of each real behaviour matrix."""
    from scipy.sparse.linalg import svds

    out = []
    for X in mats:
        X = sp.csr_matrix(X, dtype=np.float64)
        kk = max(1, min(k, min(X.shape) - 1))
        if X.nnz == 0 or kk < 1:
            out.append(np.zeros((X.shape[1], 1)))
            continue
        v0 = np.random.default_rng(seed).standard_normal(min(X.shape))
        _, _, vt = svds(X, k=kk, v0=v0)
        out.append(vt.T)
    return out


def auc_score(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC = P[score(pos) > score(neg)] + 0.5 P[=] (Mann-Whitney), by ranks."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if not len(pos) or not len(neg):
        return 0.5
    r = stats.rankdata(np.concatenate([pos, neg]))
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _logistic(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
    A = torch.from_numpy((Xtr - mu) / sd)
    B = torch.from_numpy((Xte - mu) / sd)
    A, B = torch.cat([A, A**2], 1), torch.cat([B, B**2], 1)
    y = torch.from_numpy(ytr.astype(np.float64))
    w = torch.zeros(A.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(A @ w + b, y) + l2 * (w @ w)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (B @ w + b).numpy()


def detection_auc(real: list[sp.csr_matrix], syn: list[sp.csr_matrix], bases: list[np.ndarray],
                  seed: int = 0, max_users: int = 5000) -> float:
    """Real-vs-synthetic detection: a logistic regression (on reduced user vectors and their squares) fit on
    half of a balanced sample, ROC AUC on the other half, both halves swapped and averaged. 0.5 is ideal."""
    rng = np.random.default_rng(seed)
    fr, fs = reduce_users(real, bases), reduce_users(syn, bases)
    n = min(len(fr), len(fs), max_users)
    if n < 4:
        return 0.5
    fr, fs = fr[rng.choice(len(fr), n, replace=False)], fs[rng.choice(len(fs), n, replace=False)]
    X = np.vstack([fr, fs])
    y = np.r_[np.zeros(n), np.ones(n)]
    fold = np.r_[rng.permutation(n) % 2, rng.permutation(n) % 2]
    aucs = []
    for f in (0, 1):
        tr, te = fold != f, fold == f
        s = _logistic(X[tr], y[tr], X[te])
        aucs.append(auc_score(s[y[te] == 1], s[y[te] == 0]))
    return float(np.mean(aucs))
