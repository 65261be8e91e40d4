"""Metrics against hand-computed values, and the evaluator's agreement with the list scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recgan import metrics as M
from recgan.data import Interactions
from recgan.evaluation import evaluate, evaluate_lists, metrics_from_lists, paired_test
from recgan.models import EASE
from recgan.testing import tiny_data


def test_hand_computed_example():
    # user 0: list [3, 0, 1, 2, 4], relevant {1, 3}  -> hits at ranks 1 and 3
    # user 1: list [2, 4, 0, 1, 3], relevant {0}     -> hit at rank 3
    top = np.array([[3, 0, 1, 2, 4], [2, 4, 0, 1, 3]])
    test = sp.csr_matrix(np.array([[0, 1, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=np.float32))
    means, per, rows = metrics_from_lists(top, test, ks=(1, 3, 5))
    hits = M.hits_from_lists(top, test)
    assert hits.tolist() == [[True, False, True, False, False], [False, False, True, False, False]]
    # precision@3: u0 2/3, u1 1/3 -> mean 0.5
    assert per["precision@3"] == pytest.approx([2 / 3, 1 / 3])
    # recall@3: u0 2/2, u1 1/1
    assert per["recall@3"] == pytest.approx([1.0, 1.0])
    # ndcg@3: u0 (1 + 1/log2(4)) / (1 + 1/log2(3)) ; u1 (1/log2(4)) / 1
    assert per["ndcg@3"] == pytest.approx([(1 + 0.5) / (1 + 1 / np.log2(3)), 0.5])
    # mrr@3: u0 1, u1 1/3 ; hitrate@1: u0 1, u1 0
    assert per["mrr@3"] == pytest.approx([1.0, 1 / 3])
    assert per["hitrate@1"] == pytest.approx([1.0, 0.0])
    # map@3: u0 (1/1 + 2/3) / 2 ; u1 (1/3) / 1
    assert per["map@3"] == pytest.approx([(1 + 2 / 3) / 2, 1 / 3])
    assert means["ndcg@5"] == pytest.approx(np.mean(per["ndcg@5"]))
    assert means["n_users"] == 2


def test_beyond_accuracy():
    top = np.array([[0, 1], [0, 2], [0, 1]])
    assert M.coverage(top, 4) == 0.75
    # counts over 4 items: [3, 2, 1, 0] -> gini of sorted [0,1,2,3]
    c = np.array([0, 1, 2, 3], float)
    n = 4
    expect = ((2 * np.arange(1, 5) - n - 1) * c).sum() / (n * c.sum())
    assert M.gini(top, 4) == pytest.approx(expect)
    assert M.novelty(np.array([[0]]), np.array([2]), 8) == pytest.approx(2.0)


def test_users_without_lists_score_zero_and_unknown_items_count():
    train = Interactions.from_frame(pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10]}))
    test = Interactions.from_frame(pd.DataFrame({"user": [1, 3, 1], "item": [12, 10, 99]}))
    m = EASE(l2=1.0).fit(train)
    r = evaluate(m, test, ks=(5,))
    # users 1 and 3 evaluated; user 3 is unknown to the model -> 0; user 1 has 2 relevant, one never rankable
    assert r["n_users"] == 2
    assert r.per_user["recall@5"].max() <= 0.5


def test_evaluator_agrees_with_list_scorer_and_is_chunk_invariant():
    data = tiny_data(60, 40, seed=2, empty_user=False)
    from recgan.data import RandomHoldout

    s = RandomHoldout(0.3, 0).split(data)
    m = EASE(l2=5.0).fit(s.train)
    a = evaluate(m, s.test, batch_size=7)
    b = evaluate(m, s.test, batch_size=1000)
    assert a.metrics == b.metrics
    recs = m.recommend_ids(None, k=20)
    c = evaluate_lists(recs, s.test)
    for k in ("precision@20", "recall@20", "ndcg@10", "mrr@20"):
        assert c[k] == pytest.approx(a[k], abs=1e-9)
    p = paired_test(a, a)
    assert p["p_value"] == 1.0 and p["n_users"] == a["n_users"]


def test_topk_ties_broken_by_index():
    from recgan.models.topk import topk

    s = np.array([[1.0, 2.0, 2.0, 2.0, 0.0]], dtype=np.float32)
    items, scores = topk(s, 2)
    assert items.tolist() == [[1, 2]]
    s2 = np.array([[-np.inf, 1.0, -np.inf]], dtype=np.float32)
    items, _ = topk(s2, 3)
    assert items.tolist() == [[1, -1, -1]]
