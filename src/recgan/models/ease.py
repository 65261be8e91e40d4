"""EASE (Steck, WWW 2019): closed-form shallow autoencoder.

B = argmin ||X - XB||^2 + lambda ||B||^2, diag(B) = 0  =>  P = (X^T X + lambda I)^-1, B = -P / diag(P),
diag(B) = 0. Fit is one n_items x n_items inversion (O(n_items^3)); scores = X @ B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recgan.data.interactions import Interactions
from recgan.models._itemitem import ItemItemModel
from recgan.models.base import Config, register


def ease_weights(X: sp.spmatrix, l2: float | np.ndarray) -> np.ndarray:
    """EASE closed form (Steck 2019): B = -P / diag(P), diag(B) = 0, P = (X^T X + diag(l2))^-1; (n, n)
    float32, C order (``inv`` returns Fortran order). ``X``: (users, n) weights; ``l2``: one ridge for every
    item, or an (n,) array of per-item ridges (e.g. EDLAE's l2 + p/(1-p) (X^T X)_ii)."""
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += l2
    P = scipy.linalg.inv(G, overwrite_a=True, check_finite=False)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0.0
    return np.ascontiguousarray(B, dtype=np.float32)


@dataclass
class EASEConfig(Config):
    l2: float = 500.0
    """Ridge strength lambda on the item-item weights (ANCHORS: 500 for ml-100k, 1000 for ml-1m)."""


@register
class EASE(ItemItemModel):
    name = "ease"
    config_class = EASEConfig
    tune_grid = {"l2": [50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0]}

    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        # interaction weights (1.0 for plain implicit data; augmentation may down-weight)
        self.W_ = ease_weights(data.X, self.config.l2)
