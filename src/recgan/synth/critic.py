"""The behaviour GAN's discriminator: the dense critic over (channels x items) profiles, its sampled-outputs
variant whose first layer is an item table read only at a step's items, and the lazy Adam that moves only the
rows of that table a step touches. Used by :mod:`recgan.synth.gan`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Critic", "RowAdam", "SampledCritic", "critic_input", "real_input"]


class Critic(nn.Module):
    """Input (n, channels x items + channels): normalised profiles ++ scaled log sizes -> (n / pac,) scores."""

    def __init__(self, n_items: int, n_ch: int, d_emb: int, hidden: int, pac: int) -> None:
        super().__init__()
        self.n_ch, self.pac = n_ch, pac
        self.embed = nn.Linear(n_ch * n_items, d_emb)
        self.net = nn.Sequential(
            nn.Linear(pac * (d_emb + n_ch), hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d_emb + channels): the embedded profile (mean item embedding) and the size features."""
        return torch.cat([F.leaky_relu(self.embed(x[:, : -self.n_ch]), 0.2), x[:, -self.n_ch :]], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.net(h.reshape(-1, self.pac * h.shape[1])).squeeze(-1)


class RowAdam(torch.optim.Optimizer):
    """Lazy Adam for item tables with sparse gradients (what ``torch.optim.SparseAdam`` computes: only the
    rows a step's gradient touches move, bias correction by the global step count), written with dense row
    gathers and ``index_add_``, several times faster than SparseAdam's sparse-tensor arithmetic on CPU."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.coalesce()
                idx, v = g.indices()[0], g.values()
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                m = st["exp_avg"].index_select(0, idx).mul_(b1).add_(v, alpha=1 - b1)
                s2 = st["exp_avg_sq"].index_select(0, idx).mul_(b2).addcmul_(v, v, value=1 - b2)
                st["exp_avg"].index_copy_(0, idx, m)
                st["exp_avg_sq"].index_copy_(0, idx, s2)
                bc1, bc2 = 1 - b1 ** st["step"], 1 - b2 ** st["step"]
                denom = s2.sqrt_().div_(math.sqrt(bc2)).add_(group["eps"])
                p.index_add_(0, idx, m.div_(denom), alpha=-group["lr"] / bc1)


class SampledCritic(nn.Module):
    """:class:`Critic` whose first layer is an item table (channels x items, d_emb) read only at the columns
    of the current step (:meth:`use`): on profiles that are zero outside those items it computes what the
    dense critic computes, at O(batch x columns) cost, with a sparse gradient for the table.
    Input (n, channels x m + channels) over the m items given to :meth:`use`."""

    def __init__(self, n_items: int, n_ch: int, d_emb: int, hidden: int, pac: int) -> None:
        super().__init__()
        self.n_ch, self.n_items, self.pac = n_ch, n_items, pac
        bound = 1.0 / math.sqrt(n_ch * n_items)  # nn.Linear's default initialisation of the dense critic
        self.table = nn.Parameter(torch.empty(n_ch * n_items, d_emb).uniform_(-bound, bound))
        self.embed_bias = nn.Parameter(torch.empty(d_emb).uniform_(-bound, bound))
        self.net = nn.Sequential(
            nn.Linear(pac * (d_emb + n_ch), hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )
        self.cols = torch.zeros(0, dtype=torch.long)

    def use(self, items: torch.Tensor) -> None:
        """Read the table at ``items`` (m,) int64 catalogue indices, in every channel, from now on."""
        ch = torch.arange(self.n_ch, device=items.device)[:, None] * self.n_items
        self.cols = (ch + items[None, :]).reshape(-1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        w = F.embedding(self.cols, self.table, sparse=True)  # (channels x m, d_emb)
        return torch.cat([F.leaky_relu(x[:, : -self.n_ch] @ w + self.embed_bias, 0.2), x[:, -self.n_ch :]], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.net(h.reshape(-1, self.pac * h.shape[1])).squeeze(-1)


def critic_input(profiles: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """(n, C, items) profiles each summing to 1 per channel (or 0) ++ log1p(sizes) / 5 -> (n, C*items + C)."""
    return torch.cat([profiles.flatten(1), torch.log1p(sizes.float()) / 5.0], 1)


def real_input(x: torch.Tensor) -> torch.Tensor:
    k = x.sum(-1)
    return critic_input(x / k.clamp(min=1)[..., None], k)
