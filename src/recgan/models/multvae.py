"""Mult-VAE (Liang et al., WWW 2018): a variational autoencoder with a multinomial likelihood over items.

A user's history x (n_items,) is L2-normalised, dropped out (``dropout``, training only) and encoded to a
Gaussian q(z | x) = N(mu, diag sigma^2) (``hidden`` -> ``latent``, tanh); the decoder maps z back to logits over
the catalogue. Loss per user: -sum_i x_i log softmax(f(z))_i + beta KL(q || N(0, I)), with beta annealed
linearly from 0 to ``beta_cap`` over ``anneal_steps`` optimisation steps. Scoring (and fold-in of a new user)
decodes the posterior mean of the user's history: exact fold-in, no per-user parameters.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from recgan.data.interactions import Interactions
from recgan.models.base import register
from recgan.models.torch_base import TorchConfig, TorchRecommender, csr_to_dense


class MultVAEConfig(TorchConfig):
    epochs: int = Field(200, ge=1)
    """Maximum training epochs."""
    batch_size: int = Field(128, ge=1)
    """Users per optimisation step."""
    lr: float = Field(1e-3, ge=0)
    """Adam learning rate."""
    patience: int = Field(20, ge=0)
    """Evaluations without a validation gain before training stops."""
    hidden: int = Field(600, ge=1)
    """Width of the encoder / decoder hidden layer."""
    latent: int = Field(200, ge=1)
    """Dimension of z."""
    dropout: float = Field(0.5, ge=0, lt=1)
    """Dropout rate on the normalised input history (training only)."""
    beta_cap: float = Field(0.2, ge=0)
    """Largest KL weight reached by the annealing."""
    anneal_steps: int = Field(2000, ge=1)
    """Optimisation steps over which beta grows linearly from 0 to ``beta_cap``."""
    weight_decay: float = Field(0.0, ge=0)
    """Adam weight decay."""


class _VAE(nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.enc = nn.Sequential(nn.Linear(n_items, hidden), nn.Tanh(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, n_items))
        self.latent = latent

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (B, latent), of the dropped-out, L2-normalised histories x (B, n_items)."""
        h = self.enc(self.drop(F.normalize(x, dim=1)))
        return h[:, : self.latent], h[:, self.latent :]


@register
class MultVAE(TorchRecommender):
    """Mult-VAE (Liang et al., 2018): a variational autoencoder with a multinomial likelihood over items."""

    name = "multvae"
    config_class = MultVAEConfig
    supports_fold_in = True
    tune_grid = {"beta_cap": [0.1, 0.2, 0.5], "dropout": [0.3, 0.5]}

    def _build(self, data: Interactions) -> None:
        cfg = self.config
        self.vae = _VAE(data.n_items, cfg.hidden, cfg.latent, cfg.dropout).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.X = data.binary()
        self.active = np.flatnonzero(np.diff(self.X.indptr) > 0)
        self.steps = 0

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.vae}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"steps": np.array(self.steps, dtype=np.int64)}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        self.steps = int(state.get("steps", 0))

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg = self.config
        order = self.active[torch.randperm(len(self.active), generator=self.gen).numpy()]
        total = kl_total = 0.0
        n = 0
        for lo in range(0, len(order), cfg.batch_size):
            x = csr_to_dense(self.X[order[lo : lo + cfg.batch_size]], self.device)
            mu, logvar = self.vae.encode(x)
            eps = torch.randn(mu.shape, generator=self.gen).to(self.device)
            z = mu + eps * torch.exp(0.5 * logvar)
            nll = -(F.log_softmax(self.vae.dec(z), dim=1) * x).sum(1).mean()
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
            beta = min(cfg.beta_cap, cfg.beta_cap * self.steps / max(cfg.anneal_steps, 1))
            loss = nll + beta * kl
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.steps += 1
            total += nll.item()
            kl_total += kl.item()
            n += 1
        return {"loss": total / max(n, 1), "kl": kl_total / max(n, 1), "beta": float(beta) if n else 0.0}

    def _decode_histories(self, H: sp.csr_matrix) -> np.ndarray:
        with torch.no_grad():
            mu, _ = self.vae.encode(csr_to_dense(H, self.device))
            return self.vae.dec(mu).cpu().numpy()

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self._decode_histories(self.X[users])

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        H = history.copy()
        H.data = np.ones_like(H.data)
        return self._decode_histories(H)
