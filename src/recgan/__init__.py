"""recgan: generative adversarial networks for recommender systems.

Layers (a lower layer never imports a higher one):
``data`` -> ``models`` -> ``training`` -> ``evaluation`` / ``reports`` -> front doors (``cli``, ``serving``).
"""

from recgan.errors import RecganError

__version__ = "0.1.0"

import recgan.training  # noqa: E402,F401  (installs the training driver for torch models)

__all__ = ["RecganError", "__version__"]
