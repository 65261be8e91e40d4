"""Optional experiment tracking for the training loop: TensorBoard and MLflow, each used only when asked for
and installed (``pip install 'recgan[tracking]'``).

:func:`open_trackers` returns the trackers a run asked for; the trainer calls ``log_epoch`` after every
epoch with the same scalars for every tracker, ``finish`` once at the end (final figures and the PNG of the
curves) and ``close`` in any case. MLflow asked for but not installed prints one warning line to stderr and
training goes on without it (TensorBoard not installed is skipped silently).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any, Protocol

_WARNED: set[str] = set()


class Tracker(Protocol):
    """What the trainer needs from a tracker."""

    def log_epoch(self, stats: dict[str, Any], epoch: int) -> None:
        """Log one epoch's scalars (``stats``: name -> value; non-numbers and ``epoch`` are skipped)."""

    def finish(self, summary: dict[str, float], artifact: str | None) -> None:
        """Log final figures (name -> value) and, if it exists, the file ``artifact`` (the PNG curves)."""

    def close(self, ok: bool) -> None:
        """End the run (``ok``: training finished without an exception)."""


def scalars(stats: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of an epoch's ``stats`` except ``epoch`` (what every tracker logs per epoch)."""
    return {k: v for k, v in stats.items() if isinstance(v, int | float) and k != "epoch"}


def _warn_once(what: str, message: str) -> None:
    if what not in _WARNED:
        _WARNED.add(what)
        print(f"recgan: warning: {message}; training continues without it", file=sys.stderr, flush=True)


class TensorBoardTracker:
    """Scalars to a TensorBoard folder through ``torch.utils.tensorboard.SummaryWriter``."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def log_epoch(self, stats: dict[str, Any], epoch: int) -> None:
        for key, v in scalars(stats).items():
            self.writer.add_scalar(key, v, epoch)

    def finish(self, summary: dict[str, float], artifact: str | None) -> None:
        """Nothing more: TensorBoard already has every epoch."""

    def close(self, ok: bool) -> None:
        self.writer.close()


def tensorboard(folder: str | None) -> TensorBoardTracker | None:
    """A TensorBoard tracker writing to ``folder`` (None when not asked for or not installed)."""
    if not folder:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard not installed: optional, silently skipped (as it always was)
        return None
    return TensorBoardTracker(SummaryWriter(folder))


def mlflow_name(key: str) -> str:
    """A metric / parameter name MLflow accepts (letters, digits, ``_-. /``): ``val_ndcg@20`` -> ``val_ndcg_at_20``."""
    return re.sub(r"[^\w\-. /]", "_", key.replace("@", "_at_"))


class MLflowTracker:
    """One MLflow run: the model's parameters, per-epoch scalars (step = epoch), final figures, the curves PNG."""

    def __init__(self, mlflow: Any, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        self.mlflow = mlflow
        mlflow.set_experiment(experiment)
        outer = getattr(mlflow, "active_run", lambda: None)()  # e.g. a run the caller opened in a notebook
        self.run = mlflow.start_run(run_name=run_name, nested=outer is not None)
        mlflow.log_params({mlflow_name(k): _param_text(v) for k, v in params.items()})

    def log_epoch(self, stats: dict[str, Any], epoch: int) -> None:
        values = {mlflow_name(k): float(v) for k, v in scalars(stats).items()}
        if values:
            self.mlflow.log_metrics(values, step=epoch)

    def finish(self, summary: dict[str, float], artifact: str | None) -> None:
        values = {mlflow_name(k): float(v) for k, v in summary.items() if v is not None and math.isfinite(v)}
        if values:
            self.mlflow.log_metrics(values)
        if artifact and Path(artifact).is_file():
            self.mlflow.log_artifact(str(artifact))

    def close(self, ok: bool) -> None:
        self.mlflow.end_run(status="FINISHED" if ok else "FAILED")


def _param_text(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 500 else text[:497] + "..."  # MLflow's limit on a parameter value


def mlflow_tracker(experiment: str | None, run_name: str, config: Any) -> MLflowTracker | None:
    """An MLflow run in ``experiment`` named ``run_name`` with the typed ``config`` as its parameters
    (None when not asked for or when mlflow is not installed)."""
    if not experiment:
        return None
    try:
        import mlflow
    except ImportError:
        _warn_once("mlflow", "MLflow logging asked for but the mlflow package is not installed "
                             "(pip install 'recgan[tracking]')")
        return None
    params = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
    return MLflowTracker(mlflow, experiment, run_name, params)


def open_trackers(tensorboard_dir: str | None, mlflow_experiment: str | None, run_name: str,
                  config: Any) -> list[Tracker]:
    """The trackers asked for and installed (possibly none)."""
    found: list[Tracker | None] = [tensorboard(tensorboard_dir), mlflow_tracker(mlflow_experiment, run_name, config)]
    return [t for t in found if t is not None]
