"""Shared matrix-factorisation pieces for BPR-MF, APR and IRGAN.

* :class:`MF`: user and item embeddings plus an item bias; score(u, i) = p_u . q_i + b_i.
* :class:`TripleSampler`: batched BPR triples (user, observed item, unobserved item) drawn on tensors with
  the model's own ``torch.Generator``: (user, positive) pairs uniformly from the CSR non-zeros, negatives
  uniformly from the catalogue with observed items rejected in a few vectorised resampling rounds.
* :func:`bpr_loss`: the BPR objective on given (possibly perturbed) embeddings.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F


class MF(nn.Module):
    """Embeddings ``user`` (n_users, factors), ``item`` (n_items, factors) and ``bias`` (n_items,).

    Initialised N(0, init_std^2) for embeddings (drawn with ``gen`` so a seed fixes them), zero bias.
    """

    def __init__(self, n_users: int, n_items: int, factors: int, init_std: float, gen: torch.Generator,
                 bias: bool = True) -> None:
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, factors, generator=gen) * init_std)
        self.item = nn.Parameter(torch.randn(n_items, factors, generator=gen) * init_std)
        self.bias = nn.Parameter(torch.zeros(n_items), requires_grad=bias)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores (len(users), n_items) for a batch of user indices."""
        return self.user[users] @ self.item.T + self.bias

    def pair(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores (n,) of aligned user / item index vectors."""
        return (self.user[users] * self.item[items]).sum(-1) + self.bias[items]

    def copy_from(self, other: MF) -> None:
        """Take another MF's weights (same shapes)."""
        with torch.no_grad():
            self.user.copy_(other.user)
            self.item.copy_(other.item)
            self.bias.copy_(other.bias)


def bpr_loss(pu: torch.Tensor, qi: torch.Tensor, qj: torch.Tensor, bi: torch.Tensor, bj: torch.Tensor,
             reg: float) -> torch.Tensor:
    """Mean BPR loss -log sigmoid(x_ui - x_uj) over the batch plus ``reg`` x mean squared norm of the
    batch's parameters. Shapes: ``pu, qi, qj`` (n, f); ``bi, bj`` (n,)."""
    x = (pu * (qi - qj)).sum(-1) + bi - bj
    loss = F.softplus(-x).mean()
    if reg:
        loss = loss + reg * (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + qj.pow(2).sum(-1)
                             + bi.pow(2) + bj.pow(2)).mean()
    return loss


class TripleSampler:
    """Uniform BPR triples from a binary user x item CSR matrix, vectorised on CPU tensors.

    Memory: O(nnz) int64 (the sorted keys ``u * n_items + i`` used to reject observed negatives).
    """

    def __init__(self, X: sp.csr_matrix, rounds: int = 8) -> None:
        X = sp.csr_matrix(X)
        self.n_items = X.shape[1]
        self.rows = torch.from_numpy(np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)).astype(np.int64))
        self.cols = torch.from_numpy(X.indices.astype(np.int64))
        self.keys = torch.sort(self.rows * self.n_items + self.cols).values
        self.rounds = rounds

    @property
    def nnz(self) -> int:
        return len(self.rows)

    def observed(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Bool (n,): whether each (user, item) pair is a training interaction."""
        k = users * self.n_items + items
        pos = torch.searchsorted(self.keys, k).clamp_max(len(self.keys) - 1)
        return self.keys[pos] == k

    def negatives(self, users: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One uniform unobserved item per user (n,); collisions are redrawn for ``rounds`` rounds
        (a user who has rated nearly everything may keep an observed item, which is harmless)."""
        j = torch.randint(self.n_items, users.shape, generator=gen)
        for _ in range(self.rounds):
            bad = torch.nonzero(self.observed(users, j)).squeeze(1)
            if len(bad) == 0:
                break
            j[bad] = torch.randint(self.n_items, bad.shape, generator=gen)
        return j

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` triples (users, positives, negatives), each int64 (n,) on CPU."""
        idx = torch.randint(self.nnz, (n,), generator=gen)
        u, i = self.rows[idx], self.cols[idx]
        return u, i, self.negatives(u, gen)
