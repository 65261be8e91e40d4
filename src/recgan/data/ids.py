"""Id maps between the caller's ids (ints or strings) and internal contiguous indices, and THE id rule.

The id rule (one rule for training files, the CLI, the Python API and HTTP):

* **Which ids are integers.** A column of ids (a training file, a list given to :class:`IdMap`) is an
  *integer* column when every id in it is an integer written the way Python and JSON write integers
  (``0`` or an optional ``-`` then digits without a leading zero: no ``+``, no leading zeros, no decimal
  point, no spaces) **and** fits a signed 64-bit integer (-2^63 .. 2^63-1). Typed numbers count by value
  (an int64 column; a float column whose values are all whole). Otherwise every id of the column is a
  *string*, kept exactly as written: ``007``, ``2.0`` and a 20-digit ``99999999999999999999`` stay strings,
  and two different 20-digit ids stay two ids (nothing is ever wrapped around to int64's minimum).
* **Which query matches an id.** A query value (``--users 42``, a URL segment, a JSON string or integer)
  matches an integer id when it is that integer (a Python/numpy integer, or a whole float) or its text in
  the canonical form above (``"42"``; not ``"042"``, ``"+42"``, ``"42.0"`` or ``" 42"``). It matches a string
  id when its text is exactly that string (an integer query ``42`` has the text ``"42"``). Booleans and
  ``None`` never match. Nothing is stripped or case-folded here; a CLI list is split on commas and trimmed
  before it reaches the rule.

Functions: :func:`normalise_ids` (a column to int64 or str), :func:`factorize_ids` (a column to sorted
unique ids and int64 codes, vectorised; what loaders call), :func:`id_key` (one query value's key, the fast
path of the HTTP server) and :func:`query_keys` (many query values). :class:`IdMap` applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recgan.errors import UnknownIdError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
"""Text of an integer id: how Python and JSON write an integer (then it must also fit int64)."""
_CANONICAL_INT_PA = r"^(0|-?[1-9][0-9]{0,18})$"  # at most 19 digits: the range check is below


def _as_array(values: Iterable | np.ndarray | pd.Series | pd.Index) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy()
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, str | bytes):
        values = [values]
    arr = np.asarray(list(values), dtype=object)
    return arr.ravel()


def _text_array(arr: np.ndarray) -> pa.Array:
    """The ids' text as a pyarrow string array (str values as they are, anything else as ``str(value)``)."""
    try:
        return pa.array(arr, type=pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([v if isinstance(v, str) else str(v) for v in arr], type=pa.string())


def _canonical_int_mask(text: pa.Array) -> np.ndarray:
    """Per value: canonical integer text that fits int64 (bool array)."""
    if len(text) == 0:
        return np.zeros(0, bool)
    ok = pc.fill_null(pc.match_substring_regex(text, _CANONICAL_INT_PA), False)
    length = pc.utf8_length(text)
    neg = pc.fill_null(pc.starts_with(text, "-"), False)
    over_pos = pc.and_(pc.and_(pc.invert(neg), pc.equal(length, 19)), pc.greater(text, "9223372036854775807"))
    over_neg = pc.and_(pc.and_(neg, pc.equal(length, 20)), pc.greater(text, "-9223372036854775808"))
    over = pc.fill_null(pc.or_(over_pos, over_neg), False)
    return np.asarray(pc.and_(ok, pc.invert(over)).to_numpy(zero_copy_only=False), dtype=bool)


def _int_of_text(text: pa.Array, ok: np.ndarray) -> np.ndarray:
    """int64 of each canonical text (0 where not ``ok``)."""
    safe = pc.if_else(pa.array(ok), text, "0")
    return np.asarray(pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _float_int_mask(arr: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(arr) & (arr == np.floor(arr)) & (arr >= -(2.0**63)) & (arr < 2.0**63)


def _texts_of(arr: np.ndarray) -> np.ndarray:
    """Object array of each id's text (integers in canonical form)."""
    if arr.dtype.kind in "iu":
        return arr.astype(str).astype(object)
    if arr.dtype.kind == "f":
        out = arr.astype(str).astype(object)
        whole = _float_int_mask(arr)
        out[whole] = arr[whole].astype(np.int64).astype(str)
        return out
    return np.asarray(_text_array(arr).to_numpy(zero_copy_only=False), dtype=object)


def normalise_ids(values: Iterable | np.ndarray | pd.Series) -> np.ndarray:
    """Ids of one column under the id rule: int64 when every id is an int64 integer, else str objects.

    Shape (n,) in, (n,) out; vectorised (pyarrow on text)."""
    arr = _as_array(values)
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if len(arr) == 0 or int(arr.max()) <= INT64_MAX:
            return arr.astype(np.int64)
        return arr.astype(str).astype(object)
    if kind == "f":
        if _float_int_mask(arr).all():
            return arr.astype(np.int64)
        return arr.astype(str).astype(object)
    if kind == "b":
        return arr.astype(str).astype(object)
    if kind == "O" and len(arr) and pd.api.types.infer_dtype(arr, skipna=False) == "integer":
        try:  # Python ints (e.g. from JSON): typed numbers count by value
            return np.array(arr.tolist(), dtype=np.int64)
        except OverflowError:
            pass
    text = _text_array(arr)
    ok = _canonical_int_mask(text)
    if len(arr) and ok.all():
        return _int_of_text(text, ok)
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def factorize_ids(values: Iterable | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(uniques, codes)`` of a column of ids under the id rule: ``uniques`` sorted (int64 or str objects),
    ``codes`` int64 with ``uniques[codes]`` equal to each value's normalised id. Shape (n,) -> ((u,), (n,)).

    Vectorised: the raw values are hashed first (pandas factorize), then only the distinct values are
    normalised and sorted, so a long column with few distinct ids costs one hash pass."""
    arr = _as_array(values)
    if len(arr) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    raw_codes, raw_uniques = pd.factorize(arr, use_na_sentinel=False)
    norm = normalise_ids(np.asarray(raw_uniques))
    uniques, inverse = np.unique(norm, return_inverse=True)
    return uniques, inverse.ravel().astype(np.int64)[raw_codes]


def id_key(value: Any, as_int: bool) -> int | str | None:
    """The key under which one query ``value`` is looked up in an integer map (``as_int``) or a string map;
    None when it can match no id of such a map (see the module's id rule)."""
    if value is None or isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        v = int(value)
        if as_int:
            return v if INT64_MIN <= v <= INT64_MAX else None
        return str(v)
    if isinstance(value, float | np.floating):
        f = float(value)
        whole = np.isfinite(f) and f == np.floor(f)
        if as_int:
            return int(f) if whole and -(2.0**63) <= f < 2.0**63 else None
        return str(int(f)) if whole else str(f)
    s = value if isinstance(value, str) else str(value)
    if not as_int:
        return s
    if not CANONICAL_INT.fullmatch(s):
        return None
    v = int(s)
    return v if INT64_MIN <= v <= INT64_MAX else None


def query_keys(values: Iterable | np.ndarray | pd.Series, as_int: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`id_key`: ``(keys, ok)``, keys int64 (``as_int``) or str objects, ``ok`` False where a
    value can match no id. Shape (n,) -> ((n,), (n,))."""
    arr = _as_array(values)
    n = len(arr)
    kind = arr.dtype.kind
    if not as_int:
        if kind in "iuf":
            return _texts_of(arr), np.ones(n, bool)
        if kind == "b":
            return np.full(n, "", dtype=object), np.zeros(n, bool)
        if kind in "US" or (n and pd.api.types.infer_dtype(arr, skipna=False) == "string"):
            return np.asarray(_text_array(arr).to_numpy(zero_copy_only=False), dtype=object), np.ones(n, bool)
    else:
        if kind == "i":
            return arr.astype(np.int64, copy=False), np.ones(n, bool)
        if kind == "u":
            ok = arr <= np.uint64(INT64_MAX)
            return np.where(ok, arr, 0).astype(np.int64), ok
        if kind == "f":
            ok = _float_int_mask(arr)
            return np.where(ok, arr, 0).astype(np.int64), ok
        if kind == "b":
            return np.zeros(n, np.int64), np.zeros(n, bool)
        if kind in "US" or (n and pd.api.types.infer_dtype(arr, skipna=False) == "string"):
            text = _text_array(arr)
            ok = _canonical_int_mask(text)
            return _int_of_text(text, ok), ok
    # mixed Python objects (small inputs: JSON bodies, Python lists): one value at a time, same rule
    keys = [id_key(v, as_int) for v in arr]
    ok = np.fromiter((k is not None for k in keys), bool, n)
    if as_int:
        return np.fromiter((k if k is not None else 0 for k in keys), np.int64, n), ok
    return np.asarray([k if k is not None else "" for k in keys], dtype=object), ok


# kept for callers of the old private name
_normalise = normalise_ids


@dataclass(frozen=True)
class IdMap:
    """Original ids in internal-index order. ``ids[i]`` is the caller's id of internal index ``i``.

    ``ids`` is normalised by the id rule (int64 or str objects). Lookups follow the same rule."""

    ids: np.ndarray
    kind: str = "item"
    _index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = normalise_ids(self.ids) if len(self.ids) else np.asarray([], dtype=np.int64)
        if isinstance(self.ids, np.ndarray) and np.may_share_memory(ids, self.ids):
            ids = ids.copy()  # never freeze the caller's array
        ids.setflags(write=False)
        object.__setattr__(self, "ids", ids)
        idx = pd.Index(ids, dtype=ids.dtype if ids.dtype.kind == "i" else object)
        if not idx.is_unique:
            raise ValueError(f"{self.kind} ids are not unique")
        object.__setattr__(self, "_index", idx)

    @classmethod
    def from_values(cls, values: Iterable, kind: str = "item") -> tuple[IdMap, np.ndarray]:
        """Build a sorted map from raw values; return it with each value's index (int64)."""
        uniques, codes = factorize_ids(values)
        return cls(uniques, kind), codes

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def is_int(self) -> bool:
        return self.ids.dtype.kind == "i"

    def keys(self, values: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, ok)`` of caller values under the id rule for this map (see :func:`query_keys`)."""
        return query_keys(values, self.is_int)

    def coerce(self, values: Iterable) -> np.ndarray:
        """Caller values as this map's id type; values that can match no id become None (object array)."""
        keys, ok = self.keys(values)
        if ok.all():
            return keys
        out = keys.astype(object)
        out[~ok] = None
        return out

    def lookup(self, values: Iterable) -> np.ndarray:
        """Internal indices for ``values`` (int64), -1 where unknown."""
        keys, ok = self.keys(values)
        if not len(self):
            return np.full(len(keys), -1, np.int64)
        idx = self._index.get_indexer(keys).astype(np.int64)
        idx[~ok] = -1
        return idx

    def index(self, values: Iterable) -> np.ndarray:
        """Internal indices for ``values``; raise :class:`UnknownIdError` naming the first unknown id."""
        values = _as_array(values)
        idx = self.lookup(values)
        bad = np.flatnonzero(idx < 0)
        if len(bad):
            first = values[bad[0]]
            first = first.item() if isinstance(first, np.generic) else first
            raise UnknownIdError(f"unknown {self.kind} id {first!r} ({len(bad)} unknown of {len(idx)})")
        return idx

    def original(self, idx: np.ndarray) -> np.ndarray:
        """Caller ids for internal indices."""
        return self.ids[np.asarray(idx, dtype=np.int64)]

    def extend(self, values: Iterable) -> IdMap:
        """A new map with the unknown ``values`` appended (in sorted order) after the known ones. Known ids
        keep their indices; if a new id is not an integer, an integer map becomes a string map (same texts)."""
        new_ids, _ = factorize_ids(values)
        if not len(new_ids):
            return self
        if not len(self):
            return IdMap(new_ids, self.kind)
        keys, ok = query_keys(new_ids, self.is_int)
        old = self.ids
        if not ok.all():  # an integer map meets an id that is no int64 integer: every id becomes its text
            old, keys = _texts_of(self.ids), new_ids
        new = keys[~pd.Index(keys, dtype=keys.dtype).isin(old)]
        if not len(new) and old is self.ids:
            return self
        if old.dtype.kind == "O" or new.dtype.kind == "O":
            return IdMap(np.concatenate([old.astype(object), new.astype(object)]), self.kind)
        return IdMap(np.concatenate([old, new]), self.kind)

    def to_list(self) -> list:
        return self.ids.tolist()
