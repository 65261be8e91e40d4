"""Recent popularity: item popularity with every interaction's weight halved per ``half_life_days`` of age.

The worked example of docs/contributing.md ("Adding a model"): one file, one config, one class. Copy it to
``src/recgan/models/recent_pop.py`` and it is registered on import like every built-in model: ``recgan train
--model recent-pop``, ``recgan models recent-pop`` and docs/parameters.md pick it up. tests/test_docs_examples.py
runs the recommender contract (:class:`recgan.testing.RecommenderContract`) on it.

Score of item i: ``sum over users u with (u, i) of 0.5 ** (age(u, i) / half_life_days)``, where the age is
measured from the newest interaction in the training data; without timestamps every age is 0 (plain
popularity). The same vector for every user, so fold-in is trivial.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from recgan.core.config import Config
from recgan.data.interactions import Interactions
from recgan.models.base import Recommender, register

DAY = 86_400.0
"""Seconds per day (timestamps are float seconds)."""


class RecentPopConfig(Config):
    """Settings of :class:`RecentPopular` (``--param KEY=VALUE``)."""

    half_life_days: float = Field(30.0, gt=0)
    """Age, in days before the newest interaction, at which an interaction counts half."""


@register
class RecentPopular(Recommender):
    """Recent popularity: interactions counted with a weight halved every ``half_life_days``."""

    name = "recent-pop"
    config_class = RecentPopConfig
    supports_fold_in = True
    tune_grid = {"half_life_days": [7.0, 30.0, 180.0]}

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        W = sp.csr_matrix(data.binary(), dtype=np.float64, copy=True)  # (n_users, n_items), 1.0 per interaction
        W.sort_indices()
        ts = data.timestamps.get(data.target) if data.timestamps else None
        if ts is not None:
            T = sp.csr_matrix(ts, dtype=np.float64, copy=True)  # same sparsity, float64 seconds
            T.sort_indices()
            if np.array_equal(T.indptr, W.indptr) and np.array_equal(T.indices, W.indices) and T.nnz:
                age_days = (T.data.max() - T.data) / DAY
                W.data = 0.5 ** (age_days / self.config.half_life_days)
        self.pop_ = np.asarray(W.sum(axis=0), dtype=np.float32).ravel()  # (n_items,)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.pop_, (len(users), len(self.pop_)))  # (len(users), n_items)

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.pop_, (history.shape[0], len(self.pop_)))

    def _state(self) -> dict[str, Any]:
        return {"pop": self.pop_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.pop_ = np.asarray(state["pop"], dtype=np.float32)
