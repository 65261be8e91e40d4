"""Augmentation API on tiny data: file format and weights, real users keep their indices, controls at equal
volume, evaluation excludes only real items, scarcity subsample sizes, determinism under a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recgan.augment import (
    add_users,
    augment_log,
    cold_items,
    densify,
    fit_densifier,
    keep_per_user,
    no_augmentation,
    scarcity,
)
from recgan.augment.core import carve, pad_rows, sparse_users
from recgan.data.interactions import Interactions
from recgan.data.loaders import load_interactions
from recgan.errors import RecganError
from recgan.evaluation import evaluate
from recgan.models.base import get_model_class
from recgan.synth import make_synthesizer
from recgan.testing import tiny_data

TINY_CFGAN = {"epochs": 4, "eval_every": 2, "patience": 0, "g_hidden": (16,), "d_hidden": (8,)}


@pytest.fixture(scope="module")
def data() -> Interactions:
    return tiny_data(50, 40, empty_user=False)


def test_densify_weights_and_real_indices(data):
    pop = fit_densifier("pop", data)
    aug = densify(data, pop, 3, 0.4)
    R, X, G = data.binary(), aug.data.X, aug.generated
    assert aug.data.n_users == data.n_users and list(aug.data.users.ids) == list(data.users.ids)
    assert np.allclose((X.multiply(R)).toarray(), R.toarray())  # real entries keep weight 1 at their indices
    assert np.allclose(X[G.nonzero()].A.ravel(), 0.4)
    assert G.multiply(R).nnz == 0  # generated items are unseen items
    assert (np.diff(G.indptr) == 3).all()
    assert aug.info["generated"] == G.nnz == 3 * data.n_users


def test_controls_at_equal_volume(data):
    counts = {}
    for name in ("pop", "itemknn"):
        a = densify(data, fit_densifier(name, data), 4, 0.5)
        counts[name] = np.diff(a.generated.indptr)
    cf = fit_densifier("cfgan", data, 0, params=TINY_CFGAN)
    counts["cfgan"] = np.diff(densify(data, cf, 4, 0.5).generated.indptr)
    assert np.array_equal(counts["pop"], counts["itemknn"]) and np.array_equal(counts["pop"], counts["cfgan"])


def test_densify_only_sparse_users(data):
    n = np.diff(data.X.indptr)
    cap = int(np.median(n))
    aug = densify(data, fit_densifier("pop", data), 2, 1.0, max_user_items=cap)
    touched = np.diff(aug.generated.indptr) > 0
    assert np.array_equal(touched, n <= cap)
    assert np.array_equal(sparse_users(data, cap), np.flatnonzero(n <= cap))


def test_write_tsv_format_and_reload(data, tmp_path):
    aug = densify(data, fit_densifier("pop", data), 2, 0.25)
    p = aug.write_tsv(tmp_path / "augmented_train.tsv")
    df = pd.read_csv(p, sep="\t", dtype={"user": str, "item": str})
    assert list(df.columns) == ["user", "item", "weight", "source"]
    assert set(df.source) == {"real", "generated"}
    assert np.allclose(df.loc[df.source == "real", "weight"], 1.0)
    assert np.allclose(df.loc[df.source == "generated", "weight"], 0.25)
    assert (df.source == "generated").sum() == aug.generated.nnz and (df.source == "real").sum() == data.nnz
    back = load_interactions(p)  # the header makes the loader read the weight column
    assert back.nnz == aug.data.nnz and np.isclose(back.X.sum(), aug.data.X.sum())


def test_add_users_appends_after_real(data):
    ind = make_synthesizer("independent", seed=0).fit(data)
    aug = add_users(no_augmentation(data), ind, 7, 0.5, seed=3)
    assert aug.data.n_users == data.n_users + 7 and aug.n_real == data.n_users
    assert list(aug.data.users.ids[: data.n_users]) == list(data.users.ids)
    assert all(str(u).startswith("syn") for u in aug.data.users.ids[data.n_users:])
    assert (aug.data.X[: data.n_users] != data.binary()).nnz == 0
    assert np.allclose(aug.data.X[data.n_users:].data, 0.5)
    ex = aug.exclude()
    assert ex.shape[0] == aug.data.n_users and ex[data.n_users:].nnz == 0
    assert (ex[: data.n_users] != data.binary()).nnz == 0
    again = add_users(no_augmentation(data), ind, 7, 0.5, seed=3)
    assert (again.data.X != aug.data.X).nnz == 0


def test_evaluation_excludes_only_real_items(data):
    """A generated item that is a test item must stay a candidate: with the augmented log's own seen
    matrix excluded it could never be a hit; with ``exclude()`` it is ranked like any unseen item."""
    aug = densify(data, fit_densifier("pop", data), 3, 1.0)
    G = aug.generated.tocoo()
    test = Interactions({data.target: sp.csr_matrix((np.ones(G.nnz, np.float32), (G.row, G.col)),
                                                    shape=G.shape)}, data.target, data.users, data.items)
    model = get_model_class("ease")(l2=1.0).fit(aug.data)
    honest = evaluate(model, test, exclude=aug.exclude())
    wrong = evaluate(model, test)
    assert wrong["recall@20"] == 0.0 and honest["recall@20"] > 0.5


def test_keep_per_user_sizes_and_determinism(data):
    n = np.diff(data.X.indptr)
    for k in (2, 5):
        s = keep_per_user(data, k, seed=1)
        assert np.array_equal(np.diff(s.X.indptr), np.minimum(n, k))
        assert (s.X - s.X.multiply(data.binary())).nnz == 0  # a subset of the real interactions
    a, b, c = keep_per_user(data, 3, 0), keep_per_user(data, 3, 0), keep_per_user(data, 3, 1)
    assert (a.X != b.X).nnz == 0 and (a.X != c.X).nnz > 0
    with pytest.raises(RecganError):
        keep_per_user(data, 0, 0)


def test_cold_items(data):
    s = cold_items(data, seed=0, fraction=0.25, keep=1)
    before, after = np.diff(data.X.tocsc().indptr), np.diff(s.X.tocsc().indptr)
    changed = after < before
    assert changed.any() and (after[changed] <= 1).all()
    assert changed.sum() <= round(0.25 * (before > 0).sum())
    assert (s.X - s.X.multiply(data.binary())).nnz == 0
    assert scarcity(data, "full", 0).nnz == data.nnz and scarcity(data, "n2", 0).nnz <= 2 * data.n_users
    with pytest.raises(RecganError):
        scarcity(data, "half", 0)


def test_pad_rows_and_carve(data):
    assert pad_rows(data.binary(), data.n_users + 3).shape == (data.n_users + 3, data.n_items)
    tr, va = carve(data, 0)
    assert tr.nnz + va.nnz == data.nnz


def test_augment_log_cfgan_deterministic(data):
    kw = {"generator": "cfgan", "strategy": "densify", "seed": 5, "cfgan_params": TINY_CFGAN,
          "select_params": {"l2": 5.0}, "max_user_items": None}
    a = augment_log(data, m=None, weight=None, **kw)
    b = augment_log(data, m=None, weight=None, **kw)
    assert (a.augmented.data.X != b.augmented.data.X).nnz == 0
    assert a.selection["densify"]["m"] in (2, 5, 10) and len(a.selection["densify"]["table"]) == 9
    fixed = augment_log(data, m=2, weight=0.3, **kw)
    assert np.allclose(fixed.augmented.data.X[fixed.augmented.generated.nonzero()].A, 0.3)
    with pytest.raises(RecganError):
        augment_log(data, generator="cfgan", strategy="add-users")


def test_augment_log_both(data):
    res = augment_log(data, generator="both", strategy="both", m=2, n_users=6, weight=0.5, seed=0,
                      cfgan_params=TINY_CFGAN, synth_params={"epochs": 2}, select_params={"l2": 5.0})
    aug = res.augmented
    assert aug.data.n_users == data.n_users + 6
    assert set(res.generators) == {"cfgan", "synth"}
    assert np.allclose(aug.data.X[aug.generated.nonzero()].A, 0.5)
