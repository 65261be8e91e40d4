"""Training layer: the fitting procedure of PROTOCOL.md (validation carve, tuning, early stopping, refit).

The epoch loop itself is :mod:`recgan.core.trainer` (shared by recommenders and synthesizers).
"""

from recgan.core.trainer import TrainingOptions, train
from recgan.core.validation import validation_scores
from recgan.training.fitting import FitResult, fit_model, grid_points

__all__ = ["FitResult", "TrainingOptions", "fit_model", "grid_points", "train", "validation_scores"]
