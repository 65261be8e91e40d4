"""recgan's embedded default data: a generator of realistic shop behaviour (no licensed data shipped).

Model: items belong to categories and have Zipf-like (long-tail) popularity; each user has latent tastes
(a sparse Dirichlet over categories) and a log-normal activity level; a user's views are drawn by category
taste then item popularity; each view turns into a cart with an item-dependent probability, a cart into a
buy; timestamps increase along each user's session (view < cart < buy). Deterministic by seed, vectorised.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from recgan.errors import RecganError
from recgan.io import atomic_path

BEHAVIOURS = ("view", "cart", "buy")


def simulate(
    n_users: int = 1000,
    n_items: int = 500,
    n_interactions: int = 50_000,
    *,
    n_categories: int | None = None,
    seed: int = 0,
    chunk: int = 2_000_000,
) -> pd.DataFrame:
    """Generate a view/cart/buy log of about ``n_interactions`` rows.

    Returns a frame with columns user (int64, 1-based), item (int64, 1-based), behaviour (view/cart/buy),
    timestamp (int64 unix seconds), sorted by user then time. Memory is O(rows); work is chunked.
    """
    if min(n_users, n_items, n_interactions) <= 0:
        raise RecganError("users, items and interactions must all be positive")
    rng = np.random.default_rng(seed)
    n_cat = n_categories or max(2, int(round(np.sqrt(n_items) / 2)))
    n_cat = min(n_cat, n_items)
    # items: category and long-tail popularity (Zipf exponent ~1.1 over a random permutation)
    item_cat = np.sort(rng.integers(0, n_cat, n_items))
    item_cat[:n_cat] = np.arange(n_cat)  # every category has at least one item
    item_cat = np.sort(item_cat)
    pop = 1.0 / np.power(rng.permutation(n_items) + 1.0, 1.1)
    cat_start = np.searchsorted(item_cat, np.arange(n_cat))
    cat_pop = np.bincount(item_cat, weights=pop, minlength=n_cat)
    within = pop / cat_pop[item_cat]
    cum_within = np.cumsum(within)  # global: category c's slice spans (c, c+1]
    cum_within = cum_within - np.repeat(np.concatenate([[0.0], cum_within[cat_start[1:] - 1]]),
                                        np.diff(np.append(cat_start, n_items)))
    cum_within += item_cat
    # conversion: views -> cart -> buy probabilities per item (quality)
    quality = rng.beta(2.0, 5.0, n_items)
    p_cart = np.clip(0.15 + 0.4 * quality, 0, 1)
    p_buy = np.clip(0.35 + 0.5 * quality, 0, 1)
    rows_per_view = 1 + p_cart.mean() * (1 + p_buy.mean())
    n_views = max(n_users, int(n_interactions / rows_per_view))
    # users: activity (log-normal) and tastes (sparse Dirichlet over categories, blended with popularity)
    activity = rng.lognormal(0.0, 0.9, n_users)
    counts = rng.multinomial(n_views - n_users, activity / activity.sum()) + 1
    taste_alpha = np.full(n_cat, 0.15)
    cat_prior = cat_pop / cat_pop.sum()
    user_start = rng.uniform(1.6e9, 1.6e9 + 180 * 86400, n_users)

    out = []
    users_all = np.repeat(np.arange(n_users), counts)
    for lo in range(0, len(users_all), chunk):
        u = users_all[lo : lo + chunk]
        ulo, uhi = u[0], u[-1] + 1
        sub_rng = np.random.default_rng([seed, lo])
        tastes = sub_rng.dirichlet(taste_alpha, uhi - ulo) * 0.8 + 0.2 * cat_prior
        cum = np.cumsum(tastes, axis=1)
        r = sub_rng.random(len(u))
        cat = np.empty(len(u), dtype=np.int64)
        for c0 in range(0, len(u), 200_000):  # bound the (events x categories) comparison
            sl = slice(c0, c0 + 200_000)
            cat[sl] = (cum[u[sl] - ulo] < r[sl, None]).sum(1)
        cat = np.minimum(cat, n_cat - 1)
        item = np.searchsorted(cum_within, cat + sub_rng.random(len(u)) * (1 - 1e-12), side="left")
        item = np.clip(item, cat_start[cat], np.append(cat_start[1:], n_items)[cat] - 1)
        t = user_start[u] + np.cumsum(sub_rng.exponential(3600.0, len(u)))
        carted = sub_rng.random(len(u)) < p_cart[item]
        bought = carted & (sub_rng.random(len(u)) < p_buy[item])
        tc = t + sub_rng.exponential(120.0, len(u))
        tb = tc + sub_rng.exponential(600.0, len(u))
        out.append(pd.DataFrame({"user": u, "item": item, "behaviour": 0, "timestamp": t}))
        out.append(pd.DataFrame({"user": u[carted], "item": item[carted], "behaviour": 1, "timestamp": tc[carted]}))
        out.append(pd.DataFrame({"user": u[bought], "item": item[bought], "behaviour": 2, "timestamp": tb[bought]}))
    df = pd.concat(out, ignore_index=True)
    df = df.sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)
    df["user"] += 1
    df["item"] += 1
    df["timestamp"] = df["timestamp"].astype(np.int64)
    df["behaviour"] = pd.Categorical.from_codes(df["behaviour"].to_numpy(), BEHAVIOURS)
    return df


def write_log(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a log atomically: ``.parquet``, ``.csv`` or ``.tsv`` (with a header row)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif path.suffix in (".tsv", ".txt"):
            df.to_csv(tmp, sep="\t", index=False)
        else:
            raise RecganError(f"{path}: unknown format {path.suffix!r}; use .tsv, .csv or .parquet")
    return path


def default_data(seed: int = 0):
    """The embedded default data set as :class:`~recgan.data.interactions.Interactions` (buy target)."""
    from recgan.data.interactions import Interactions

    df = simulate(1500, 600, 120_000, seed=seed)
    return Interactions.from_frame(df, target="buy", source="recgan default data")
