"""Test helpers shipped with recgan: tiny data and the contract-test mixin every model's tests subclass.

Usage in a test module::

    class TestEASE(RecommenderContract):
        model_name = "ease"
        params = {"l2": 10.0}
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recgan.core.trainer import TrainingOptions
from recgan.data.interactions import Interactions
from recgan.errors import RecganError, UnknownIdError
from recgan.models.base import Recommender, get_model_class


def tiny_data(n_users: int = 40, n_items: int = 30, density: float = 0.15, seed: int = 0,
              string_ids: bool = True, empty_user: bool = True) -> Interactions:
    """Small random implicit data with block structure; string ids; optionally one user without items."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, n_users)
    item_groups = np.arange(n_items) % 3
    p = np.where(groups[:, None] == item_groups[None, :], density * 2.5, density * 0.3)
    M = rng.random((n_users, n_items)) < p
    M[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # everyone has >= 1 item
    if empty_user:
        M[-1] = False
    u, i = np.nonzero(M)
    df = pd.DataFrame({"user": [f"u{x:03d}" for x in u], "item": [f"i{x:03d}" for x in i]})
    data = Interactions.from_frame(df)
    if empty_user:  # keep the empty user in the id map
        from recgan.data.ids import IdMap

        users = IdMap(np.array([f"u{x:03d}" for x in range(n_users)], dtype=object), "user")
        data = Interactions.from_frame(df, users=users, items=data.items)
    return data


class RecommenderContract:
    """Contract tests every recommender passes. Subclass and set ``model_name`` and ``params``."""

    model_name: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}
    fold_in_atol: ClassVar[float] = 1e-4
    """Tolerance of fold-in of a training user's own history against its score (models that fold in)."""
    deterministic: ClassVar[bool] = True

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> Interactions:
        return tiny_data()

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, data: Interactions) -> Recommender:
        m = get_model_class(cls.model_name)(**cls.params)
        return m.fit(data, options=TrainingOptions(**{"progress": False}))

    def test_registered(self) -> None:
        assert get_model_class(self.model_name).name == self.model_name

    def test_score_shape_and_finite(self, model: Recommender, data: Interactions) -> None:
        s = model.score(np.arange(data.n_users))
        assert s.shape == (data.n_users, data.n_items)
        assert s.dtype == np.float32
        assert np.isfinite(s).all()

    def test_recommend_batch_excludes_seen(self, model: Recommender, data: Interactions) -> None:
        users = np.arange(data.n_users)
        ids, scores = model.recommend(users, k=5)
        assert ids.shape == (data.n_users, 5) and scores.shape == (data.n_users, 5)
        X = data.binary()
        for u in range(data.n_users):
            row = ids[u][ids[u] >= 0]
            assert not set(row) & set(X[u].indices), f"user {u}: seen item recommended"
            assert len(set(row)) == len(row)
            s = scores[u][ids[u] >= 0]
            assert np.all(np.diff(s) <= 1e-6), "scores must be non-increasing"

    def test_recommend_whitelist(self, model: Recommender, data: Interactions) -> None:
        allowed = np.arange(0, data.n_items, 3)
        ids, _ = model.recommend(np.arange(data.n_users), k=4, items=allowed)
        assert set(ids[ids >= 0].tolist()) <= set(allowed.tolist())

    def test_k_larger_than_catalogue(self, model: Recommender, data: Interactions) -> None:
        ids, scores = model.recommend(np.array([0]), k=data.n_items + 10)
        seen = data.binary()[0].nnz
        assert (ids[0] >= 0).sum() == data.n_items - seen
        assert np.all(np.isneginf(scores[0][ids[0] < 0]))

    def test_bad_k(self, model: Recommender) -> None:
        with pytest.raises(RecganError):
            model.recommend(np.array([0]), k=0)

    def test_original_ids(self, model: Recommender, data: Interactions) -> None:
        df = model.recommend_ids([data.users.ids[0], data.users.ids[1]], k=3)
        assert list(df.columns) == ["user", "item", "rank", "score"]
        assert set(df["user"]) <= {data.users.ids[0], data.users.ids[1]}
        assert set(df["item"]) <= set(data.items.ids.tolist())
        with pytest.raises(UnknownIdError):
            model.recommend_ids(["no-such-user"], k=3)

    def test_save_load_round_trip(self, model: Recommender, data: Interactions, tmp_path) -> None:
        model.save(tmp_path / "m")
        loaded = Recommender.load(tmp_path / "m")
        assert type(loaded) is type(model)
        users = np.arange(data.n_users)
        np.testing.assert_allclose(loaded.score(users), model.score(users), rtol=1e-5, atol=1e-6)
        a, _ = model.recommend(users, k=5)
        b, _ = loaded.recommend(users, k=5)
        assert (a == b).mean() > 0.99
        assert not list((tmp_path).glob(".*tmp"))  # nothing half-written left behind

    def test_deterministic_under_seed(self, data: Interactions) -> None:
        if not self.deterministic:
            pytest.skip("model declared non-deterministic")
        cls = get_model_class(self.model_name)
        out = []
        for _ in range(2):
            m = cls(**self.params)
            out.append(m.fit(data, options=TrainingOptions(**{"progress": False})).score(np.arange(data.n_users)))
        np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-6)

    def test_fold_in(self, model: Recommender, data: Interactions) -> None:
        if not model.supports_fold_in:
            with pytest.raises(RecganError):
                model.score_history(sp.csr_matrix((1, data.n_items), dtype=np.float32))
            return
        users = np.arange(min(10, data.n_users))
        np.testing.assert_allclose(
            model.score_history(data.binary()[users]), model.score(users), atol=self.fold_in_atol, rtol=1e-3
        )
        df, unknown = model.recommend_for_history([data.items.ids[0], "no-such-item"], k=5)
        assert unknown == ["no-such-item"]
        assert data.items.ids[0] not in set(df["item"])
        assert len(df) == 5
        with pytest.raises(UnknownIdError, match="no known item"):  # nothing known: no made-up list
            model.recommend_for_history(["no-such-item", "nor-this"], k=5)
