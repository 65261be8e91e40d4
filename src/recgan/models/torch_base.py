"""Base of every PyTorch recommender (CFGAN, BPR-MF, APR, IRGAN, MultVAE, ...).

A torch model builds its networks and optimisers in ``_build`` and trains one epoch at a time in
``train_epoch``; *how* epochs are run (early stopping on validation, checkpoints, resume, diagnostics,
progress) is the training layer's job: :class:`recgan.training.Trainer`, installed as the default
driver when :mod:`recgan` is imported (dependency inversion: this module never imports the training layer).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models.base import Config, Recommender

_DEFAULT_DRIVER: list[Callable[..., Any] | None] = [None]


def set_default_driver(driver: Callable[..., Any]) -> None:
    """Install the function that runs epochs: ``driver(model, data, valid) -> None``."""
    _DEFAULT_DRIVER[0] = driver


@dataclass
class TorchConfig(Config):
    epochs: int = 100
    """Maximum training epochs."""
    batch_size: int = 256
    """Rows (users / items / pairs) per optimisation step."""
    lr: float = 1e-3
    """Adam learning rate."""
    patience: int = 10
    """Early stopping: evaluations without a validation gain before training stops (0 = never stop)."""
    eval_every: int = 1
    """Epochs between validation evaluations."""
    device: str = "cpu"
    """Torch device: "cpu", "cuda", "cuda:1", or "auto" (cuda when present)."""
    precision: str = "fp32"
    """"fp32", or "bf16" for bfloat16 autocast of training and scoring on CUDA (ignored on CPU)."""


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch global generators (models also keep their own generators)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RecganError(f"device {name!r} requested but CUDA is not available")
    return dev


def bf16_autocast(device_type: str) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for a whole training epoch (many optimiser steps inside one context), with autocast's
    weight-cast cache off: with the cache on, the bf16 copy of each weight made at the epoch's first forward
    is reused until the context is left, so every later step of the epoch would run on stale weights and the
    model would not learn (measured: CFGAN on ml-100k-p1 stayed at NDCG@10 0.004 against 0.204 in fp32)."""
    return torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=False)


def csr_to_dense(m: sp.csr_matrix, device: torch.device) -> torch.Tensor:
    """Densify a CSR batch (n, n_items) on ``device`` as float32. Memory O(n x n_items) for one batch only."""
    # scipy's toarray is ~100x faster than building a torch sparse CSR tensor and densifying it
    return torch.from_numpy(sp.csr_matrix(m, dtype=np.float32).toarray()).to(device)


class TorchRecommender(Recommender):
    """A recommender trained by epochs with torch. Subclasses implement:

    * ``_build(data)``: networks, optimisers; called once before training (and on load, before weights);
    * ``modules()`` -> dict of ``nn.Module``; ``optimizers()`` -> dict of optimisers (checkpointed);
    * ``train_epoch(epoch)`` -> dict of floats (losses, diagnostics) for one epoch;
    * ``_score(users)`` / optional ``_score_history(H)``;
    * optional ``epoch_diagnostics()`` -> dict (e.g. copying / collapse alarms), called at evaluations.
    """

    config_class = TorchConfig
    stochastic = True

    def __init__(self, config: Config | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self.device = resolve_device(self.config.device)
        self.history: list[dict[str, Any]] = []
        self.driver_options: dict[str, Any] = {}
        self.gen = torch.Generator()  # CPU generator: sampling is reproducible on any device
        self.rng = np.random.default_rng(self.config.seed)
        self.rank, self.world = 0, 1  # set by the training layer under torch.distributed

    @property
    def start_is_a_model(self) -> bool:
        """True when the untrained model (after ``_build``) is already a sensible recommender, e.g. one started
        at EASE's solution: the trainer then scores it on validation as "epoch 0" and early stopping may keep
        it. False by default (a random start)."""
        return False

    def batches(self, n: int, size: int) -> Iterator[torch.Tensor]:
        """Shuffled row batches for one pass over ``n`` rows (int64 tensors of row indices).

        Under torch.distributed every rank draws the same permutation (same generator state) and takes its
        own shard, padded by wrap-around so that all ranks run the same number of steps; the per-rank batch
        is ``size // world`` so the global batch stays ``size``.
        """
        perm = torch.randperm(n, generator=self.gen)
        if self.world > 1:
            per = -(-n // self.world)
            perm = torch.cat([perm, perm[: per * self.world - n]])[self.rank :: self.world]
            size = max(1, size // self.world)
        return (perm[i : i + size] for i in range(0, len(perm), size))

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when ``precision == "bf16"``, else a no-op context."""
        if self.config.precision == "bf16" and self.device.type == "cuda":
            return bf16_autocast("cuda")
        return contextlib.nullcontext()

    # ---------------------------------------------------------------- hooks
    def _build(self, data: Interactions) -> None:
        raise NotImplementedError

    def modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    def epoch_diagnostics(self) -> dict[str, float]:
        return {}

    # ---------------------------------------------------------------- fit
    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        seed_everything(self.config.seed)
        self.gen.manual_seed(self.config.seed)
        self.rng = np.random.default_rng(self.config.seed)
        self._build(data)
        driver = _DEFAULT_DRIVER[0]
        if driver is None:  # pragma: no cover - recgan/__init__ installs the Trainer
            raise RecganError("no training driver installed; import recgan first")
        driver(self, data, valid, **self.driver_options)

    def set_train_mode(self, flag: bool) -> None:
        for m in self.modules().values():
            m.train(flag)

    # ---------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        out = {}
        for name, mod in self.modules().items():
            for k, v in mod.state_dict().items():
                out[f"{name}.{k}"] = v
        for k, v in self._extra_state().items():
            out[f"extra.{k}"] = torch.as_tensor(np.asarray(v))
        return out

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    def _set_state(self, state: dict[str, Any]) -> None:
        self._build(self._check_fitted())
        for name, mod in self.modules().items():
            sub = {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")}
            mod.load_state_dict(sub)
            mod.to(self.device)
        extra = {k[6:]: np.asarray(v) for k, v in state.items() if k.startswith("extra.")}
        self._set_extra_state(extra)
        self.set_train_mode(False)
