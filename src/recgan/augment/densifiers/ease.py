"""EASE as a densifier ("EASE-top"): EASE densifies its own training data with its top unseen items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recgan.augment.densifiers.base import Densifier, register_densifier

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions


@register_densifier
class EASEDensifier(Densifier):
    """EASE's own top unseen items (EASE-top, at the l2 tuned on the carve)."""

    name = "ease"
    cost = 3

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu") -> Any:
        from recgan.augment.core import fit_baseline_densifier

        return fit_baseline_densifier("ease", train, l2)
