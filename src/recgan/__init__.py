"""recgan: generative adversarial networks for recommender systems.

Layers (a lower layer never imports a higher one):
``data`` -> ``core`` / ``models`` / ``synth`` -> ``training`` -> ``evaluation`` / ``reports`` -> front doors (``cli``, ``serving``).
"""

from recgan.errors import RecganError

__version__ = "0.1.0"

__all__ = ["RecganError", "__version__"]
