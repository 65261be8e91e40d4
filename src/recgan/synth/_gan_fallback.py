"""Minimal stand-ins for :mod:`recgan.models.gan_parts` / :mod:`recgan.models.diagnostics`, used only when
those shared modules are absent (the synthesizer imports them first)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

COLLAPSE_ALARM = 0.1


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"no discriminator loss for {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake).mean() if kind == "nonsaturating" else -fake.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    eps = torch.rand(real.shape[0], 1, generator=gen).to(real.device)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return (g.norm(dim=1) - 1).pow(2).mean()


def distinct_lists(top: np.ndarray) -> float:
    return len(np.unique(np.asarray(top), axis=0)) / len(top) if len(top) else 0.0


def item_coverage(top: np.ndarray, n_items: int) -> float:
    top = np.asarray(top)
    return len(np.unique(top[top >= 0])) / max(n_items, 1)
