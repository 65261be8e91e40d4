"""MostPopular as a densifier: each sparse user's most popular unseen items (a popularity prior)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recgan.augment.densifiers.base import Densifier, register_densifier

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions


@register_densifier
class PopDensifier(Densifier):
    """MostPopular's top unseen items (a popularity prior; best with ~2 interactions per user)."""

    name = "pop"
    cost = 1

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu") -> Any:
        from recgan.augment.core import fit_baseline_densifier

        return fit_baseline_densifier("pop", train, l2)
