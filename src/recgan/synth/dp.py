"""User-level differential privacy for the behaviour GAN, with Opacus.

What is private: every release computed from the real users.

* the discriminator's training (DP-SGD: one example = one user's whole profile over every behaviour, Poisson
  sampling with rate q = batch / users, per-example gradient clipping to ``max_grad_norm``, Gaussian noise
  of ``noise_multiplier x max_grad_norm``); the generator only ever sees the discriminator's (private)
  weights, so it is post-processing;
* the activity histograms (one cell per user and channel -> L2 sensitivity sqrt(channels));
* the popularity prior (each user's profile scaled to L2 norm 1 -> L2 sensitivity 1);
* with the spectral start (the default), the co-occurrence matrix of unit-norm profiles over the most popular
  items (L2 sensitivity 1, :mod:`recgan.synth.spectral`).

All are composed in Opacus' RDP accountant (each Gaussian release is one step at sample rate 1);
the DP-SGD noise multiplier is the smallest that keeps the composed epsilon at or below the target for the
planned number of steps. What is assumed public: the item catalogue (ids), the behaviour names, the number
of training users (it sets q), and every hyper-parameter.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from recgan.errors import RecganError

ALPHAS = [1.05, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0,
          128.0, 256.0]
"""RDP orders searched by the accountant (few fractional ones: those are slow to evaluate; any set of orders
gives a valid bound, a richer one only a slightly tighter epsilon)."""


def _epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    with warnings.catch_warnings():  # "optimal order is the smallest alpha": the bound stays valid, only looser
        warnings.simplefilter("ignore")
        return _accountant(history).get_epsilon(delta, alphas=ALPHAS)


def _require_opacus() -> None:
    try:
        import opacus  # noqa: F401
    except ImportError:
        raise RecganError("differential privacy needs Opacus: pip install 'recgan[privacy]'") from None


def _accountant(history: list[tuple[float, float, int]]):
    _require_opacus()
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = list(history)
    return acc


def composed_epsilon(sigma: float, q: float, steps: int, aux_sigmas: list[float], delta: float) -> float:
    """Epsilon of ``steps`` DP-SGD steps (noise ``sigma``, rate ``q``) composed with one Gaussian release per
    entry of ``aux_sigmas`` (sample rate 1), at ``delta``, by the RDP accountant."""
    return _epsilon([(sigma, q, steps)] + [(s, 1.0, 1) for s in aux_sigmas], delta)


def noise_for_epsilon(epsilon: float, delta: float, q: float, steps: int, aux_sigmas: list[float]) -> float:
    """Smallest DP-SGD noise multiplier (to 1 %) whose composed epsilon is <= ``epsilon``."""
    if composed_epsilon(1e4, q, steps, aux_sigmas, delta) > epsilon:
        raise RecganError(
            f"epsilon {epsilon} is too small: the activity histograms and popularity prior alone spend more "
            f"(raise dp_aux_sigma or epsilon)")
    lo, hi = 0.1, 1e4
    if composed_epsilon(lo, q, steps, aux_sigmas, delta) <= epsilon:
        return lo
    while hi / lo > 1.01:
        mid = math.sqrt(lo * hi)
        if composed_epsilon(mid, q, steps, aux_sigmas, delta) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def release_sigma_for_epsilon(epsilon: float, delta: float, aux_sigmas: list[float]) -> float:
    """Smallest noise multiplier (to 1 %) of one more Gaussian release (sensitivity 1, sample rate 1) whose
    composition with the ``aux_sigmas`` releases keeps epsilon <= ``epsilon`` at ``delta`` (no DP-SGD step):
    the spectral start's noise when it spends the whole budget the auxiliary releases leave. A function of
    (epsilon, delta, aux_sigmas) only, never of the data."""
    if composed_epsilon(1e4, 1.0, 0, aux_sigmas + [1e4], delta) > epsilon:
        raise RecganError(
            f"epsilon {epsilon} is too small: the activity histograms and popularity prior alone spend more "
            f"(raise dp_aux_sigma or epsilon)")
    lo, hi = 0.05, 1e4
    if composed_epsilon(1e4, 1.0, 0, aux_sigmas + [lo], delta) <= epsilon:
        return lo
    while hi / lo > 1.01:
        mid = math.sqrt(lo * hi)
        if composed_epsilon(1e4, 1.0, 0, aux_sigmas + [mid], delta) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def private_log_popularity(mats: list[sp.csr_matrix], sigma: float, rng: np.random.Generator,
                           smoothing: float = 1.0) -> np.ndarray:
    """(channels, items) log item frequencies released with the Gaussian mechanism: each user's profile
    over all channels is scaled to L2 norm 1 (sensitivity 1), the column sums get N(0, sigma^2) noise."""
    total = sum(np.diff(m.indptr) for m in mats).astype(np.float64)
    scale = sp.diags(1.0 / np.sqrt(np.maximum(total, 1.0)))
    pop = np.stack([np.asarray((scale @ m).sum(0)).ravel() for m in mats])
    pop = np.clip(pop + rng.normal(0.0, sigma, pop.shape), 0.0, None) + smoothing
    return np.log(pop / pop.sum(1, keepdims=True)).astype(np.float32)


def check_budget(epsilon: float, delta: float, n_users: int) -> None:
    """One-line errors for a budget no accounting should accept: epsilon <= 0 (or not finite), delta outside
    (0, 1), or delta >= 1 / users (such a delta allows releasing a random user's data outright)."""
    if not (math.isfinite(epsilon) and epsilon > 0) or not 0 < delta < 1:
        raise RecganError(f"need epsilon > 0 and 0 < delta < 1, got epsilon={epsilon}, delta={delta}")
    if delta >= 1.0 / max(n_users, 1):
        raise RecganError(f"delta {delta:g} must be below 1 / training users = {1 / max(n_users, 1):.3g} (a delta "
                          "that large allows releasing one user's data outright); use a smaller --dp-delta")


def accounting_line(statement: dict) -> str:
    """One line of a DP statement's accounting: each release's noise multiplier, the total epsilon, delta."""
    rel = statement.get("releases") or []
    parts = [f"{r['release']} sigma {r['noise_multiplier']:.3g}"
             + (f" x {r['steps']} steps at rate {r['sample_rate']:.3g}" if r.get("steps") else "") for r in rel]
    return (f"epsilon {statement['epsilon']:.3g} spent of {statement.get('target_epsilon', statement['epsilon']):.3g}"
            f" at delta {statement['delta']:.3g} ({statement.get('accountant', 'rdp')})"
            + (": " + ", ".join(parts) if parts else ""))


class DPDiscriminator:
    """Plans and runs DP-SGD for one discriminator with Opacus.

    ``make_private(D, opt)`` returns the wrapped module, the DP optimizer and a function yielding one epoch
    of Poisson-sampled user-index batches; ``statement()`` the (epsilon, delta) actually spent.
    """

    def __init__(self, *, n_users: int, batch: int, epochs: int, epsilon: float, delta: float,
                 max_grad_norm: float, aux_sigmas: list[float], aux_names: list[str] | None = None) -> None:
        check_budget(epsilon, delta, n_users)
        self.n_users, self.epsilon, self.delta = n_users, float(epsilon), float(delta)
        self.max_grad_norm, self.aux_sigmas = float(max_grad_norm), list(aux_sigmas)
        self.aux_names = list(aux_names) if aux_names is not None else [f"release {i + 1}" for i in range(len(aux_sigmas))]
        # Opacus' Poisson loader runs len(loader) = ceil(users / batch) steps per epoch at rate 1 / len(loader)
        self.batch = max(1, min(batch, n_users))
        self.steps_per_epoch = math.ceil(n_users / self.batch)
        self.q = 1.0 / self.steps_per_epoch
        self.steps = epochs * self.steps_per_epoch
        t0 = time.perf_counter()
        self.noise_multiplier = noise_for_epsilon(self.epsilon, self.delta, self.q, self.steps, self.aux_sigmas)
        self.planning_seconds = time.perf_counter() - t0
        self.engine = None

    def make_private(self, D: nn.Module, opt: torch.optim.Optimizer):
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        loader = DataLoader(TensorDataset(torch.arange(self.n_users)), batch_size=self.batch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # secure-RNG advice: the threat model is documented instead
            self.engine = PrivacyEngine(accountant="rdp")
            D, opt, loader = self.engine.make_private(
                module=D, optimizer=opt, data_loader=loader, noise_multiplier=self.noise_multiplier,
                max_grad_norm=self.max_grad_norm, poisson_sampling=True, loss_reduction="sum",
            )

        def batches():
            for (idx,) in loader:
                yield idx.numpy()

        if abs(loader.sample_rate - self.q) > 1e-12:  # the plan and Opacus must agree on q
            raise RuntimeError(f"Opacus samples at {loader.sample_rate}, planned {self.q}")
        return D, opt, batches

    @staticmethod
    def step(D, opt, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One DP-SGD step of the discriminator (non-saturating loss, per-example terms summed).

        Only the real users' terms go through Opacus (per-user gradients, clipped, noised, accounted); the
        fake profiles carry no private data, so their gradient is computed without per-example work and
        added to the privatised gradient before the update."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Opacus' full backward hooks on inputs without grad
            o_r = D(real)
            loss_r = torch.nn.functional.softplus(-o_r).sum()
            loss_r.backward()
        params = [p for p in D.parameters() if p.requires_grad]
        D.disable_hooks()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                o_f = D(fake)
                loss_f = torch.nn.functional.softplus(o_f).sum()
                g_fake = torch.autograd.grad(loss_f, params, allow_unused=True)
        finally:
            D.enable_hooks()
        if opt.pre_step():  # clip, noise, account
            for p, g in zip(params, g_fake, strict=True):
                if g is not None:
                    p.grad = p.grad + g
            opt.original_optimizer.step()
        return (loss_r + loss_f).detach(), o_r, o_f

    def spent(self) -> float:
        hist = list(self.engine.accountant.history) if self.engine else []
        return _epsilon(hist + [(s, 1.0, 1) for s in self.aux_sigmas], self.delta)

    def statement(self) -> dict:
        releases = [{"release": n, "noise_multiplier": round(float(s), 4), "sensitivity": 1.0}
                    for n, s in zip(self.aux_names, self.aux_sigmas, strict=True)]
        if self.steps:
            releases.append({"release": "discriminator (DP-SGD)", "noise_multiplier": round(self.noise_multiplier, 4),
                             "sample_rate": self.q, "steps": self.steps, "max_grad_norm": self.max_grad_norm})
        return {
            "dp": True, "unit": "user", "epsilon": round(self.spent(), 4), "delta": self.delta,
            "target_epsilon": self.epsilon,
            "noise_multiplier": round(self.noise_multiplier, 4) if self.steps else None,  # no DP-SGD step: none
            "sample_rate": self.q, "steps": self.steps, "max_grad_norm": self.max_grad_norm,
            "aux_releases_sigma": self.aux_sigmas, "releases": releases, "accountant": "rdp (opacus)",
            "released": "generator weights, activity histograms (noised)",
            "public": "item catalogue, behaviour names, number of training users, hyper-parameters",
        }
