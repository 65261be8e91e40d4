"""APR (He et al., SIGIR 2018): Adversarial Personalized Ranking.

BPR-MF trained against worst-case perturbations of its embeddings: per mini-batch of triples,

    L = L_BPR(P, Q) + reg_adv * L_BPR(P + D_P, Q + D_Q),   D = eps * g / ||g||,  g = dL_BPR/d(P, Q),

the perturbation being the fast-gradient direction on the batch's user and item embeddings (each row
normalised to length ``eps``), held fixed while the parameters descend on L. As in the paper, training starts
from BPR-MF: ``pretrain_epochs`` plain BPR epochs run at the start of the first epoch (or the weights of a
saved ``bpr`` model folder are loaded with ``pretrained``); the epochs counted by the trainer (and chosen by
early stopping) are adversarial ones.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch.nn import functional as F

from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models.base import Recommender, register
from recgan.models.bpr import BPRConfig, MFRecommender
from recgan.models.mf import bpr_loss


class APRConfig(BPRConfig):
    epochs: int = Field(100, ge=1)
    """Maximum adversarial epochs (after pretraining)."""
    eps: float = Field(0.3, ge=0)
    """Length of the adversarial perturbation of each embedding row (epsilon in the paper)."""
    adv_lr: float = Field(1e-3, ge=0)
    """Adam learning rate of the adversarial phase (``lr`` is the pretraining one)."""
    reg_adv: float = Field(1.0, ge=0)
    """Weight of the BPR loss under perturbation (lambda in the paper)."""
    pretrain_epochs: int = Field(100, ge=0)
    """Plain BPR epochs run first (ignored when ``pretrained`` is given)."""
    pretrained: str | None = None
    """Optional folder of a saved ``bpr`` model on the same data to start from instead of pretraining."""


@register
class APR(MFRecommender):
    """APR (He et al., 2018): BPR-MF trained against worst-case perturbations of its embeddings."""

    name = "apr"
    config_class = APRConfig
    tune_grid = {"eps": [0.1, 0.3, 0.5], "adv_lr": [3e-4, 1e-3]}

    def _build(self, data: Interactions) -> None:
        super()._build(data)
        self.opt = torch.optim.Adam(self.mf.parameters(), lr=self.config.adv_lr)  # the adversarial phase's

    def train_epoch(self, epoch: int) -> dict[str, float]:
        out: dict[str, float] = {}
        if epoch == 1:
            out["loss_pretrain"] = self._pretrain()
        total = adv_total = 0.0
        steps = 0
        for u, i, j in self._batches():
            loss, adv = self.adversarial_losses(u, i, j)
            full = loss + self.config.reg_adv * adv
            self.opt.zero_grad(set_to_none=True)
            full.backward()
            self.opt.step()
            total += loss.item()
            adv_total += adv.item()
            steps += 1
        out.update(loss=total / max(steps, 1), loss_adv=adv_total / max(steps, 1))
        return out

    def _pretrain(self) -> float:
        cfg = self.config
        if cfg.pretrained:
            self._load_pretrained(cfg.pretrained, self._check_fitted())
            return 0.0
        loss = 0.0
        opt = torch.optim.Adam(self.mf.parameters(), lr=cfg.lr)
        for _ in range(cfg.pretrain_epochs):
            loss = self.bpr_epoch(opt)
        return loss

    def _load_pretrained(self, folder: str, data: Interactions) -> None:
        src = Recommender.load(folder, device=str(self.device))
        src_data = src._check_fitted()
        if not isinstance(src, MFRecommender) or src.config.factors != self.config.factors:
            raise RecganError(f"pretrained={folder!r}: expected a bpr/apr model with {self.config.factors} factors")
        if list(src_data.users.ids) != list(data.users.ids) or list(src_data.items.ids) != list(data.items.ids):
            raise RecganError(f"pretrained={folder!r}: its users / items differ from the training data")
        self.mf.copy_from(src.mf)

    def adversarial_perturbation(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fast-gradient perturbations (n, f) of p_u, q_i, q_j, each row of length ``eps`` (no grad)."""
        m = self.mf
        pu, qi, qj = (t.detach().requires_grad_(True) for t in (m.user[u], m.item[i], m.item[j]))
        loss = bpr_loss(pu, qi, qj, m.bias[i].detach(), m.bias[j].detach(), 0.0)
        grads = torch.autograd.grad(loss, [pu, qi, qj])
        return tuple(self.config.eps * F.normalize(g, dim=-1) for g in grads)  # type: ignore[return-value]

    def adversarial_losses(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """(regularised BPR loss, BPR loss under the adversarial perturbation) for a batch of triples."""
        m = self.mf
        du, di, dj = self.adversarial_perturbation(u, i, j)
        pu, qi, qj, bi, bj = m.user[u], m.item[i], m.item[j], m.bias[i], m.bias[j]
        loss = bpr_loss(pu, qi, qj, bi, bj, self.config.reg)
        adv = bpr_loss(pu + du, qi + di, qj + dj, bi, bj, 0.0)
        return loss, adv
