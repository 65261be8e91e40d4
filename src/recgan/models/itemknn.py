"""ItemKNN: item-item cosine similarity with shrinkage, top-k neighbours per item.

sim(i, j) = <x_i, x_j> / (||x_i|| ||x_j|| + shrink); each item keeps its ``neighbours`` most similar items;
score(u, j) = sum over the user's items i of sim(i, j).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from recgan.data.interactions import Interactions
from recgan.models._itemitem import ItemItemModel, keep_topk_per_column
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
        X = data.X  # interaction weights (1.0 for plain implicit data; augmentation may down-weight)
        G = (X.T @ X).toarray().astype(np.float32)
        norms = np.sqrt(np.diag(G)).astype(np.float32)
        S = G / (np.outer(norms, norms) + self.config.shrink + 1e-9)
        np.fill_diagonal(S, 0.0)
        self.W_ = keep_topk_per_column(S, self.config.neighbours)
