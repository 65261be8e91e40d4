"""The behaviour synthesizer as a densifier of the add-users kind: it samples new users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recgan.augment.densifiers.base import Densifier, register_densifier

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions


@register_densifier
class SynthDensifier(Densifier):
    """Synthetic users sampled by the behaviour synthesizer (add-users; --synth-param sets its parameters)."""

    name = "synth"
    cost = 4
    strategy = "add-users"
    takes_params = True
    refit_on_full = False  # trained on the carve's train part; samples users from the catalogue it learnt

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu",
            checkpoint_dir: str | None = None) -> Any:
        from recgan.augment.core import fit_synthesizer

        return fit_synthesizer(train, seed, params, checkpoint_dir=checkpoint_dir)
