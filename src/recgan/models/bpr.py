"""BPR-MF (Rendle et al., UAI 2009): matrix factorisation trained on sampled (user, seen, unseen) triples
to rank a seen item above an unseen one, here with Adam on mini-batches of triples drawn on tensors.

score(u, i) = p_u . q_i + b_i. One epoch draws ``epoch_size x nnz`` triples (see :mod:`recgan.models.mf`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from recgan.data.interactions import Interactions
from recgan.models.base import register
from recgan.models.mf import MF, TripleSampler, bpr_loss
from recgan.models.torch_base import TorchConfig, TorchRecommender


class BPRConfig(TorchConfig):
    epochs: int = Field(200, ge=1)
    """Maximum training epochs (early stopping on validation picks the count)."""
    batch_size: int = Field(1024, ge=1)
    """Triples per optimisation step."""
    lr: float = Field(5e-3, ge=0)
    """Adam learning rate."""
    patience: int = Field(10, ge=0)
    """Evaluations without a validation gain before training stops."""
    eval_every: int = Field(2, ge=1)
    """Epochs between validation evaluations."""
    factors: int = Field(64, ge=1)
    """Embedding dimension."""
    reg: float = Field(0.01, ge=0)
    """L2 weight on the batch's embeddings and biases (mean squared norm per triple)."""
    init_std: float = Field(0.1, gt=0)
    """Standard deviation of the normal initialisation of the embeddings."""
    epoch_size: float = Field(1.0, gt=0)
    """Triples per epoch as a multiple of the number of training interactions."""


class MFRecommender(TorchRecommender):
    """Base for the MF models (BPR, APR): one :class:`MF` ``self.mf`` scored as p_u . q_i + b_i."""

    def _build(self, data: Interactions) -> None:
        cfg = self.config
        self.mf = MF(data.n_users, data.n_items, cfg.factors, cfg.init_std, self.gen).to(self.device)
        self.opt = torch.optim.Adam(self.mf.parameters(), lr=cfg.lr)
        self.sampler = TripleSampler(data.binary())

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"mf": self.mf}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def _score(self, users: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            u = torch.as_tensor(users, dtype=torch.long, device=self.device)
            return self.mf.score_all(u).float().cpu().numpy()

    def _batches(self) -> Any:
        """Yield (u, i, j) int64 tensors on the model's device, ``epoch_size x nnz`` triples in all."""
        cfg = self.config
        n = max(1, int(round(cfg.epoch_size * self.sampler.nnz)))
        u, i, j = self.sampler.sample(n, self.gen)
        for lo in range(0, n, cfg.batch_size):
            sl = slice(lo, lo + cfg.batch_size)
            yield u[sl].to(self.device), i[sl].to(self.device), j[sl].to(self.device)

    def _triple_loss(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        m = self.mf
        return bpr_loss(m.user[u], m.item[i], m.item[j], m.bias[i], m.bias[j], self.config.reg)

    def bpr_epoch(self, opt: torch.optim.Optimizer | None = None) -> float:
        """One epoch of plain BPR steps with ``opt`` (default: the model's optimiser); returns the mean loss."""
        opt = opt or self.opt
        total, steps = 0.0, 0
        for u, i, j in self._batches():
            loss = self._triple_loss(u, i, j)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        return total / max(steps, 1)


@register
class BPR(MFRecommender):
    """BPR-MF (Rendle et al., 2009): matrix factorisation ranking a seen item above a sampled unseen one."""

    name = "bpr"
    config_class = BPRConfig
    tune_grid = {"factors": [32, 64, 128], "reg": [0.003, 0.01, 0.03]}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        return {"loss": self.bpr_epoch()}
