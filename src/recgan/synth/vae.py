"""The non-adversarial deep baseline: a multinomial VAE (Mult-VAE, Liang et al. 2018) used as a generator.

Encoder: the user's profile per behaviour (L2-normalised, input dropout) -> (mu, log var). Decoder: the same
:class:`~recgan.synth.base.ProfileDecoder` the GAN uses (z ++ activity level -> logits per channel), trained
with the multinomial log-likelihood of every channel and a KL term annealed to ``beta``. A small ``beta``
decodes well but leaves the aggregate posterior far from N(0, I), so new users are drawn from a Gaussian
fitted to the posterior means (ex-post density estimation, Ghosh et al. 2020) instead of the prior.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from recgan.models.torch_base import resolve_device, seed_everything
from recgan.synth.base import ProfileDecoder, SynthConfig, Synthesizer, dense_batch, log_popularity, register
from recgan.synth.sampler import N_LEVELS


@dataclass
class VAEConfig(SynthConfig):
    epochs: int = 60
    """Passes over the training users."""
    train_batch: int = 128
    """Users per optimisation step."""
    lr: float = 1e-3
    z_dim: int = 64
    hidden: int = 256
    emb: int = 64
    """Widths: latent, hidden layers, item embeddings (the same as the GAN's, whose warm start this is)."""
    beta: float = 0.2
    """Final KL weight (annealed linearly over the first half of training)."""
    dropout: float = 0.5
    """Input dropout of the encoder (Mult-VAE's denoising)."""
    device: str = "cpu"
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
class VAESynthesizer(Synthesizer):
    name = "vae"
    config_class = VAEConfig

    def _build(self, n_ch: int, n_items: int) -> None:
        cfg = self.config
        self.decoder = ProfileDecoder(n_items, n_ch, N_LEVELS, cfg.z_dim, cfg.hidden, cfg.emb)
        self.latent_mean_ = torch.zeros(cfg.z_dim)
        self.latent_chol_ = torch.eye(cfg.z_dim)

    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        cfg = self.config
        seed_everything(cfg.seed)
        self._fit_activity(counts)
        n, n_ch, n_items = counts.shape[0], len(mats), mats[0].shape[1]
        self._build(n_ch, n_items)
        with torch.no_grad():
            self.decoder.bias.copy_(torch.from_numpy(log_popularity(mats)))
        dev = resolve_device(cfg.device)
        enc = _Encoder(n_ch * n_items, cfg.hidden, cfg.z_dim, cfg.dropout).to(dev)
        self.decoder.to(dev)
        opt = torch.optim.Adam([*enc.parameters(), *self.decoder.parameters()], lr=cfg.lr)
        levels = torch.from_numpy(self.activity.levels(counts)).to(dev)
        rng = np.random.default_rng(cfg.seed)
        t0, steps, total_steps = time.perf_counter(), 0, cfg.epochs * int(np.ceil(n / cfg.train_batch))
        history = []
        for epoch in range(cfg.epochs):
            enc.train()
            perm = rng.permutation(n)
            losses = []
            for lo in range(0, n, cfg.train_batch):
                rows = perm[lo : lo + cfg.train_batch]
                x = dense_batch(mats, rows).to(dev)
                mu, logvar = enc(x)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                logp = F.log_softmax(self.decoder(z, levels[rows]), dim=-1)
                nll = -(logp * x).sum((1, 2)).mean()
                kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
                beta = cfg.beta * min(1.0, steps / max(1, total_steps // 2))
                loss = nll + beta * kl
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps += 1
                losses.append(float(loss.detach()))
            history.append({"epoch": epoch + 1, "loss": float(np.mean(losses))})
        # ex-post Gaussian on the posterior means
        enc.eval()
        with torch.no_grad():
            mus = torch.cat([enc(dense_batch(mats, np.arange(lo, min(lo + 512, n))).to(dev))[0].cpu()
                             for lo in range(0, n, 512)])
            mean = mus.mean(0)
            cov = torch.cov(mus.T) + 1e-3 * torch.eye(cfg.z_dim)
            self.latent_mean_ = mean
            self.latent_chol_ = torch.linalg.cholesky(cov)
        self.decoder.cpu().eval()
        self.info = {"users": n, "fit_seconds": round(time.perf_counter() - t0, 3), "epochs": cfg.epochs,
                     "final_loss": history[-1]["loss"] if history else None}

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
