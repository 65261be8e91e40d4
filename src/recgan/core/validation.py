"""Validation scoring used for early stopping and model selection (never the test set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recgan.data.interactions import Interactions
from recgan.metrics import hits_from_lists, ndcg_at, recall_at

if TYPE_CHECKING:
    from recgan.models.base import Recommender


def validation_scores(
    model: Recommender, valid: Interactions | sp.csr_matrix, k: int = 20, max_users: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """NDCG@k and Recall@k of ``model`` on ``valid`` (same id space as the model's training data),
    training items excluded. ``max_users`` subsamples users (fixed seed) to bound the cost."""
    V = valid.X if isinstance(valid, Interactions) else sp.csr_matrix(valid)
    users = np.flatnonzero(np.diff(V.indptr) > 0)
    if max_users and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    if len(users) == 0:
        return {f"ndcg@{k}": 0.0, f"recall@{k}": 0.0}
    top, _ = model.recommend(users, k)
    Vu = V[users]
    hits = hits_from_lists(top, Vu)
    n_rel = np.diff(Vu.indptr)
    return {f"ndcg@{k}": float(ndcg_at(hits, n_rel, k).mean()), f"recall@{k}": float(recall_at(hits, n_rel, k).mean())}
