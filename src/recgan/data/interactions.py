"""The one data object every recgan model shares.

:class:`Interactions` holds, per behaviour type (view, cart, buy, ...), a users x items CSR matrix of
interaction weights (float32), one *target* behaviour, optional per-interaction timestamps (float64 seconds,
same sparsity as the weights) and the id maps between the caller's ids and internal indices. It is immutable:
every operation returns a new object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.errors import RecganError

USER, ITEM, BEHAVIOUR, WEIGHT, TIMESTAMP, RATING = "user", "item", "behaviour", "weight", "timestamp", "rating"
DEFAULT_BEHAVIOUR = "interaction"


def _freeze(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m)
    m.sum_duplicates()
    m.sort_indices()
    for a in (m.data, m.indices, m.indptr):
        a.setflags(write=False)
    return m


@dataclass(frozen=True)
class Interactions:
    """Users x items interaction matrices per behaviour, with id maps.

    Attributes:
        matrices: behaviour name -> CSR of shape (n_users, n_items), float32 weights (1.0 for implicit data).
        target: the behaviour models learn to predict (e.g. ``"buy"``).
        users, items: id maps; row ``u`` is user ``users.ids[u]``, column ``i`` is item ``items.ids[i]``.
        timestamps: optional behaviour -> CSR with the same sparsity as ``matrices``, float64 seconds.
    """

    matrices: Mapping[str, sp.csr_matrix]
    target: str
    users: IdMap
    items: IdMap
    timestamps: Mapping[str, sp.csr_matrix] | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.target not in self.matrices:
            raise RecganError(
                f"target behaviour {self.target!r} not in data (behaviours: {sorted(self.matrices)})"
            )
        shape = (len(self.users), len(self.items))
        mats = {}
        for name, m in self.matrices.items():
            if m.shape != shape:
                raise ValueError(f"behaviour {name!r} has shape {m.shape}, expected {shape}")
            mats[name] = _freeze(sp.csr_matrix(m, dtype=np.float32))
        object.__setattr__(self, "matrices", MappingProxyType(mats))
        if self.timestamps is not None:
            ts = {k: _freeze(sp.csr_matrix(v, dtype=np.float64)) for k, v in self.timestamps.items()}
            object.__setattr__(self, "timestamps", MappingProxyType(ts))

    # ----------------------------------------------------------------- views
    @property
    def X(self) -> sp.csr_matrix:
        """Target-behaviour matrix, (n_users, n_items) float32."""
        return self.matrices[self.target]

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def nnz(self) -> int:
        return int(self.X.nnz)

    @property
    def behaviours(self) -> list[str]:
        """Behaviour names, target last is *not* implied: sorted with the target first."""
        return [self.target] + sorted(b for b in self.matrices if b != self.target)

    def binary(self, behaviour: str | None = None) -> sp.csr_matrix:
        """0/1 float32 CSR of one behaviour (target by default)."""
        key = ("binary", behaviour or self.target)
        if key not in self._cache:
            m = self.matrices[behaviour or self.target].copy()
            m.data = np.ones_like(m.data)
            self._cache[key] = m
        return self._cache[key]

    def __repr__(self) -> str:
        parts = ", ".join(f"{b}={self.matrices[b].nnz}" for b in self.behaviours)
        return f"Interactions(users={self.n_users}, items={self.n_items}, target={self.target!r}, {parts})"

    # ------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        target: str | None = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
        unknown: str = "extend",
        source: str = "data frame",
    ) -> Interactions:
        """Build from a long frame with columns ``user``, ``item`` and optional ``behaviour``, ``weight``,
        ``timestamp``.

        ``users`` / ``items``: existing id maps to index against (e.g. train's for a test file). ``unknown``
        says what to do with ids not in them: ``"extend"`` (append), ``"drop"`` or ``"error"``.
        Duplicate (user, item, behaviour) rows are merged: the last row's weight and timestamp win.
        """
        for col in (USER, ITEM):
            if col not in df.columns:
                raise RecganError(f"{source}: missing column {col!r} (columns: {list(df.columns)})")
        if len(df) == 0:
            raise RecganError(f"{source}: no interactions")
        df = df.copy()
        if BEHAVIOUR not in df.columns:
            df[BEHAVIOUR] = target or DEFAULT_BEHAVIOUR
        df[BEHAVIOUR] = df[BEHAVIOUR].astype(str).astype("category")
        if target is None:
            present = {str(c) for c in df[BEHAVIOUR].cat.categories}
            target = "buy" if "buy" in present else sorted(present)[0] if len(present) == 1 else None
            if target is None:
                raise RecganError(f"{source}: several behaviours {sorted(present)}; say which is the target")
        df = df.drop_duplicates(subset=[USER, ITEM, BEHAVIOUR], keep="last")

        def _map(col: str, m: IdMap | None, kind: str) -> tuple[IdMap, np.ndarray]:
            if m is None:
                return IdMap.from_values(df[col].to_numpy(), kind)
            idx = m.lookup(df[col].to_numpy())
            if (idx < 0).any():
                if unknown == "error":
                    m.index(df[col].to_numpy())  # raises, naming the first unknown id
                if unknown == "extend":
                    m = m.extend(df[col].to_numpy())
                    idx = m.lookup(df[col].to_numpy())
            return m, idx

        umap, uidx = _map(USER, users, "user")
        imap, iidx = _map(ITEM, items, "item")
        keep = (uidx >= 0) & (iidx >= 0)
        weights = df[WEIGHT].to_numpy(np.float32) if WEIGHT in df.columns else np.ones(len(df), np.float32)
        ts = df[TIMESTAMP].to_numpy(np.float64) if TIMESTAMP in df.columns else None
        codes = df[BEHAVIOUR].cat.codes.to_numpy()
        shape = (len(umap), len(imap))
        mats, tss = {}, {}
        for code, b in enumerate(df[BEHAVIOUR].cat.categories):
            sel = keep & (codes == code)
            if not sel.any():
                continue
            mats[b] = sp.csr_matrix((weights[sel], (uidx[sel], iidx[sel])), shape=shape)
            if ts is not None:
                # +1 offset keeps timestamp 0 from vanishing as a sparse zero; removed below
                tm = sp.csr_matrix((ts[sel] + 1.0, (uidx[sel], iidx[sel])), shape=shape)
                tm.data -= 1.0
                tss[b] = tm
        if target not in mats:
            raise RecganError(f"{source}: target behaviour {target!r} not found (have {sorted(mats)})")
        return cls(mats, target, umap, imap, tss if ts is not None else None)

    def to_frame(self, behaviours: list[str] | None = None) -> pd.DataFrame:
        """Long frame with original ids: user, item, behaviour, weight[, timestamp]."""
        frames = []
        for b in behaviours or self.behaviours:
            m = self.matrices[b].tocoo()
            f = pd.DataFrame(
                {
                    USER: self.users.original(m.row),
                    ITEM: self.items.original(m.col),
                    BEHAVIOUR: b,
                    WEIGHT: m.data,
                }
            )
            if self.timestamps is not None and b in self.timestamps:
                f[TIMESTAMP] = self.timestamps[b].tocoo().data
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    # ----------------------------------------------------------- transforms
    def replace(
        self,
        matrices: Mapping[str, sp.csr_matrix],
        timestamps: Mapping[str, sp.csr_matrix] | None = None,
        users: IdMap | None = None,
        items: IdMap | None = None,
    ) -> Interactions:
        return Interactions(
            dict(matrices), self.target, users or self.users, items or self.items, timestamps
        )

    def select_users(self, rows: np.ndarray) -> Interactions:
        """Keep only ``rows`` (internal indices), re-indexing users; items unchanged."""
        rows = np.asarray(rows, dtype=np.int64)
        mats = {b: m[rows] for b, m in self.matrices.items()}
        ts = {b: m[rows] for b, m in self.timestamps.items()} if self.timestamps else None
        return Interactions(mats, self.target, IdMap(self.users.ids[rows], "user"), self.items, ts)

    def only_target(self) -> Interactions:
        ts = {self.target: self.timestamps[self.target]} if self.timestamps else None
        return self.replace({self.target: self.X}, ts)
