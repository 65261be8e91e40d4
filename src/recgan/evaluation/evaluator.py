"""Full-ranking evaluation (PROTOCOL.md), batched and chunked so memory stays bounded.

Every item the model knows (seen in train) is a candidate; the user's train items are excluded; ties are
broken by item index. Metrics are averaged over users with at least one test item; a test user the model
cannot rank (absent from train) scores 0. Test items unknown to the model still count in |test_u|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from recgan import metrics as M
from recgan.data.interactions import ITEM, USER, Interactions
from recgan.metrics import hits_from_lists
from recgan.models.base import Recommender

KS = (5, 10, 20)


@dataclass
class Report:
    """Mean metrics and per-user values. ``per_user[name]`` is aligned with ``users`` (original ids)."""

    metrics: dict[str, float]
    per_user: dict[str, np.ndarray] = field(repr=False)
    users: np.ndarray = field(repr=False)

    def __getitem__(self, key: str) -> float:
        return self.metrics[key]

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in self.metrics.items()}


def metrics_from_lists(
    top: np.ndarray,
    test: sp.csr_matrix,
    ks: Sequence[int] = KS,
    *,
    n_catalogue: int | None = None,
    item_pop: np.ndarray | None = None,
    n_train_users: int | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    """Score top-K lists ``top`` (n, K) against ``test`` (n, n_items). Rows without test items are ignored.

    Returns (means, per-user values over evaluated rows, indices of evaluated rows).
    """
    n_rel_all = np.diff(sp.csr_matrix(test).indptr)
    rows = np.flatnonzero(n_rel_all > 0)
    top_e = top[rows]
    hits = hits_from_lists(top_e, sp.csr_matrix(test)[rows])
    n_rel = n_rel_all[rows]
    per: dict[str, np.ndarray] = {}
    for k in ks:
        if k > hits.shape[1]:
            pad = np.zeros((hits.shape[0], k - hits.shape[1]), bool)
            h = np.hstack([hits, pad])
        else:
            h = hits
        per[f"precision@{k}"] = M.precision_at(h, k)
        per[f"recall@{k}"] = M.recall_at(h, n_rel, k)
        per[f"ndcg@{k}"] = M.ndcg_at(h, n_rel, k)
        per[f"map@{k}"] = M.map_at(h, n_rel, k)
        per[f"mrr@{k}"] = M.mrr_at(h, k)
        per[f"hitrate@{k}"] = M.hitrate_at(h, k)
    means = {k: float(v.mean()) if len(v) else 0.0 for k, v in per.items()}
    if n_catalogue:
        t10 = top_e[:, :10]
        means["coverage@10"] = M.coverage(t10, n_catalogue)
        means["gini@10"] = M.gini(t10, n_catalogue)
        if item_pop is not None:
            means["novelty@10"] = M.novelty(t10, item_pop, n_train_users or len(top))
    means["n_users"] = float(len(rows))
    return means, per, rows


def evaluate(
    model: Recommender,
    test: Interactions,
    ks: Sequence[int] = KS,
    *,
    exclude: sp.csr_matrix | None = None,
    batch_size: int = 2048,
) -> Report:
    """Evaluate a fitted model on ``test`` (target behaviour, any id space: aligned to the model's ids).

    ``exclude``: matrix of items to exclude per model user (defaults to the model's training matrix).
    """
    data = model._check_fitted()
    T = aligned_test(data, test)
    n_model_users = data.n_users
    kmax = max(ks)
    test_rows = np.flatnonzero(np.diff(T.indptr) > 0)
    known = test_rows[test_rows < n_model_users]
    top = np.full((T.shape[0], min(kmax, data.n_items)), -1, np.int64)
    if len(known):
        top[known], _ = model.recommend(known, kmax, exclude=exclude, batch_size=batch_size)
    users_ext = _aligned_users(data, test)
    pop = np.asarray(data.binary().sum(0)).ravel()
    means, per, rows = metrics_from_lists(
        top, T, ks, n_catalogue=T.shape[1], item_pop=pop, n_train_users=n_model_users
    )
    return Report(means, per, users_ext[rows])


def aligned_test(train: Interactions, test: Interactions) -> sp.csr_matrix:
    """``test``'s target matrix in ``train``'s id space; extra users / items appended after train's."""
    if test.users is train.users and test.items is train.items:
        return test.X
    df = test.to_frame([test.target])
    T = Interactions.from_frame(
        df[[USER, ITEM]], target=train.target, users=train.users, items=train.items, unknown="extend",
        source="test",
    )
    # test-only items extend the column space: keep them, they count in |test_u| but are never hit
    return T.X


def _aligned_users(train: Interactions, test: Interactions) -> np.ndarray:
    if test.users is train.users:
        return train.users.ids
    return train.users.extend(test.users.ids).ids


def evaluate_lists(recs: pd.DataFrame, test: Interactions, ks: Sequence[int] = KS,
                   n_catalogue: int | None = None) -> Report:
    """Score a recommendation table (user, item, rank[, score], original ids) against ``test``."""
    df = test.to_frame([test.target])
    users = test.users
    items = test.items.extend(recs[ITEM].to_numpy()) if len(recs) else test.items
    T = Interactions.from_frame(df[[USER, ITEM]], target=test.target, users=users, items=items).X
    r = recs.sort_values([USER, "rank"], kind="stable")
    uidx = users.lookup(r[USER].to_numpy())
    iidx = items.lookup(r[ITEM].to_numpy())
    keep = uidx >= 0
    uidx, iidx = uidx[keep], iidx[keep]
    kmax = max(ks)
    pos = np.arange(len(uidx)) - np.searchsorted(uidx, uidx) if np.all(np.diff(uidx) >= 0) else None
    if pos is None:
        order = np.argsort(uidx, kind="stable")
        uidx, iidx = uidx[order], iidx[order]
        pos = np.arange(len(uidx)) - np.searchsorted(uidx, uidx)
    top = np.full((T.shape[0], kmax), -1, np.int64)
    sel = pos < kmax
    top[uidx[sel], pos[sel]] = iidx[sel]
    means, per, rows = metrics_from_lists(top, T, ks, n_catalogue=n_catalogue or T.shape[1])
    return Report(means, per, users.ids[rows])


def paired_test(a: Report, b: Report, metric: str = "ndcg@20") -> dict[str, float]:
    """Paired Wilcoxon signed-rank test over the users both reports evaluated.

    Returns mean_a, mean_b, the mean difference, the p-value (two-sided) and the number of users.
    """
    sa = pd.Series(a.per_user[metric], index=pd.Index(a.users))
    sb = pd.Series(b.per_user[metric], index=pd.Index(b.users))
    common = sa.index.intersection(sb.index)
    x, y = sa.loc[common].to_numpy(), sb.loc[common].to_numpy()
    d = x - y
    p = 1.0 if np.allclose(d, 0) else float(stats.wilcoxon(x, y, zero_method="wilcox").pvalue)
    return {"mean_a": float(x.mean()), "mean_b": float(y.mean()), "diff": float(d.mean()), "p_value": p,
            "n_users": int(len(common))}
