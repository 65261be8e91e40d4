"""Probe (not a product path): can a Mult-VAE trained with user-level DP-SGD be a useful private warm start
for the behaviour GAN? (docs/privacy.md, "DP is the gap").

Fits a VAE on the development split of ml-1m's training users (the same split as benchmarks/dev/synth_dev.py;
the benchmark's holdout is not touched) with DP-SGD: per-user gradients (torch.func), clipped to --clip,
Gaussian noise sized by Opacus' RDP accountant for --eps at delta 1e-5, Poisson sampling. The encoder reads
a profile through the decoder's item embeddings (tied), so the model has ~0.4 M parameters. Sampling draws
z from N(0, I). NOT a private release as written: the decoder's output bias starts at the real log item
popularity and the activity model is not noised, which can only flatter the result. Prints the EASE
utility ratio on the development users at three temperatures.

    python benchmarks/dev/synth_dp_vae_probe.py --eps 10 --epochs 20
"""

from __future__ import annotations

import argparse
import time

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` and `harness` modules)
import numpy as np
import torch
import torch.nn.functional as F
from opacus.accountants.utils import get_noise_multiplier
from synth import load, user_split
from torch import nn
from torch.func import functional_call, grad, vmap

from recgan.core.runtime import dense_batch
from recgan.reports.utility import tstr
from recgan.synth import VAESynthesizer
from recgan.synth.base import log_popularity
from recgan.synth.sampler import N_LEVELS, Funnel


class _TiedVAE(nn.Module):
    """Encoder reading x through the decoder's item embeddings; loss of ONE user (for torch.func.vmap)."""

    def __init__(self, dec: nn.Module, n_ch: int, emb: int, hidden: int, z: int, beta: float) -> None:
        super().__init__()
        self.dec, self.n_ch, self.emb, self.beta = dec, n_ch, emb, beta
        self.net = nn.Sequential(nn.Linear(n_ch * emb, hidden), nn.Tanh())
        self.mu, self.lv = nn.Linear(hidden, z), nn.Linear(hidden, z)

    def forward(self, x: torch.Tensor, level: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x (channels, items) 0/1, level (n_levels,) one-hot, eps (z,) -> scalar loss."""
        h = self.net((F.normalize(x, dim=-1) @ self.dec.item_emb).flatten())
        mu, lv = self.mu(h), self.lv(h).clamp(-10, 10)
        z = mu + eps * torch.exp(0.5 * lv)
        out = self.dec.body(torch.cat([z, level])).view(self.n_ch, self.emb)
        logits = out @ self.dec.item_emb.T + self.dec.bias
        nll = -(F.log_softmax(logits, -1) * x).sum()
        kl = -0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum()
        return nll + self.beta * kl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eps", type=float, default=10.0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256, help="expected users per step (Poisson)")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta", type=float, default=0.5)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--z", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train, _holdout = user_split(load("ml-1m"), 0)
    fit_part, dev = user_split(train, 100)
    syn = VAESynthesizer(seed=0, z_dim=a.z, hidden=a.hidden, emb=a.emb)
    mats = [fit_part.binary(b).tocsr().astype(np.float32) for b in fit_part.behaviours]
    counts = np.stack([np.asarray(m.getnnz(axis=1)) for m in mats], 1)
    syn.items, syn.behaviours, syn.target = fit_part.items, list(fit_part.behaviours), fit_part.target
    syn.funnel = Funnel.resolve(syn.config.funnel, syn.behaviours, mats, private=True)
    syn._fit_activity(counts)
    n, n_ch, n_items = counts.shape[0], len(mats), mats[0].shape[1]
    syn._build(n_ch, n_items)
    with torch.no_grad():
        syn.decoder.bias.copy_(torch.from_numpy(log_popularity(mats)))
    model = _TiedVAE(syn.decoder, n_ch, a.emb, a.hidden, a.z, a.beta)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in model.named_parameters()}
    q = a.batch / n
    steps = int(a.epochs / q)
    sigma = get_noise_multiplier(target_epsilon=a.eps, target_delta=1e-5, sample_rate=q, steps=steps,
                                 accountant="rdp")
    print(f"users {n}, q {q:.4f}, steps {steps}, noise multiplier {sigma:.3f}", flush=True)
    per_user = vmap(grad(lambda p, x, lev, e: functional_call(model, p, (x, lev, e))), in_dims=(None, 0, 0, 0))
    opt = torch.optim.Adam(list(params.values()), lr=a.lr)
    levels = F.one_hot(torch.from_numpy(syn.activity.levels(counts)).long(), N_LEVELS).float()
    rng = np.random.default_rng(0)
    t0 = time.time()
    for step in range(steps):
        rows = np.nonzero(rng.random(n) < q)[0]
        total = {k: torch.zeros_like(v) for k, v in params.items()}
        if len(rows):
            x, eps = dense_batch(mats, rows), torch.randn(len(rows), a.z)
            for lo in range(0, len(rows), 64):
                g = per_user({k: v.detach() for k, v in params.items()}, x[lo : lo + 64], levels[rows[lo : lo + 64]],
                             eps[lo : lo + 64])
                norms = torch.sqrt(sum(t.flatten(1).pow(2).sum(1) for t in g.values()))
                scale = (a.clip / (norms + 1e-6)).clamp(max=1.0)
                for k in total:
                    total[k] += (g[k] * scale.view(-1, *[1] * (g[k].dim() - 1))).sum(0)
        for k, v in params.items():
            v.grad = (total[k] + sigma * a.clip * torch.randn_like(v)) / (q * n)
        opt.step()
        opt.zero_grad()
        if step % 100 == 0:
            print(f"step {step}: {time.time() - t0:.0f} s", flush=True)
    with torch.no_grad():
        for k, v in model.named_parameters():
            v.copy_(params[k])
    syn.decoder.eval()
    syn.latent_mean_, syn.latent_chol_ = torch.zeros(a.z), torch.eye(a.z)
    print(f"trained in {time.time() - t0:.0f} s", flush=True)
    for temp in (1.0, 0.8, 0.6):
        syn.config.temperature = temp
        u = tstr(fit_part, dev, {"syn": syn.sample_interactions(fit_part.n_users, seed=0)}, {"ease": {"l2": 500.0}})
        print(f"epsilon {a.eps}, temperature {temp}: EASE utility {u['ease']['syn_ratio']:.3f}", flush=True)


if __name__ == "__main__":
    main()
