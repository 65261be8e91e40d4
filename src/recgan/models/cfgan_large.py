"""Large-catalogue CFGAN (user mode): the CFGAN objective without anything of size rows x items.

Same game as :mod:`recgan.models.cfgan` (user-based, ZR / PM / ZP, non-saturating / hinge / reconstruction),
but every layer that touches the catalogue works on the sparse entries a batch needs:

* G's first layer is ``embedding_bag(mode="sum")`` over the row's condition items (= ``Linear(C*n, h)``
  applied to a 0/1 vector, without densifying it); noise z (optional) enters through a small linear map;
* G's output is computed only at the entries the loss reads: each row's observed target items, its PM
  sample (joins D's mask) and its ZR sample, as ``<h_row, W_out[item]> + b_out[item]`` with gathered output
  weights. Samples are a configurable number of unobserved items *per positive* (``neg_per_pos``,
  ``zr_per_pos``, at least ``min_neg`` per row) instead of a share of all unobserved items;
* D reads ``[c, x]`` sparsely too: one embedding bag over the condition items plus one over the entries of
  x with ``per_sample_weights`` = the (masked) generated values, which stay differentiable for G's step.

Negative samples are drawn per batch on tensors (uniform item draws, duplicates and observed items
dropped via a sorted-key ``searchsorted``), from a generator seeded once per epoch from ``self.gen`` and the
rank, so resume is bit-exact and torchrun ranks keep identical permutations. Scoring is ``h @ W_out^T`` for
one batch of users at a time (``recommend`` batches users), so the only (users x items) tensor is one
batch of scores. The layer shapes and initialisation are the dense CFGAN's (Glorot, biases U(+-0.01)):
``W_in`` here is the transpose of the dense first layer's weight.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from recgan.core.config import Widths
from recgan.core.diagnostics import alarms
from recgan.core.gan_parts import d_loss, d_output_summary, g_loss, grad_norm, mlp
from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models.base import register
from recgan.models.torch_base import TorchConfig, TorchRecommender

SCHEMES = ("ZR", "PM", "ZP", "none")
LOSSES = ("nonsaturating", "hinge", "reconstruction")
_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


class CFGANLargeConfig(TorchConfig):
    scheme: Literal["ZR", "PM", "ZP", "none"] = "ZP"
    """Negative sampling: "ZR" (zero reconstruction), "PM" (partial masking), "ZP" (both) or "none"."""
    neg_per_pos: float = Field(8.0, ge=0)
    """PM: unobserved items drawn per observed target item of a row, per step (they join D's mask)."""
    zr_per_pos: float = Field(8.0, ge=0)
    """ZR: unobserved items drawn per observed target item of a row, per step (penalised by zr_weight)."""
    min_neg: int = Field(32, ge=0)
    """At least this many PM / ZR draws per row (rows with few or no positives still see negatives)."""
    zr_weight: float = Field(0.1, ge=0)
    """alpha: weight of the ZR penalty sum_j G(c)_j^2 over the ZR sample (per row, mean over the batch)."""
    g_hidden: Widths = (400,)
    """Generator hidden widths (the first is the embedding-bag width)."""
    d_hidden: Widths = (125,)
    """Discriminator hidden widths (the first is the embedding-bag width)."""
    activation: Literal["sigmoid", "tanh", "relu"] = "sigmoid"
    """Hidden activation of both networks ("sigmoid", "tanh", "relu"); outputs are linear."""
    loss: Literal["nonsaturating", "hinge", "reconstruction"] = "nonsaturating"
    """"nonsaturating", "hinge", or "reconstruction" (no D: G fits the masked real vector by squared error).
    WGAN-GP is not offered: its penalty needs dense interpolates of [c, x]."""
    lr: float = Field(1e-4, ge=0)
    """Generator Adam learning rate."""
    lr_d: float = Field(1e-4, ge=0)
    """Discriminator Adam learning rate."""
    batch_size: int = Field(32, ge=1)
    """Rows (users) per generator step (global batch under torchrun)."""
    batch_size_d: int = Field(64, ge=1)
    """Rows per discriminator step."""
    steps_g: int = Field(1, ge=1)
    """Generator passes over all rows per epoch."""
    steps_d: int = Field(1, ge=0)
    """Discriminator passes over all rows per epoch."""
    reg_g: float = Field(1e-3, ge=0)
    """L2 on G's parameters (Adam weight_decay, as CFGAN)."""
    reg_d: float = Field(0.0, ge=0)
    """L2 on D's parameters."""
    noise_dim: int = Field(0, ge=0)
    """Width of a N(0, 1) noise input z (0 = none); scoring and fold-in use z = 0."""
    condition_behaviours: str = "target"
    """Condition channels: "target", "all", or a comma list of extra behaviours; the target is the first."""
    score_batch: int = Field(1024, ge=1)
    """Users scored per matmul at recommend time (memory O(score_batch x n_items))."""
    epochs: int = Field(400, ge=1)
    """Maximum training epochs (with a validation carve: early stopping picks the count)."""
    patience: int = Field(6, ge=0)
    """Early stopping: evaluations without a validation gain before training stops (0 = never stop)."""
    eval_every: int = Field(5, ge=1)
    """Epochs between validation evaluations."""


def _glorot(rows: int, cols: int, fan: int) -> nn.Parameter:
    bound = math.sqrt(6.0 / fan)
    return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound))


def _bias(n: int) -> nn.Parameter:
    return nn.Parameter(torch.empty(n).uniform_(-0.01, 0.01))


class SparseGenerator(nn.Module):
    """Condition bag (n_in sparse inputs) -> hidden (b, h_last); output only at gathered (row, item) entries."""

    def __init__(self, n_in: int, n_out: int, hidden: tuple[int, ...], activation: str, noise_dim: int) -> None:
        super().__init__()
        h0, hl = hidden[0], hidden[-1]
        self.act = _ACT[activation]
        self.w_in = _glorot(n_in + noise_dim, h0, n_in + noise_dim + h0)  # rows: inputs (C*n items, then z)
        self.b_in = _bias(h0)
        self.n_in = n_in
        self.tail = mlp(h0, hidden[1:-1], hl, activation) if len(hidden) > 1 else None
        self.w_out = _glorot(n_out, hl, hl + n_out)  # (n_items, h_last): row j = item j's output weights
        self.b_out = _bias(n_out)

    def hidden(self, idx: torch.Tensor, ptr: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden layer (b, h_last) for condition items ``idx`` grouped by CSR ``ptr`` (b + 1,)."""
        a = F.embedding_bag(idx, self.w_in, ptr, mode="sum", include_last_offset=True) + self.b_in
        if z is not None:
            a = a + z @ self.w_in[self.n_in :]
        h = self.act(a)
        return self.act(self.tail(h)) if self.tail is not None else h

    def at(self, h: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """G(c)[rows, cols] (m,) for local row indices and item indices (m,)."""
        return (h[rows] * self.w_out[cols]).sum(1) + self.b_out[cols]

    def full(self, h: torch.Tensor) -> torch.Tensor:
        """Scores over the whole catalogue (b, n_items): one batch only."""
        return torch.addmm(self.b_out, h, self.w_out.t())


class SparseDiscriminator(nn.Module):
    """D([c, x]) with c (n_cond sparse 0/1 inputs) and x (n_x weighted sparse entries) -> logits (b,)."""

    def __init__(self, n_cond: int, n_x: int, hidden: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.n_cond = n_cond
        self.act = _ACT[activation]
        self.w_in = _glorot(n_cond + n_x, hidden[0], n_cond + n_x + hidden[0])
        self.b_in = _bias(hidden[0])
        self.tail = mlp(hidden[0], hidden[1:], 1, activation)

    def forward(self, c_idx: torch.Tensor, c_ptr: torch.Tensor, x_idx: torch.Tensor, x_ptr: torch.Tensor,
                x_val: torch.Tensor | None) -> torch.Tensor:
        a = F.embedding_bag(c_idx, self.w_in, c_ptr, mode="sum", include_last_offset=True)
        a = a + F.embedding_bag(x_idx + self.n_cond, self.w_in, x_ptr, mode="sum", include_last_offset=True,
                                per_sample_weights=x_val)
        return self.tail(self.act(a + self.b_in)).squeeze(1)


@register
class CFGANLarge(TorchRecommender):
    """User-based CFGAN for large catalogues: sparse inputs, sampled outputs, chunked scoring."""

    name = "cfgan-large"
    config_class = CFGANLargeConfig
    supports_fold_in = True
    tune_grid: ClassVar[dict[str, list[Any]]] = {"zr_weight": [0.03, 0.1, 0.3], "neg_per_pos": [4.0, 8.0]}

    def __init__(self, config=None, **params: Any) -> None:
        super().__init__(config, **params)

    # ------------------------------------------------------------------ build
    def _channels(self, data: Interactions) -> list[str]:
        spec = self.config.condition_behaviours.strip()
        if spec == "target":
            return [data.target]
        names = data.behaviours if spec == "all" else [data.target] + [s.strip() for s in spec.split(",")]
        unknown = [b for b in names if b not in data.matrices]
        if unknown:
            raise RecganError(f"condition_behaviours: {unknown} not in the data (behaviours: {data.behaviours})")
        return list(dict.fromkeys([data.target, *names]))

    def _build(self, data: Interactions) -> None:
        c = self.config
        mats = [sp.csr_matrix(data.binary(b), dtype=np.float32) for b in self._channels(data)]
        for m in mats:
            m.sort_indices()
        self._n_ch = len(mats)
        self._target = mats[0]  # (users, items) 0/1, sorted indices
        self._cond = mats[0] if len(mats) == 1 else sp.hstack(mats, format="csr")  # (users, C * items)
        n_items = data.n_items
        self.G = SparseGenerator(self._cond.shape[1], n_items, c.g_hidden, c.activation, c.noise_dim).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr, weight_decay=c.reg_g, fused=True)
        self.D = self.opt_d = None
        if c.loss != "reconstruction":
            self.D = SparseDiscriminator(self._cond.shape[1], n_items, c.d_hidden, c.activation).to(self.device)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr_d, weight_decay=c.reg_d, fused=True)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G} if self.D is None else {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g} if self.opt_d is None else {"g": self.opt_g, "d": self.opt_d}

    # ------------------------------------------------------------------ batches
    def _csr(self, m: sp.csr_matrix) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices (nnz,), indptr (b + 1,)) int64 tensors on the device."""
        return (torch.from_numpy(m.indices.astype(np.int64)).to(self.device),
                torch.from_numpy(m.indptr.astype(np.int64)).to(self.device))

    def _sample(self, t_ptr: torch.Tensor, t_idx: torch.Tensor, per_pos: float,
                gen: torch.Generator) -> torch.Tensor:
        """Sorted unique keys ``row * n_items + item`` (CPU int64) of unobserved entries: about
        ``max(min_neg, per_pos * positives)`` uniform draws per row, duplicates and observed items dropped."""
        n_items = self._target.shape[1]
        pos = (t_ptr[1:] - t_ptr[:-1]).cpu()
        b = len(pos)
        count = torch.clamp((pos.double() * per_pos).round().long(), min=self.config.min_neg)
        rows = torch.repeat_interleave(torch.arange(b), count)
        keys = torch.unique(rows * n_items + torch.randint(n_items, (len(rows),), generator=gen))
        obs = torch.repeat_interleave(torch.arange(b), pos) * n_items + t_idx.cpu()  # sorted: CSR is sorted
        if len(obs) and len(keys):
            at = torch.searchsorted(obs, keys).clamp(max=len(obs) - 1)
            keys = keys[obs[at] != keys]
        return keys

    def _entries(self, t_ptr: torch.Tensor, t_idx: torch.Tensor, pm: torch.Tensor | None):
        """D's mask entries (observed + PM), grouped by row: (rows, cols, ptr, is_observed), on the device."""
        n_items, b = self._target.shape[1], len(t_ptr) - 1
        obs = torch.repeat_interleave(torch.arange(b), (t_ptr[1:] - t_ptr[:-1]).cpu()) * n_items + t_idx.cpu()
        if pm is None or not len(pm):
            keys, is_obs = obs, torch.ones(len(obs), dtype=torch.bool)
        else:
            keys = torch.cat([obs, pm])
            order = torch.argsort(keys)
            keys, is_obs = keys[order], (order < len(obs))
        rows, cols = keys // n_items, keys % n_items
        ptr = torch.zeros(b + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(rows, minlength=b), 0)
        dev = self.device
        return rows.to(dev), cols.to(dev), ptr.to(dev), is_obs.to(dev)

    def _z(self, b: int, gen: torch.Generator) -> torch.Tensor | None:
        if not self.config.noise_dim:
            return None
        return torch.randn((b, self.config.noise_dim), generator=gen).to(self.device)

    # ------------------------------------------------------------------ training
    def train_epoch(self, epoch: int) -> dict[str, float]:
        c = self.config
        seed = int(torch.randint(0, 2**62, (1,), generator=self.gen))  # same on every rank
        gen = torch.Generator().manual_seed((seed + 1_000_003 * self.rank) % 2**63)  # this rank's samples
        n = self._cond.shape[0]
        st: dict[str, list[torch.Tensor]] = defaultdict(list)
        if self.D is not None:
            for _ in range(c.steps_d):
                for rows in self.batches(n, c.batch_size_d):
                    self._d_step(rows.numpy(), gen, st)
        for _ in range(c.steps_g):
            for rows in self.batches(n, c.batch_size):
                self._g_step(rows.numpy(), gen, st)
        return {k: float(torch.stack(v).float().mean()) for k, v in st.items()}

    def _d_step(self, rows: np.ndarray, gen: torch.Generator, st: dict) -> None:
        c = self.config
        c_idx, c_ptr = self._csr(self._cond[rows])
        t_idx, t_ptr = self._csr(self._target[rows])
        pm = self._sample(t_ptr, t_idx, c.neg_per_pos, gen) if c.scheme in ("PM", "ZP") else None
        e_rows, e_cols, e_ptr, _ = self._entries(t_ptr, t_idx, pm)
        with torch.no_grad():
            fake = self.G.at(self.G.hidden(c_idx, c_ptr, self._z(len(rows), gen)), e_rows, e_cols)
        d_real = self.D(c_idx, c_ptr, t_idx, t_ptr, None)
        d_fake = self.D(c_idx, c_ptr, e_cols, e_ptr, fake.float())
        loss = d_loss(c.loss, d_real[:, None], d_fake[:, None])
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        st["grad_norm_d"].append(grad_norm(self.D.parameters()))
        self.opt_d.step()
        st["loss_d"].append(loss.detach())
        st["d_real"].append(d_output_summary(c.loss, d_real.detach()))
        st["d_fake"].append(d_output_summary(c.loss, d_fake.detach()))

    def _g_step(self, rows: np.ndarray, gen: torch.Generator, st: dict) -> None:
        c = self.config
        b = len(rows)
        c_idx, c_ptr = self._csr(self._cond[rows])
        t_idx, t_ptr = self._csr(self._target[rows])
        pm = self._sample(t_ptr, t_idx, c.neg_per_pos, gen) if c.scheme in ("PM", "ZP") else None
        e_rows, e_cols, e_ptr, is_obs = self._entries(t_ptr, t_idx, pm)
        h = self.G.hidden(c_idx, c_ptr, self._z(b, gen))
        out = self.G.at(h, e_rows, e_cols).float()
        if self.D is None:
            adv = (out - is_obs.float()).pow(2).sum() / b
            st["loss_rec"].append(adv.detach())
        else:
            self.D.requires_grad_(False)  # gradients through D, not D's own
            adv = g_loss(c.loss, self.D(c_idx, c_ptr, e_cols, e_ptr, out)[:, None])
            self.D.requires_grad_(True)
            st["loss_g"].append(adv.detach())
        loss = adv
        if c.scheme in ("ZR", "ZP"):
            zr = self._sample(t_ptr, t_idx, c.zr_per_pos, gen)
            n_items = self._target.shape[1]
            zr_rows, zr_cols = (zr // n_items).to(self.device), (zr % n_items).to(self.device)
            zr_loss = self.G.at(h, zr_rows, zr_cols).float().pow(2).sum() / b
            st["loss_zr"].append(zr_loss.detach())
            loss = loss + c.zr_weight * zr_loss
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        st["grad_norm_g"].append(grad_norm(self.G.parameters()))
        self.opt_g.step()

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def _generate(self, cond: sp.csr_matrix) -> np.ndarray:
        """G(c) with z = 0 (n, n_items) float32 for CSR conditions (n, C * n_items), ``score_batch`` rows at
        a time (the caller asks for one batch of users: ``recommend`` batches them)."""
        n, bs = cond.shape[0], self.config.score_batch
        out = np.empty((n, self._target.shape[1]), np.float32)
        z_dim = self.config.noise_dim
        for lo in range(0, n, bs):
            idx, ptr = self._csr(cond[lo : lo + bs])
            z = torch.zeros((len(ptr) - 1, z_dim), device=self.device) if z_dim else None
            out[lo : lo + bs] = self.G.full(self.G.hidden(idx, ptr, z)).float().cpu().numpy()
        return out

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self._generate(self._cond[users])

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        n, n_items = history.shape
        cond = sp.csr_matrix((np.ones(history.nnz, np.float32), history.indices, history.indptr),
                             shape=(n, self._cond.shape[1]))  # other channels empty: offsets start at n_items
        return self._generate(cond)

    # ------------------------------------------------------------------ diagnostics
    @torch.no_grad()
    def epoch_diagnostics(self, sample: int = 1000, k: int = 20) -> dict[str, float]:
        """Copying / collapse alarms on up to ``sample`` users (fixed seed apart from training)."""
        rng = np.random.default_rng(self.config.seed + 7919)
        users = np.sort(rng.choice(self.n_users, min(self.n_users, sample), replace=False))
        top, _ = self.recommend(users, 10)
        return alarms(self._score(users), self._target[users], top, self.n_items, k)
