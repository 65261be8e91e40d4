"""Splits: the PROTOCOL.md rule, seeds, time-based splits, user holdout, the folder format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recgan.data import Interactions, LeaveOneOut, RandomHoldout, TemporalGlobal, UserHoldout, load_split
from recgan.data.simulate import simulate


@pytest.fixture(scope="module")
def shop() -> Interactions:
    return Interactions.from_frame(simulate(200, 80, 8000, seed=1), target="view")


def test_random_holdout_rule(shop):
    s = RandomHoldout(0.2, seed=0).split(shop)
    n = np.diff(shop.X.indptr)
    nt = np.diff(s.test.X.indptr)
    expect = np.where(n >= 2, np.clip(np.floor(0.2 * n + 0.5), 1, n - 1), 0)
    assert (nt == expect).all()
    assert s.train.nnz + s.test.nnz == shop.nnz
    assert (s.train.X.multiply(s.test.X)).nnz == 0
    # other behaviours stay whole in train
    assert s.train.matrices["buy"].nnz == shop.matrices["buy"].nnz


def test_seeded(shop):
    a = RandomHoldout(0.2, 3).split(shop).test.X
    b = RandomHoldout(0.2, 3).split(shop).test.X
    c = RandomHoldout(0.2, 4).split(shop).test.X
    assert (a != b).nnz == 0 and (a != c).nnz > 0


def test_leave_one_out_by_time_takes_latest(shop):
    s = LeaveOneOut("time").split(shop)
    T = shop.timestamps[shop.target]
    test_t = s.test.timestamps[shop.target]
    for u in range(0, shop.n_users, 17):
        if T[u].nnz >= 2:
            assert test_t[u].nnz == 1
            assert test_t[u].data[0] == T[u].data.max()


def test_temporal_and_user_holdout(shop):
    s = TemporalGlobal(0.25).split(shop)
    assert s.train.timestamps[shop.target].data.max() <= s.test.timestamps[shop.target].data.min()
    u = UserHoldout(0.2, 0.8, seed=0).split(shop)
    assert u.train.n_users == shop.n_users - 40
    assert set(u.test.users.ids) == set(u.foldin.users.ids)
    assert not set(u.train.users.ids) & set(u.test.users.ids)


def test_folder_round_trip(shop, tmp_path):
    s = RandomHoldout(0.2, 0).split(shop)
    s.save(tmp_path / "split")
    back = load_split(tmp_path / "split", target="view")
    assert back.train.nnz == s.train.nnz and back.test.nnz == s.test.nnz
    head = pd.read_csv(tmp_path / "split" / "train.tsv", sep="\t", header=None, nrows=3)
    assert head.shape[1] == 3  # user, item, behaviour (several behaviours)


def test_ml100k_p1_split_matches_protocol_sizes(shared):
    from recgan.data import load_movielens

    d = load_movielens(shared("datasets", "ml-100k", "u.data"))
    s = RandomHoldout(0.2, 0).split(d)
    assert (s.train.nnz, s.test.nnz) == (80000, 20000)
