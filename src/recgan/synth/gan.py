"""The behaviour GAN: a generator of whole user profiles over the catalogue, per behaviour channel.

Generator: :class:`~recgan.synth.base.ProfileDecoder`, noise z ~ N(0, I) ++ the profile's activity level
-> logits per channel over the catalogue (factorised output, no one-hot item columns). A fake profile is a
*discrete* draw: sizes from the activity model, items by Gumbel-top-k inside the funnel (the same sampler
``sample`` uses), so the discriminator sees exactly what would be released; gradients reach the generator
through the straight-through estimator (hard / k + softmax - stop_grad(softmax)).

Start (``init``). Default ``spectral``: the generator starts as the linear generator of the item
co-occurrence matrix's top eigenvectors (:mod:`recgan.synth.spectral`; a Gaussian release of that matrix
under DP, composed in the same accountant), put in a linear skip path from the noise, with the body's output
at zero and the popularity prior as output bias; adversarial training then refines it for a few epochs at a
small learning rate. ``vae``: the generator is first trained as the decoder of a Mult-VAE
(``pretrain_epochs``; its noise then goes through the VAE's ex-post Gaussian; not under DP). ``none``: from
scratch. Measured (docs/privacy.md): the adversarial epochs after the spectral start change utility by less
than the seed spread; the start is what carries it.

Discriminator (the only part that touches real data besides the start): each channel's profile normalised to sum 1
(= the mean of its items' embeddings after the first linear layer) ++ log sizes -> MLP -> a score.

Large catalogues (``outputs``). With dense outputs every step spans the catalogue: the generator's logits,
the Gumbel noise and top-k, the straight-through softmax and the critic's first layer are (batch, channels,
items), so an epoch's time grows linearly with the items. With ``outputs="sampled"`` (``auto`` picks it from
SAMPLED_FROM_ITEMS items on, never under DP) a step draws ``candidates`` items from the popularity prior (mixed
with the uniform distribution), draws the fake profiles among them with logits corrected by the log of each
item's inclusion probability (the sampled-softmax estimate of the full distribution), and reads the
critic's first layer (:class:`SampledCritic`, an item table) only at those items and the real batch's own
items: that is exact for the sparse profiles the critic sees, and the item tables of both networks get
sparse gradients and lazy Adam steps (:class:`RowAdam`). The step then costs O(batch x (candidates + the
batch's items)), whatever the catalogue; release sampling keeps the whole catalogue.

Stabilisers: WGAN-GP (``loss="wgan-gp"``, gradient penalty from :mod:`recgan.core.gan_parts`) or the
non-saturating loss, PacGAN packing (``pac`` profiles judged together), an exponential moving average of
the generator's weights (the EMA generator is what is released), and the collapse alarm of
:mod:`recgan.core.diagnostics` (distinct top-20 lists across generated users) logged every few epochs.

Differential privacy (``dp_epsilon``): the discriminator is trained with DP-SGD at user level through
:mod:`recgan.synth.dp` (Opacus, Poisson sampling, RDP accountant); the activity histograms, the initial
popularity prior and the spectral start's co-occurrence matrix are released with the Gaussian mechanism and
composed in the same accountant. By default under DP the spectral start is the whole private release (no
DP-SGD epoch): the off-diagonal co-occurrence of the 700 most popular items (by the noised prior), each
profile normalised within them, with the noise that spends what the auxiliary releases leave. Packing and
the gradient penalty are per-example incompatible with DP-SGD, so DP uses ``pac=1`` and the non-saturating
loss. Only the generator is saved.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from recgan.core.diagnostics import COLLAPSE_ALARM, distinct_lists, item_coverage
from recgan.core.gan_parts import d_loss, g_loss, gradient_penalty
from recgan.core.runtime import dense_batch
from recgan.core.trainable import TorchTrainable
from recgan.core.trainer import TrainingOptions, train
from recgan.data.splits import within_row_rank
from recgan.errors import RecganError
from recgan.synth.base import ProfileDecoder, SynthConfig, Synthesizer, log_popularity, register
from recgan.synth.critic import Critic, RowAdam, SampledCritic, critic_input, real_input
from recgan.synth.sampler import N_LEVELS, draw_masks, sample_profiles
from recgan.synth.spectral import linear_generator, spectral_basis, union_profiles

SAMPLED_FROM_ITEMS = 20_000
"""``outputs="auto"`` trains with sampled outputs from this many catalogue items on (dense below it, and always
dense under DP): below it the dense (batch, channels, items) step costs no more than the sampled one and
every figure committed before sampled outputs existed (ml-100k, ml-1m, Tmall) stays reproducible."""

COVERAGE_ALARM = 0.5
"""The coverage alarm fires when 256 generated users' sampled profiles (temperature 1, each cut to 20 random
items) cover less than this share of the items that as many real profiles (cut the same way) cover: the
generator has lost the long tail even though its users may all differ (what the collapse alarm checks)."""


def real_coverage(X: sp.csr_matrix, n: int = 256, k: int = 20, seed: int = 12345) -> float:
    """Distinct items / catalogue size over ``n`` random users' profiles, each cut to ``k`` random items:
    the reference of the coverage alarm (vectorised: one random key per entry, rank within its row)."""
    X = sp.csr_matrix(X)
    rng = np.random.default_rng(seed)
    rows = rng.choice(X.shape[0], min(n, X.shape[0]), replace=False)
    sub = X[np.sort(rows)]
    rank = within_row_rank(sub, rng)
    return len(np.unique(sub.indices[rank < k])) / max(X.shape[1], 1)


class GANConfig(SynthConfig):
    epochs: int | None = Field(None, ge=0)
    """Adversarial passes of the discriminator over the training users. None: 10 after the VAE warm start
    (``pretrain_epochs`` > 0) or the spectral start, 150 from scratch; under DP 0 after the spectral start
    (the release of the start spends the whole budget: measured, DP-SGD epochs after it did not pay for their
    share of epsilon), 150 from scratch."""
    train_batch: int = Field(64, ge=1)
    """Real users per discriminator step (the expected batch under DP's Poisson sampling)."""
    n_critic: int = Field(1, ge=1)
    """Discriminator steps per generator step."""
    lr_g: float | None = Field(None, ge=0)
    """Generator learning rate. None: 2e-5 after the VAE warm start (a gentle refinement: larger steps
    undo what the VAE learnt), 1e-3 from scratch."""
    lr_d: float = Field(1e-3, ge=0)
    """Discriminator Adam learning rate."""
    loss: Literal["wgan-gp", "nonsaturating", "hinge"] = "wgan-gp"
    """``wgan-gp`` or ``nonsaturating`` (``hinge`` also accepted); DP always uses ``nonsaturating``."""
    gp_weight: float = Field(10.0, ge=0)
    """Gradient-penalty weight for ``wgan-gp``."""
    pac: int = Field(2, ge=1)
    """Profiles packed into one discriminator example (PacGAN); 1 under DP."""
    z_dim: int = Field(64, ge=1)
    """Noise width (the VAE warm start's latent width)."""
    hidden: int = Field(256, ge=1)
    """Width of the generator's two hidden layers (and of the warm start's encoder)."""
    emb: int = Field(64, ge=1)
    """Item-embedding width of the generator's output layer. Wider (128 / 512 / 128) was tried on ml-1m's
    training users and not adopted (docs/privacy.md, "Widths")."""
    d_emb: int = Field(64, ge=1)
    """Width of the discriminator's first (item-embedding) layer."""
    d_hidden: int = Field(256, ge=1)
    """Width of the discriminator's hidden layers."""
    feature_matching: float = Field(1.0, ge=0)
    """Weight of feature matching (Salimans et al. 2016): the generator also matches the mean and standard
    deviation of the discriminator's profile embedding on real and fake batches. Uses real data outside
    DP-SGD, so it is switched off under DP."""
    marginal_weight: float = Field(1.0, ge=0)
    """Weight of KL(prior || mean generated item distribution) per channel, where the prior is the
    popularity prior (DP-noised under DP): keeps item marginals while the adversarial loss shapes who goes
    with whom (the discriminator's embedding cannot see every popularity drift). 0 = off."""
    ema: float = Field(0.98, ge=0, lt=1)
    """Decay of the exponential moving average of generator weights (0 = release the raw generator)."""
    popularity_prior: bool = True
    """Start the generator's output bias at log item popularity (DP-noised under DP)."""
    init: Literal["spectral", "vae", "none"] = "spectral"
    """How the generator starts: ``vae`` (the VAE warm start below; from scratch under DP, where the VAE would
    read real users outside DP-SGD), ``spectral`` (the linear generator of the item co-occurrence matrix's top
    eigenvectors, :mod:`recgan.synth.spectral`; under DP that matrix is released with the Gaussian mechanism
    and composed in the same accountant) or ``none`` (from scratch)."""
    spectral_rank: int | None = Field(None, ge=1)
    """Eigenvectors kept by the spectral start (None: ``emb``; at most ``emb`` and ``z_dim``)."""
    spectral_items: int = Field(4096, ge=1)
    """The spectral start's co-occurrence matrix covers this many of the most popular items (by the
    popularity prior, DP-noised under DP); the others start with a zero embedding."""
    spectral_scale: float = Field(3.0, ge=0)
    """Scale, in logit units, of the spectral start's linear part (its per-item standard deviation)."""
    spectral_diagonal: bool | None = None
    """Keep the co-occurrence matrix's diagonal in the spectral start. None: kept without DP; under DP not
    released, the off-diagonal part scaled by sqrt 2 at the same L2 sensitivity 1 (about sqrt 2 more signal
    per unit of noise; :mod:`recgan.synth.spectral`)."""
    spectral_within_items: bool | None = None
    """Normalise each profile to unit norm within the spectral start's items (True) or over the whole
    catalogue (False: mass on the other items is lost). None: False without DP, True under DP."""
    dp_spectral_items: int = Field(700, ge=1)
    """Under DP, ``spectral_items`` is this instead (fewer, more popular items: less noise per unit of
    signal; 700 chosen on a development carve of ml-1m's training users, docs/privacy.md)."""
    dp_spectral_sigma: float | None = Field(None, ge=0)
    """Noise std of the spectral start's release of the co-occurrence matrix under DP (L2 sensitivity 1).
    None: with no DP-SGD epoch (the default under DP), the smallest noise (to 1 %) whose composition with the
    auxiliary releases keeps the accountant's epsilon <= ``dp_epsilon`` (:func:`recgan.synth.dp.
    release_sigma_for_epsilon`; 4.26 / 1.59 / 0.572 at epsilon 1 / 3 / 10 with delta 1e-5); with DP-SGD epochs,
    7 / epsilon kept within [0.5, 20] (DP-SGD gets the rest of the budget)."""
    pretrain_epochs: int = Field(60, ge=0)
    """Warm start (VAE-GAN): before adversarial training, train the generator for this many epochs as the
    decoder of a Mult-VAE (:mod:`recgan.synth.vae`, same widths) and sample its noise through the VAE's
    ex-post Gaussian; adversarial training then refines it. 0 = start from scratch. Skipped under DP (the
    VAE would touch real data outside DP-SGD): a private GAN always starts from scratch."""
    diag_every: int = Field(25, ge=1)
    """Epochs between collapse-alarm checks."""
    dp_epsilon: float | None = Field(None, gt=0)
    """Target epsilon of user-level DP (None = no DP)."""
    dp_delta: float = Field(1e-5, gt=0, lt=1)
    """Delta of user-level DP (with ``dp_epsilon``)."""
    dp_max_grad_norm: float = Field(1.0, gt=0)
    """Per-user clipping norm of discriminator gradients."""
    dp_aux_sigma: float | None = Field(None, gt=0)
    """Noise multiplier of the Gaussian releases of the activity histograms and the popularity prior
    (None: 20 / epsilon, kept within [2, 20], so a larger budget buys a sharper prior)."""
    outputs: Literal["auto", "dense", "sampled"] = "auto"
    """How a training step sees the catalogue. ``dense``: the generator's logits, the Gumbel-top-k draw, the
    straight-through softmax and the discriminator's first layer span every item (time per step grows with
    the catalogue). ``sampled``: each step draws ``candidates`` items (with replacement, then unique) from the
    popularity prior mixed 9:1 with the uniform distribution; the fake profiles of that step are drawn by
    Gumbel-top-k among those items with logits corrected by -log P(item in the set) (the sampled-softmax
    estimate of the full distribution), the straight-through softmax and the marginal term run over them, and
    the discriminator's first layer is an embedding table read only at those items and the real batch's items
    (exact on sparse profiles; its gradient and Adam steps are sparse, and so are the generator's item
    table's). The gradient penalty is then taken over those columns only. Release sampling (``sample``)
    always uses the whole catalogue. ``auto``: ``sampled`` from SAMPLED_FROM_ITEMS (20,000) items on, without
    DP; ``dense`` otherwise. Not available under DP (the DP-SGD accounting covers the dense critic)."""
    candidates: int = Field(4096, ge=1)
    """Items drawn per step with ``outputs="sampled"`` (before removing repeats; at least twice the largest
    profile size of the step, at most the catalogue)."""
    device: str = Field("cpu", exclude=True)
    """Training device ("cpu", "cuda", "auto"); the fitted generator is kept on the CPU for sampling."""


@dataclass
class _Run:
    """What one fit's epochs share (built in ``_fit``, dropped after training)."""

    mats: list
    G: nn.Module
    D: nn.Module
    ema: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    dp: Any
    batches: Any
    prior_t: torch.Tensor | None
    fm: float
    loss_kind: str
    pac: int
    n_ch: int
    n_items: int
    ref_cov: float | None
    epochs: int
    sampled: Any = None
    """The sampled-outputs state (:class:`_Sampled`), None for dense outputs."""


@dataclass
class _Sampled:
    """What ``outputs="sampled"`` keeps between steps."""

    proposal: torch.Tensor
    """(items,) float64 distribution the candidates are drawn from."""
    draws: int
    opt_g: torch.optim.Optimizer
    """:class:`RowAdam` of the generator's item table."""
    opt_d: torch.optim.Optimizer
    """:class:`RowAdam` of the discriminator's item table."""
    pos: np.ndarray
    """(items,) int64 scratch: column of each item in the step's set, -1 outside (reset after each step)."""


@register
class BehaviourSynthesizer(TorchTrainable, Synthesizer):
    """GAN over whole user profiles per behaviour channel, optionally with user-level DP. ``fit(Interactions)``
    / ``sample(n, seed)``; details in the module docstring."""

    name = "gan"
    config_class = GANConfig

    def _private(self) -> bool:
        return self.config.dp_epsilon is not None

    def _build(self, n_ch: int, n_items: int, skip: bool = False) -> None:
        cfg = self.config
        self.generator = ProfileDecoder(n_items, n_ch, N_LEVELS, cfg.z_dim, cfg.hidden, cfg.emb, skip=skip)
        self.latent_mean_ = torch.zeros(cfg.z_dim)
        self.latent_chol_ = torch.eye(cfg.z_dim)

    def _z(self, n: int, gen: torch.Generator, dev: torch.device) -> torch.Tensor:
        """(n, z_dim) generator noise: N(0, I) through the fixed latent affine map (identity unless the
        generator was warm-started by a VAE, whose decoder expects its ex-post Gaussian)."""
        eps = torch.randn(n, self.config.z_dim, generator=gen)
        return (self.latent_mean_ + eps @ self.latent_chol_.T).to(dev)

    def _pretrain(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        """VAE warm start of the generator (``pretrain_epochs``)."""
        from recgan.synth.vae import VAESynthesizer

        cfg = self.config
        v = VAESynthesizer(seed=cfg.seed, epochs=cfg.pretrain_epochs, z_dim=cfg.z_dim, hidden=cfg.hidden,
                           emb=cfg.emb, device=cfg.device)
        v.items, v.behaviours, v.target, v.funnel = self.items, self.behaviours, self.target, self.funnel
        v.training_options = TrainingOptions(progress=self._options().progress)
        v._fit(mats, counts)
        self.generator.load_state_dict(v.decoder.state_dict())
        self.latent_mean_, self.latent_chol_ = v.latent_mean_.clone(), v.latent_chol_.clone()

    def _spectral_start(self, mats: list[sp.csr_matrix], prior: np.ndarray | None, sigma: float,
                        rng: np.random.Generator) -> dict:
        """Put the spectral linear generator into the skip path (:mod:`recgan.synth.spectral`); the body's
        output layer starts at zero, the output bias keeps the popularity prior."""
        cfg, G = self.config, self.generator
        n, n_items = mats[0].shape
        if prior is not None:  # the most popular items by the (released) prior: post-processing
            order = np.argsort(-np.exp(prior).sum(0), kind="stable")
        elif self._private():  # no private popularity: the catalogue order (public)
            order = np.arange(n_items)
        else:
            order = np.argsort(-np.asarray(union_profiles(mats).sum(0)).ravel(), kind="stable")
        private = self._private()
        order = order[: min(cfg.dp_spectral_items if private else cfg.spectral_items, n_items)]
        rank = min(cfg.spectral_rank or cfg.emb, cfg.emb, cfg.z_dim)
        diagonal = cfg.spectral_diagonal if cfg.spectral_diagonal is not None else not private
        within = cfg.spectral_within_items if cfg.spectral_within_items is not None else private
        t0 = time.perf_counter()
        v, lam = spectral_basis(mats, rank=rank, items=order, sigma=sigma, rng=rng, within_items=within,
                                diagonal=diagonal)
        w = linear_generator(lam, n, n_items, cfg.spectral_scale)
        r, emb, dev = len(lam), cfg.emb, G.item_emb.device
        diag = torch.arange(r, device=dev)
        with torch.no_grad():
            G.item_emb.zero_()
            G.item_emb[torch.from_numpy(order).to(dev), :r] = torch.from_numpy(v).float().to(dev)
            G.body[-1].weight.zero_()
            G.body[-1].bias.zero_()
            G.skip.weight.zero_()
            for c in range(G.n_channels):
                G.skip.weight[c * emb + diag, diag] = torch.from_numpy(w).float().to(dev)
        return {"rank": r, "items": len(order), "sigma": sigma, "diagonal": diagonal, "within_items": within,
                "seconds": round(time.perf_counter() - t0, 3),
                "eigenvalue_share": float(lam.sum() / max(n, 1))}

    # ------------------------------------------------------------------ training
    def _fake(self, G: ProfileDecoder, sizes: np.ndarray, gen: torch.Generator, dev: torch.device,
              out: dict | None = None) -> torch.Tensor:
        logits = G(self._z(len(sizes), gen, dev), torch.from_numpy(self.activity.levels(sizes)).to(dev))
        if out is not None:
            out["logits"] = logits
        return self._straight_through(logits, sizes, gen)

    def _straight_through(self, logits: torch.Tensor, sizes: np.ndarray, gen: torch.Generator,
                          pad: int = 0) -> torch.Tensor:
        """Critic input of discrete draws from ``logits`` (n, channels, m): hard / k + softmax -
        stop_grad(softmax) per channel (a funnel child's softmax inside its parent's draw), ``pad`` zero
        columns appended to each channel."""
        masks = draw_masks(logits, sizes, self.funnel, gen)
        parts, ks = [], []
        for c, m in enumerate(masks):
            p = self.funnel.parent[c]
            lc = logits[:, c] if p is None else logits[:, c].masked_fill(~masks[p], -1e9)
            soft = torch.softmax(lc, -1)
            k = m.sum(1)
            hard = m.float() / k.clamp(min=1)[:, None]
            parts.append(hard + soft - soft.detach())
            ks.append(k)
        x = torch.stack(parts, 1)
        return critic_input(F.pad(x, (0, pad)) if pad else x, torch.stack(ks, 1))

    def _fake_sampled(self, G: ProfileDecoder, sizes: np.ndarray, gen: torch.Generator, dev: torch.device,
                      cand: torch.Tensor, log_incl: torch.Tensor, pad: int, out: dict | None = None) -> torch.Tensor:
        """:meth:`_fake` over the step's candidates ``cand`` (m,) only: logits corrected by -``log_incl``
        (log P(item in the candidate set)) so that drawing within the candidates estimates drawing from the
        whole catalogue; sizes capped at m; ``pad`` zero columns (the real batch's other items) appended."""
        logits = G(self._z(len(sizes), gen, dev), torch.from_numpy(self.activity.levels(sizes)).to(dev), cand)
        if out is not None:
            out["logits"] = logits
        return self._straight_through(logits - log_incl, np.minimum(sizes, len(cand)), gen, pad)

    def _step_items(self, rows: np.ndarray, mats: list[sp.csr_matrix], s: _Sampled, gen: torch.Generator,
                    dev: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """One step's item set: candidates drawn from the proposal, then the real batch's other items.
        Returns (items (m_all,) with the m candidates first, log P(candidate in the set) (m,), the real
        profiles (batch, channels, m_all) dense over those items, m)."""
        draws = torch.multinomial(s.proposal, s.draws, replacement=True, generator=gen)
        cand = torch.unique(draws)
        q = s.proposal[cand]
        log_incl = torch.log(-torch.expm1(s.draws * torch.log1p(-q.clamp(max=1 - 1e-12)))).float()
        subs = [m[rows] for m in mats]
        real_items = np.unique(np.concatenate([sub.indices for sub in subs]))
        cand_np = cand.numpy()
        pos = s.pos
        pos[cand_np] = np.arange(len(cand_np))
        extra = real_items[pos[real_items] < 0]
        pos[extra] = len(cand_np) + np.arange(len(extra))
        items = np.concatenate([cand_np, extra])
        x = np.zeros((len(rows), len(subs), len(items)), dtype=np.float32)
        for c, sub in enumerate(subs):
            r = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
            x[r, c, pos[sub.indices]] = 1.0
        pos[items] = -1
        return (torch.from_numpy(items).to(dev), log_incl.to(dev), torch.from_numpy(x).to(dev), len(cand_np))

    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        cfg = self.config
        self._init_runtime()
        self._reseed()
        dev, rng = self.device, self.rng
        n, n_ch, n_items = counts.shape[0], len(mats), mats[0].shape[1]
        private = self._private()
        loss_kind = "nonsaturating" if private else cfg.loss
        pac = 1 if private else max(1, cfg.pac)
        fm = 0.0 if private else cfg.feature_matching
        t0 = time.perf_counter()
        if cfg.init not in ("vae", "spectral", "none"):
            raise RecganError(f"init must be vae, spectral or none, got {cfg.init!r}")
        warm = cfg.init == "vae" and cfg.pretrain_epochs > 0 and not private
        spectral = cfg.init == "spectral"
        if private:  # a budget no accounting can meet: one line before any data is read
            from recgan.synth.dp import check_budget

            check_budget(cfg.dp_epsilon, cfg.dp_delta, n)
        epochs = cfg.epochs if cfg.epochs is not None else (
            (0 if private else 10) if spectral else (10 if warm else 150))
        lr_g = cfg.lr_g if cfg.lr_g is not None else (2e-5 if warm or spectral else 1e-3)
        if min(epochs, cfg.pretrain_epochs) < 0 or lr_g <= 0:
            raise RecganError(f"epochs and pretrain_epochs must be >= 0 and lr_g > 0 (got {epochs}, "
                              f"{cfg.pretrain_epochs}, {lr_g})")

        if cfg.outputs == "sampled" and private:
            raise RecganError("outputs=sampled is not available with --dp-epsilon (the DP-SGD accounting "
                              "covers the dense discriminator); use outputs=dense or auto")
        outputs = cfg.outputs if cfg.outputs != "auto" else (
            "sampled" if n_items >= SAMPLED_FROM_ITEMS and not private else "dense")
        # at least twice the largest profile a step can draw, at most the catalogue
        draws = min(n_items, max(cfg.candidates, 2 * int(counts.max())))

        self._fit_activity(counts)
        # the coverage alarm's reference reads the real data, so it is not computed (nor released) under DP
        ref_cov = None if private else real_coverage(mats[self.activity.base])
        self._build(n_ch, n_items, skip=spectral)
        G = self.generator.to(dev)
        dp = None
        spectral_sigma = 0.0
        if private:
            from recgan.synth.dp import DPDiscriminator, private_log_popularity, release_sigma_for_epsilon

            aux = cfg.dp_aux_sigma if cfg.dp_aux_sigma is not None else min(20.0, max(2.0, 20.0 / cfg.dp_epsilon))
            sigmas = [aux] * (1 + int(cfg.popularity_prior))
            names = ["activity histograms", "popularity prior"][: len(sigmas)]
            if spectral:
                if cfg.dp_spectral_sigma is not None:
                    spectral_sigma = cfg.dp_spectral_sigma
                elif epochs == 0:  # the start is the release: it spends what the auxiliary releases leave
                    spectral_sigma = release_sigma_for_epsilon(cfg.dp_epsilon, cfg.dp_delta, sigmas)
                else:
                    spectral_sigma = min(20.0, max(0.5, 7.0 / cfg.dp_epsilon))
                if not spectral_sigma > 0:
                    raise RecganError(f"dp_spectral_sigma must be > 0 under DP, got {spectral_sigma}")
                sigmas.append(spectral_sigma)
                names.append("co-occurrence (spectral start)")
            dp = DPDiscriminator(n_users=n, batch=cfg.train_batch, epochs=epochs, epsilon=cfg.dp_epsilon,
                                 delta=cfg.dp_delta, max_grad_norm=cfg.dp_max_grad_norm, aux_sigmas=sigmas,
                                 aux_names=names)
            self.activity.privatise(aux * math.sqrt(n_ch), rng)
            prior = private_log_popularity(mats, aux, rng) if cfg.popularity_prior else None
        else:
            prior = log_popularity(mats) if cfg.popularity_prior else None
        prior_t = None
        if prior is not None:
            with torch.no_grad():
                G.bias.copy_(torch.from_numpy(prior))
            prior_t = torch.softmax(torch.from_numpy(prior), -1).to(dev)
        start = None
        if warm:
            self._pretrain(mats, counts)
            G = self.generator.to(dev)
        elif spectral:
            start = self._spectral_start(mats, prior, spectral_sigma, rng)
        sampled = None
        if outputs == "sampled":
            D = SampledCritic(n_items, n_ch, cfg.d_emb, cfg.d_hidden, pac).to(dev)
            opt_g = torch.optim.Adam([p for p in G.parameters() if p is not G.item_emb], lr=lr_g, betas=(0.5, 0.9))
            opt_d = torch.optim.Adam([p for p in D.parameters() if p is not D.table], lr=cfg.lr_d, betas=(0.5, 0.9))
            base = (torch.softmax(torch.from_numpy(prior).double(), -1).mean(0) if prior is not None
                    else torch.full((n_items,), 1.0 / n_items, dtype=torch.float64))
            sampled = _Sampled(proposal=0.9 * base + 0.1 / n_items, draws=draws,
                               opt_g=RowAdam([G.item_emb], lr=lr_g, betas=(0.5, 0.9)),
                               opt_d=RowAdam([D.table], lr=cfg.lr_d, betas=(0.5, 0.9)),
                               pos=np.full(n_items, -1, dtype=np.int64))
        else:
            D = Critic(n_items, n_ch, cfg.d_emb, cfg.d_hidden, pac).to(dev)
            opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.9))
            opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.9))
        if dp is not None:
            D, opt_d, batches = dp.make_private(D, opt_d)
        else:
            batches = _shuffled_batches(n, cfg.train_batch - cfg.train_batch % pac, rng)
        ema = copy.deepcopy(G).eval() if cfg.ema > 0 else G
        for p in ema.parameters():
            p.requires_grad_(False)

        if dp is not None and (self._options().resume or self._options().checkpoint_every):
            raise RecganError("checkpoints and --resume are not available with --dp-epsilon (the privacy "
                              "accountant's state is not checkpointed); train in one go")
        self._run = _Run(mats=mats, G=G, D=D, ema=ema, opt_g=opt_g, opt_d=opt_d, dp=dp, batches=batches,
                         prior_t=prior_t, fm=fm, loss_kind=loss_kind, pac=pac, n_ch=n_ch, n_items=n_items,
                         ref_cov=ref_cov, epochs=epochs, sampled=sampled)
        self.d_steps = 0
        try:
            train(self, None, None, self._options().model_copy(update={"epochs": epochs}))
        finally:
            run, self._run = self._run, None
        ema, d_steps, history = run.ema, self.d_steps, self.history
        self.generator = ema.cpu().eval()
        seconds = time.perf_counter() - t0
        last = history[-1] if history else {}
        self.info = {
            "users": n, "epochs": epochs, "pretrain_epochs": cfg.pretrain_epochs if warm else 0,
            "init": "vae" if warm else ("spectral" if spectral else "none"), "spectral": start,
            "lr_g": lr_g, "outputs": outputs, "candidates": draws if outputs == "sampled" else None,
            "discriminator_steps": d_steps, "fit_seconds": round(seconds, 3),
            "loss": loss_kind, "pac": pac, "collapse_alarm": bool(last.get("collapse_alarm", 0.0)),
            "distinct_lists": last.get("distinct_lists"), "item_coverage": last.get("item_coverage"),
            "coverage_alarm": bool(last.get("coverage_alarm", 0.0)), "coverage_ratio": last.get("coverage_ratio"),
            "history": history, "training": self.info.get("training"),
        }
        if dp is not None:
            self.privacy = dp.statement()
            self.info["dp_planning_seconds"] = round(dp.planning_seconds, 3)

    # ------------------------------------------------------------------ the trainer's hooks
    def _options(self) -> TrainingOptions:
        return self.training_options or TrainingOptions()

    def modules(self) -> dict[str, nn.Module]:
        r = self._run
        out = {"generator": r.G, "critic": r.D}
        if r.ema is not r.G:
            out["ema"] = r.ema
        return out

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        out = {"g": self._run.opt_g, "d": self._run.opt_d}
        if self._run.sampled is not None:
            out.update(g_items=self._run.sampled.opt_g, d_items=self._run.sampled.opt_d)
        return out

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"d_steps": np.asarray(self.d_steps, dtype=np.int64),
                "latent_mean": self.latent_mean_.numpy(), "latent_chol": self.latent_chol_.numpy()}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        self.d_steps = int(state["d_steps"])
        self.latent_mean_ = torch.from_numpy(np.array(state["latent_mean"]))
        self.latent_chol_ = torch.from_numpy(np.array(state["latent_chol"]))

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One adversarial pass of the discriminator over the training users (generator steps every
        ``n_critic`` discriminator steps); the collapse / coverage checks every ``diag_every`` epochs."""
        r, cfg = self._run, self.config
        G, D, ema, dp, pac, batches = r.G, r.D, r.ema, r.dp, r.pac, r.batches
        mats, n_ch, n_items, dev, gen, rng = r.mats, r.n_ch, r.n_items, self.device, self.gen, self.rng
        opt_g, opt_d, loss_kind, prior_t, fm = r.opt_g, r.opt_d, r.loss_kind, r.prior_t, r.fm
        sm = r.sampled
        opts_g = [opt_g] if sm is None else [opt_g, sm.opt_g]
        opts_d = [opt_d] if sm is None else [opt_d, sm.opt_d]
        stats: dict[str, list[float]] = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}
        for rows in batches():
            rows = np.asarray(rows, dtype=np.int64)
            if pac > 1:
                rows = rows[: len(rows) - len(rows) % pac]
                if not len(rows):
                    continue
            if sm is not None:  # this step's items: candidates for the fakes, then the real batch's items
                items, log_incl, x, m_cand = self._step_items(rows, mats, sm, gen, dev)
                cand, pad = items[:m_cand], len(items) - m_cand
                D.use(items)
                fake_of = partial(self._fake_sampled, G, gen=gen, dev=dev, cand=cand, log_incl=log_incl, pad=pad)
            else:
                x = dense_batch(mats, rows).to(dev) if len(rows) else torch.zeros(0, n_ch, n_items, device=dev)
                fake_of = partial(self._fake, G, gen=gen, dev=dev)
            real = real_input(x)
            # ---- discriminator step
            _set_grad(D, True)
            with torch.no_grad():
                fake = fake_of(self.activity.sample(len(rows), rng, self.funnel)).detach()
            for o in opts_d:
                o.zero_grad(set_to_none=True)
            if dp is not None:
                loss, o_r, o_f = dp.step(D, opt_d, real, fake)
            else:
                o_r, o_f = D(real), D(fake)
                loss = d_loss(loss_kind, o_r, o_f)
                if loss_kind == "wgan-gp":
                    loss = loss + cfg.gp_weight * gradient_penalty(D, real, fake, gen)
                loss.backward()
                for o in opts_d:
                    o.step()
            self.d_steps += 1
            if len(rows):
                stats["loss_d"].append(float(loss.detach()) / (1 if dp is None else 2 * len(rows)))
                stats["d_real"].append(float(o_r.detach().mean()))
                stats["d_fake"].append(float(o_f.detach().mean()))
            # ---- generator step
            if self.d_steps % cfg.n_critic == 0:
                _set_grad(D, False)
                if dp is not None:
                    D.disable_hooks()
                m = cfg.train_batch - cfg.train_batch % pac
                aux: dict = {}
                fake = fake_of(self.activity.sample(m, rng, self.funnel), out=aux)
                lg = g_loss(loss_kind, D(fake))
                if prior_t is not None and cfg.marginal_weight > 0:
                    # sampled outputs: both distributions restricted to the candidates (conditional KL)
                    pt = prior_t if sm is None else prior_t[:, cand] / prior_t[:, cand].sum(-1, keepdim=True)
                    mean_p = torch.softmax(aux["logits"], -1).mean(0).clamp(min=1e-12)
                    kl = (pt * (pt.clamp(min=1e-12).log() - mean_p.log())).sum(-1).mean()
                    lg = lg + cfg.marginal_weight * kl
                if fm > 0:
                    with torch.no_grad():
                        fr = D.features(real)
                    ff = D.features(fake)
                    lg = lg + fm * ((fr.mean(0) - ff.mean(0)).pow(2).sum() + (fr.std(0) - ff.std(0)).pow(2).sum())
                for o in opts_g:
                    o.zero_grad(set_to_none=True)
                lg.backward()
                for o in opts_g:
                    o.step()
                if dp is not None:
                    D.enable_hooks()
                stats["loss_g"].append(float(lg.detach()))
                if ema is not G:
                    with torch.no_grad():
                        for pe, pg in zip(ema.parameters(), G.parameters(), strict=True):
                            pe.lerp_(pg, 1 - cfg.ema)
        row = {k: float(np.mean(v)) if v else float("nan") for k, v in stats.items()}
        if epoch % cfg.diag_every == 0 or epoch == r.epochs:
            row.update(self._collapse_check(ema, n_items, dev, r.ref_cov))
        return row

    def _collapse_check(self, G: ProfileDecoder, n_items: int, dev: torch.device, ref_cov: float | None,
                        n: int = 256) -> dict[str, float]:
        gen = torch.Generator().manual_seed(12345)
        sizes = self.activity.sample(n, np.random.default_rng(12345), self.funnel)
        with torch.no_grad():
            full = G(self._z(n, gen, dev), torch.from_numpy(self.activity.levels(sizes)).to(dev))
            top = torch.topk(full[:, self.activity.base], min(20, n_items), dim=1).indices.cpu().numpy()
        distinct = distinct_lists(np.sort(top, 1))
        out = {"distinct_lists": distinct, "item_coverage": item_coverage(top, n_items),
               "collapse_alarm": float(distinct < COLLAPSE_ALARM)}
        if ref_cov:  # not under DP: the reference is read from the real data
            # the n users' sampled profiles (temperature 1), cut to 20 random items each like the reference
            drawn = sample_profiles(full.float().cpu(), sizes, self.funnel, gen)[self.activity.base]
            out["sample_coverage"] = real_coverage(drawn, n=n)
            out["coverage_ratio"] = out["sample_coverage"] / ref_cov
            out["coverage_alarm"] = float(out["coverage_ratio"] < COVERAGE_ALARM)
        return out

    # ------------------------------------------------------------------ sampling and state
    def _logits(self, sizes: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        return self.generator(self._z(len(sizes), gen, torch.device("cpu")),
                              torch.from_numpy(self.activity.levels(sizes)))

    def _state(self) -> dict[str, torch.Tensor]:
        out = {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        out["generator.latent_mean"], out["generator.latent_chol"] = self.latent_mean_, self.latent_chol_
        return out

    def _set_state(self, state: dict) -> None:
        n_ch, n_items = state["generator.bias"].shape
        self._build(n_ch, n_items, skip="generator.skip.weight" in state)
        latent = ("generator.latent_mean", "generator.latent_chol")
        self.generator.load_state_dict({k[10:]: v for k, v in state.items()
                                        if k.startswith("generator.") and k not in latent})
        self.generator.eval()
        if latent[0] in state:  # folders written before the VAE warm start existed have none: identity
            self.latent_mean_, self.latent_chol_ = state[latent[0]].float(), state[latent[1]].float()


def _set_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def _shuffled_batches(n: int, batch: int, rng: np.random.Generator):
    batch = max(1, batch)

    def epoch():
        perm = rng.permutation(n)
        for lo in range(0, n - batch + 1 if n >= batch else 1, batch):
            yield perm[lo : lo + batch]

    return epoch
