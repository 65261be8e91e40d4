"""One fitting procedure for every model, used by the CLI, experiment files and benchmarks.

PROTOCOL.md: hyper-parameters and epochs are chosen on a validation carve of train, never on test.
* ``tune``: grid search (the model's ``tune_grid`` or a given grid) fitting on the carve's train part and
  scoring NDCG@20 on its validation part;
* iterative (torch) models early-stop on the same carve; with ``refit`` they are then retrained on all of
  train for the epoch count that validation chose (non-iterative models are always refit on all of train).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from recgan.core.trainer import METRIC_PATTERN, TrainingOptions
from recgan.core.validation import validation_scores
from recgan.data.interactions import Interactions
from recgan.data.splits import validation_carve
from recgan.errors import RecganError
from recgan.models.base import Recommender, get_model_class
from recgan.models.torch_base import TorchRecommender

QUIET = TrainingOptions(progress=False)
"""Training options of fits whose progress nobody watches (tuning points, benchmarks, tests)."""


@dataclass
class FitResult:
    model: Recommender
    params: dict[str, Any]
    tuning: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = sorted(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(grid[k] for k in keys))]


def fit_model(
    name: str,
    train: Interactions,
    params: dict[str, Any] | None = None,
    *,
    tune: bool = False,
    grid: dict[str, list[Any]] | None = None,
    valid_fraction: float = 0.2,
    valid_seed: int = 12345,
    early_stopping: bool = True,
    refit: bool = True,
    metric: str = "ndcg@20",
    options: TrainingOptions | None = None,
    log=print,
) -> FitResult:
    """Fit model ``name`` on ``train`` following PROTOCOL.md; returns the fitted model and the tuning log.
    ``options``: how the trainer runs the final fit's epochs (tuning points always run quietly);
    ``metric`` (``ndcg@K`` / ``recall@K``) selects tuning points and early-stopping epochs."""
    cls = get_model_class(name)
    params = dict(params or {})
    if not re.fullmatch(METRIC_PATTERN, metric):
        raise RecganError(f"metric {metric!r}: expected ndcg@K or recall@K (K >= 1)")
    options = (options or TrainingOptions()).model_copy(update={"metric": metric})
    t0 = time.perf_counter()
    iterative = issubclass(cls, TorchRecommender)
    carve = validation_carve(train, valid_fraction, valid_seed) if (tune or (iterative and early_stopping)) else None
    k = int(metric.split("@")[1])
    tuning: list[dict[str, Any]] = []
    if tune:
        points = grid_points(grid or cls.tune_grid) or [{}]
        best_score, best = -1.0, {}
        hook = getattr(cls, "fit_grid", None)  # a model that fits its whole grid at once (shared work)
        shortcut = hook(params, points, carve.train) if hook else None
        if shortcut is not None:
            tuning_method, fitted = shortcut
            log(f"  tune {name}: {tuning_method}")
        else:
            tuning_method, fitted = "each grid point fitted with the given settings", (
                (p, cls(**{**params, **p}).fit(carve.train, carve.test if iterative else None,
                                               QUIET.model_copy(update={"metric": metric}))) for p in points)
        for p, m in fitted:
            score = validation_scores(m, carve.test, k)[metric]
            row = {**p, metric: round(score, 5)}
            if iterative:
                row["best_epoch"] = m.info.get("training", {}).get("best_epoch")
            tuning.append(row)
            log(f"  tune {name} {p}: valid {metric} = {score:.4f}")
            if score > best_score:
                best_score, best = score, p
            del m  # one grid point's model at a time (none left over during the final fit)
        params.update(best)
    model = cls(**params)
    if iterative and early_stopping:
        model.fit(carve.train, carve.test, options)
        best_epoch = model.info.get("training", {}).get("best_epoch")
        best_epoch = model.config.epochs if best_epoch is None else best_epoch
        if refit:
            info = model.info
            model = cls(**{**params, "epochs": max(1, best_epoch), "patience": 0})
            # validation kept the untrained start (start_is_a_model): the refit is the start (0 epochs)
            refit_opts = options.model_copy(update={"resume": None, "epochs": 0 if best_epoch == 0 else None})
            model.fit(train, None, refit_opts)
            model.info["selection"] = {"valid_best_epoch": best_epoch, "valid": info.get("training")}
            params["epochs"] = max(1, best_epoch)
    else:
        model.fit(train, None, options)
    model.info["tuning"] = tuning
    if tune:
        model.info["tuning_method"] = tuning_method
    model.info["fit_seconds"] = round(time.perf_counter() - t0, 3)
    return FitResult(model, params, tuning, time.perf_counter() - t0)
