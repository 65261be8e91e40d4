"""Downstream models trained on an augmented log (``recgan augment --downstream``): which models, and with what
fixed budget, so that every strategy (no augmentation, a control, a GAN) trains its downstream model alike."""

from __future__ import annotations

from typing import Any

from recgan.core.trainer import TrainingOptions
from recgan.models.base import Recommender, get_model_class

DOWNSTREAM = ("ease", "itemknn", "rp3beta", "bpr", "multvae")
"""Downstream models of ``recgan augment --downstream`` (and of the repository's augmentation benchmark)."""

FIXED_EPOCHS: dict[str, dict[str, int]] = {"bpr": {"epochs": 20, "patience": 0},
                                           "multvae": {"epochs": 30, "patience": 0}}
"""Torch downstream models run a fixed, small epoch budget (no early stopping: a carve of an augmented log
would put generated items into validation); the same budget for every strategy."""


def downstream_model(name: str, l2: float, seed: int, device: str) -> Recommender:
    """An unfitted downstream model: EASE with the given ``l2``, the torch models with :data:`FIXED_EPOCHS`
    on ``device`` (seeded, no progress bar), any other registry model with its defaults."""
    params: dict[str, Any] = {}
    if name == "ease":
        params = {"l2": l2}
    elif name in FIXED_EPOCHS:
        params = {**FIXED_EPOCHS[name], "seed": seed, "device": device}
    model = get_model_class(name)(**params)
    if name in FIXED_EPOCHS:
        model.training_options = TrainingOptions(progress=False)
    return model
