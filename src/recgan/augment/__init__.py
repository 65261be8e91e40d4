"""GAN data augmentation with honest controls (``recgan augment``).

* :mod:`recgan.augment.core`: densify / add-users / controls / scarcity transforms, volume selection;
* :mod:`recgan.augment.pipeline`: :func:`augment_log`, the API behind ``recgan augment`` (``generator="auto"``:
  the densifier, volume and weight chosen on a validation carve, or no augmentation);
* :mod:`recgan.augment.densifiers`: the densifier registry (one module per densifier);
* :mod:`recgan.augment.downstream`: the downstream models trained on an augmented log and their budgets.

The dataset x scarcity x seed x strategy x model grid and its report are the repository's benchmark harness
(benchmarks/harness/augment_grid.py, augment_report.py), not part of the package.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    **dict.fromkeys(("Augmented", "add_users", "cold_items", "densify", "fit_densifier", "keep_per_user",
                     "no_augmentation", "scarcity"), "recgan.augment.core"),
    **dict.fromkeys(("AugmentResult", "augment_log"), "recgan.augment.pipeline"),
    **dict.fromkeys(("Densifier", "densifier_names", "get_densifier", "register_densifier"),
                    "recgan.augment.densifiers"),
}
"""Public names, imported on first use so that reading the densifier registry (the CLI's ``--help``) does
not load the models and torch."""

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
