"""ItemKNN: item-item cosine similarity with shrinkage, top-k neighbours per item.

sim(i, j) = <x_i, x_j> / (||x_i|| ||x_j|| + shrink); each item keeps its ``neighbours`` most similar items;
score(u, j) = sum over the user's items i of sim(i, j).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from recgan.data.interactions import Interactions
from recgan.models._itemitem import ItemItemModel, topk_per_column_blocked
from recgan.models.base import Config, register


class ItemKNNConfig(Config):
    neighbours: int = Field(100, ge=1)
    """Neighbours kept per item."""
    shrink: float = Field(10.0, ge=0)
    """Added to the cosine denominator; damps similarities built on few co-occurrences."""


@register
class ItemKNN(ItemItemModel):
    """ItemKNN: item-item cosine similarity with shrinkage, top-k neighbours per item."""

    name = "itemknn"
    config_class = ItemKNNConfig
    tune_grid = {"neighbours": [50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0]}

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        X = sp.csr_matrix(data.X, dtype=np.float32)  # interaction weights (augmentation may down-weight)
        XT = sp.csr_matrix(X.T)
        Xc = sp.csc_matrix(X)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(0)).ravel()).astype(np.float32)
        shrink = self.config.shrink

        def block(c0: int, c1: int) -> np.ndarray:  # cosine similarity columns c0..c1, (n, c1 - c0)
            G = (XT @ Xc[:, c0:c1]).toarray()
            S = G / (np.outer(norms, norms[c0:c1]) + shrink + 1e-9)
            S[np.arange(c0, c1), np.arange(c1 - c0)] = 0.0
            return S.astype(np.float32, copy=False)

        self.W_ = topk_per_column_blocked(block, X.shape[1], self.config.neighbours)
