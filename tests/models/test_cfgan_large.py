"""cfgan-large: the recommender contract, exact fold-in, sparse layers equal to the dense CFGAN's, sampling
that never returns observed items, bit-exact resume, and no (users x items) tensor during training."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recgan.core.trainer import TrainingOptions
from recgan.errors import RecganError
from recgan.models.cfgan_large import CFGANLarge
from recgan.testing import RecommenderContract, tiny_data

TINY = {"epochs": 3, "g_hidden": (16,), "d_hidden": (8,), "batch_size": 8, "batch_size_d": 8,
        "lr": 1e-3, "lr_d": 1e-3, "eval_every": 1, "neg_per_pos": 2.0, "zr_per_pos": 2.0, "min_neg": 4,
        "score_batch": 7}


class TestCFGANLarge(RecommenderContract):
    model_name = "cfgan-large"
    params = TINY


def _fit(data, valid=None, **params) -> CFGANLarge:
    m = CFGANLarge(**{**TINY, **params})
    return m.fit(data, valid, options=TrainingOptions(progress=False))


@pytest.mark.parametrize("params", [
    {"loss": "hinge", "scheme": "PM", "g_hidden": (12, 10), "d_hidden": (8, 6), "noise_dim": 3},
    {"loss": "reconstruction", "scheme": "ZR"},
])
def test_variants_train_and_fold_in(params) -> None:
    data = tiny_data()
    m = _fit(data, epochs=2, **params)
    users = np.arange(data.n_users)
    s = m.score(users)
    assert np.isfinite(s).all() and set(m.history[-1]) >= {"loss_g" if m.D is not None else "loss_rec"}
    np.testing.assert_allclose(m.score_history(data.binary()), s, atol=1e-5)


def test_sparse_layers_equal_the_dense_network() -> None:
    data = tiny_data()
    m = _fit(data, epochs=1)
    X = data.binary()
    users = np.arange(10)
    dense_c = torch.from_numpy(X[users].toarray())
    with torch.no_grad():
        h = torch.sigmoid(dense_c @ m.G.w_in + m.G.b_in)
        expected = h @ m.G.w_out.T + m.G.b_out
        np.testing.assert_allclose(m.score(users), expected.numpy(), atol=1e-5)
        # D on [c, x] with x = generated values at a mask, sparse vs dense
        vals = torch.rand(len(users), data.n_items) * (torch.rand(len(users), data.n_items) < 0.3)
        xs = sp.csr_matrix(vals.numpy())
        c_idx, c_ptr = m._csr(X[users])
        x_idx, x_ptr = m._csr(xs)
        got = m.D(c_idx, c_ptr, x_idx, x_ptr, torch.from_numpy(xs.data))
        dense_in = torch.cat([dense_c, vals], 1)
        want = m.D.tail(torch.sigmoid(dense_in @ m.D.w_in + m.D.b_in)).squeeze(1)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_samples_are_unobserved_unique_and_sized_per_positive() -> None:
    data = tiny_data(n_users=30, n_items=400, density=0.05)
    m = _fit(data, epochs=1)
    X = data.binary()
    rows = np.arange(30)
    t_idx, t_ptr = m._csr(X[rows])
    keys = m._sample(t_ptr, t_idx, 3.0, torch.Generator().manual_seed(1))
    r, c = (keys // data.n_items).numpy().copy(), (keys % data.n_items).numpy().copy()
    assert len(np.unique(keys.numpy())) == len(keys)
    assert X[r, c].sum() == 0  # never an observed item
    got = np.bincount(r, minlength=30)
    want = np.maximum(4, 3 * np.diff(X.indptr))
    assert np.all(got <= want) and got.sum() > 0.8 * want.sum()  # duplicates/observed dropped only


def test_fold_in_of_a_removed_user_is_the_generator_on_their_history() -> None:
    data = tiny_data(empty_user=False)
    train = data.select_users(np.setdiff1d(np.arange(data.n_users), [5]))
    m = _fit(train)
    hist = data.binary()[[5]]
    with torch.no_grad():
        want = (torch.sigmoid(torch.from_numpy(hist.toarray()) @ m.G.w_in + m.G.b_in) @ m.G.w_out.T + m.G.b_out)
    np.testing.assert_allclose(m.score_history(hist), want.numpy(), atol=1e-5)


def test_multi_behaviour_condition_and_learning() -> None:
    import pandas as pd

    from recgan.data.interactions import Interactions

    base = tiny_data(empty_user=False)
    df = base.to_frame()
    rng = np.random.default_rng(0)
    view = df.assign(behaviour="view")
    buy = df[rng.random(len(df)) < 0.6].assign(behaviour="buy")
    data = Interactions.from_frame(pd.concat([view, buy]), target="buy")
    m = _fit(data, condition_behaviours="all", epochs=2)
    assert m._cond.shape == (data.n_users, 2 * data.n_items)
    assert np.isfinite(m.score(np.arange(data.n_users))).all()


def test_resume_is_bit_exact(tmp_path) -> None:
    data = tiny_data()
    full = _fit(data, epochs=4)
    part = CFGANLarge(**{**TINY, "epochs": 4})
    part.fit(data, options=TrainingOptions(**{"progress": False, "checkpoint_dir": str(tmp_path), "checkpoint_every": 2,
                           "stop_after_epoch": 2}))
    rest = CFGANLarge(**{**TINY, "epochs": 4})
    rest.fit(data, options=TrainingOptions(**{"progress": False, "resume": str(tmp_path / "last")}))
    users = np.arange(data.n_users)
    np.testing.assert_array_equal(rest.score(users), full.score(users))


def test_training_never_allocates_users_by_items() -> None:
    data = tiny_data(n_users=400, n_items=300)
    big = data.n_users * data.n_items
    seen: list[int] = []

    class Spy(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor):
                seen.append(out.numel())
            return out

    m = CFGANLarge(**{**TINY, "epochs": 1, "batch_size": 8, "batch_size_d": 8})
    with Spy():
        m.fit(data, options=TrainingOptions(**{"progress": False}))
    assert max(seen) < big / 4  # biggest tensor: parameters (items x hidden) or one batch's entries


def test_bad_parameters() -> None:
    with pytest.raises(RecganError):
        CFGANLarge(loss="wgan-gp")
    with pytest.raises(RecganError):
        CFGANLarge(neg_per_pos=-1)
    with pytest.raises(RecganError):
        CFGANLarge(scheme="XX")
