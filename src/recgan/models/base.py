"""The one recommender contract, its registry, and the model-folder format.

Every recgan recommender subclasses :class:`Recommender` and implements ``_fit`` and ``_score``
(and ``_score_history`` where it can fold in unseen users). The base class gives batch recommendation
with seen-item filtering and an item whitelist, original-id helpers, and save / load.

Model folder (written atomically; loading never executes code):
  ``config.json``   model name, typed config, recgan version, training info
  ``weights.safetensors`` (torch models) or ``weights.npz`` (numpy models)
  ``ids.json``      original user and item ids in index order
  ``train.npz``     the training matrices (CSR parts) used for seen-item filtering and fold-in
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.errors import FoldInNotSupported, RecganError
from recgan.io import atomic_dir, load_npz
from recgan.models.topk import mask_seen, topk

REGISTRY: dict[str, type[Recommender]] = {}
FORMAT_VERSION = 1


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: make a model available by ``cls.name`` (CLI ``--model NAME``)."""
    REGISTRY[cls.name] = cls
    return cls


def get_model_class(name: str) -> type[Recommender]:
    import recgan.models  # noqa: F401  (registers every built-in model)

    if name not in REGISTRY:
        raise RecganError(f"unknown model {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


@dataclasses.dataclass
class Config:
    """Base of every model's typed configuration. Subclasses add fields with defaults."""

    seed: int = 0
    """Seed for numpy, torch and samplers."""


def _coerce(value: Any, typ: Any, name: str) -> Any:
    if isinstance(typ, str):
        typ = {"int": int, "float": float, "bool": bool, "str": str}.get(typ.split("|")[0].strip(), str)
    origin = typing.get_origin(typ)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        typ = args[0]
    try:
        if typ is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if typ is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if typ is float:
            v = float(value)
            if not np.isfinite(v):
                raise ValueError(value)
            return v
        if typ is str:
            return str(value)
        if typing.get_origin(typ) in (tuple, list):
            if isinstance(value, str):
                value = [v for v in value.replace("x", ",").split(",") if v]
            inner = typing.get_args(typ)[0]
            return tuple(_coerce(v, inner, name) for v in value)
    except (TypeError, ValueError):
        raise RecganError(f"parameter {name!r}: cannot read {value!r} as {getattr(typ, '__name__', typ)}") from None
    return value


def make_config(cls: type[Config], params: dict[str, Any] | None) -> Config:
    """Build a typed config; unknown keys and badly typed values raise :class:`RecganError`."""
    params = dict(params or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise RecganError(f"unknown parameter(s) {unknown} for {cls.__qualname__}; known: {sorted(fields)}")
    return cls(**{k: _coerce(v, hints[k], k) for k, v in params.items()})


class Recommender(ABC):
    """Base of every recommender.

    Subclass contract:
      * ``name`` (registry key), ``config_class`` (a :class:`Config` dataclass);
      * ``_fit(data, valid)``: learn from ``data`` (and optionally early-stop on ``valid``);
      * ``_score(users)``: dense scores, float32 (len(users), n_items), higher is better;
      * ``_score_history(H)``: scores for unseen users given their histories, CSR (n, n_items) -> dense,
        when ``supports_fold_in``;
      * ``_state()`` / ``_set_state(state)``: arrays to persist (numpy or torch tensors).
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type[Config]] = Config
    supports_fold_in: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    tune_grid: ClassVar[dict[str, list[Any]]] = {}
    """Small grid of values per hyper-parameter searched by ``--tune``."""

    def __init__(self, config: Config | None = None, **params: Any) -> None:
        if config is None:
            config = make_config(self.config_class, params)
        elif params:
            config = dataclasses.replace(config, **dataclasses.asdict(make_config(self.config_class, params)))
        self.config = config
        self.data_: Interactions | None = None
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------ training
    def fit(self, data: Interactions, valid: Interactions | None = None) -> Recommender:
        """Learn from ``data`` (its target behaviour is what is predicted). ``valid``: target interactions
        in the same id space, used for early stopping by models that train iteratively."""
        if data.nnz == 0:
            raise RecganError("cannot fit on data without target interactions")
        self.data_ = data
        self._fit(data, valid)
        return self

    @abstractmethod
    def _fit(self, data: Interactions, valid: Interactions | None) -> None: ...

    @abstractmethod
    def _score(self, users: np.ndarray) -> np.ndarray: ...

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        raise FoldInNotSupported(f"model {self.name!r} cannot recommend for a user absent from training")

    def _state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: B027  (optional hook)
        """Restore what ``_state`` returned (models without state need not override)."""

    # ------------------------------------------------------------ helpers
    def _check_fitted(self) -> Interactions:
        if self.data_ is None:
            raise RecganError(f"model {self.name!r} is not fitted")
        return self.data_

    @property
    def n_users(self) -> int:
        return self._check_fitted().n_users

    @property
    def n_items(self) -> int:
        return self._check_fitted().n_items

    @property
    def seen(self) -> sp.csr_matrix:
        """Binary target matrix of training interactions (n_users, n_items)."""
        return self._check_fitted().binary()

    # ------------------------------------------------------------ scoring
    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores (len(users), n_items) float32 for internal user indices. Seen items are *not* masked."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64)
        if len(users) and (users.min() < 0 or users.max() >= self.n_users):
            raise RecganError(f"user index out of range 0..{self.n_users - 1}")
        return np.asarray(self._score(users), dtype=np.float32)

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Fold-in: scores (n, n_items) for users given only histories, CSR (n, n_items) of target items."""
        self._check_fitted()
        history = sp.csr_matrix(history, dtype=np.float32)
        if history.shape[1] != self.n_items:
            raise RecganError(f"history has {history.shape[1]} item columns, model has {self.n_items}")
        return np.asarray(self._score_history(history), dtype=np.float32)

    def recommend(
        self,
        users: np.ndarray,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: np.ndarray | None = None,
        batch_size: int = 1024,
        exclude: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for a batch of users (internal indices).

        Args:
            users: int (n,) internal user indices.
            k: list length, >= 1.
            exclude_seen: drop each user's training items (``exclude`` replaces the training matrix).
            items: optional whitelist of internal item indices; others are never recommended.
            batch_size: users scored at once; memory is O(batch_size x n_items).
        Returns:
            (items int64 (n, k), scores float32 (n, k)); slots without a candidate hold -1 / -inf.
        """
        if k <= 0:
            raise RecganError(f"k must be >= 1, got {k}")
        users = np.asarray(users, dtype=np.int64)
        seen = (exclude if exclude is not None else self.seen) if exclude_seen else None
        return self._topk_batches(lambda sl: self.score(users[sl]), len(users), k, seen, users, items, batch_size)

    def recommend_history(
        self,
        history: sp.csr_matrix,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: np.ndarray | None = None,
        batch_size: int = 1024,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` for unseen users from their histories (CSR (n, n_items)); history items excluded."""
        if k <= 0:
            raise RecganError(f"k must be >= 1, got {k}")
        history = sp.csr_matrix(history, dtype=np.float32)
        seen = history if exclude_seen else None
        rows = np.arange(history.shape[0])
        return self._topk_batches(
            lambda sl: self.score_history(history[sl]), history.shape[0], k, seen, rows, items, batch_size
        )

    def _topk_batches(self, scorer, n, k, seen, rows, items, batch_size):
        out_i = np.full((n, min(k, self.n_items)), -1, np.int64)
        out_s = np.full(out_i.shape, -np.inf, np.float32)
        allowed = None
        if items is not None:
            allowed = np.zeros(self.n_items, bool)
            allowed[np.asarray(items, dtype=np.int64)] = True
        for lo in range(0, n, batch_size):
            sl = slice(lo, min(lo + batch_size, n))
            s = np.array(scorer(sl), dtype=np.float32, copy=True)
            s[~np.isfinite(s)] = -np.finfo(np.float32).max  # NaN/inf from a model never beat real scores
            if seen is not None:
                mask_seen(s, seen[rows[sl]])
            if allowed is not None:
                s[:, ~allowed] = -np.inf
            out_i[sl], out_s[sl] = topk(s, k)
        return out_i, out_s

    # ------------------------------------------------------------ original ids
    def recommend_ids(
        self, user_ids: list | np.ndarray | None = None, k: int = 10, *, exclude_seen: bool = True
    ) -> pd.DataFrame:
        """Recommendations with the caller's ids: columns user, item, rank (1-based), score.
        ``user_ids=None`` means every training user. Unknown ids raise :class:`UnknownIdError`."""
        data = self._check_fitted()
        users = np.arange(data.n_users) if user_ids is None else data.users.index(user_ids)
        ids, scores = self.recommend(users, k, exclude_seen=exclude_seen)
        return self._frame(data.users.original(users), ids, scores)

    def recommend_for_history(self, item_ids: list, k: int = 10) -> tuple[pd.DataFrame, list]:
        """Fold-in with original ids. Returns (frame item, rank, score) and the list of unknown item ids."""
        data = self._check_fitted()
        idx = data.items.lookup(item_ids)
        unknown = [i for i, j in zip(item_ids, idx, strict=True) if j < 0]
        known = np.unique(idx[idx >= 0])
        h = sp.csr_matrix((np.ones(len(known), np.float32), (np.zeros(len(known), int), known)),
                          shape=(1, data.n_items))
        ids, scores = self.recommend_history(h, k)
        df = self._frame(np.array([None]), ids, scores).drop(columns="user")
        return df, unknown

    def _frame(self, user_ids: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        data = self._check_fitted()
        n, k = ids.shape
        valid = ids >= 0
        return pd.DataFrame(
            {
                "user": np.repeat(user_ids, k)[valid.ravel()],
                "item": data.items.original(ids[valid]),
                "rank": np.tile(np.arange(1, k + 1), n)[valid.ravel()],
                "score": scores[valid],
            }
        )

    def similar_items(self, items: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` most similar items to each item (internal indices), itself excluded.
        Models with item-item weights override ``_item_similarity``."""
        items = np.asarray(items, dtype=np.int64)
        sim = self._item_similarity(items)
        sim = np.array(sim, dtype=np.float32, copy=True)
        sim[np.arange(len(items)), items] = -np.inf
        return topk(sim, k)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        raise FoldInNotSupported(f"model {self.name!r} has no item similarities")

    @property
    def has_item_similarity(self) -> bool:
        return type(self)._item_similarity is not Recommender._item_similarity

    # ------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike[str], extra_files: dict[str, bytes] | None = None) -> Path:
        """Write the model folder atomically (the old folder, if any, is replaced whole)."""
        data = self._check_fitted()
        from recgan import __version__

        folder = Path(folder)
        state = self._state()
        with atomic_dir(folder) as tmp:
            cfg = {
                "format_version": FORMAT_VERSION,
                "recgan_version": __version__,
                "model": self.name,
                "config": dataclasses.asdict(self.config),
                "target": data.target,
                "behaviours": data.behaviours,
                "n_users": data.n_users,
                "n_items": data.n_items,
                "info": self.info,
            }
            (tmp / "config.json").write_text(json.dumps(cfg, indent=2, default=_jsonable) + "\n")
            ids = {"users": data.users.to_list(), "items": data.items.to_list()}
            (tmp / "ids.json").write_text(json.dumps(ids, default=_jsonable))
            mats = {}
            for j, b in enumerate(data.behaviours):
                m = data.matrices[b]
                mats.update({f"{j}_data": m.data, f"{j}_indices": m.indices, f"{j}_indptr": m.indptr})
            with open(tmp / "train.npz", "wb") as fh:
                np.savez(fh, **mats)
            _save_state(state, tmp)
            for name, blob in (extra_files or {}).items():
                (tmp / name).write_bytes(blob)
        return folder

    @staticmethod
    def load(folder: str | os.PathLike[str], device: str | None = None) -> Recommender:
        """Load any model folder written by :meth:`save` (dispatch on the name in ``config.json``)."""
        folder = Path(folder)
        cfg_path = folder / "config.json"
        if not cfg_path.is_file():
            raise RecganError(f"{folder}: not a recgan model folder (no config.json)")
        try:
            cfg = json.loads(cfg_path.read_text())
            ids = json.loads((folder / "ids.json").read_text())
        except (json.JSONDecodeError, FileNotFoundError) as e:
            raise RecganError(f"{folder}: damaged model folder: {e}") from None
        cls = get_model_class(cfg["model"])
        params = cfg["config"]
        if device is not None and "device" in params:
            params["device"] = device
        model = cls(make_config(cls.config_class, params))
        model.info = cfg.get("info", {})
        mats_raw = load_npz(folder / "train.npz")
        shape = (cfg["n_users"], cfg["n_items"])
        mats = {
            b: sp.csr_matrix(
                (mats_raw[f"{j}_data"], mats_raw[f"{j}_indices"], mats_raw[f"{j}_indptr"]), shape=shape
            )
            for j, b in enumerate(cfg["behaviours"])
        }
        model.data_ = Interactions(
            mats, cfg["target"], IdMap(np.asarray(ids["users"], dtype=object), "user"),
            IdMap(np.asarray(ids["items"], dtype=object), "item"),
        )
        model._set_state(_load_state(folder))
        return model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _save_state(state: dict[str, Any], folder: Path) -> None:
    if not state:
        return
    import torch

    if any(isinstance(v, torch.Tensor) for v in state.values()):
        from safetensors.torch import save_file

        tensors = {k: (v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)))
                   .detach().cpu().contiguous() for k, v in state.items()}
        save_file(tensors, str(folder / "weights.safetensors"))
    else:
        with open(folder / "weights.npz", "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in state.items()})


def _load_state(folder: Path) -> dict[str, Any]:
    if (folder / "weights.safetensors").exists():
        from safetensors.torch import load_file

        return dict(load_file(str(folder / "weights.safetensors")))
    if (folder / "weights.npz").exists():
        return load_npz(folder / "weights.npz")
    return {}
