"""Multi-process data-parallel training with torch.distributed (gloo on CPU, nccl on GPU).

Launch: ``torchrun --nproc_per_node N -m recgan train ...`` (one node), or on several nodes
``torchrun --nnodes M --node_rank R --nproc_per_node N --rdzv_backend c10d --rdzv_endpoint HOST:PORT -m recgan
train ...``. Every rank loads the same data and builds the same model from the same seed; each takes its shard
of every epoch's row permutation (:meth:`TorchTrainable.batches`), and gradients are averaged across ranks
before each optimiser step (the all-reduce DistributedDataParallel performs, attached as an optimiser step
pre-hook so that model code stays unchanged). Rank 0 writes checkpoints, logs and the model folder.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from recgan.core.trainable import TorchTrainable


def world_from_env() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when not launched by torchrun."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    return world_from_env()[0] == 0


def init(device: torch.device) -> tuple[int, int]:
    """Initialise the process group once when WORLD_SIZE > 1; return (rank, world)."""
    rank, world = world_from_env()
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return rank, world


def _allreduce_hook(world: int):
    def hook(opt: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    return hook


def attach(model: TorchTrainable) -> None:
    """Make ``model`` data-parallel across the initialised process group (no-op for one process)."""
    rank, world = init(model.device)
    model.rank, model.world = rank, world
    if world == 1 or getattr(model, "_dist_attached", False):
        return
    for mod in model.modules().values():
        for p in mod.parameters():
            dist.broadcast(p.data, src=0)
    for opt in model.optimizers().values():
        opt.register_step_pre_hook(_allreduce_hook(world))
    model._dist_attached = True


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
