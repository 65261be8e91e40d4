"""Seeded splits as small named objects, and the split folder format.

Only the target behaviour is split; other behaviours stay in train (they are context, not labels).
A split folder holds ``train.tsv``, ``test.tsv`` and optionally ``valid.tsv`` / ``foldin.tsv``:
``user<TAB>item`` with original ids, plus a behaviour column in train when there are several behaviours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import BEHAVIOUR, ITEM, USER, Interactions
from recgan.data.loaders import load_interactions
from recgan.errors import RecganError
from recgan.io import atomic_dir


@dataclass(frozen=True)
class Split:
    """Train / test (and optional validation and fold-in) parts that share id maps.

    ``test``, ``valid`` and ``foldin`` hold the target behaviour only. For a user-level holdout, ``foldin``
    holds the part of each held-out user's history that is given to the model; ``test`` the hidden part.
    """

    train: Interactions
    test: Interactions
    valid: Interactions | None = None
    foldin: Interactions | None = None

    def save(self, folder: str | os.PathLike[str]) -> Path:
        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            write_tsv(self.train, tmp / "train.tsv")
            write_tsv(self.test, tmp / "test.tsv")
            if self.valid is not None:
                write_tsv(self.valid, tmp / "valid.tsv")
            if self.foldin is not None:
                write_tsv(self.foldin, tmp / "foldin.tsv")
        return folder


def write_tsv(data: Interactions, path: Path) -> None:
    """``user<TAB>item[<TAB>behaviour]`` with original ids, no header (behaviour only when several)."""
    multi = len(data.matrices) > 1
    df = data.to_frame()
    cols = [USER, ITEM, BEHAVIOUR] if multi else [USER, ITEM]
    df[cols].to_csv(path, sep="\t", header=False, index=False)


def within_row_rank(X: sp.csr_matrix, rng: np.random.Generator, keys: np.ndarray | None = None) -> np.ndarray:
    """For each stored entry, its 0-based rank within its row under random (or given) keys."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    k = rng.random(X.nnz) if keys is None else keys
    order = np.lexsort((k, rows))
    rank = np.empty(X.nnz, dtype=np.int64)
    rank[order] = np.arange(X.nnz) - X.indptr[rows[order]]
    return rank


def _split_target(data: Interactions, test_mask: np.ndarray) -> tuple[Interactions, Interactions]:
    """Move the target entries flagged in ``test_mask`` (aligned with ``data.X.data``) to a test object."""
    X = data.X
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))

    def part(mask: np.ndarray, m: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix((m.data[mask], (rows[mask], m.indices[mask])), shape=m.shape)

    tr = dict(data.matrices)
    tr[data.target] = part(~test_mask, X)
    te = {data.target: part(test_mask, X)}
    ts_tr = ts_te = None
    if data.timestamps is not None:
        T = data.timestamps[data.target]
        ts_tr = dict(data.timestamps)
        ts_tr[data.target] = part(~test_mask, T)
        ts_te = {data.target: part(test_mask, T)}
    return data.replace(tr, ts_tr), Interactions(te, data.target, data.users, data.items, ts_te)


@dataclass(frozen=True)
class RandomHoldout:
    """Per user, ``round(fraction * n_u)`` (at least 1, leaving at least 1 in train) target items at random
    go to test. The rule of PROTOCOL.md with ``fraction=0.2``."""

    fraction: float = 0.2
    seed: int = 0

    def split(self, data: Interactions) -> Split:
        if not 0 < self.fraction < 1:
            raise RecganError(f"fraction must be in (0, 1), got {self.fraction}")
        X = data.X
        n = np.diff(X.indptr)
        n_test = np.where(n >= 2, np.clip(np.floor(self.fraction * n + 0.5), 1, n - 1), 0).astype(np.int64)
        rank = within_row_rank(X, np.random.default_rng(self.seed))
        rows = np.repeat(np.arange(X.shape[0]), n)
        train, test = _split_target(data, rank < n_test[rows])
        return Split(train, test)


@dataclass(frozen=True)
class LeaveOneOut:
    """Per user with >= 2 target items, one item to test: the latest by timestamp (``by="time"``, ties at
    random) or a random one (``by="random"``)."""

    by: str = "time"
    seed: int = 0

    def split(self, data: Interactions) -> Split:
        X = data.X
        rng = np.random.default_rng(self.seed)
        if self.by == "time":
            if data.timestamps is None:
                raise RecganError("leave-one-out by time needs timestamps; use by='random'")
            keys = -data.timestamps[data.target].data + rng.random(X.nnz) * 1e-6
        elif self.by == "random":
            keys = rng.random(X.nnz)
        else:
            raise RecganError(f"by must be 'time' or 'random', got {self.by!r}")
        rank = within_row_rank(X, rng, keys)
        n = np.diff(X.indptr)
        rows = np.repeat(np.arange(X.shape[0]), n)
        train, test = _split_target(data, (rank == 0) & (n[rows] >= 2))
        return Split(train, test)


@dataclass(frozen=True)
class TemporalGlobal:
    """All target interactions after the ``1 - fraction`` time quantile go to test."""

    fraction: float = 0.2

    def split(self, data: Interactions) -> Split:
        if data.timestamps is None:
            raise RecganError("a temporal split needs timestamps")
        t = data.timestamps[data.target].data
        cut = np.quantile(t, 1 - self.fraction)
        train, test = _split_target(data, t > cut)
        return Split(train, test)


@dataclass(frozen=True)
class UserHoldout:
    """A ``user_fraction`` of users is held out whole; of each held-out user's target items a
    ``foldin_fraction`` is given (``foldin``) and the rest hidden (``test``). Train has the other users."""

    user_fraction: float = 0.2
    foldin_fraction: float = 0.8
    seed: int = 0

    def split(self, data: Interactions) -> Split:
        rng = np.random.default_rng(self.seed)
        n_held = max(1, int(round(self.user_fraction * data.n_users)))
        perm = rng.permutation(data.n_users)
        held, kept = np.sort(perm[:n_held]), np.sort(perm[n_held:])
        train = data.select_users(kept)
        held_data = data.select_users(held).only_target()
        inner = RandomHoldout(1 - self.foldin_fraction, self.seed + 1).split(held_data)
        return Split(train, inner.test, foldin=inner.train)


def validation_carve(train: Interactions, fraction: float = 0.2, seed: int = 12345) -> Split:
    """Carve a validation set out of train with the per-user rule (PROTOCOL.md)."""
    return RandomHoldout(fraction, seed).split(train)


SPLITTERS = {
    "random": RandomHoldout,
    "loo": LeaveOneOut,
    "temporal": TemporalGlobal,
    "user": UserHoldout,
}


def load_split(folder: str | os.PathLike[str], *, target: str | None = None) -> Split:
    """Read a split folder. Test / valid / fold-in are indexed against train's id maps; ids they add
    (e.g. test items never seen in train) are appended after train's."""
    folder = Path(folder)
    if not (folder / "train.tsv").exists():
        raise RecganError(f"{folder}: no train.tsv (a split folder holds train.tsv and test.tsv)")
    train = load_interactions(folder / "train.tsv", target=target)
    parts = {}
    for name in ("test", "valid", "foldin"):
        p = folder / f"{name}.tsv"
        if p.exists():
            parts[name] = load_heldout(p, train)
    if "test" not in parts:
        raise RecganError(f"{folder}: no test.tsv")
    return Split(train, parts["test"], parts.get("valid"), parts.get("foldin"))


def load_heldout(path: str | os.PathLike[str], train: Interactions) -> Interactions:
    """Read a held-out file (test / valid) into train's index space (target behaviour only)."""
    df_data = load_interactions(path, behaviour=train.target, target=train.target)
    df = df_data.to_frame([df_data.target])
    return Interactions.from_frame(
        df[[USER, ITEM]], target=train.target, users=train.users, items=train.items,
        unknown="extend", source=str(path),
    )


def align(train: Interactions, other: Interactions) -> tuple[sp.csr_matrix, IdMap, IdMap]:
    """``other``'s target matrix re-indexed into train's id space (extended by ids train lacks)."""
    df = other.to_frame([other.target])
    o = Interactions.from_frame(
        df[[USER, ITEM]], target=train.target, users=train.users, items=train.items, unknown="extend"
    )
    return o.X, o.users, o.items


