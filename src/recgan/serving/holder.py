"""The served model and its atomic swap.

A request takes one :class:`LoadedModel` snapshot at its start (``holder.current``) and uses only that
snapshot, so a reload in the middle of a request never mixes two models. A reload loads and warms the new
folder completely *before* the swap; if anything fails, the old model keeps serving.

Model folders are read through :meth:`recgan.models.base.Recommender.load` (JSON, npz without pickle,
safetensors: never executes code). Paths are confined to a root folder: a folder, or any file in it, that
resolves (symlinks followed) outside the root is refused.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recgan.data.ids import IdMap, id_key
from recgan.errors import RecganError
from recgan.models.base import Recommender

SYNTH_DIR = "synth"
"""Subfolder of a model folder holding a synthesizer (served by POST /v1/synthetic-users)."""


class PathNotAllowed(RecganError):
    """A model path that resolves outside the configured model root."""


class ModelNotReady(RecganError):
    """No model is loaded yet."""


class IdLookup:
    """Exact, fast lookup of request ids (URL strings or JSON strings / integers) in an :class:`IdMap`, by
    the one id rule of :mod:`recgan.data.ids` (:func:`~recgan.data.ids.id_key`): "42" and 42 match the
    integer id 42; "042", "+42", "42.0" and " 42" do not; a string id matches its exact text.

    ``IdMap.lookup`` builds arrays per call; a request needs one id in a few microseconds."""

    def __init__(self, ids: IdMap) -> None:
        self.ids = ids
        self._index = pd.Index(ids.ids, dtype=ids.ids.dtype if ids.is_int else object)
        self._index.get_indexer(self._index[:1])  # build the hash table now, not on the first request

    def _key(self, value: Any) -> Any:
        return id_key(value, self.ids.is_int)

    def one(self, value: Any) -> int:
        """Internal index of ``value``, -1 if unknown."""
        key = self._key(value)
        if key is None:
            return -1
        try:
            loc = self._index.get_loc(key)
        except (KeyError, TypeError, OverflowError):
            return -1
        return loc if isinstance(loc, int) else -1

    def many(self, values: list) -> np.ndarray:
        """Internal indices of ``values`` (int64), -1 where unknown."""
        return np.fromiter((self.one(v) for v in values), np.int64, len(values))


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model folder: the model, its identity, and its optional synthesizer."""

    model: Recommender
    path: Path
    version: str
    loaded_at: float
    synthesizer: Any | None = None
    synth_unavailable: str | None = None
    """Why the synthetic-users endpoint answers 501 (None when a synthesizer is loaded)."""
    users: IdLookup | None = None
    items: IdLookup | None = None

    @property
    def name(self) -> str:
        return self.model.name

    def info(self) -> dict[str, Any]:
        data = self.model.data_
        return {
            "name": self.name,
            "version": self.version,
            "n_users": data.n_users,
            "n_items": data.n_items,
            "loaded_at": self.loaded_at,
            "supports_fold_in": bool(self.model.supports_fold_in),
            "has_item_similarity": bool(self.model.has_item_similarity),
            "has_synthesizer": self.synthesizer is not None,
        }


def resolve_inside(root: Path, path: str | os.PathLike[str]) -> Path:
    """``path`` (absolute, or relative to ``root``) resolved with symlinks followed; it must be ``root``'s
    descendant (or ``root`` itself). Raises :class:`PathNotAllowed` otherwise."""
    root = Path(root).resolve()
    raw = os.fspath(path)
    if "\x00" in raw:
        raise PathNotAllowed("model path contains a NUL byte")
    p = Path(raw)
    p = (p if p.is_absolute() else root / p).resolve()
    if p != root and root not in p.parents:
        raise PathNotAllowed(f"model path is outside the allowed root {root}")
    return p


def _check_files_inside(folder: Path) -> list[Path]:
    """Every file of the folder (recursively) must resolve inside it: no symlink escapes."""
    files = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            if p.is_symlink():
                target = p.resolve()
                if folder not in target.parents:
                    raise PathNotAllowed(f"{p.relative_to(folder)} links outside the model folder")
            if name in filenames:
                files.append(p)
    return files


def folder_version(folder: Path, files: list[Path]) -> str:
    """Content hash (sha256, 16 hex digits) of the folder's files, names included, in sorted order."""
    h = hashlib.sha256()
    for p in sorted(files):
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()[:16]


def _load_synthesizer(folder: Path) -> tuple[Any | None, str | None]:
    synth = folder / SYNTH_DIR
    if not synth.is_dir():
        return None, f"the model folder has no {SYNTH_DIR}/ subfolder (no synthesizer to sample from)"
    try:
        from recgan.synth import load_synthesizer  # lazy: the synth layer is optional
    except ImportError:
        return None, "this recgan has no synthesizer support (recgan.synth is not available)"
    return load_synthesizer(synth), None


def damaged_folder_message(folder: Path, e: BaseException) -> str:
    """One line saying that a model folder could not be loaded, and why."""
    why = (str(e).strip().splitlines() or [""])[0][:300]
    return f"{folder}: cannot load the model folder (damaged or incomplete): {type(e).__name__}: {why}"


def load_model_folder(folder: Path, device: str | None = None) -> LoadedModel:
    """Load, check and warm a model folder (already confined by :func:`resolve_inside`)."""
    if not folder.is_dir():
        raise RecganError(f"{folder}: not a folder")
    files = _check_files_inside(folder)
    version = folder_version(folder, files)
    try:
        model = Recommender.load(folder, device=device)
        synthesizer, why = _load_synthesizer(folder)
        # warm-up doubles as a check that the model answers before it is swapped in
        if model.n_users:
            model.recommend(np.zeros(1, np.int64), 1)
    except RecganError:
        raise
    except Exception as e:  # a damaged folder (truncated weights, a zip that is no npz, a missing file)
        raise RecganError(damaged_folder_message(folder, e)) from None
    data = model.data_
    return LoadedModel(model, folder, version, time.time(), synthesizer, why,
                       IdLookup(data.users), IdLookup(data.items))


class ModelHolder:
    """Holds the served :class:`LoadedModel`; loads new folders and swaps them in atomically. The app
    serialises reloads (one at a time) and swaps only a completely loaded and warmed model."""

    def __init__(self, root: str | os.PathLike[str], device: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.device = device
        self._current: LoadedModel | None = None
        self._swap_lock = threading.Lock()

    @property
    def current(self) -> LoadedModel:
        cur = self._current
        if cur is None:
            raise ModelNotReady("no model loaded yet")
        return cur

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        return resolve_inside(self.root, path)

    def load(self, path: str | os.PathLike[str]) -> LoadedModel:
        """Load a folder without serving it (raises on any problem)."""
        return load_model_folder(self.resolve(path), self.device)

    def swap(self, new: LoadedModel) -> LoadedModel | None:
        """Serve ``new`` from now on; return the model it replaces."""
        with self._swap_lock:
            old, self._current = self._current, new
        return old
