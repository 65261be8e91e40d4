"""The one training loop for everything trained by epochs: torch recommenders and the GAN / VAE synthesizers.

Runs ``model.train_epoch`` epoch after epoch; evaluates on the validation carve every ``eval_every``
epochs (NDCG@20 by default) with the model's own diagnostics (copying / collapse alarms); keeps the best
weights and restores them at the end; stops after ``patience`` evaluations without a gain; writes
checkpoints every ``checkpoint_every`` epochs that ``resume`` continues bit for bit; logs every epoch as
one JSON line, to TensorBoard and / or MLflow when asked (and installed, see :mod:`recgan.core.tracking`),
and draws the curves as a PNG.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from recgan.core import distributed
from recgan.core.checkpoint import load_checkpoint, save_checkpoint
from recgan.core.tracking import Tracker, open_trackers
from recgan.core.trainable import TorchTrainable
from recgan.core.validation import validation_scores
from recgan.data.interactions import Interactions

METRIC_PATTERN = r"^(ndcg|recall)@[1-9][0-9]*$"
"""Validation metrics the trainer can select on: ``ndcg@K`` or ``recall@K``."""


class TrainingOptions(BaseModel):
    """How one training run is driven (not what is learnt: nothing here is saved with the model)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    checkpoint_dir: str | None = None
    """Folder for periodic checkpoints (``DIR/last``)."""
    checkpoint_every: int = Field(0, ge=0)
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
    """Show progress: a bar on a terminal, otherwise a line on stderr every ``progress_seconds``."""
    progress_seconds: float = Field(10.0, gt=0)
    """Seconds between progress lines when stderr is not a terminal."""
    metric: str = Field("ndcg@20", pattern=METRIC_PATTERN)
    """Validation metric used for early stopping and model selection: ``ndcg@K`` or ``recall@K``."""
    max_eval_users: int | None = Field(5000, ge=1)
    """Subsample validation users to bound evaluation cost (fixed seed)."""
    epochs: int | None = Field(None, ge=0)
    """Train this many epochs instead of the model's ``epochs`` (0 keeps the model at its start: the refit of
    a model whose validation chose its untrained start, see ``start_is_a_model``)."""
    stop_after_epoch: int | None = Field(None, ge=1)
    """Testing aid: return after this epoch as if interrupted (checkpoint written first)."""


def _copy_state(model: TorchTrainable) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.detach().clone() for n, m in model.modules().items() for k, v in m.state_dict().items()}


def _load_state(model: TorchTrainable, state: dict[str, torch.Tensor]) -> None:
    for name, mod in model.modules().items():
        pre = name + "."
        mod.load_state_dict({k[len(pre) :]: v for k, v in state.items() if k.startswith(pre)})


def _validate(model: TorchTrainable, valid: Interactions, k: int, opts: TrainingOptions) -> dict[str, float]:
    """Validation metrics of the model as it is now (eval mode, no gradients, the model's precision)."""
    model.set_train_mode(False)
    with torch.no_grad(), model.autocast():
        return validation_scores(model, valid, k, opts.max_eval_users, seed=model.config.seed)


def train(model: TorchTrainable, data: Interactions | None, valid: Interactions | None,
          options: TrainingOptions | None = None) -> None:
    """Drive ``model`` (already built) through its epochs. ``valid``: target interactions in the model's id
    space for early stopping and model selection (None: train the fixed number of epochs). See
    :class:`TrainingOptions`."""
    opts = options if options is not None else TrainingOptions()
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
    bar = progress_bar(n_epochs, state["epoch"], f"train {model.name}", opts.progress_seconds) \
        if opts.progress and main_rank else None
    # a checkpoint written at the epoch early stopping ended on: the run is over, resume adds no epoch
    stopped_early = bool(opts.resume and valid is not None and cfg.patience and state["bad_evals"] >= cfg.patience)
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
        for epoch in range(state["epoch"] + 1, n_epochs + 1 if not stopped_early else 0):
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
            from recgan.core.plots import plot_history

            plot_history(model.history, opts.plot_path, title=model.name)
        summary = {k_: training[k_] for k_ in ("epochs_run", "best_epoch", "train_seconds")}
        if training["best_val"] is not None:
            summary[f"best_val_{opts.metric}"] = training["best_val"]
        for tracker in trackers:
            tracker.finish(summary, opts.plot_path)


class _LineProgress:
    """tqdm's interface for a stderr that is not a terminal: one line every ``every`` seconds (and at the
    end), so that logs and CI show that a long run is alive."""

    def __init__(self, total: int, initial: int, desc: str, every: float) -> None:
        self.total, self.n, self.desc, self.every = total, initial, desc, every
        self.initial = initial
        self.t0 = self.last = time.perf_counter()
        self.postfix: dict[str, str] = {}

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= self.every or self.n >= self.total:
            self.last = now
            extra = " ".join(f"{k}={v}" for k, v in self.postfix.items())
            left = ""
            if 0 < self.n - self.initial and self.n < self.total:  # early stopping may end sooner
                left = f", ~{(now - self.t0) / (self.n - self.initial) * (self.total - self.n):.0f} s to epoch {self.total}"
            print(f"{self.desc}: epoch {self.n}/{self.total}, {now - self.t0:.0f} s{left} {extra}".rstrip(),
                  file=sys.stderr, flush=True)

    def set_postfix(self, values: dict[str, str], refresh: bool = False) -> None:
        self.postfix = dict(values)

    def close(self) -> None:
        pass


def progress_bar(total: int, initial: int, desc: str, every: float = 10.0) -> Any:
    """A tqdm bar on a terminal, timed progress lines on stderr otherwise (same ``update`` interface)."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit="ep", leave=False, dynamic_ncols=True)
    return _LineProgress(total, initial, desc, every)


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

