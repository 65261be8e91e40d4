"""EASE-GAN: EASE's closed-form item-item weights refined by a denoising residual generator that is trained
with a ranking (multinomial) loss plus an adversarial loss from a discriminator that judges whole lists.

Generator, for a condition c (a user's history, (b, n_items) binary):

    G(c) = a * (c @ B) + R(c / ||c||)        (logits over items, (b, n_items))

* ``B`` (n_items, n_items): EASE's closed form on the training matrix (ridge ``l2``, zero diagonal), frozen;
* ``a``: a learned scale (EASE scores are ~0..1; the softmax needs a temperature), initialised to ``base_scale``;
* ``R``: an MLP residual ``n_items -> hidden -> n_items`` (tanh) whose output layer starts at zero, so that
  before training G ranks exactly as EASE.

Training (one epoch = one pass over users in batches): every row's history is split at random into a kept
part (the condition, each item dropped with probability ``dropout``) and a held-out part t (the target). G sees
only the kept part, so it cannot win by copying its condition; kept items are masked out of its softmax (they
are excluded at ranking time too). Losses:

* reconstruction (ranking): multinomial log-likelihood of the held-out items under softmax(G(c)) over the
  items not in the condition, averaged per held-out item;
* adversarial (weight ``adv_weight``): a discriminator D with its own item embeddings E (n_items, d) sees a
  whole *list* as a distribution over items, summarised as its mean embedding, next to the condition's mean
  embedding: real = uniform over the held-out items, fake = softmax(G(c)) (differentiable). D is an MLP on
  [c_summary, list_summary]; objectives from :mod:`recgan.core.gan_parts` (non-saturating, WGAN-GP, hinge).
  ``list_mode="sampled"``: the fake list is ``list_k`` items drawn from softmax(G(c)) (Gumbel top-k) and G
  learns from D by REINFORCE (docs/models/ease-gan.md: no better than the soft lists).

``adv_weight = 0`` is the ablation: no discriminator is built or trained; everything else is identical.
Scores = G(full history), so fold-in is exact (the condition is the history). Cost per batch: a sparse-dense
product (nnz x n_items) for the EASE part and two dense layers of width ``hidden``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from recgan.core.diagnostics import alarms
from recgan.core.gan_parts import d_loss, d_output_summary, g_loss, grad_norm, gradient_penalty, mlp
from recgan.core.memory import check_fits
from recgan.data.interactions import Interactions
from recgan.models.base import register
from recgan.models.ease import ease_weights, exact_memory
from recgan.models.torch_base import TorchConfig, TorchRecommender, csr_to_dense

ADV_LOSSES = ("nonsaturating", "wgan-gp", "hinge")
LIST_MODES = ("soft", "sampled")


class EASEGANConfig(TorchConfig):
    l2: float = Field(500.0, gt=1e-6)
    """Ridge strength of the EASE base B (take EASE's tuned value)."""
    hidden: int = Field(200, ge=1)
    """Width of the residual MLP's hidden layer."""
    dropout: float = Field(0.5, ge=0, lt=1)
    """Probability that a history item is held out of the condition during training (it becomes a target)."""
    noise: float = Field(0.0, ge=0)
    """Std of Gaussian noise added to the residual's normalised input during training (0 = none)."""
    base_scale: float = Field(30.0, gt=0)
    """Initial value of the learned scale a on the EASE scores (a softmax temperature)."""
    adv_weight: float = Field(0.3, ge=0)
    """Weight of the adversarial loss in G's objective; 0 = the non-adversarial ablation (no discriminator)."""
    loss: Literal["nonsaturating", "wgan-gp", "hinge"] = "nonsaturating"
    """Adversarial objective: "nonsaturating", "wgan-gp" or "hinge"."""
    list_mode: Literal["soft", "sampled"] = "soft"
    """What D sees as the fake list: "soft" (softmax(G(c)) as a distribution, differentiable) or "sampled"
    (``list_k`` items drawn without replacement from softmax(G(c)) by Gumbel top-k, uniform over them, i.e. a
    discrete list like the ones shown; G then learns from D by REINFORCE with a batch-mean baseline, reward =
    -(G's per-row adversarial loss), score = sum of the sampled items' log-probabilities)."""
    list_k: int = Field(10, ge=1)
    """Length of a sampled fake list (``list_mode="sampled"``)."""
    gp_weight: float = Field(10.0, ge=0)
    """Gradient-penalty weight for "wgan-gp"."""
    d_dim: int = Field(64, ge=1)
    """Width of D's item embeddings."""
    d_hidden: int = Field(64, ge=1)
    """Width of D's hidden layer."""
    lr: float = Field(1e-3, ge=0)
    """Generator Adam learning rate."""
    lr_d: float = Field(1e-3, ge=0)
    """Discriminator Adam learning rate."""
    reg: float = Field(0.01, ge=0)
    """Adam weight decay on the residual's weights (and on the base correction dB)."""
    tune_base: bool = False
    """Also learn a correction dB (n_items x n_items, zero diagonal, starts at 0) to the EASE base, so that G
    refines the item-item weights themselves (memory O(n_items^2): for catalogues up to a few thousand items)."""
    batch_size: int = Field(64, ge=1)
    """Rows (users) per optimisation step."""
    epochs: int = Field(30, ge=1)
    """Maximum adversarial epochs (with a validation carve: early stopping picks the count)."""
    patience: int = Field(4, ge=0)
    """Early stopping: evaluations without a validation gain before training stops (0 = never stop)."""


class _Residual(nn.Module):
    """R(c): ``n -> hidden -> n`` with tanh; the output layer starts at zero (G = EASE before training)."""

    def __init__(self, n: int, hidden: int, base_scale: float, tune_base: bool) -> None:
        super().__init__()
        self.net = mlp(n, (hidden,), n, "tanh")
        with torch.no_grad():
            self.net[-1].weight.zero_()
            self.net[-1].bias.zero_()
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(base_scale))))
        self.dB = nn.Parameter(torch.zeros(n, n)) if tune_base else None

    def forward(self, base: torch.Tensor, c: torch.Tensor, c_norm: torch.Tensor) -> torch.Tensor:
        """base = c @ B (b, n); c the binary condition (b, n), c_norm its L2-normalised (maybe noisy) copy."""
        if self.dB is not None:  # zero diagonal kept: an item never scores itself
            base = base + c @ self.dB - c * torch.diagonal(self.dB)[None, :]
        return self.log_scale.exp() * base + self.net(c_norm)


class _ListCritic(nn.Module):
    """D([mean embedding of the condition, mean embedding of a list distribution]) -> logit (b, 1)."""

    def __init__(self, n: int, dim: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.E = nn.Parameter(torch.randn(n, dim, generator=gen) * 0.1)
        self.net = mlp(2 * dim, (hidden,), 1, "relu")

    def summaries(self, cond_dist: torch.Tensor, list_dist: torch.Tensor) -> torch.Tensor:
        return torch.cat([cond_dist @ self.E, list_dist @ self.E], 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def memory_needed(n_items: int, tune_base: bool) -> int:
    """Bytes the n x n parts of an EASE-GAN fit need: the exact EASE base B (:func:`exact_memory`, float32
    above a few thousand items) plus, with ``tune_base``, the correction dB with its gradient and two Adam
    moments (4 more n x n float32 arrays)."""
    return exact_memory(n_items) + (16 * n_items * n_items if tune_base else 0)


def check_memory(n_items: int, tune_base: bool, available: int | None = None) -> None:
    """Raise :class:`RecganError` (one line: items, memory needed, the option) before anything n x n is
    allocated when :func:`memory_needed` exceeds ``MEMORY_FRACTION`` of the available memory."""
    hint = ("set --param tune_base=false (the correction dB is n x n with its gradient and Adam state)" if tune_base
            else "use --model ease --param solver=approx, or a machine with more memory (the base is a dense n x n EASE)")
    check_fits(memory_needed(n_items, tune_base), f"ease-gan with {n_items} items", hint, available)


def _row_normalise(m: torch.Tensor, p: float) -> torch.Tensor:
    """Rows divided by their L1 (p=1) or L2 (p=2) norm; empty rows stay 0."""
    return m / m.norm(p=p, dim=1, keepdim=True).clamp_min(1e-12)


@register
class EASEGAN(TorchRecommender):
    """EASE base + denoising residual generator, refined with a list discriminator (adv_weight = 0: ablation)."""

    name = "ease-gan"
    start_is_a_model = True  # the untrained G ranks exactly as EASE
    config_class = EASEGANConfig
    supports_fold_in = True
    tune_grid = {"adv_weight": [0.03, 0.1, 0.3]}

    def __init__(self, config=None, **params: Any) -> None:
        super().__init__(config, **params)
        self._restoring = False
        self.B_: np.ndarray | None = None

    # ------------------------------------------------------------------ build
    def _build(self, data: Interactions) -> None:
        c = self.config
        self._X = data.binary()
        n = data.n_items
        if not self._restoring:
            check_memory(n, c.tune_base)
            self.B_ = ease_weights(data.X, c.l2)
        self.R = _Residual(n, c.hidden, c.base_scale, c.tune_base).to(self.device)
        decay = [self.R.net[0].weight, self.R.net[2].weight] + ([self.R.dB] if c.tune_base else [])
        no_decay = [self.R.net[0].bias, self.R.net[2].bias, self.R.log_scale]
        self.opt_g = torch.optim.Adam([{"params": decay, "weight_decay": c.reg},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=c.lr)
        self.D = self.opt_d = None
        if c.adv_weight > 0:
            self.D = _ListCritic(n, c.d_dim, c.d_hidden, self.gen).to(self.device)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr_d)

    def modules(self) -> dict[str, nn.Module]:
        return {"R": self.R} if self.D is None else {"R": self.R, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g} if self.opt_d is None else {"g": self.opt_g, "d": self.opt_d}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"B": self.B_}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        self.B_ = np.ascontiguousarray(state["B"], dtype=np.float32)

    def _set_state(self, state: dict[str, Any]) -> None:
        self._restoring = True  # B comes from the saved state: skip the closed form in _build
        try:
            super()._set_state(state)
        finally:
            self._restoring = False

    # ------------------------------------------------------------------ generator
    def _logits(self, cond: sp.csr_matrix, train: bool) -> torch.Tensor:
        """G(c) (b, n_items) for a CSR condition batch; noise on the residual input only when training."""
        base = torch.from_numpy(np.asarray(cond @ self.B_, dtype=np.float32)).to(self.device)
        dense = csr_to_dense(cond, self.device)
        x = _row_normalise(dense, 2)
        if train and self.config.noise > 0:
            x = x + self.config.noise * torch.randn(x.shape, generator=self.gen).to(self.device)
        return self.R(base, dense, x)

    def _split_batch(self, rows: np.ndarray) -> tuple[sp.csr_matrix, torch.Tensor]:
        """Drop each history item with probability ``dropout``: (kept condition CSR, held-out targets dense)."""
        H = self._X[rows]
        drop = self.rng.random(H.nnz) < self.config.dropout
        kept = H.copy()
        kept.data = np.where(drop, 0.0, kept.data).astype(np.float32)
        kept.eliminate_zeros()
        held = H.copy()
        held.data = drop.astype(np.float32)
        held.eliminate_zeros()
        return kept, csr_to_dense(held, self.device)

    # ------------------------------------------------------------------ training
    def train_epoch(self, epoch: int) -> dict[str, float]:
        c = self.config
        st: dict[str, list[torch.Tensor]] = defaultdict(list)
        active = np.flatnonzero(np.diff(self._X.indptr) > 1)  # a row needs >= 2 items to hold one out
        for b in self.batches(len(active), c.batch_size):
            rows = active[b.numpy()]
            kept, target = self._split_batch(rows)
            has_t = target.sum(1) > 0
            if not bool(has_t.any()):
                continue
            kept_d = csr_to_dense(kept, self.device)
            logits = self._logits(kept, True).masked_fill(kept_d > 0, float("-inf"))
            logp = torch.log_softmax(logits, 1)
            tw = _row_normalise(target, 1)
            rec = -(tw * logp.masked_fill(kept_d > 0, 0.0)).sum(1)[has_t].mean()
            st["loss_rec"].append(rec.detach())
            loss = rec
            if self.D is not None:
                cd, tw = _row_normalise(kept_d, 1)[has_t], tw[has_t]
                adv = (self._sampled_adv if c.list_mode == "sampled" else self._soft_adv)(logits[has_t], cd, tw, st)
                loss = loss + c.adv_weight * adv
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            st["grad_norm_g"].append(grad_norm(self.R.parameters()))
            self.opt_g.step()
        st["base_scale"].append(self.R.log_scale.detach().exp())
        return {k: float(torch.stack(v).mean()) for k, v in st.items()}

    def _soft_adv(self, logits: torch.Tensor, cd: torch.Tensor, tw: torch.Tensor, st: dict) -> torch.Tensor:
        """D step, then G's adversarial loss with softmax(G(c)) as the (differentiable) fake list."""
        p = torch.softmax(logits, 1)
        self._d_step(cd, tw, p.detach(), st)
        self.D.requires_grad_(False)  # G's step needs gradients through D, not D's own
        adv = g_loss(self.config.loss, self.D(self.D.summaries(cd, p)))
        self.D.requires_grad_(True)
        st["loss_g"].append(adv.detach())
        return adv

    def _sampled_adv(self, logits: torch.Tensor, cd: torch.Tensor, tw: torch.Tensor, st: dict) -> torch.Tensor:
        """D step on discrete fake lists (``list_k`` items drawn without replacement from softmax(logits) by
        Gumbel top-k; condition items have logit -inf so are never drawn), then G's REINFORCE surrogate:
        mean over rows of (row loss - batch mean) * log-probability of the row's drawn items."""
        c = self.config
        u = torch.rand(logits.shape, generator=self.gen).to(logits.device).clamp_min(1e-20)
        k = min(c.list_k, logits.shape[1])
        idx = (logits.detach() - torch.log(-torch.log(u))).topk(k, 1).indices  # (b, k)
        ok = torch.isfinite(logits.gather(1, idx)).float()  # a row with < k drawable items: only those count
        fake = torch.zeros_like(logits).scatter_(1, idx, ok / ok.sum(1, keepdim=True).clamp_min(1.0))
        self._d_step(cd, tw, fake, st)
        with torch.no_grad():
            out = self.D(self.D.summaries(cd, fake)).squeeze(1)
            row_loss = F.softplus(-out) if c.loss == "nonsaturating" else -out  # g_loss per row
        st["loss_g"].append(row_loss.mean())
        logp = (torch.log_softmax(logits, 1).gather(1, idx).nan_to_num(neginf=0.0) * ok).sum(1)
        return ((row_loss - row_loss.mean()) * logp).mean()

    def _d_step(self, cond: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, st: dict) -> None:
        """One discriminator step. cond, real, fake: (b, n_items) distributions over items (rows sum to 1):
        the condition, the held-out items (uniform) and G's softmax (detached). D's embeddings E are trained."""
        c = self.config
        real, fake = self.D.summaries(cond, real), self.D.summaries(cond, fake)
        out_r, out_f = self.D(real), self.D(fake)
        loss = d_loss(c.loss, out_r, out_f)
        if c.loss == "wgan-gp":
            loss = loss + c.gp_weight * gradient_penalty(self.D.net, real, fake, self.gen)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        st["grad_norm_d"].append(grad_norm(self.D.parameters()))
        self.opt_d.step()
        st["loss_d"].append(loss.detach())
        st["d_real"].append(d_output_summary(c.loss, out_r.detach()))
        st["d_fake"].append(d_output_summary(c.loss, out_f.detach()))

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def _generate(self, H: sp.csr_matrix, batch: int = 1024) -> np.ndarray:
        H = sp.csr_matrix(H, dtype=np.float32)
        out = np.empty(H.shape, np.float32)
        for lo in range(0, H.shape[0], batch):
            out[lo : lo + batch] = self._logits(H[lo : lo + batch], False).cpu().numpy()
        return out

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self._generate(self._X[users])

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._generate((history > 0).astype(np.float32))

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        rows = np.asarray(self.B_[items])
        if self.R.dB is not None:
            rows = rows + self.R.dB.detach()[torch.as_tensor(items)].cpu().numpy()
        return rows

    # ------------------------------------------------------------------ diagnostics
    @torch.no_grad()
    def epoch_diagnostics(self, sample: int = 1000, k: int = 20) -> dict[str, float]:
        """Copying / collapse alarms on up to ``sample`` users (fixed seed, apart from the training generators)."""
        rng = np.random.default_rng(self.config.seed + 7919)
        users = np.sort(rng.choice(self.n_users, min(self.n_users, sample), replace=False))
        top, _ = self.recommend(users, 10)
        return alarms(self._score(users), self._X[users], top, self.n_items, k)
