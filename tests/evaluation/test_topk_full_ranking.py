"""Top-k over score blocks: the torch fast path keeps the exact contract (highest first, ties by lower item
index, -inf never returned), and chunked full ranking gives the same lists whatever the batch size."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.models.ease import EASE
from recgan.models.topk import topk


def _reference(scores: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    out = order.copy()
    out[~np.isfinite(np.take_along_axis(scores, order, axis=1))] = -1
    return out


@pytest.mark.parametrize("k", [1, 5, 49, 50, 60])
def test_topk_matches_a_stable_full_sort_with_ties(k):
    rng = np.random.default_rng(k)
    s = rng.integers(0, 4, (200, 50)).astype(np.float32)  # many exact ties at every boundary
    s[3] = -np.inf
    s[4, 10:] = -np.inf
    items, scores = topk(s, k)
    ref = _reference(s, k)
    assert np.array_equal(items, ref[:, : items.shape[1]])
    assert np.isneginf(scores[items == -1]).all()


def test_topk_float64_and_nan_take_the_numpy_path():
    s = np.array([[0.5, np.nan, 0.7, 0.7], [1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    items, _ = topk(s, 2)
    assert items.tolist() == [[2, 3], [3, 2]]
    items, _ = topk(s.astype(np.float64)[1:], 3)
    assert items.tolist() == [[3, 2, 1]]


def test_full_ranking_is_independent_of_the_batch_size():
    rng = np.random.default_rng(0)
    X = sp.random(120, 300, density=0.05, random_state=1, format="csr", dtype=np.float32)
    X.data[:] = 1.0
    data = Interactions({"buy": X}, "buy", IdMap(np.arange(120), "user"), IdMap(np.arange(300), "item"))
    m = EASE(l2=5.0).fit(data)
    users = rng.permutation(120)
    a, sa = m.recommend(users, 20, batch_size=7)
    b, sb = m.recommend(users, 20, batch_size=1024)
    assert np.array_equal(a, b) and np.array_equal(sa, sb)
    seen = X[users].toarray() > 0
    assert not np.take_along_axis(seen, np.maximum(a, 0), axis=1)[a >= 0].any()  # train items excluded
