"""User-level privacy of a synthetic set: small pure functions on binary CSR profiles (a user's profile is
its (item, behaviour) pairs: behaviour matrices side by side). Each states its direction.

* :func:`exact_copy_rate` (lower is better; compare with the same rate of real held-out users);
* :func:`dcr_p` from :func:`nearest_jaccard` (0.5 ideal, 1.0 = copies);
* :func:`mia` distance and density membership-inference attacks (AUC 0.5 ideal);
* :func:`canary_reproduction` (no canary reproduced);
* :func:`epsilon_lower_bound` (an empirical lower bound on epsilon from canary scores).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats

from recgan.reports.fidelity import auc_score


def profiles(mats: list[sp.csr_matrix]) -> sp.csr_matrix:
    """Behaviour matrices side by side as one binary CSR (users, behaviours x items)."""
    X = sp.hstack([sp.csr_matrix(m) for m in mats], format="csr").astype(np.float32)
    X.data[:] = 1.0
    X.sum_duplicates()
    return X


def _row_hashes(X: sp.csr_matrix) -> np.ndarray:
    """A 64-bit hash per row from the set of its columns (sum of per-column random keys, wrap-around)."""
    keys = np.random.default_rng(20240611).integers(1, 2**63 - 1, X.shape[1], dtype=np.int64).view(np.uint64)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    h = np.zeros(X.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.add.at(h, rows, keys[X.indices])
        h = h * np.uint64(1000003) + np.diff(X.indptr).astype(np.uint64)
    return h


def exact_copy_rate(candidate: sp.csr_matrix, train: sp.csr_matrix, min_items: int = 5) -> float:
    """Share of candidate profiles with >= ``min_items`` items that equal some training profile exactly."""
    candidate, train = sp.csr_matrix(candidate), sp.csr_matrix(train)
    big = np.diff(candidate.indptr) >= min_items
    if not big.any():
        return 0.0
    return float(np.isin(_row_hashes(candidate)[big], _row_hashes(train)).mean())


def nearest_jaccard(A: sp.csr_matrix, B: sp.csr_matrix, k: int = 1, chunk: int = 1024,
                    exclude_self: bool = False) -> np.ndarray:
    """Jaccard *similarity* of each row of ``A`` to its ``k`` most similar rows of ``B``: (len(A), k), best
    first. Sparse matmul in chunks of ``chunk`` rows (only overlapping pairs are ever materialised);
    ``exclude_self`` skips the pair (i, i) (A and B the same set)."""
    A, B = sp.csr_matrix(A, dtype=np.float32), sp.csr_matrix(B, dtype=np.float32)
    na, nb = np.diff(A.indptr).astype(np.float64), np.diff(B.indptr).astype(np.float64)
    BT = B.T.tocsr()
    out = np.zeros((A.shape[0], k))
    for lo in range(0, A.shape[0], chunk):
        hi = min(lo + chunk, A.shape[0])
        inter = (A[lo:hi] @ BT).tocoo()
        r, c, v = inter.row, inter.col, inter.data.astype(np.float64)
        if exclude_self:
            keep = (r + lo) != c
            r, c, v = r[keep], c[keep], v[keep]
        sim = v / (na[lo + r] + nb[c] - v)
        S = np.zeros((hi - lo, min(k, B.shape[0])))
        if len(sim):
            order = np.lexsort((-sim, r))
            r, sim = r[order], sim[order]
            first = np.searchsorted(r, np.arange(hi - lo))
            rank = np.arange(len(r)) - first[r]
            sel = rank < k
            S[r[sel], rank[sel]] = sim[sel]
        out[lo:hi, : S.shape[1]] = S
    return out


def dcr_p(candidate_dcr: np.ndarray, holdout_dcr: np.ndarray) -> float:
    """p = P[a candidate user is nearer its closest training user than a held-out real user is to its own]
    (+ half the ties): 0.5 when the candidates are as far from training as fresh real users, 1.0 for copies."""
    return 1.0 - auc_score(candidate_dcr, holdout_dcr) if len(candidate_dcr) and len(holdout_dcr) else 0.5


def tpr_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float = 0.01) -> float:
    """True-positive rate at the threshold that flags at most ``fpr`` of the negatives."""
    if not len(pos) or not len(neg):
        return 0.0
    thr = np.quantile(neg, 1 - fpr, method="higher")
    return float((np.asarray(pos) > thr).mean())


def bootstrap_auc(pos: np.ndarray, neg: np.ndarray, n_boot: int = 200, seed: int = 0,
                  level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the AUC (members and non-members resampled)."""
    rng = np.random.default_rng(seed)
    pos, neg = np.asarray(pos), np.asarray(neg)
    vals = [auc_score(pos[rng.integers(0, len(pos), len(pos))], neg[rng.integers(0, len(neg), len(neg))])
            for _ in range(n_boot)]
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def mia(members: sp.csr_matrix, non_members: sp.csr_matrix, synthetic: sp.csr_matrix, k_density: int = 5,
        seed: int = 0) -> dict[str, dict[str, float]]:
    """Membership inference from the synthetic set alone. Scores (higher = "was in training"):

    * ``distance``: Jaccard similarity to the closest synthetic profile;
    * ``density``: mean similarity to the ``k_density`` closest synthetic profiles (a kNN density of the
      synthetic data around the target).
    For each: ROC AUC (0.5 ideal), its bootstrap 95 % CI and the TPR at 1 % FPR (0.01 ideal)."""
    out = {}
    sm = nearest_jaccard(members, synthetic, k=k_density)
    sn = nearest_jaccard(non_members, synthetic, k=k_density)
    for name, pos, neg in (("distance", sm[:, 0], sn[:, 0]), ("density", sm.mean(1), sn.mean(1))):
        lo, hi = bootstrap_auc(pos, neg, seed=seed)
        out[name] = {"auc": auc_score(pos, neg), "auc_ci_low": lo, "auc_ci_high": hi,
                     "tpr_at_1pct_fpr": tpr_at_fpr(pos, neg, 0.01)}
    return out


def canary_reproduction(synthetic: sp.csr_matrix, canaries: sp.csr_matrix, threshold: float = 0.8) -> dict:
    """For each canary (row of ``canaries``, same item space as ``synthetic``'s target behaviour): the largest
    share of its items that one synthetic profile holds. A canary is *reproduced* when that share reaches
    ``threshold``."""
    S, C = sp.csr_matrix(synthetic, dtype=np.float32), sp.csr_matrix(canaries, dtype=np.float32)
    size = np.maximum(np.diff(C.indptr), 1)
    inter = (C @ S.T).tocsr()
    best = np.zeros(C.shape[0])
    if inter.nnz:
        best = np.asarray(inter.max(1).toarray()).ravel() / size
    return {"n": int(C.shape[0]), "reproduced": int((best >= threshold).sum()), "threshold": threshold,
            "max_overlap": best.round(4).tolist()}


def _clopper_pearson(k: np.ndarray | int, n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Clopper-Pearson interval (each side alpha / 2) of k successes in n trials (arrays of k)."""
    k = np.asarray(k, np.float64)
    with np.errstate(invalid="ignore"):
        lo = np.where(k == 0, 0.0, stats.beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1))
        hi = np.where(k == n, 1.0, stats.beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)))
    return lo, hi


def _eps_from_rates(tpr: np.ndarray, fpr_hi: np.ndarray, tpr_lo_for_neg: np.ndarray, fpr_lo_ok: np.ndarray,
                    delta: float) -> np.ndarray:
    """max(log((TPR - delta) / FPR), log((1 - FPR - delta) / (1 - TPR))) elementwise, 0 where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where((fpr_hi > 0) & (tpr - delta > 0), np.log((tpr - delta) / fpr_hi), 0.0)
        b = np.where((tpr_lo_for_neg < 1) & (1 - fpr_lo_ok - delta > 0),
                     np.log((1 - fpr_lo_ok - delta) / (1 - tpr_lo_for_neg)), 0.0)
    return np.nan_to_num(np.maximum(np.maximum(a, b), 0.0), posinf=0.0)


def epsilon_lower_bound(scores: np.ndarray, planted: np.ndarray, delta: float, alpha: float = 0.05) -> dict:
    """Empirical lower bound on epsilon from a canary audit (Jagielski et al. 2020 style).

    Each canary is a trial: planted (in training) or not, and the audit guesses "planted" when its score is
    at least a threshold. For (eps, delta)-DP, TPR <= e^eps FPR + delta and (1 - FPR) <= e^eps (1 - TPR) +
    delta, so eps >= log((TPR - delta) / FPR) and eps >= log((1 - FPR - delta) / (1 - TPR)). TPR / FPR are
    replaced by their Clopper-Pearson bounds at confidence 1 - alpha (Bonferroni over every threshold tried),
    the best threshold is kept (``epsilon_lb``). ``epsilon_point``: the same bound at the observed rates (no
    confidence; an FPR of 0 counts as one false positive), the top of the interval [epsilon_lb, epsilon_point]
    the audit supports. Vectorised over thresholds."""
    scores, planted = np.asarray(scores, np.float64), np.asarray(planted, bool)
    n_in, n_out = int(planted.sum()), int((~planted).sum())
    if not n_in or not n_out:
        return {"epsilon_lb": 0.0, "epsilon_point": 0.0, "n_in": n_in, "n_out": n_out}
    thresholds = np.unique(scores)
    a = alpha / max(1, len(thresholds))
    pin, pout = np.sort(scores[planted]), np.sort(scores[~planted])
    tp = n_in - np.searchsorted(pin, thresholds, side="left")
    fp = n_out - np.searchsorted(pout, thresholds, side="left")
    tpr_lo, _ = _clopper_pearson(tp, n_in, a)
    _, fpr_hi = _clopper_pearson(fp, n_out, a)
    eps = _eps_from_rates(tpr_lo, fpr_hi, tpr_lo, fpr_hi, delta)
    tpr, fpr = tp / n_in, np.maximum(fp, 1) / n_out
    point = _eps_from_rates(tpr, fpr, np.minimum(tpr, 1 - 1 / n_in), fp / n_out, delta)
    j = int(np.argmax(eps))
    return {"epsilon_lb": float(eps[j]), "epsilon_point": float(point.max()), "n_in": n_in, "n_out": n_out,
            "threshold": float(thresholds[j]) if eps[j] > 0 else None, "confidence": 1 - alpha}
