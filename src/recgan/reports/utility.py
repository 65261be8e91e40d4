"""Utility of a synthetic set: train on synthetic, test on real (TSTR).

A recommender (EASE, ItemKNN) is fit on the synthetic users; each held-out *real* user gives 80 % of its
target items to the model (fold-in) and the other 20 % are hidden; NDCG@10 of the hidden items, as a ratio to
the same model fit on the real training users. 1.0 = as useful as the real log.
"""

from __future__ import annotations

import numpy as np

from recgan.data.interactions import Interactions
from recgan.data.splits import RandomHoldout
from recgan.metrics import hits_from_lists, ndcg_at
from recgan.models.base import get_model_class
from recgan.models.ease import TUNE_EXACT_MAX_ITEMS

DEFAULT_MODELS = {"ease": {"l2": 500.0}, "itemknn": {"neighbours": 100, "shrink": 10.0}}


def foldin_split(holdout: Interactions, seed: int = 0, hidden_fraction: float = 0.2):
    """(given CSR, hidden CSR) of the held-out users' target items, per user 80 / 20 at random."""
    sp_ = RandomHoldout(hidden_fraction, seed).split(holdout.only_target())
    return sp_.train.binary(), sp_.test.binary()


def foldin_ndcg(model, given, hidden, k: int = 10) -> float:
    """Mean NDCG@k over held-out users with at least one hidden item."""
    n_rel = np.diff(hidden.indptr)
    rows = np.flatnonzero(n_rel > 0)
    if not len(rows):
        return 0.0
    top, _ = model.recommend_history(given[rows], k)
    hits = hits_from_lists(top, hidden[rows])
    return float(ndcg_at(hits, n_rel[rows], k).mean())


def fit_model(name: str, data: Interactions, params: dict | None = None):
    """Fit model ``name`` on ``data``'s target behaviour. The report fits each model once per candidate set,
    so EASE with ``solver="auto"`` above ``TUNE_EXACT_MAX_ITEMS`` items uses its approximate solver (as
    ``--tune`` scores its grid there): minutes per fit instead of ~n^3 flops each. Every set of one report
    has the same catalogue, so the real and the synthetic fits use the same solver and the ratio stays fair."""
    cls = get_model_class(name)
    params = dict(params if params is not None else DEFAULT_MODELS.get(name, {}))
    if name == "ease" and params.get("solver", "auto") == "auto" and data.n_items > TUNE_EXACT_MAX_ITEMS:
        params["solver"] = "approx"
    return cls(**params).fit(data.only_target())


def tstr(train: Interactions, holdout: Interactions, candidates: dict[str, Interactions],
         models: dict[str, dict] | None = None, k: int = 10, seed: int = 0) -> dict[str, dict[str, float]]:
    """{model: {"real": ndcg, name: ndcg, f"{name}_ratio": ndcg / real}} for every candidate set (all in
    ``train``'s item space)."""
    models = models or DEFAULT_MODELS
    given, hidden = foldin_split(holdout, seed)
    out = {}
    for mname, params in models.items():
        real = foldin_ndcg(fit_model(mname, train, params), given, hidden, k)
        row = {"real": real}
        for cname, data in candidates.items():
            if data.X.nnz == 0:
                row[cname], row[f"{cname}_ratio"] = 0.0, 0.0
                continue
            v = foldin_ndcg(fit_model(mname, data, params), given, hidden, k)
            row[cname], row[f"{cname}_ratio"] = v, (v / real if real > 0 else 0.0)
        out[mname] = row
    return out
