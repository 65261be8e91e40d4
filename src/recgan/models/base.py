"""The one recommender contract, its registry, and the model-folder format.

Every recgan recommender subclasses :class:`Recommender` and implements ``_fit`` and ``_score``
(and ``_score_history`` where it can fold in unseen users). The base class gives batch recommendation
with seen-item filtering and an item whitelist, original-id helpers, and save / load.

Model folder (:mod:`recgan.core.folder`, written atomically; loading never executes code):
  ``config.json``   model name, typed config (without run options: no device), recgan version, training info
  ``weights.safetensors`` (torch models) or ``weights.npz`` (numpy models)
  ``ids.json``      original user and item ids in index order
  ``train.npz``     the training matrices (CSR parts) used for seen-item filtering and fold-in
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.core.config import Config, Preset, make_config
from recgan.core.folder import header, read_json, read_npz, read_state, write_folder
from recgan.core.registry import Registry
from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.errors import FoldInNotSupported, RecganError, UnknownIdError
from recgan.models.topk import mask_seen, topk

if TYPE_CHECKING:
    from recgan.core.trainer import TrainingOptions

REGISTRY: Registry[type[Recommender]] = Registry("model")
"""Every recommender by name (``--model NAME``); filled by :func:`register` as the models package loads."""


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: make a model available by ``cls.name`` (CLI ``--model NAME``)."""
    return REGISTRY.add(cls)


def get_model_class(name: str) -> type[Recommender]:
    import recgan.models  # noqa: F401  (registers every built-in model)

    return REGISTRY.get(name)


class Recommender(ABC):
    """Base of every recommender.

    Subclass contract:
      * ``name`` (registry key), ``config_class`` (a :class:`~recgan.core.config.Config` subclass);
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
    presets: ClassVar[dict[str, Preset]] = {}
    """Named settings (``--preset NAME``): model parameters and the fit options they run with."""

    @classmethod
    def preset(cls, name: str) -> Preset:
        """The preset ``name``; an unknown name raises :class:`RecganError` listing the model's presets."""
        if name not in cls.presets:
            raise RecganError(f"model {cls.name!r} has no preset {name!r}; presets: "
                              f"{', '.join(sorted(cls.presets)) or 'none'}")
        return cls.presets[name]

    def __init__(self, config: Config | None = None, **params: Any) -> None:
        if config is None:
            config = make_config(self.config_class, params)
        elif params:
            config = config.replace(**params)
        self.config = config
        self.data_: Interactions | None = None
        self.info: dict[str, Any] = {}
        self.training_options: TrainingOptions | None = None

    # ------------------------------------------------------------ training
    def fit(self, data: Interactions, valid: Interactions | None = None,
            options: TrainingOptions | None = None) -> Recommender:
        """Learn from ``data`` (its target behaviour is what is predicted). ``valid``: target interactions
        in the same id space, used for early stopping by models that train iteratively; ``options``: how the
        trainer runs their epochs (progress, checkpoints, resume, tracking, validation metric)."""
        if data.nnz == 0:
            raise RecganError("cannot fit on data without target interactions")
        self.data_ = data
        if options is not None:  # None keeps options set on the model beforehand (default: TrainingOptions())
            self.training_options = options
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
        buf = None  # one scores buffer for every batch: fresh (batch, n_items) arrays cost a page fault per 4 KiB
        for lo in range(0, n, batch_size):
            sl = slice(lo, min(lo + batch_size, n))
            scores = scorer(sl)
            if buf is None:
                buf = np.empty((min(batch_size, n), self.n_items), np.float32)
            s = buf[: sl.stop - sl.start]
            s[...] = scores  # a copy: masking below must not touch what the model returned
            del scores
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
        """Fold-in with original ids. Returns (frame item, rank, score) and the list of unknown item ids.
        A history with no known item raises :class:`UnknownIdError` naming them (no list is made up: the same
        rule as the command line and the HTTP service)."""
        data = self._check_fitted()
        idx = data.items.lookup(item_ids)
        unknown = [i for i, j in zip(item_ids, idx, strict=True) if j < 0]
        if not (idx >= 0).any():
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise UnknownIdError(f"no known item in the history ({len(unknown)} unknown: {shown})")
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
        """Write the model folder atomically (:mod:`recgan.core.folder`; the device is not saved)."""
        data = self._check_fitted()
        meta = header("model", self.name, self.config, target=data.target, behaviours=data.behaviours,
                      n_users=data.n_users, n_items=data.n_items, info=self.info)
        mats = {}
        for j, b in enumerate(data.behaviours):
            m = data.matrices[b]
            mats.update({f"{j}_data": m.data, f"{j}_indices": m.indices, f"{j}_indptr": m.indptr})
        ids = {"users": data.users.to_list(), "items": data.items.to_list()}
        return write_folder(folder, json_files={"config.json": meta, "ids.json": ids},
                            npz_files={"train.npz": mats}, state=self._state(), extra_files=extra_files)

    @staticmethod
    def load(folder: str | os.PathLike[str], device: str | None = "auto") -> Recommender:
        """Load any model folder written by :meth:`save` (dispatch on the name in ``config.json``).
        ``device``: where torch models run now (default auto: CUDA when present, else CPU), whatever device
        they were trained on."""
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise RecganError(f"{folder}: not a recgan model folder (no config.json)")
        cfg = read_json(folder, "config.json")
        ids = read_json(folder, "ids.json")
        try:
            cls = get_model_class(cfg["model"])
            params = {k: v for k, v in cfg["config"].items() if k != "device"}  # older folders saved it
            if "device" in cls.config_class.model_fields:
                params["device"] = device or "auto"
            model = cls(make_config(cls.config_class, params))
            model.info = cfg.get("info", {})
            mats_raw = read_npz(folder, "train.npz")
            shape = (cfg["n_users"], cfg["n_items"])
            mats = {
                b: sp.csr_matrix(
                    (mats_raw[f"{j}_data"], mats_raw[f"{j}_indices"], mats_raw[f"{j}_indptr"]), shape=shape
                )
                for j, b in enumerate(cfg["behaviours"])
            }
        except (KeyError, TypeError, ValueError) as e:
            raise RecganError(f"{folder}: damaged model folder: {type(e).__name__}: {e}") from None
        model.data_ = Interactions(
            mats, cfg["target"], IdMap(np.asarray(ids["users"], dtype=object), "user"),
            IdMap(np.asarray(ids["items"], dtype=object), "item"),
        )
        try:
            model._set_state(read_state(folder))
        except (KeyError, RuntimeError, ValueError) as e:
            raise RecganError(f"{folder}: damaged weights: {type(e).__name__}: {str(e).splitlines()[0]}") from None
        return model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"
