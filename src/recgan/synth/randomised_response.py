"""The non-GAN DP control: randomised response on each user's profile (a randomised-response release of the
user-item matrix, in the spirit of LHIDER), at the same epsilon as the private GAN it is compared with.

Mechanism (user level, reads the data once, nothing else touches real users):

1. contribution bounding: each user's profile (its (behaviour, item) pairs) is cut to at most ``max_items``
   = c pairs chosen uniformly at random;
2. randomised response in optimised unary encoding (Wang et al. 2017) on the bounded profile: every pair the
   user holds is reported with probability p = 1/2, every other pair with q = 1 / (e^(epsilon / c) + 1).

Two bounded profiles differ by at most c pairs added and c removed, and each added/removed pair moves the
probability of any report by at most e^(epsilon / c) jointly, so the report of one user is epsilon-local DP
for the user's *whole* profile (delta = 0); a fortiori the release of all reports is epsilon-DP when one user
is replaced by another (the replace-one notion; the GAN's DP-SGD accounting is add/remove, and replacing is
at most one removal plus one addition). What is released: the reports (bit-packed), and everything computed
from them (post-processing): the item prior (the debiased report frequencies), the profile sizes (the
debiased mean report size per behaviour) and the synthetic users, each drawn from one report's posterior
(Gumbel-top-k over log posterior odds given its bits and the prior). Public: the catalogue, the behaviour
names, the number of users, every hyper-parameter.

It is a *control*: at user-level epsilon 1-10 with c pairs, the per-pair budget epsilon / c leaves every
report mostly noise; what survives is roughly the popularity prior. The report puts it beside the private GAN
so it says whether the GAN earns its place under DP.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field

from recgan.core.memory import check_fits
from recgan.data.interactions import Interactions
from recgan.data.splits import within_row_rank
from recgan.errors import RecganError
from recgan.synth.base import SynthConfig, Synthesizer, register
from recgan.synth.sampler import ActivityModel


class RandomisedResponseConfig(SynthConfig):
    dp_epsilon: float | None = Field(None, gt=0)
    """User-level epsilon of the release (required; > 0)."""
    dp_delta: float = Field(0.0, ge=0, lt=1)
    """The mechanism is pure (delta 0); a delta given for symmetry with the GAN must stay below 1 / users."""
    max_items: int = Field(16, ge=1)
    """Contribution bound c: (behaviour, item) pairs of a user that enter the randomised response."""
    chunk: int = Field(1024, ge=1)
    """Users randomised at once (memory O(chunk x behaviours x items))."""


def response_probabilities(epsilon: float, max_items: int) -> tuple[float, float]:
    """(p, q) of optimised unary encoding at per-pair budget epsilon / max_items."""
    return 0.5, 1.0 / (math.exp(epsilon / max_items) + 1.0)


def bound_profiles(X: sp.csr_matrix, c: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Each row cut to at most ``c`` of its entries, chosen uniformly at random (vectorised)."""
    X = sp.csr_matrix(X)
    row = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    keep = within_row_rank(X, rng) < c
    return sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (row[keep], X.indices[keep])), shape=X.shape)


def randomise(X: sp.csr_matrix, p: float, q: float, rng: np.random.Generator, chunk: int = 1024) -> np.ndarray:
    """Unary-encoding randomised response of binary CSR ``X`` (n, cols): bits set w.p. ``p`` where X is 1, ``q``
    where 0; returned bit-packed along the columns, uint8 (n, ceil(cols / 8))."""
    n, cols = X.shape
    out = np.zeros((n, (cols + 7) // 8), np.uint8)
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        u = rng.random((hi - lo, cols))
        x = X[lo:hi].toarray() > 0
        out[lo:hi] = np.packbits(np.where(x, u < p, u < q), axis=1)
    return out


@register
class RandomisedResponseSynthesizer(Synthesizer):
    """Randomised response on bounded profiles (see the module docstring): the non-GAN DP control."""

    name = "randomised-response"
    calibrates_temperature = False  # a private release: no choice may read the real data
    config_class = RandomisedResponseConfig

    def _private(self) -> bool:
        return True

    def fit(self, data: Interactions, options=None) -> RandomisedResponseSynthesizer:
        """Check epsilon and delta against the data before anything is randomised, then fit."""
        cfg = self.config
        if cfg.dp_epsilon is None:
            raise RecganError("randomised-response needs dp_epsilon (the user-level epsilon, > 0)")
        active = np.zeros(data.n_users, bool)
        for m in data.matrices.values():
            active |= np.diff(sp.csr_matrix(m).indptr) > 0
        n = int(active.sum())
        if n and cfg.dp_delta >= 1.0 / n:
            raise RecganError(f"dp_delta {cfg.dp_delta} >= 1 / users ({1 / n:.3g}): a delta that large allows "
                              "releasing a user outright; use delta < 1 / users (the mechanism itself spends 0)")
        return super().fit(data, options)

    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, 71])
        n, n_ch, n_items = counts.shape[0], len(mats), mats[0].shape[1]
        X = sp.hstack([sp.csr_matrix(m) for m in mats], format="csr")
        X.data[:] = 1.0
        p, q = response_probabilities(cfg.dp_epsilon, cfg.max_items)
        cols = X.shape[1]  # the packed reports (kept and saved) + one chunk's uniforms (float64) and dense rows
        check_fits(n * ((cols + 7) // 8) + min(cfg.chunk, n) * cols * 10,
                   f"randomised-response over {n} users x {cols} (behaviour, item) columns",
                   "lower --param chunk= (rows randomised at once), or release fewer users or behaviours")
        bits = randomise(bound_profiles(X, cfg.max_items, rng), p, q, rng, cfg.chunk)
        # ---- post-processing of the reports only
        freq = np.zeros(X.shape[1])
        for lo in range(0, n, cfg.chunk):
            freq += np.unpackbits(bits[lo : lo + cfg.chunk], axis=1, count=X.shape[1]).sum(0)
        freq /= n
        prior = np.clip((freq - q) / (p - q), 1e-6, 1 - 1e-6)  # debiased share of users holding the pair
        est = np.clip((freq.reshape(n_ch, n_items).sum(1) - n_items * q) / (p - q), 0.0, None)  # debiased sizes
        est = est * min(1.0, cfg.max_items / max(est.sum(), 1e-12))  # a bounded profile holds <= c pairs in all
        sizes = np.round(est).astype(np.int64)
        if sizes.sum() == 0:
            sizes[0] = 1
        base = int(np.argmax(sizes))
        self.activity = ActivityModel.fit(np.tile(sizes, (2, 1)), n_items, base)
        self.bits_ = torch.from_numpy(bits)
        self.log_prior_ = torch.from_numpy(np.log(prior / (1 - prior)).astype(np.float32).reshape(n_ch, n_items))
        self.pq_ = torch.tensor([p, q], dtype=torch.float64)
        self.privacy = {
            "dp": True, "unit": "user", "epsilon": float(cfg.dp_epsilon), "delta": 0.0,
            "target_epsilon": float(cfg.dp_epsilon),
            "mechanism": f"randomised response (optimised unary encoding) on each user's profile cut to "
                         f"{cfg.max_items} (behaviour, item) pairs; per-pair epsilon {cfg.dp_epsilon / cfg.max_items:.4g}",
            "notion": "epsilon-local DP per user (whole profile); epsilon-DP under replacement of one user",
            "p": p, "q": q, "max_items": cfg.max_items, "accountant": "closed form (pure DP)",
            "released": "randomised reports (bit-packed) and what is computed from them",
            "public": "item catalogue, behaviour names, number of training users, hyper-parameters",
        }
        self.info = {"users": n, "sizes": sizes.tolist(), "report_pairs_mean": float(freq.sum())}

    def _logits(self, sizes: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        n_ch, n_items = self.log_prior_.shape
        rows = torch.randint(0, self.bits_.shape[0], (len(sizes),), generator=gen).numpy()
        y = np.unpackbits(self.bits_.numpy()[rows], axis=1, count=n_ch * n_items).astype(bool)
        p, q = (float(v) for v in self.pq_)
        on, off = math.log(p / q), math.log((1 - p) / (1 - q))
        lo = torch.from_numpy(np.where(y, on, off).astype(np.float32)).view(len(sizes), n_ch, n_items)
        return lo + self.log_prior_[None]

    def _state(self) -> dict[str, torch.Tensor]:
        return {"bits": self.bits_, "log_prior": self.log_prior_, "pq": self.pq_}

    def _set_state(self, state: dict) -> None:
        self.bits_ = torch.as_tensor(state["bits"], dtype=torch.uint8)
        self.log_prior_ = torch.as_tensor(state["log_prior"], dtype=torch.float32)
        self.pq_ = torch.as_tensor(state["pq"], dtype=torch.float64)
