"""CFGAN as a densifier (the GAN strategy): user-mode CFGAN's top unseen items per sparse user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recgan.augment.densifiers.base import Densifier, register_densifier

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions


@register_densifier
class CFGANDensifier(Densifier):
    """CFGAN's top unseen items (user mode, early-stopped on the carve; the GAN strategy; --generator-param sets its parameters)."""

    name = "cfgan"
    cost = 5
    takes_params = True
    refit_on_full = False  # trained on the carve's train part, folds in each user's full history

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu",
            checkpoint_dir: str | None = None) -> Any:
        from recgan.augment.core import fit_densifier

        return fit_densifier("cfgan", train, seed, params=params, valid=valid, device=device,
                             checkpoint_dir=checkpoint_dir)
