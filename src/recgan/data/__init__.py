"""Data layer: the :class:`Interactions` object, loaders, filters, splits and the default generator."""

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.data.loaders import load_interactions, load_movielens, load_multi_behaviour, read_frame
from recgan.data.simulate import default_data, simulate
from recgan.data.splits import (
    LeaveOneOut,
    RandomHoldout,
    Split,
    TemporalGlobal,
    UserHoldout,
    load_split,
    validation_carve,
)

__all__ = [
    "IdMap", "Interactions", "load_interactions", "load_movielens", "load_multi_behaviour", "read_frame",
    "default_data", "simulate", "LeaveOneOut", "RandomHoldout", "Split", "TemporalGlobal", "UserHoldout",
    "load_split", "validation_carve",
]
