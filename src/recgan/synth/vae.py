"""The non-adversarial deep baseline: a multinomial VAE (Mult-VAE, Liang et al. 2018) used as a generator.

Encoder: the user's profile per behaviour (L2-normalised, input dropout) -> (mu, log var). Decoder: the same
:class:`~recgan.synth.base.ProfileDecoder` the GAN uses (z ++ activity level -> logits per channel), trained
with the multinomial log-likelihood of every channel and a KL term annealed to ``beta``. A small ``beta``
decodes well but leaves the aggregate posterior far from N(0, I), so new users are drawn from a Gaussian
fitted to the posterior means (ex-post density estimation, Ghosh et al. 2020) instead of the prior.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from recgan.core.runtime import dense_batch
from recgan.core.trainable import TorchTrainable
from recgan.core.trainer import train
from recgan.synth.base import ProfileDecoder, SynthConfig, Synthesizer, log_popularity, register
from recgan.synth.sampler import N_LEVELS


class VAEConfig(SynthConfig):
    epochs: int = Field(60, ge=1)
    """Passes over the training users."""
    train_batch: int = Field(128, ge=1)
    """Users per optimisation step."""
    lr: float = Field(1e-3, ge=0)
    """Adam learning rate."""
    z_dim: int = Field(64, ge=1)
    """Latent width."""
    hidden: int = Field(256, ge=1)
    """Width of the encoder's and decoder's hidden layers."""
    emb: int = Field(64, ge=1)
    """Widths: latent, hidden layers, item embeddings (the same as the GAN's, whose warm start this is)."""
    beta: float = Field(0.2, ge=0)
    """Final KL weight (annealed linearly over the first half of training)."""
    dropout: float = Field(0.5, ge=0, lt=1)
    """Input dropout of the encoder (Mult-VAE's denoising)."""
    device: str = Field("cpu", exclude=True)
    """Training device ("cpu", "cuda", "auto"); the fitted decoder is kept on the CPU for sampling."""


class _Encoder(nn.Module):
    def __init__(self, n_in: int, hidden: int, z_dim: int, dropout: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
        self.mu = nn.Linear(hidden, z_dim)
        self.logvar = nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(self.drop(F.normalize(x, dim=-1).flatten(1)))
        return self.mu(h), self.logvar(h).clamp(-10, 10)


@register
class VAESynthesizer(TorchTrainable, Synthesizer):
    """Mult-VAE decoder used as a generator (the non-adversarial deep baseline)."""

    name = "vae"
    config_class = VAEConfig

    def _build(self, n_ch: int, n_items: int) -> None:
        cfg = self.config
        self.decoder = ProfileDecoder(n_items, n_ch, N_LEVELS, cfg.z_dim, cfg.hidden, cfg.emb)
        self.latent_mean_ = torch.zeros(cfg.z_dim)
        self.latent_chol_ = torch.eye(cfg.z_dim)

    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        cfg = self.config
        self._init_runtime()
        self._reseed()
        self._fit_activity(counts)
        n, n_ch, n_items = counts.shape[0], len(mats), mats[0].shape[1]
        self._build(n_ch, n_items)
        with torch.no_grad():
            self.decoder.bias.copy_(torch.from_numpy(log_popularity(mats)))
        dev = self.device
        self._enc = _Encoder(n_ch * n_items, cfg.hidden, cfg.z_dim, cfg.dropout).to(dev)
        self.decoder.to(dev)
        self._opt = torch.optim.Adam([*self._enc.parameters(), *self.decoder.parameters()], lr=cfg.lr)
        self._mats, self._levels, self.steps = mats, torch.from_numpy(self.activity.levels(counts)).to(dev), 0
        self._total_steps = cfg.epochs * int(np.ceil(n / cfg.train_batch))
        t0 = time.perf_counter()
        train(self, None, None, self.training_options)
        # ex-post Gaussian on the posterior means
        enc = self._enc
        enc.eval()
        with torch.no_grad():
            mus = torch.cat([enc(dense_batch(mats, np.arange(lo, min(lo + 512, n))).to(dev))[0].cpu()
                             for lo in range(0, n, 512)])
            mean = mus.mean(0)
            cov = torch.cov(mus.T) + 1e-3 * torch.eye(cfg.z_dim)
            self.latent_mean_ = mean
            self.latent_chol_ = torch.linalg.cholesky(cov)
        self.decoder.cpu().eval()
        self._enc = self._opt = self._mats = self._levels = None
        self.info = {"users": n, "fit_seconds": round(time.perf_counter() - t0, 3), "epochs": cfg.epochs,
                     "final_loss": self.history[-1]["loss"] if self.history else None,
                     "training": self.info.get("training")}

    # ------------------------------------------------------------------ the trainer's hooks
    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self._enc, "decoder": self.decoder}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"adam": self._opt}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"steps": np.asarray(self.steps, dtype=np.int64)}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        self.steps = int(state["steps"])

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training users: multinomial likelihood + annealed KL (Mult-VAE)."""
        cfg, mats, dev, enc = self.config, self._mats, self.device, self._enc
        n = mats[0].shape[0]
        perm = self.rng.permutation(n)
        losses = []
        for lo in range(0, n, cfg.train_batch):
            rows = perm[lo : lo + cfg.train_batch]
            x = dense_batch(mats, rows).to(dev)
            mu, logvar = enc(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            logp = F.log_softmax(self.decoder(z, self._levels[rows]), dim=-1)
            nll = -(logp * x).sum((1, 2)).mean()
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
            beta = cfg.beta * min(1.0, self.steps / max(1, self._total_steps // 2))
            loss = nll + beta * kl
            self._opt.zero_grad()
            loss.backward()
            self._opt.step()
            self.steps += 1
            losses.append(float(loss.detach()))
        return {"loss": float(np.mean(losses))}

    def _logits(self, sizes: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        eps = torch.randn(len(sizes), self.config.z_dim, generator=gen)
        z = self.latent_mean_ + eps @ self.latent_chol_.T
        lev = torch.from_numpy(self.activity.levels(sizes))
        return self.decoder(z, lev)

    def _state(self) -> dict[str, torch.Tensor]:
        out = {f"decoder.{k}": v for k, v in self.decoder.state_dict().items()}
        out["latent_mean"] = self.latent_mean_
        out["latent_chol"] = self.latent_chol_
        return out

    def _set_state(self, state: dict) -> None:
        n_ch, n_items = state["decoder.bias"].shape
        self._build(n_ch, n_items)
        self.decoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
        self.decoder.eval()
        self.latent_mean_ = state["latent_mean"].float()
        self.latent_chol_ = state["latent_chol"].float()
