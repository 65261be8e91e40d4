"""The synthetic-data report's utility fits: EASE's solver by catalogue size."""

import numpy as np
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.reports import utility


def _data(n_users: int = 60, n_items: int = 40, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix((rng.random((n_users, n_items)) < 0.2).astype(np.float32))
    return Interactions({"buy": X}, "buy", IdMap(np.arange(n_users), "user"), IdMap(np.arange(n_items), "item"))


def test_ease_uses_the_approximate_solver_above_the_threshold(monkeypatch):
    data = _data()
    small = utility.fit_model("ease", data)
    assert small.info["solver"]["solver"] == "exact"
    monkeypatch.setattr(utility, "TUNE_EXACT_MAX_ITEMS", data.n_items - 1)
    big = utility.fit_model("ease", data)
    assert big.info["solver"]["solver"] == "approx"
    given = utility.fit_model("ease", data, {"l2": 500.0, "solver": "exact"})
    assert given.info["solver"]["solver"] == "exact"
