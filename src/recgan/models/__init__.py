"""Models layer: the recommender contract, its registry, baselines and GAN recommenders.

Importing this package registers every built-in model by name.
"""

from recgan.models.base import REGISTRY, Config, Recommender, get_model_class, register
from recgan.models.ease import EASE
from recgan.models.itemknn import ItemKNN
from recgan.models.popular import MostPopular
from recgan.models.rp3beta import RP3beta

__all__ = [
    "REGISTRY", "Config", "Recommender", "get_model_class", "register",
    "EASE", "ItemKNN", "MostPopular", "RP3beta",
]

# Every other module of this package registers its models on import (one model per file).
from recgan.core.registry import discover as _discover

_discover(__name__, __path__)
