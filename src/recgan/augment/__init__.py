"""GAN data augmentation with honest controls (``recgan augment``).

* :mod:`recgan.augment.core`: densify / add-users / controls / scarcity transforms, volume selection;
* :mod:`recgan.augment.pipeline`: :func:`augment_log`, the API behind ``recgan augment``;
* :mod:`recgan.augment.grid`: the dataset x scarcity x seed x strategy x model grid;
* :mod:`recgan.augment.report`: tables, Wilcoxon tests, verdicts and the plot.
"""

from recgan.augment.core import (
    Augmented,
    add_users,
    cold_items,
    densify,
    fit_densifier,
    keep_per_user,
    no_augmentation,
    scarcity,
)
from recgan.augment.pipeline import AugmentResult, augment_log

__all__ = ["Augmented", "AugmentResult", "add_users", "augment_log", "cold_items", "densify", "fit_densifier",
           "keep_per_user", "no_augmentation", "scarcity"]
