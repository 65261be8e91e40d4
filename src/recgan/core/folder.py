"""The one artefact-folder format of recgan, written and read here for every family (models, synthesizers).

A folder (written atomically through :func:`recgan.io.atomic_dir`; loading never executes code, no pickle):
  ``<meta>.json``         what it is (``model`` / ``generator`` name), its typed config without run options,
                          format and recgan versions, training info (``config.json`` for recommenders,
                          ``synth.json`` for synthesizers)
  ``ids.json`` / ``items.json``  original ids in index order
  ``*.npz``               plain arrays (training matrices, activity model)
  ``weights.safetensors`` (torch state) or ``weights.npz`` (numpy state)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from recgan.errors import RecganError
from recgan.io import atomic_dir, load_npz, to_jsonable

FORMAT_VERSION = 1
WEIGHTS_TORCH = "weights.safetensors"
WEIGHTS_NUMPY = "weights.npz"


def write_folder(
    folder: str | os.PathLike[str], *, json_files: dict[str, Any], npz_files: dict[str, dict[str, np.ndarray]]
    | None = None, state: dict[str, Any] | None = None, extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write one artefact folder atomically: ``json_files`` {name: object}, ``npz_files`` {name: arrays},
    ``state`` (torch tensors -> safetensors, else npz), ``extra_files`` {name: bytes}."""
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        for name, obj in json_files.items():
            indent = 2 if isinstance(obj, dict) else None
            (tmp / name).write_text(json.dumps(obj, indent=indent, default=to_jsonable) + "\n")
        for name, arrays in (npz_files or {}).items():
            with open(tmp / name, "wb") as fh:
                np.savez(fh, **arrays)
        write_state(state or {}, tmp)
        for name, blob in (extra_files or {}).items():
            (tmp / name).write_bytes(blob)
    return folder


def header(kind_key: str, name: str, config: Any, **fields: Any) -> dict[str, Any]:
    """The common head of a meta file: format and recgan versions, the family's name key, the typed config
    (without run options such as the device)."""
    from recgan import __version__

    return {"format_version": FORMAT_VERSION, "recgan_version": __version__, kind_key: name,
            "config": config.to_dict(), **fields}


def read_json(folder: Path, name: str) -> Any:
    """A JSON file of an artefact folder; a missing or damaged file is one :class:`RecganError` line."""
    path = Path(folder) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecganError(f"{folder}: damaged folder: {name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RecganError(f"{path}: damaged: {e}") from None


def read_npz(folder: Path, name: str) -> dict[str, np.ndarray]:
    path = Path(folder) / name
    try:
        return load_npz(path)
    except FileNotFoundError:
        raise RecganError(f"{folder}: damaged folder: {name} is missing") from None
    except (OSError, ValueError, EOFError) as e:
        raise RecganError(f"{path}: damaged: {e}") from None


def write_state(state: dict[str, Any], folder: Path) -> None:
    """Weights: torch tensors (any in ``state``) -> ``weights.safetensors`` on the CPU; else ``weights.npz``."""
    if not state:
        return
    if any(type(v).__module__.startswith("torch") for v in state.values()):
        import torch
        from safetensors.torch import save_file

        tensors = {k: (v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)))
                   .detach().cpu().contiguous() for k, v in state.items()}
        save_file(tensors, str(folder / WEIGHTS_TORCH))
    else:
        with open(folder / WEIGHTS_NUMPY, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in state.items()})


def read_state(folder: Path) -> dict[str, Any]:
    """The weights written by :func:`write_state` (torch tensors on the CPU, or numpy arrays); {} if none."""
    folder = Path(folder)
    if (folder / WEIGHTS_TORCH).exists():
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(folder / WEIGHTS_TORCH)))
        except (SafetensorError, OSError, ValueError) as e:
            raise RecganError(f"{folder / WEIGHTS_TORCH}: damaged weights: {e}") from None
    if (folder / WEIGHTS_NUMPY).exists():
        return read_npz(folder, WEIGHTS_NUMPY)
    return {}
