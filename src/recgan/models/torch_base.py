"""Base of every PyTorch recommender (CFGAN, BPR-MF, APR, IRGAN, MultVAE, ...).

A torch model builds its networks and optimisers in ``_build`` and trains one epoch at a time in
``train_epoch``; *how* epochs are run (early stopping on validation, checkpoints, resume, diagnostics,
progress, tracking) is the one trainer's job (:mod:`recgan.core.trainer`), with the options passed to
:meth:`Recommender.fit` as a typed :class:`~recgan.core.trainer.TrainingOptions`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from recgan.core.config import Config
from recgan.core.runtime import bf16_autocast, csr_to_dense, resolve_device, seed_everything
from recgan.core.trainable import EpochConfig, TorchTrainable
from recgan.core.trainer import train
from recgan.data.interactions import Interactions
from recgan.models.base import Recommender

__all__ = ["TorchConfig", "TorchRecommender", "bf16_autocast", "csr_to_dense", "resolve_device", "seed_everything"]


class TorchConfig(EpochConfig):
    epochs: int = Field(100, ge=1)
    """Maximum training epochs."""
    batch_size: int = Field(256, ge=1)
    """Rows (users / items / pairs) per optimisation step."""
    lr: float = Field(1e-3, ge=0)
    """Adam learning rate."""


class TorchRecommender(TorchTrainable, Recommender):
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
        self._init_runtime()

    # ---------------------------------------------------------------- hooks
    def _build(self, data: Interactions) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- fit
    def _fit(self, data: Interactions, valid: Interactions | None) -> None:
        self._reseed()
        self._build(data)
        train(self, data, valid, self.training_options)

    # ---------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        return self.module_state()

    def _set_state(self, state: dict[str, Any]) -> None:
        self._build(self._check_fitted())
        self.load_module_state(state)
