"""CFGAN (Chae et al., CIKM 2018): a conditional GAN whose generator outputs a whole purchase vector.

The generator G maps a row's condition c (its own purchase vector, optionally other behaviours' vectors and
noise z) to a real-valued vector over the columns; the discriminator D sees [c, x] for the real vector x and
[c, G(c) * e] for the generated one, where the mask e keeps the observed entries (the generator is only asked
to be realistic where the row has purchases) plus, with partial masking (PM), a sample of unobserved ones.
Zero reconstruction (ZR) adds alpha * sum over a sample of unobserved entries of G(c)^2. ZP = both.
Scores are G(c): in user mode a row is a user (scores = row); in item mode a row is an item (rows of X^T)
and a user's scores are a column of the generated item x user matrix.

One recgan *epoch* is one round of the authors' outer loop: draw the round's negative samples, ``steps_d``
discriminator passes over all rows, then ``steps_g`` generator passes. The authors' code counts each
generator pass as an epoch (``totalEpochs = epochs / step_G``), so their 1000 "epochs" with step_G = 4 are
250 recgan epochs. See docs/models/cfgan.md for every paper-vs-code choice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field

from recgan.core.config import FitOptions, Preset, Widths
from recgan.core.diagnostics import alarms
from recgan.core.gan_parts import (
    d_loss,
    d_output_summary,
    g_loss,
    grad_norm,
    gradient_penalty,
    mlp,
    sample_unobserved,
    sample_unobserved_by_rank,
)
from recgan.core.memory import check_fits
from recgan.data.interactions import Interactions
from recgan.errors import FoldInNotSupported, RecganError
from recgan.models.base import register
from recgan.models.ease import ease_weights, exact_memory
from recgan.models.torch_base import TorchConfig, TorchRecommender, csr_to_dense

SCHEMES = ("ZR", "PM", "ZP", "none")
NEGATIVE_DRAWS = ("independent", "shared-ranks")
OUTPUT_PRIORS = ("none", "popularity")
INITS = ("none", "ease")
_ZR_SALT = 0x5A5A5A5A  # ZR and PM samples are drawn independently, as in the authors' code
_DENSE_ROWS_BYTES = 1 << 30  # training rows are kept dense on the device when they fit in this (1 GiB)


class CFGANConfig(TorchConfig):
    mode: Literal["user", "item"] = "user"
    """"user": rows are users (folds in exactly); "item": rows are items, i.e. rows of X^T (the paper's best)."""
    scheme: Literal["ZR", "PM", "ZP", "none"] = "ZP"
    """Negative sampling: "ZR" (zero reconstruction), "PM" (partial masking), "ZP" (both) or "none"."""
    zr_ratio: float = Field(0.7, ge=0, le=1)
    """S_zr: share of each row's unobserved entries drawn per epoch for ZR."""
    pm_ratio: float = Field(0.7, ge=0, le=1)
    """S_pm: share of each row's unobserved entries drawn per epoch for PM (they join D's mask)."""
    zr_pm_shared: bool = False
    """ZR reuses PM's draw (nested samples, the same entries when S_zr = S_pm). The authors' code does this in
    effect: it reseeds numpy with int(time.time()) right before each of the two draws, so both draws of a row
    almost always get the same seed. Off by default (independent samples, as the paper describes); the paper-*
    presets turn it on."""
    negative_draws: Literal["independent", "shared-ranks"] = "independent"
    """How rows draw their ZR / PM samples within an epoch: "independent" (each row its own draw, as the paper
    describes) or "shared-ranks" (every row draws the same positions of its unobserved list, which is what the
    authors' code does in effect by reseeding numpy with the clock before each row's draw; see
    :func:`recgan.core.gan_parts.sample_unobserved_by_rank`)."""
    zr_weight: float = Field(0.03, ge=0)
    """alpha: weight of the ZR penalty sum_j G(c)_j^2 over the ZR sample (per row, mean over the batch)."""
    g_hidden: Widths = (400,)
    """Generator hidden layer widths, e.g. "400" or "400,200"."""
    d_hidden: Widths = (125,)
    """Discriminator hidden layer widths."""
    activation: Literal["sigmoid", "tanh", "relu"] = "sigmoid"
    """Hidden activation of both MLPs ("sigmoid" as in the authors' code, "tanh", "relu"); outputs are linear."""
    loss: Literal["nonsaturating", "wgan-gp", "hinge", "reconstruction"] = "nonsaturating"
    """"nonsaturating" (original GAN), "wgan-gp", "hinge", or "reconstruction" (ablation: no D; G fits the
    masked real vector by squared error)."""
    gp_weight: float = Field(10.0, ge=0)
    """Gradient-penalty weight for "wgan-gp"."""
    lr: float = Field(1e-4, ge=0)
    """Generator Adam learning rate."""
    lr_d: float = Field(1e-4, ge=0)
    """Discriminator Adam learning rate."""
    batch_size: int = Field(32, ge=1)
    """Rows per generator step."""
    batch_size_d: int = Field(64, ge=1)
    """Rows per discriminator step."""
    steps_g: int = Field(1, ge=1)
    """Generator passes over all rows per epoch."""
    steps_d: int = Field(1, ge=0)
    """Discriminator passes over all rows per epoch (the D:G balance is steps_d:steps_g and lr_d:lr)."""
    reg_g: float = Field(1e-3, ge=0)
    """L2 on G's weights and biases: the authors add reg * sum(p^2)/2 to the loss, whose gradient reg * p is
    exactly Adam's (coupled, not AdamW) ``weight_decay=reg``, which recgan uses."""
    reg_d: float = Field(0.0, ge=0)
    """L2 on D's weights and biases (same form)."""
    noise_dim: int = Field(0, ge=0)
    """Width of a N(0, 1) noise input z concatenated to the condition (0 = none, as the authors). Scoring and
    fold-in use z = 0, so they stay deterministic."""
    input_dropout: float = Field(0.0, ge=0, le=1)
    """Training only: each entry of G's and D's condition is zeroed with this probability (fresh draw per
    step), while the real vector D sees stays whole. G then has to restore dropped items to fool D instead of
    copying its input (a denoising condition, as in Mult-DAE); scoring and fold-in use the whole condition."""
    output_prior: Literal["none", "popularity"] = "none"
    """Initial output bias of G: "none" (U(-0.01, 0.01), the authors' code) or "popularity" (each column's
    share of rows with an interaction, so G starts from the popularity ranking and training learns the
    personal deviation from it; meant for rows with few interactions, though as a densifier on ml-100k-p1 at
    5 interactions per user it did not beat MostPopular: docs/augmentation.md)."""
    init: Literal["none", "ease"] = "none"
    """Generator start: "none" (the authors' random MLP) or "ease": a linear skip path from the target channel
    to the output, G(c) = c_target B + MLP(c), with B the EASE item-item weights of the training rows (l2
    ``init_l2``) and the MLP's output layer started at zero, so training starts from EASE's scores and the
    adversarial epochs refine them (and B). For densifying sparse data (docs/augmentation.md); B has
    n_cols^2 parameters."""
    init_l2: float = Field(500.0, gt=0)
    """EASE's l2 for ``init="ease"``."""
    condition_behaviours: str = "target"
    """Condition channels: "target", "all", or a comma list of extra behaviours (e.g. "cart,collect"); the
    target behaviour's vector is always the first channel and the only generated one."""
    epochs: int = Field(400, ge=1)
    """Maximum training epochs (with a validation carve: early stopping picks the count)."""
    patience: int = Field(6, ge=0)
    """Early stopping: evaluations without a validation gain before training stops (0 = never stop)."""
    eval_every: int = Field(5, ge=1)
    """Epochs between validation evaluations."""


_PAPER_ML100K: dict[str, Any] = {
    "mode": "item", "scheme": "ZP", "zr_ratio": 0.7, "pm_ratio": 0.7, "zr_weight": 0.03,
    "g_hidden": (400,), "d_hidden": (125,), "lr": 1e-4, "lr_d": 1e-4, "reg_g": 1e-3, "reg_d": 0.0,
    "batch_size": 32, "batch_size_d": 64, "steps_g": 4, "steps_d": 2, "epochs": 250, "zr_pm_shared": True,
}
_PAPER_ML1M: dict[str, Any] = {
    "mode": "item", "scheme": "ZP", "zr_ratio": 0.9, "pm_ratio": 0.9, "zr_weight": 0.03,
    "g_hidden": (300,), "d_hidden": (250,), "lr": 1e-4, "lr_d": 5e-5, "reg_g": 1e-3, "reg_d": 5e-5,
    "batch_size": 256, "batch_size_d": 512, "steps_g": 1, "steps_d": 1, "epochs": 1500, "zr_pm_shared": True,
}


def _adam(net: torch.nn.Module, lr: float, reg: float, device: torch.device) -> torch.optim.Adam:
    # fused kernels: one pass over all parameters per step (several times faster on CPU, same update rule)
    return torch.optim.Adam(net.parameters(), lr=lr, weight_decay=reg, fused=device.type in ("cpu", "cuda"))


@register
class CFGAN(TorchRecommender):
    """CFGAN recommender: user- or item-based, ZR / PM / ZP negative sampling, several GAN objectives."""

    name = "cfgan"
    config_class = CFGANConfig
    presets: ClassVar[dict[str, Preset]] = {
        # the authors' settings, fixed epoch count, trained on all of train (the published protocol)
        "paper-ml100k": Preset(params=_PAPER_ML100K, fit=FitOptions(early_stopping=False)),
        "paper-ml1m": Preset(params=_PAPER_ML1M, fit=FitOptions(early_stopping=False)),
        # the same settings under the honest protocol: epochs chosen on a validation carve of train
        "paper-ml100k-es": Preset(params={**_PAPER_ML100K, "epochs": 400, "eval_every": 5, "patience": 6}),
        "paper-ml1m-es": Preset(params={**_PAPER_ML1M, "eval_every": 10, "patience": 5}),
        # the authors' ML-100K networks and sampling, 10x learning rates, one D and one G pass per epoch:
        # on ml-100k-p1: best epoch 66-78, early stopping + refit 72-87 CPU-seconds (benchmarks/RESULTS.md, CFGAN)
        "fast-ml100k": Preset(params={**_PAPER_ML100K, "lr": 1e-3, "lr_d": 1e-3, "batch_size": 64, "batch_size_d": 64,
                        "steps_g": 1, "steps_d": 1, "epochs": 200, "eval_every": 2, "patience": 5,
                        "zr_pm_shared": False}),
    }
    tune_grid = {"zr_weight": [0.01, 0.03, 0.1], "pm_ratio": [0.5, 0.7, 0.9]}

    def __init__(self, config=None, **params: Any) -> None:
        super().__init__(config, **params)
        self._cache: np.ndarray | None = None

    @property
    def supports_fold_in(self) -> bool:  # type: ignore[override]
        """User mode folds in exactly (a new user is a new condition). Item mode cannot: a new user is a new
        *column*, i.e. a new input and output unit of G, which the trained networks do not have."""
        return self.config.mode == "user"

    # ------------------------------------------------------------------ build
    def _channels(self, data: Interactions) -> list[str]:
        spec = self.config.condition_behaviours.strip()
        if spec == "target":
            return [data.target]
        names = data.behaviours if spec == "all" else [data.target] + [s.strip() for s in spec.split(",")]
        unknown = [b for b in names if b not in data.matrices]
        if unknown:
            raise RecganError(f"condition_behaviours: {unknown} not in the data (behaviours: {data.behaviours})")
        return list(dict.fromkeys(names))

    def _build(self, data: Interactions) -> None:
        c = self.config
        mats = [data.binary(b) for b in self._channels(data)]
        self._mats = [m.T.tocsr() for m in mats] if c.mode == "item" else mats
        n_cols = self._mats[0].shape[1]
        cond_dim = n_cols * len(self._mats)
        body = mlp(cond_dim + c.noise_dim, c.g_hidden, n_cols, c.activation)
        if c.init != "none":  # the skip path B (n_cols^2) with its gradient and two Adam moments, after the solve
            check_fits(exact_memory(n_cols) + 12 * n_cols * n_cols,
                       f"cfgan init={c.init} ({c.mode} mode, an EASE start over {n_cols} columns)",
                       "use --param init=none, or the models ease-gan or cfgan-large for large catalogues")
        self.G = (body if c.init == "none" else _LinearStart(body, self._mats[0], c.init_l2)).to(self.device)
        out_layer = body[-1]
        if c.output_prior == "popularity":
            share = np.asarray(self._mats[0].getnnz(axis=0), np.float32) / max(self._mats[0].shape[0], 1)
            with torch.no_grad():
                out_layer.bias.copy_(torch.from_numpy(share))
        self.opt_g = _adam(self.G, c.lr, c.reg_g, self.device)
        self.D = self.opt_d = None
        if c.loss != "reconstruction":
            self.D = mlp(cond_dim + n_cols, c.d_hidden, 1, c.activation).to(self.device)
            self.opt_d = _adam(self.D, c.lr_d, c.reg_d, self.device)
        self._cache = None
        self._dense: torch.Tensor | None = None  # (rows, channels * n_cols) on device, built on first use

    def _dense_rows(self) -> torch.Tensor | None:
        """All training rows densified once on the device when they fit in ``_DENSE_ROWS_BYTES``, so a
        training batch is one index on the device instead of a CSR slice densified on the CPU and copied
        (which is what bounds an epoch on a GPU). None when too large: batches are then densified one by one."""
        if self._dense is None:
            n, w = self._mats[0].shape[0], sum(m.shape[1] for m in self._mats)
            if 4 * n * w > _DENSE_ROWS_BYTES:
                return None
            self._dense = torch.cat([csr_to_dense(m, self.device) for m in self._mats], 1)
        return self._dense

    @property
    def start_is_a_model(self) -> bool:
        return self.config.init != "none"  # an EASE start is EASE

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G} if self.D is None else {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g} if self.opt_d is None else {"g": self.opt_g, "d": self.opt_d}

    def set_train_mode(self, flag: bool) -> None:
        self._cache = None  # weights may change (a step, or the trainer restoring the best epoch)
        super().set_train_mode(flag)

    # ------------------------------------------------------------------ training
    def _rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition (b, channels * n_cols) and real target vectors (b, n_cols) of GAN rows, on device."""
        dense = self._dense_rows()
        if dense is not None:
            cond = dense[rows.to(self.device)]
            return cond, cond[:, : self._mats[0].shape[1]]
        idx = rows.numpy()
        parts = [csr_to_dense(m[idx], self.device) for m in self._mats]
        return (torch.cat(parts, 1) if len(parts) > 1 else parts[0]), parts[0]

    def _drop(self, cond: torch.Tensor) -> torch.Tensor:
        """The training condition: entries zeroed with probability ``input_dropout`` (seeded draw)."""
        p = self.config.input_dropout
        if p <= 0.0:
            return cond
        keep = torch.rand(cond.shape, generator=self.gen) >= p
        return cond * keep.to(cond.device, cond.dtype)

    def _g_in(self, cond: torch.Tensor, train: bool) -> torch.Tensor:
        if not self.config.noise_dim:
            return cond
        shape = (cond.shape[0], self.config.noise_dim)
        z = torch.randn(shape, generator=self.gen).to(self.device) if train else cond.new_zeros(shape)
        return torch.cat([cond, z], 1)

    def _masks(self, x: torch.Tensor, rows: torch.Tensor, seed: int,
               with_zr: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's mask e (observed + PM sample) and the ZR sample (or None; not drawn unless ``with_zr``)."""
        c = self.config
        mask = x
        if c.scheme in ("PM", "ZP"):
            mask = x + self._draw(x, rows, c.pm_ratio, seed)
        zr_seed = seed if c.zr_pm_shared else seed ^ _ZR_SALT
        zr = self._draw(x, rows, c.zr_ratio, zr_seed) if with_zr and c.scheme in ("ZR", "ZP") else None
        return mask, zr

    def _draw(self, x: torch.Tensor, rows: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
        """One negative sample of the batch ``x`` (rows ``rows``) as ``negative_draws`` says."""
        if self.config.negative_draws == "shared-ranks":
            return sample_unobserved_by_rank(x, fraction, seed)
        return sample_unobserved(x, fraction, seed, rows)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        c = self.config
        seed = int(torch.randint(0, 2**62, (1,), generator=self.gen))  # this epoch's negative samples
        n = self._mats[0].shape[0]
        st: dict[str, list[torch.Tensor]] = defaultdict(list)
        if self.D is not None:
            for _ in range(c.steps_d):
                for rows in self.batches(n, c.batch_size_d):
                    self._d_step(rows, seed, st)
        for _ in range(c.steps_g):
            for rows in self.batches(n, c.batch_size):
                self._g_step(rows, seed, st)
        self._cache = None
        return {k: float(torch.stack(v).mean()) for k, v in st.items()}

    def _d_step(self, rows: torch.Tensor, seed: int, st: dict) -> None:
        c = self.config
        cond, x = self._rows(rows)
        cond = self._drop(cond)
        mask, _ = self._masks(x, rows, seed, with_zr=False)
        b, w = len(rows), cond.shape[1]
        d_in = cond.new_empty((2 * b, w + x.shape[1]))  # [cond, real ; cond, fake] without intermediate cats
        d_in[:b, :w] = cond
        d_in[b:, :w] = cond
        d_in[:b, w:] = x
        with torch.no_grad():
            torch.mul(self.G(self._g_in(cond, True)), mask, out=d_in[b:, w:])
        real_in, fake_in = d_in[:b], d_in[b:]
        out = self.D(d_in)
        d_real, d_fake = out[: len(rows)], out[len(rows) :]
        loss = d_loss(c.loss, d_real, d_fake)
        if c.loss == "wgan-gp":
            loss = loss + c.gp_weight * gradient_penalty(self.D, real_in, fake_in, self.gen)
        st["loss_d"].append(loss.detach())
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        st["grad_norm_d"].append(grad_norm(self.D.parameters()))
        self.opt_d.step()
        st["d_real"].append(d_output_summary(c.loss, d_real.detach()))
        st["d_fake"].append(d_output_summary(c.loss, d_fake.detach()))

    def _g_step(self, rows: torch.Tensor, seed: int, st: dict) -> None:
        c = self.config
        cond, x = self._rows(rows)
        cond = self._drop(cond)
        mask, zr = self._masks(x, rows, seed)
        out = self.G(self._g_in(cond, True))
        if self.D is None:
            adv = ((out - x).pow(2) * mask).sum(1).mean()
            st["loss_rec"].append(adv.detach())
        else:
            self.D.requires_grad_(False)  # G's step needs gradients through D, not D's own
            adv = g_loss(c.loss, self.D(torch.cat([cond, out * mask], 1)))
            self.D.requires_grad_(True)
            st["loss_g"].append(adv.detach())
        loss = adv
        if zr is not None:
            zr_loss = (out.pow(2) * zr).sum(1).mean()
            st["loss_zr"].append(zr_loss.detach())
            loss = loss + c.zr_weight * zr_loss
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        st["grad_norm_g"].append(grad_norm(self.G.parameters()))
        self.opt_g.step()

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def _generate(self, cond_rows: list[sp.csr_matrix], batch: int = 1024) -> np.ndarray:
        """G(c) with z = 0 for condition channel matrices (same rows), batched; float32 numpy."""
        n = cond_rows[0].shape[0]
        out = np.empty((n, self._mats[0].shape[1]), np.float32)
        for lo in range(0, n, batch):
            cond = torch.cat([csr_to_dense(m[lo : lo + batch], self.device) for m in cond_rows], 1)
            out[lo : lo + batch] = self.G(self._g_in(cond, False)).cpu().numpy()
        return out

    def _score(self, users: np.ndarray) -> np.ndarray:
        if self.config.mode == "user":
            return self._generate([m[users] for m in self._mats])
        if self._cache is None:  # item mode: the whole item x user matrix once, reused until weights change
            n_items, n_users = self._mats[0].shape
            check_fits(4 * n_items * n_users, f"cfgan (item mode) scoring: the generator's {n_items} x {n_users} "
                       "output", "train with --param mode=user (or the model cfgan-large) for this many users")
            self._cache = self._generate(self._mats)
        return np.ascontiguousarray(self._cache[:, users].T)

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        if not self.supports_fold_in:
            raise FoldInNotSupported(
                "an item-based CFGAN cannot fold in a new user (a new user is a new input/output unit of its "
                "generator); train with mode=user to recommend from a history")
        extra = [sp.csr_matrix((history.shape[0], m.shape[1]), dtype=np.float32) for m in self._mats[1:]]
        return self._generate([sp.csr_matrix(history, dtype=np.float32), *extra])

    # ------------------------------------------------------------------ diagnostics
    @torch.no_grad()
    def epoch_diagnostics(self, sample: int = 1000, k: int = 20) -> dict[str, float]:
        """Copying (on up to ``sample`` GAN rows) and collapse (top-10 lists of up to ``sample`` users)
        alarms; rows are drawn with a fixed seed apart from the training generators."""
        rng = np.random.default_rng(self.config.seed + 7919)
        n = self._mats[0].shape[0]
        rows = np.sort(rng.choice(n, min(n, sample), replace=False))
        scores = self._generate([m[rows] for m in self._mats])
        users = np.sort(rng.choice(self.n_users, min(self.n_users, sample), replace=False))
        top, _ = self.recommend(users, 10)
        return alarms(scores, self._mats[0][rows], top, self.n_items, k)

    def flops_per_epoch(self) -> float:
        """Estimated floating-point operations of one epoch: 2 * in * out per row per linear layer forward,
        backward twice the forward (gradient-penalty and bookkeeping costs not counted)."""
        c = self.config

        def fwd(net: torch.nn.Module, rows: int) -> float:
            return sum(2.0 * rows * m.in_features * m.out_features
                       for m in net.modules() if isinstance(m, torch.nn.Linear))

        n = self._mats[0].shape[0]
        skip = 3 * 2.0 * n * self._mats[0].shape[1] ** 2 if isinstance(self.G, _LinearStart) else 0.0
        g_pass = 3 * fwd(self.G, n) + skip + (3 * fwd(self.D, n) if self.D is not None else 0.0)
        d_pass = fwd(self.G, n) + 3 * fwd(self.D, 2 * n) if self.D is not None else 0.0
        return c.steps_g * g_pass + c.steps_d * d_pass


class _LinearStart(torch.nn.Module):
    """G(c) = c[:, :n] B + body(c): a linear skip path (B = EASE weights of ``X``, (n, n)) beside the MLP
    ``body``, whose output layer starts at zero so that G starts as EASE. Input (b, >= n), output (b, n)."""

    def __init__(self, body: torch.nn.Sequential, X: sp.csr_matrix, l2: float) -> None:
        super().__init__()
        self.body = body
        self.n = X.shape[1]
        self.skip = torch.nn.Parameter(torch.from_numpy(ease_weights(sp.csr_matrix(X, dtype=np.float32), l2)))
        with torch.no_grad():
            body[-1].weight.zero_()
            body[-1].bias.zero_()

    def __getitem__(self, i: int) -> torch.nn.Module:  # G[-1] is the output layer, as for a bare MLP
        return self.body[i]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x[:, : self.n] @ self.skip
