"""Filters on :class:`Interactions`: k-core and rating thresholds (the latter live in the loaders)."""

from __future__ import annotations

import numpy as np

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.errors import RecganError


def kcore(data: Interactions, min_user: int = 0, min_item: int = 0, max_rounds: int = 100) -> Interactions:
    """Iteratively drop users with < ``min_user`` and items with < ``min_item`` target interactions."""
    X = data.binary()
    users = np.arange(data.n_users)
    items = np.arange(data.n_items)
    for _ in range(max_rounds):
        sub = X[users][:, items]
        ku = np.asarray(sub.sum(1)).ravel() >= min_user
        ki = np.asarray(sub.sum(0)).ravel() >= min_item
        if ku.all() and ki.all():
            break
        users, items = users[ku], items[ki]
    if len(users) == 0 or len(items) == 0:
        raise RecganError(f"k-core ({min_user}, {min_item}) leaves no data")
    mats = {b: m[users][:, items] for b, m in data.matrices.items()}
    ts = {b: m[users][:, items] for b, m in data.timestamps.items()} if data.timestamps else None
    return Interactions(
        mats, data.target, IdMap(data.users.ids[users], "user"), IdMap(data.items.ids[items], "item"), ts
    )
