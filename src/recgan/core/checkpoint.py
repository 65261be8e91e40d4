"""Checkpoints of a torch model mid-training: weights, optimiser state, RNG states, history.

Format: a folder with ``checkpoint.safetensors`` (every tensor) and ``checkpoint.json`` (epoch, scalars,
optimiser param groups, numpy RNG state, history). Written atomically; loading executes no code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from recgan.core.trainable import TorchTrainable
from recgan.errors import RecganError
from recgan.io import atomic_dir


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    sd = opt.state_dict()
    meta[prefix] = {"param_groups": sd["param_groups"], "scalars": {}}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{prefix}.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                meta[prefix]["scalars"][f"{pid}.{k}"] = v


def _unflatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if key.startswith(prefix + "."):
            pid, k = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(pid), {})[k] = v
    for key, v in meta[prefix]["scalars"].items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta[prefix]["param_groups"]})


def save_checkpoint(
    model: TorchTrainable, folder: str | os.PathLike[str], trainer_state: dict,
    best: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write everything needed to continue training bit for bit (``best``: best weights so far)."""
    tensors: dict[str, torch.Tensor] = {}
    for k, v in (best or {}).items():
        tensors[f"best.{k}"] = v.detach().cpu().contiguous()
    meta: dict[str, Any] = {"trainer": trainer_state, "optim": {}}
    for name, mod in model.modules().items():
        for k, v in mod.state_dict().items():
            tensors[f"model.{name}.{k}"] = v.detach().cpu().contiguous()
    for name, opt in model.optimizers().items():
        _flatten_optimizer(f"optim.{name}", opt, tensors, meta["optim"])
    tensors["rng.torch_cpu"] = torch.get_rng_state()
    tensors["rng.model_gen"] = model.gen.get_state()
    if torch.cuda.is_available() and model.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(model.device)
    meta["numpy_rng"] = model.rng.bit_generator.state
    meta["history"] = model.history
    extra = model._extra_state()
    for k, v in extra.items():
        tensors[f"extra.{k}"] = torch.as_tensor(np.asarray(v)).contiguous()
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        save_file(tensors, str(tmp / "checkpoint.safetensors"))
        (tmp / "checkpoint.json").write_text(json.dumps(meta, default=_default))
    return folder


def _default(o: Any) -> Any:
    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, torch.Tensor):
        return o.item()
    raise TypeError(type(o).__name__)


def checkpoint_epoch(folder: str | os.PathLike[str]) -> int | None:
    """The epoch a checkpoint folder was written at (its trainer state), None when there is no readable one."""
    try:
        meta = json.loads((Path(folder) / "checkpoint.json").read_text(encoding="utf-8"))
        return int(meta["trainer"]["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_checkpoint(model: TorchTrainable, folder: str | os.PathLike[str]) -> tuple[dict, dict]:
    """Restore a checkpoint into a built model; return (trainer state, best weights or {})."""
    folder = Path(folder)
    if not (folder / "checkpoint.json").exists():
        raise RecganError(f"{folder}: no checkpoint.json to resume from")
    meta = json.loads((folder / "checkpoint.json").read_text())
    tensors = load_file(str(folder / "checkpoint.safetensors"))
    for name, mod in model.modules().items():
        pre = f"model.{name}."
        mod.load_state_dict({k[len(pre) :]: v for k, v in tensors.items() if k.startswith(pre)})
    for name, opt in model.optimizers().items():
        _unflatten_optimizer(f"optim.{name}", opt, tensors, meta["optim"])
    torch.set_rng_state(tensors["rng.torch_cpu"])
    model.gen.set_state(tensors["rng.model_gen"])
    if "rng.cuda" in tensors and model.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng.cuda"], model.device)
    model.rng.bit_generator.state = meta["numpy_rng"]
    model.history = meta["history"]
    extra = {k[6:]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")}
    if extra:
        model._set_extra_state(extra)
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    return meta["trainer"], best
