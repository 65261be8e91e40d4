"""ItemKNN as a densifier: each sparse user's ItemKNN-top unseen items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recgan.augment.densifiers.base import Densifier, register_densifier

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions


@register_densifier
class ItemKNNDensifier(Densifier):
    """ItemKNN's top unseen items (default settings)."""

    name = "itemknn"
    cost = 2

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu") -> Any:
        from recgan.augment.core import fit_baseline_densifier

        return fit_baseline_densifier("itemknn", train, l2)
