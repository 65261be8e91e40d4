"""Densifiers for :func:`recgan.augment.augment_log` and ``recgan augment --generator NAME``.

Adding a densifier = one module in this package with a :class:`Densifier` subclass decorated with
:func:`register_densifier`, plus its test: the CLI's ``--generator`` choices and help, ``--generator auto``'s
candidates and the pipeline read this registry (docs/augmentation.md, "Adding a densifier").
"""

from recgan.augment.densifiers.base import (
    DENSIFIERS,
    Densifier,
    densifier_names,
    get_densifier,
    register_densifier,
)

__all__ = ["DENSIFIERS", "Densifier", "densifier_names", "get_densifier", "register_densifier"]

from recgan.core.registry import discover as _discover

_discover(__name__, __path__)  # every module of this package registers its densifier (one per file)
