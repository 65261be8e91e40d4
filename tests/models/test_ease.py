"""EASE: the blocked in-place float32 solver against the dense closed form, the approximate solver, and the
memory-based choice between them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models import ease as E
from recgan.models.ease import EASE, ease_weights, ease_weights_approx, spd_inverse_inplace


def _x(users: int, items: int, density: float, seed: int = 0) -> sp.csr_matrix:
    X = sp.random(users, items, density=density, random_state=seed, format="csr", dtype=np.float32)
    X.data[:] = 1.0
    return X


def _closed_form(X: sp.csr_matrix, l2: float | np.ndarray) -> np.ndarray:
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += l2
    P = scipy.linalg.inv(G)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0.0
    return B


def _data(X: sp.csr_matrix) -> Interactions:
    return Interactions({"buy": X}, "buy", IdMap(np.arange(X.shape[0]), "user"), IdMap(np.arange(X.shape[1]), "item"))


@pytest.mark.parametrize("n,block", [(60, 2048), (300, 64), (517, 100), (1000, 128)])
def test_blocked_ease_matches_dense_closed_form(n, block):
    X = _x(3 * n, n, 0.05, seed=n)
    W = ease_weights(X, 10.0, block=block, float64_max_items=0)  # the blocked float32 path
    B = _closed_form(X, 10.0)
    assert W.dtype == np.float32 and W.flags.c_contiguous and W.shape == (n, n)
    np.testing.assert_allclose(W, B, atol=2e-6 * max(1.0, np.abs(B).max()))
    assert (np.diag(W) == 0).all()


def test_per_item_ridge_array():
    X = _x(400, 120, 0.08)
    l2 = np.linspace(5.0, 50.0, 120)
    np.testing.assert_allclose(ease_weights(X, l2, block=32, float64_max_items=0), _closed_form(X, l2), atol=1e-6)
    np.testing.assert_allclose(ease_weights(X, l2), _closed_form(X, l2), atol=1e-6)


def test_spd_inverse_in_place_several_blocks():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((700, 700))
    A64 = M @ M.T / 700 + np.eye(700)
    A = A64.astype(np.float32)
    spd_inverse_inplace(A, block=96)
    np.testing.assert_allclose(A, np.linalg.inv(A64), atol=1e-4)
    np.testing.assert_array_equal(A, A.T)


def test_not_positive_definite_raises():
    A = -np.eye(10, dtype=np.float32)
    with pytest.raises(np.linalg.LinAlgError):
        spd_inverse_inplace(A, block=4)


def test_approx_with_every_item_is_exact_and_groups_are_sparse():
    X = _x(600, 200, 0.08)
    exact = ease_weights(X, 20.0)
    full = ease_weights_approx(X, 20.0, neighbours=500, keep=200).toarray()
    np.testing.assert_allclose(full, exact, atol=1e-6)
    W = ease_weights_approx(X, 20.0, neighbours=80, keep=30, block=32)
    assert sp.issparse(W) and W.shape == (200, 200)
    assert np.diff(sp.csc_matrix(W).indptr).max() <= 30
    assert (W.diagonal() == 0).all()
    # one group holding every item: the exact weights, cut to the largest ``keep`` per column
    P = ease_weights_approx(X, 20.0, neighbours=500, keep=30).toarray()
    cut = np.sort(np.abs(exact), axis=0)[-30]
    np.testing.assert_allclose(P, np.where(np.abs(exact) >= cut, exact, 0.0), atol=1e-6)


def test_item_groups_partition_the_catalogue():
    X = _x(500, 301, 0.05)
    groups = E.item_groups(X, 64)
    allg = np.concatenate(groups)
    assert sorted(allg.tolist()) == list(range(301))
    assert max(len(g) for g in groups) <= 64 and len(groups) == -(-301 // 64)
    assert [g.tolist() for g in groups] == [g.tolist() for g in E.item_groups(X, 64)]  # deterministic


def test_auto_solver_by_memory(monkeypatch):
    n = 1000
    monkeypatch.setattr(E, "available_memory", lambda: 10 * E.exact_memory(n))
    assert E.choose_solver(n, "auto") == "exact"
    monkeypatch.setattr(E, "available_memory", lambda: int(E.approx_memory(n, 600) / E.MEMORY_FRACTION) + 1)
    assert E.choose_solver(n, "auto", neighbours=600) == "approx" or E.exact_memory(n) <= E.approx_memory(n, 600)
    monkeypatch.setattr(E, "available_memory", lambda: 1000)
    with pytest.raises(RecganError, match=r"1000 items need .*GiB.*--param neighbours="):
        E.choose_solver(n, "auto")
    with pytest.raises(RecganError, match=r"exact solver for 1000 items needs .*solver=approx"):
        E.choose_solver(n, "exact")


def test_model_reports_its_solver(monkeypatch):
    X = _x(300, 80, 0.1)
    m = EASE(l2=10.0).fit(_data(X))
    assert m.info["solver"]["solver"] == "exact" and "solver=auto" in m.info["solver"]["message"]
    np.testing.assert_allclose(m.W_, ease_weights(X, 10.0))
    # too little memory for exact: auto falls back to approx, and says so
    real = E.exact_memory
    monkeypatch.setattr(E, "exact_memory", lambda n, block=E.BLOCK: (1 << 60) if n >= 80 else real(n, block))
    m = EASE(l2=10.0, neighbours=40).fit(_data(X))
    assert m.info["solver"]["solver"] == "approx" and sp.issparse(m.W_)
    items, _ = m.recommend(np.arange(5), 5)
    assert items.shape == (5, 5) and (items >= 0).all()
    monkeypatch.setattr(E, "approx_memory", lambda *a, **k: 1 << 60)
    with pytest.raises(RecganError, match="80 items need"):
        EASE(l2=10.0).fit(_data(X))


def test_solver_option_is_validated():
    with pytest.raises(RecganError, match="solver"):
        EASE(solver="fast")
    assert EASE(solver="approx").config.solver == "approx"


def test_tuning_shortcut_only_for_big_catalogues_or_approx():
    small = _data(_x(50, 30, 0.2))
    points = [{"l2": 10.0}, {"l2": 100.0}]
    assert EASE.fit_grid({}, points, small) is None  # small: every point fitted exactly, one by one
    assert EASE.fit_grid({"solver": "approx"}, points, small) is not None
    assert EASE.fit_grid({"solver": "approx"}, [{"l2": 1.0, "neighbours": 8}], small) is None  # not an l2 grid

    class Big:
        n_items = E.TUNE_EXACT_MAX_ITEMS + 1

    assert EASE.fit_grid({"solver": "exact"}, points, Big()) is None
    how, _ = EASE.fit_grid({}, points, Big())
    assert "approximate solver (neighbours=2048" in how and "final fit uses solver=auto" in how
