"""The one training loop for every torch recommender (adversarial or not).

Runs ``model.train_epoch`` epoch after epoch; evaluates on the validation carve every ``eval_every``
epochs (NDCG@20 by default) with the model's own diagnostics (copying / collapse alarms); keeps the best
weights and restores them at the end; stops after ``patience`` evaluations without a gain; writes
checkpoints every ``checkpoint_every`` epochs that ``resume`` continues bit for bit; logs every epoch as
one JSON line, to TensorBoard and / or MLflow when asked (and installed, see :mod:`recgan.training.tracking`),
and draws the curves as a PNG.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from recgan.data.interactions import Interactions
from recgan.models.torch_base import TorchRecommender
from recgan.training import distributed
from recgan.training.checkpoint import load_checkpoint, save_checkpoint
from recgan.training.tracking import Tracker, open_trackers
from recgan.training.validation import validation_scores


@dataclass
class TrainerOptions:
    checkpoint_dir: str | None = None
    """Folder for periodic checkpoints (``DIR/last``)."""
    checkpoint_every: int = 0
    """Epochs between checkpoints (0 = none)."""
    resume: str | None = None
    """Checkpoint folder to continue from (same data, config and seed give bit-identical results)."""
    log_path: str | None = None
    """JSONL file: one line of diagnostics per epoch."""
    tensorboard_dir: str | None = None
    """Write scalars to TensorBoard here when the ``tensorboard`` package is installed."""
    mlflow_experiment: str | None = None
    """Log to this MLflow experiment when the ``mlflow`` package is installed (one run per training: the
    model's parameters, per-epoch scalars, the best validation metric, the PNG curves); a warning otherwise."""
    plot_path: str | None = None
    """PNG of the training curves, drawn at the end."""
    progress: bool = True
    """Show a progress bar with live losses and alarms."""
    metric: str = "ndcg@20"
    """Validation metric used for early stopping and model selection."""
    max_eval_users: int | None = 5000
    """Subsample validation users to bound evaluation cost (fixed seed)."""
    epochs: int | None = None
    """Train this many epochs instead of the model's ``epochs`` (0 keeps the model at its start: the refit of
    a model whose validation chose its untrained start, see ``TorchRecommender.start_is_a_model``)."""
    stop_after_epoch: int | None = None
    """Testing aid: return after this epoch as if interrupted (checkpoint written first)."""


def _copy_state(model: TorchRecommender) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.detach().clone() for n, m in model.modules().items() for k, v in m.state_dict().items()}


def _load_state(model: TorchRecommender, state: dict[str, torch.Tensor]) -> None:
    for name, mod in model.modules().items():
        pre = name + "."
        mod.load_state_dict({k[len(pre) :]: v for k, v in state.items() if k.startswith(pre)})


def _validate(model: TorchRecommender, valid: Interactions, k: int, opts: TrainerOptions) -> dict[str, float]:
    """Validation metrics of the model as it is now (eval mode, no gradients, the model's precision)."""
    model.set_train_mode(False)
    with torch.no_grad(), model.autocast():
        return validation_scores(model, valid, k, opts.max_eval_users, seed=model.config.seed)


def train(model: TorchRecommender, data: Interactions, valid: Interactions | None, **options: Any) -> None:
    """Drive ``model`` (already built by ``_build``) through its epochs. See :class:`TrainerOptions`."""
    opts = TrainerOptions(**options)
    cfg = model.config
    n_epochs = cfg.epochs if opts.epochs is None else opts.epochs
    k = int(opts.metric.split("@")[1])
    state = {"epoch": 0, "best_score": -math.inf, "best_epoch": 0, "bad_evals": 0, "seconds": 0.0}
    best: dict[str, torch.Tensor] = {}
    if opts.resume:
        state, best = load_checkpoint(model, opts.resume)
    distributed.attach(model)
    main_rank = model.rank == 0
    log = open(opts.log_path, "a" if opts.resume else "w") if opts.log_path and main_rank else None  # noqa: SIM115
    phase = "validation carve" if valid is not None else "all of train"
    trackers = open_trackers(opts.tensorboard_dir, opts.mlflow_experiment, f"{model.name} ({phase})",
                             cfg) if main_rank else []
    bar = None
    if opts.progress and main_rank:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_epochs, initial=state["epoch"], desc=f"train {model.name}", unit="ep",
                   leave=False, dynamic_ncols=True)
    stopped_early = False
    with ExitStack() as closing:  # on leaving: log, bar, then the trackers' runs (FAILED on an exception)
        closing.enter_context(_tracked(trackers))
        if bar:
            closing.callback(bar.close)
        if log:
            closing.callback(log.close)
        if valid is not None and model.start_is_a_model and state["epoch"] == 0:
            # the untrained model is already a recommender (e.g. EASE): it competes as "epoch 0", so early
            # stopping can fall back to it when training only hurts on validation
            start = _validate(model, valid, k, opts)
            state.update(best_score=start[opts.metric], best_epoch=0)
            best = _copy_state(model)
            model.info["start_val"] = {f"val_{m}": v for m, v in start.items()}
            if log:
                log.write(json.dumps({"epoch": 0, **model.info["start_val"]}, default=float) + "\n")
        for epoch in range(state["epoch"] + 1, n_epochs + 1):
            model.set_train_mode(True)
            t0 = time.perf_counter()
            with model.autocast():
                stats: dict[str, Any] = {"epoch": epoch, **model.train_epoch(epoch)}
            stats["seconds"] = time.perf_counter() - t0
            state["seconds"] += stats["seconds"]
            bad = [k_ for k_, v in stats.items() if isinstance(v, float) and not math.isfinite(v)]
            if bad:
                stats["nan_in"] = bad
            if valid is not None and (epoch % cfg.eval_every == 0 or epoch == n_epochs):
                val = _validate(model, valid, k, opts)
                stats.update({f"val_{m}": v for m, v in val.items()})
                with torch.no_grad(), model.autocast():
                    stats.update(model.epoch_diagnostics())
                score = val[opts.metric]
                if score > state["best_score"]:
                    state.update(best_score=score, best_epoch=epoch, bad_evals=0)
                    best = _copy_state(model)
                else:
                    state["bad_evals"] += 1
            model.history.append(stats)
            state["epoch"] = epoch
            if log:
                log.write(json.dumps(stats, default=float) + "\n")
                log.flush()
            for tracker in trackers:
                tracker.log_epoch(stats, epoch)
            if bar:
                bar.update(1)
                bar.set_postfix({k_: f"{v:.4g}" for k_, v in stats.items()
                                 if isinstance(v, float) and k_ in _SHOWN}, refresh=False)
            if opts.checkpoint_dir and opts.checkpoint_every and epoch % opts.checkpoint_every == 0:
                if main_rank:
                    save_checkpoint(model, Path(opts.checkpoint_dir) / "last", state, best)
                distributed.barrier()
            if opts.stop_after_epoch is not None and epoch >= opts.stop_after_epoch:
                return  # a testing aid: as if the process had stopped here
            if valid is not None and cfg.patience and state["bad_evals"] >= cfg.patience:
                stopped_early = True
                break
        if best:
            _load_state(model, best)
        model.set_train_mode(False)
        model.info["training"] = training = {
            "epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
            "best_val": None if state["best_score"] == -math.inf else state["best_score"],
            "val_metric": opts.metric if valid is not None else None, "stopped_early": stopped_early,
            "train_seconds": round(state["seconds"], 3),
        }
        if opts.plot_path and model.history and main_rank:
            from recgan.training.plots import plot_history

            plot_history(model.history, opts.plot_path, title=model.name)
        summary = {k_: training[k_] for k_ in ("epochs_run", "best_epoch", "train_seconds")}
        if training["best_val"] is not None:
            summary[f"best_val_{opts.metric}"] = training["best_val"]
        for tracker in trackers:
            tracker.finish(summary, opts.plot_path)


@contextmanager
def _tracked(trackers: list[Tracker]) -> Iterator[None]:
    """Close every tracker's run on leaving: FINISHED, or FAILED when an exception leaves the block."""
    try:
        yield
    except BaseException:
        for tracker in trackers:
            tracker.close(False)
        raise
    for tracker in trackers:
        tracker.close(True)


_SHOWN = {"loss", "loss_d", "loss_g", "d_real", "d_fake", "val_ndcg@20", "val_ndcg@10", "copy_mass", "distinct_lists"}

