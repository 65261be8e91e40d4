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

# Optional model modules register themselves on import; a missing one never breaks the baselines.
import importlib as _importlib

for _mod in ("cfgan", "bpr", "apr", "irgan", "multvae"):
    try:
        _importlib.import_module(f"recgan.models.{_mod}")
    except ModuleNotFoundError as _e:  # the module is not written yet
        if _e.name != f"recgan.models.{_mod}":
            raise
