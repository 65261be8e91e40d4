"""EASE tuning on big catalogues: the shared-Gram l2 grid of the approximate solver, the tuning shortcut
through fit_model, and the approximate solver's memory at 100,000 items."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.models import ease as E
from recgan.training.fitting import fit_model


def _x(users: int, items: int, density: float, seed: int = 0) -> sp.csr_matrix:
    X = sp.random(users, items, density=density, random_state=seed, format="csr", dtype=np.float32)
    X.data[:] = 1.0
    return X


def _data(X: sp.csr_matrix) -> Interactions:
    return Interactions({"buy": X}, "buy", IdMap(np.arange(X.shape[0]), "user"), IdMap(np.arange(X.shape[1]), "item"))


def test_grid_matches_one_fit_per_ridge():
    X = _x(700, 240, 0.06, seed=3)
    l2s = [5.0, 50.0, 400.0]
    grid = E.ease_weights_approx_grid(X, l2s, neighbours=96, keep=40, block=32)
    for l2, W in zip(l2s, grid, strict=True):
        one = E.ease_weights_approx(X, l2, neighbours=96, keep=40, block=32)
        np.testing.assert_allclose(W.toarray(), one.toarray(), atol=1e-6)
        assert np.diff(sp.csc_matrix(W).indptr).max() <= 40 and (W.diagonal() == 0).all()


def test_grid_with_every_item_is_exact_ease():
    X = _x(500, 150, 0.08, seed=4)
    for l2, W in zip([3.0, 30.0], E.ease_weights_approx_grid(X, [3.0, 30.0], neighbours=150, keep=150, block=40),
                     strict=True):
        np.testing.assert_allclose(W.toarray(), E.ease_weights(X, l2), atol=2e-5)


def test_tune_reports_the_shortcut_and_keeps_the_final_solver(monkeypatch):
    X = _x(400, 120, 0.08, seed=5)
    monkeypatch.setattr(E, "TUNE_EXACT_MAX_ITEMS", 100)
    monkeypatch.setattr(E, "TUNE_NEIGHBOURS", 60)
    lines: list[str] = []
    res = fit_model("ease", _data(X), {}, tune=True, grid={"l2": [5.0, 50.0, 500.0]}, log=lines.append)
    assert any("approximate solver (neighbours=60" in line for line in lines)
    assert "approximate solver" in res.model.info["tuning_method"]
    assert res.model.info["solver"]["solver"] == "exact" and not sp.issparse(res.model.W_)
    assert len(res.tuning) == 3 and res.params["l2"] in (5.0, 50.0, 500.0)
    # a small catalogue: every point fitted one by one with the given settings
    monkeypatch.setattr(E, "TUNE_EXACT_MAX_ITEMS", 10_000)
    res = fit_model("ease", _data(X), {}, tune=True, grid={"l2": [5.0, 50.0]}, log=lines.append)
    assert res.model.info["tuning_method"] == "each grid point fitted with the given settings"


def test_approx_fits_100k_items_in_8_gb():
    for nb, keep in [(8192, 1024), (E.APPROX_NEIGHBOURS, E.APPROX_KEEP)]:  # the defaults too
        need = E.approx_memory(100_000, nb, keep)
        assert need <= 8 * 10**9
        assert E.choose_solver(100_000, "auto", nb, available=int(need / E.MEMORY_FRACTION) + 1, keep=keep) == "approx"
