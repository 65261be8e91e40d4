"""RP3beta (Paudel et al., 2017): random-walk item-item transitions, popularity-penalised.

W(i, j) = (P_iu P_ui)(i, j)^alpha / pop(j)^beta with row-stochastic transition matrices; top-k per item.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from recgan.data.interactions import Interactions
from recgan.models._itemitem import ItemItemModel, topk_per_column_blocked
from recgan.models.base import Config, register


class RP3betaConfig(Config):
    alpha: float = Field(1.0, ge=0)
    """Exponent on transition probabilities."""
    beta: float = Field(0.6, ge=0)
    """Popularity penalty exponent on the destination item."""
    neighbours: int = Field(200, ge=1)
    """Neighbours kept per item."""


@register
class RP3beta(ItemItemModel):
    """RP3beta (Paudel et al., 2017): random-walk item-item transitions, popularity-penalised."""

    name = "rp3beta"
    config_class = RP3betaConfig
    tune_grid = {"alpha": [0.5, 1.0], "beta": [0.2, 0.4, 0.6], "neighbours": [100, 200]}

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        X = data.X  # interaction weights (1.0 for plain implicit data; augmentation may down-weight)
        du = np.asarray(X.sum(1)).ravel()
        di = np.asarray(X.sum(0)).ravel()
        Pui = sp.diags(1.0 / np.maximum(du, 1)) @ X
        Piu = sp.diags(1.0 / np.maximum(di, 1)) @ X.T.tocsr()
        if self.config.alpha != 1.0:
            Pui = Pui.power(self.config.alpha)
            Piu = Piu.power(self.config.alpha)
        Piu, Pui = sp.csr_matrix(Piu), sp.csc_matrix(Pui)
        pop = np.power(np.maximum(di, 1), self.config.beta)

        def block(c0: int, c1: int) -> np.ndarray:  # transition columns c0..c1, (n, c1 - c0)
            W = (Piu @ Pui[:, c0:c1]).toarray() / pop[None, c0:c1]
            W[np.arange(c0, c1), np.arange(c1 - c0)] = 0.0
            return W.astype(np.float32, copy=False)

        self.W_ = topk_per_column_blocked(block, X.shape[1], self.config.neighbours)
