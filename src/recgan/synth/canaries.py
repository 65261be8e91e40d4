"""Canary users for privacy audits: planted profiles made of rare, unique item combinations.

* :func:`plant_canaries` adds ``n`` canary users to a training set, each holding ``size`` items drawn from the
  rare items (few real interactions), no two canaries sharing an item when the tail allows it. Whether a
  generator *reproduces* a canary is measured by :func:`recgan.reports.privacy.canary_reproduction`.
* For the DP audit, ``fresh_items=True`` builds canaries from new catalogue items that no real user touched
  and each canary is planted with probability 1/2: how well a generator's item marginals tell the planted
  from the unplanted canaries bounds epsilon from below (:func:`recgan.reports.privacy.epsilon_lower_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions


@dataclass(frozen=True)
class Canaries:
    items: np.ndarray
    """(n, size) internal item indices of each canary (in the returned data's item space)."""
    planted: np.ndarray
    """(n,) bool: canary i is in the training data."""
    user_ids: np.ndarray
    """(n,) user ids given to the canaries (planted or not)."""
    decoys: np.ndarray | None = None
    """(k, size) decoy canaries: combinations of items from the same rare pool, never planted. How many of
    them a generator "reproduces" is the chance level of the canary check (a generator that puts a lot of
    mass on rare items fills big profiles with them whether or not it saw any canary)."""

    def decoy_frame(self, items: IdMap) -> pd.DataFrame:
        """Decoys as user (``decoy0000`` ...), item (original ids)."""
        d = self.decoys if self.decoys is not None else np.zeros((0, self.items.shape[1]), np.int64)
        return pd.DataFrame({"user": np.repeat([f"decoy{j:04d}" for j in range(len(d))], d.shape[1]),
                             "item": items.original(d.ravel())})

    def decoy_matrix(self, n_items: int) -> sp.csr_matrix:
        d = self.decoys if self.decoys is not None else np.zeros((0, self.items.shape[1]), np.int64)
        n, k = d.shape
        return sp.csr_matrix((np.ones(n * k, np.float32), (np.repeat(np.arange(n), k), d.ravel())),
                             shape=(n, n_items))

    def matrix(self, n_items: int) -> sp.csr_matrix:
        n, k = self.items.shape
        return sp.csr_matrix((np.ones(n * k, np.float32), (np.repeat(np.arange(n), k), self.items.ravel())),
                             shape=(n, n_items))

    def to_frame(self, items: IdMap) -> pd.DataFrame:
        n, k = self.items.shape
        return pd.DataFrame({"user": np.repeat(self.user_ids, k), "item": items.original(self.items.ravel()),
                             "planted": np.repeat(self.planted, k)})


def plant_canaries(data: Interactions, n: int = 20, size: int = 8, seed: int = 0, *, fresh_items: bool = False,
                   plant_fraction: float = 1.0, max_count: int = 5, decoys: int = 0) -> tuple[Interactions, Canaries]:
    """Return ``data`` with canary users added (all behaviours: target only) and the canaries.

    Canary items are items with 1..``max_count`` target interactions (rare), or new items when
    ``fresh_items``; each canary is planted with probability ``plant_fraction`` (1 = all). ``decoys`` further
    combinations are drawn from the same rare pool (disjoint from the canaries when the pool allows) and
    never planted: the chance baseline of the reproduction check (not with ``fresh_items``)."""
    rng = np.random.default_rng([seed, 99])
    items = data.items
    if fresh_items:
        new = np.array([f"canary-item-{j:05d}" for j in range(n * size)], dtype=object)
        if items.is_int:
            new = np.arange(n * size, dtype=np.int64) + int(items.ids.max()) + 1
        items = IdMap(np.concatenate([items.ids.astype(new.dtype), new]), "item")
        pool = np.arange(data.n_items, data.n_items + n * size)
        chosen = rng.permutation(pool).reshape(n, size)
    else:
        pop = np.asarray(data.binary().sum(0)).ravel()
        pool = np.flatnonzero((pop >= 1) & (pop <= max_count))
        if len(pool) < size:
            pool = np.argsort(pop)[: max(size * 4, size)]
        if len(pool) >= n * size:
            perm = rng.permutation(pool)
            chosen = perm[: n * size].reshape(n, size)
        else:  # not enough rare items for disjoint canaries: distinct within a canary
            chosen = np.stack([rng.choice(pool, size, replace=False) for _ in range(n)])
            perm = np.zeros(0, np.int64)
        if decoys > 0:
            drng = np.random.default_rng([seed, 101])  # its own stream: the canaries stay those without decoys
            rest = perm[n * size :]
            if len(rest) >= decoys * size:
                decoy_items = drng.permutation(rest)[: decoys * size].reshape(decoys, size)
            else:
                decoy_items = np.stack([drng.choice(pool, size, replace=False) for _ in range(decoys)])
    planted = rng.random(n) < plant_fraction if plant_fraction < 1 else np.ones(n, bool)
    user_ids = np.array([f"canary{j:04d}" for j in range(n)], dtype=object)
    if data.users.is_int:
        user_ids = np.arange(n, dtype=np.int64) + int(data.users.ids.max()) + 1
    users = IdMap(np.concatenate([data.users.ids.astype(user_ids.dtype), user_ids[planted]]), "user")
    shape = (len(users), len(items))
    mats = {}
    for b, m in data.matrices.items():
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(data.n_users, len(items)))
        extra = sp.csr_matrix((int(planted.sum()), len(items)), dtype=np.float32)
        if b == data.target:
            extra = Canaries(chosen[planted], planted[planted], user_ids[planted]).matrix(len(items))
        mats[b] = sp.vstack([m, extra], format="csr")
        assert mats[b].shape == shape
    out = Interactions(mats, data.target, users, items)
    return out, Canaries(chosen, planted, user_ids, decoy_items if decoys > 0 and not fresh_items else None)
