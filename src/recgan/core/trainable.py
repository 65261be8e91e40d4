"""What the one trainer (:mod:`recgan.core.trainer`) drives: anything trained by epochs with torch.

Both families use it: torch recommenders (:class:`recgan.models.torch_base.TorchRecommender`) and the GAN / VAE
synthesizers. A trainable keeps its own random generators (``gen`` for torch, ``rng`` for numpy), builds its
networks and optimisers before training, and runs one epoch at a time; the trainer does the rest (early
stopping, checkpoints, bit-exact resume, tracking, progress).

Subclasses implement ``modules()`` -> dict of ``nn.Module``, ``optimizers()`` -> dict of optimisers (both
checkpointed), ``train_epoch(epoch)`` -> dict of floats, and optionally ``epoch_diagnostics()`` (alarms, at
evaluations), ``_extra_state()`` / ``_set_extra_state()`` (non-module arrays that a checkpoint must carry).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from recgan.core.config import Config, TorchRunConfig
from recgan.core.runtime import autocast, resolve_device, seed_everything


class EpochConfig(TorchRunConfig):
    """Settings of everything the trainer drives by epochs (validation settings matter only with a carve)."""

    patience: int = Field(10, ge=0)
    """Early stopping: evaluations without a validation gain before training stops (0 = never stop)."""
    eval_every: int = Field(1, ge=1)
    """Epochs between validation evaluations."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """"fp32", or "bf16" for bfloat16 autocast of training and scoring on CUDA (ignored on CPU)."""


class TorchTrainable:
    """Mixin: device, random generators, history, shuffled batches, precision and module state."""

    config: Config
    name: str
    info: dict[str, Any]
    start_is_a_model: bool = False
    """True when the untrained model (after building) is already a sensible recommender (e.g. one started at
    EASE's solution): the trainer then scores it on validation as "epoch 0" and early stopping may keep it."""

    def _init_runtime(self) -> None:
        self.device = resolve_device(getattr(self.config, "device", "cpu"))
        self.history: list[dict[str, Any]] = []
        self.gen = torch.Generator()  # CPU generator: sampling is reproducible on any device
        self.rng = np.random.default_rng(self.config.seed)
        self.rank, self.world = 0, 1  # set by the trainer under torch.distributed

    def _reseed(self) -> None:
        """Reset every generator from the config's seed (start of a fit)."""
        seed_everything(self.config.seed)
        self.gen.manual_seed(self.config.seed)
        self.rng = np.random.default_rng(self.config.seed)

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
        return autocast(getattr(self.config, "precision", "fp32"), self.device)

    # ---------------------------------------------------------------- hooks
    def modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    def epoch_diagnostics(self) -> dict[str, float]:
        return {}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    def set_train_mode(self, flag: bool) -> None:
        for m in self.modules().values():
            m.train(flag)

    # ---------------------------------------------------------------- state
    def module_state(self) -> dict[str, Any]:
        """Every module's weights as ``"{module}.{param}"`` plus ``extra.*`` arrays (what a folder stores)."""
        out = {}
        for name, mod in self.modules().items():
            for k, v in mod.state_dict().items():
                out[f"{name}.{k}"] = v
        for k, v in self._extra_state().items():
            out[f"extra.{k}"] = torch.as_tensor(np.asarray(v))
        return out

    def load_module_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`module_state` into already built modules (moved to this run's device)."""
        for name, mod in self.modules().items():
            sub = {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")}
            mod.load_state_dict(sub)
            mod.to(self.device)
        extra = {k[6:]: np.asarray(v) for k, v in state.items() if k.startswith("extra.")}
        self._set_extra_state(extra)
        self.set_train_mode(False)
