"""Training layer: the shared epoch loop (early stopping, checkpoints, resume, diagnostics), the tuner
and the fitting procedure of PROTOCOL.md. Importing it installs :func:`train` as the driver of every
torch model."""

from recgan.models.torch_base import set_default_driver
from recgan.training.fitting import FitResult, fit_model, grid_points
from recgan.training.trainer import TrainerOptions, train
from recgan.training.validation import validation_scores

set_default_driver(train)

__all__ = ["FitResult", "TrainerOptions", "fit_model", "grid_points", "train", "validation_scores"]
