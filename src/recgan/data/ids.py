"""Id maps between the caller's ids (ints or strings) and internal contiguous indices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recgan.errors import UnknownIdError


def _normalise(values: Iterable | np.ndarray | pd.Series) -> np.ndarray:
    """Return ids as int64 when every value is an integer, else as str objects."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        return arr.astype(str).astype(object)
    s = pd.Series(arr, dtype="object").astype(str)
    as_int = pd.to_numeric(s, errors="coerce")
    if len(s) and not as_int.isna().any() and s.str.fullmatch(r"[+-]?(0|[1-9]\d*)").all():
        return as_int.to_numpy(dtype=np.int64)
    return s.to_numpy(dtype=object)


@dataclass(frozen=True)
class IdMap:
    """Original ids in internal-index order. ``ids[i]`` is the caller's id of internal index ``i``."""

    ids: np.ndarray
    kind: str = "item"
    _index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = _normalise(self.ids) if len(self.ids) else np.asarray([], dtype=np.int64)
        ids.setflags(write=False)
        object.__setattr__(self, "ids", ids)
        idx = pd.Index(ids)
        if not idx.is_unique:
            raise ValueError(f"{self.kind} ids are not unique")
        object.__setattr__(self, "_index", idx)

    @classmethod
    def from_values(cls, values: Iterable, kind: str = "item") -> tuple[IdMap, np.ndarray]:
        """Build a sorted map from raw values; return it with each value's index (int64)."""
        vals = _normalise(values)
        uniq, codes = np.unique(vals, return_inverse=True)
        return cls(uniq, kind), codes.astype(np.int64).ravel()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def is_int(self) -> bool:
        return self.ids.dtype.kind == "i"

    def coerce(self, values: Iterable) -> np.ndarray:
        """Convert caller values (e.g. strings from a URL) to this map's id type."""
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray | pd.Series) else values)
        if self.is_int:
            s = pd.Series(arr, dtype="object").astype(str)
            num = pd.to_numeric(s, errors="coerce")
            # ids that are not integers can never match an int map: make them unknown (-1 lookups)
            return num.fillna(np.iinfo(np.int64).min).to_numpy(dtype=np.int64)
        return pd.Series(arr, dtype="object").astype(str).to_numpy(dtype=object)

    def lookup(self, values: Iterable) -> np.ndarray:
        """Internal indices for ``values`` (int64), -1 where unknown."""
        return self._index.get_indexer(self.coerce(values)).astype(np.int64)

    def index(self, values: Iterable) -> np.ndarray:
        """Internal indices for ``values``; raise :class:`UnknownIdError` naming the first unknown id."""
        values = list(values) if not isinstance(values, np.ndarray | pd.Series) else values
        idx = self.lookup(values)
        bad = np.flatnonzero(idx < 0)
        if len(bad):
            first = np.asarray(values, dtype=object)[bad[0]]
            raise UnknownIdError(f"unknown {self.kind} id {first!r} ({len(bad)} unknown of {len(idx)})")
        return idx

    def original(self, idx: np.ndarray) -> np.ndarray:
        """Caller ids for internal indices."""
        return self.ids[np.asarray(idx, dtype=np.int64)]

    def extend(self, values: Iterable) -> IdMap:
        """A new map with the unknown ``values`` appended (in sorted order) after the known ones."""
        vals = self.coerce(_normalise(values)) if len(self) else _normalise(values)
        new = np.unique(vals[self._index.get_indexer(vals) < 0]) if len(self) else np.unique(vals)
        if not len(new):
            return self
        if len(self) and self.is_int != (new.dtype.kind == "i"):
            new = new.astype(self.ids.dtype)
        return IdMap(np.concatenate([self.ids, new]), self.kind)

    def to_list(self) -> list:
        return self.ids.tolist()
