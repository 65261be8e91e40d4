"""The independent baseline: item popularity x user activity.

Every synthetic user draws its sizes from the activity model and then its items, per behaviour, without
replacement from the real item popularity of that behaviour (a funnel child inside its parent's items). It
keeps marginals (popularity, activity) and nothing else: no taste, no co-occurrence. A generator that
cannot beat it on utility and co-occurrence has learnt nothing about users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field

from recgan.synth.base import SynthConfig, Synthesizer, log_popularity, register


class IndependentConfig(SynthConfig):
    smoothing: float = Field(0.0, ge=0)
    """Added to every item's count before normalising (0: never-seen items are never drawn)."""


@register
class IndependentSampler(Synthesizer):
    """Independent baseline: item popularity x user activity, no item-item structure."""

    name = "independent"
    calibrates_temperature = False  # draws from fixed marginals: nothing to sharpen
    config_class = IndependentConfig

    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        self._fit_activity(counts)
        smoothing = self.config.smoothing if self.config.smoothing > 0 else 1e-30
        self.log_pop_ = torch.from_numpy(log_popularity(mats, smoothing))
        self.info = {"users": int(counts.shape[0])}

    def _logits(self, sizes: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        return self.log_pop_[None].expand(len(sizes), -1, -1)

    def _state(self) -> dict[str, torch.Tensor]:
        return {"log_pop": self.log_pop_}

    def _set_state(self, state: dict) -> None:
        self.log_pop_ = torch.as_tensor(state["log_pop"], dtype=torch.float32)
