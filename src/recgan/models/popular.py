"""MostPopular: every user gets the items with the most training interactions."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recgan.data.interactions import Interactions
from recgan.models.base import Config, Recommender, register


@register
class MostPopular(Recommender):
    """Item popularity (count of users with a target interaction). Folds in trivially."""

    name = "pop"
    config_class = Config
    supports_fold_in = True

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        self.pop_ = np.asarray(data.binary().sum(axis=0), dtype=np.float32).ravel()

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.pop_, (len(users), len(self.pop_)))

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.pop_, (history.shape[0], len(self.pop_)))

    def _state(self) -> dict:
        return {"pop": self.pop_}

    def _set_state(self, state: dict) -> None:
        self.pop_ = np.asarray(state["pop"], dtype=np.float32)
