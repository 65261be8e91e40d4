"""CFGAN: the recommender contract in both modes, exact fold-in, bit-exact resume, GAN variants, alarms.

The published number on the authors' ML-100K split (P@5 >= 0.434 ...) takes ~10 minutes per seed on this
2-core machine, too long for the test suite: benchmarks/cfgan.py guards it (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from recgan.cli.main import main as cli
from recgan.core import diagnostics as dg
from recgan.core.gan_parts import sample_unobserved, sample_unobserved_by_rank
from recgan.core.trainer import TrainingOptions
from recgan.data.interactions import Interactions
from recgan.data.splits import validation_carve
from recgan.errors import FoldInNotSupported, RecganError
from recgan.models.base import make_config
from recgan.models.cfgan import CFGAN, CFGANConfig
from recgan.testing import RecommenderContract, tiny_data

TINY = {"epochs": 3, "g_hidden": (16,), "d_hidden": (8,), "batch_size": 8, "batch_size_d": 8,
        "lr": 1e-3, "lr_d": 1e-3, "eval_every": 1}


class TestCFGANUser(RecommenderContract):
    model_name = "cfgan"
    params = {**TINY, "mode": "user"}


class TestCFGANItem(RecommenderContract):
    model_name = "cfgan"
    params = {**TINY, "mode": "item", "steps_g": 2}


class TestCFGANEaseStart(RecommenderContract):
    model_name = "cfgan"
    params = {**TINY, "mode": "user", "init": "ease", "init_l2": 5.0}


def _fit(data: Interactions, valid: Interactions | None = None, **params) -> CFGAN:
    m = CFGAN(**{**TINY, **params})
    return m.fit(data, valid, options=TrainingOptions(progress=False))


def test_fold_in_of_a_user_removed_from_training_is_the_generator_on_their_history() -> None:
    data = tiny_data(empty_user=False)
    held = 5
    train = data.select_users(np.setdiff1d(np.arange(data.n_users), [held]))
    model = _fit(train, noise_dim=3)
    history = data.binary()[[held]]
    with torch.no_grad():
        expected = model.G(torch.cat([torch.from_numpy(history.toarray()), torch.zeros(1, 3)], 1)).numpy()
    np.testing.assert_array_equal(model.score_history(history), expected)
    items = list(data.items.original(history.indices))
    df, unknown = model.recommend_for_history(items, k=5)
    assert unknown == []
    s = expected[0].copy()
    s[history.indices] = -np.inf
    assert list(df["item"]) == list(data.items.original(np.argsort(-s, kind="stable")[:5]))


def test_item_mode_refuses_fold_in_clearly() -> None:
    model = _fit(tiny_data(), mode="item", epochs=1)
    assert not model.supports_fold_in and CFGAN(mode="user").supports_fold_in
    with pytest.raises(FoldInNotSupported, match="mode=user"):
        model.recommend_for_history([model.data_.items.ids[0]], k=3)


@pytest.mark.parametrize("mode", ["user", "item"])
def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path, mode: str) -> None:
    carve = validation_carve(tiny_data(), 0.2, 1)
    params = {"mode": mode, "epochs": 6, "noise_dim": 2, "patience": 0}
    ckpt = tmp_path / "ckpt"
    interrupted = CFGAN(**{**TINY, **params})
    interrupted.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False, "checkpoint_dir": str(ckpt), "checkpoint_every": 2,
                                  "stop_after_epoch": 4}))
    assert len(interrupted.history) == 4 and (ckpt / "last" / "checkpoint.json").exists()
    resumed = CFGAN(**{**TINY, **params})
    resumed.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False, "resume": str(ckpt / "last")}))
    straight = _fit(carve.train, carve.test, **params)
    a, b = resumed._state(), straight._state()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [h["loss_g"] for h in resumed.history] == [h["loss_g"] for h in straight.history]
    assert resumed.info["training"]["best_epoch"] == straight.info["training"]["best_epoch"]


@pytest.mark.parametrize("params", [
    {"loss": "reconstruction"}, {"loss": "wgan-gp"}, {"loss": "hinge"}, {"noise_dim": 4},
    {"scheme": "ZR"}, {"scheme": "PM", "mode": "item"}, {"scheme": "none", "steps_d": 2},
    {"g_hidden": (12, 12), "d_hidden": (6, 6), "activation": "relu"},
    {"input_dropout": 0.5, "output_prior": "popularity"},
])
def test_variants_train_without_nan(params) -> None:
    carve = validation_carve(tiny_data(), 0.2, 1)
    model = _fit(carve.train, carve.test, **params)
    for h in model.history:
        assert "nan_in" not in h
        assert all(math.isfinite(v) for v in h.values() if isinstance(v, float))
    assert np.isfinite(model.score(np.arange(model.n_users))).all()
    assert ("D" in model.modules()) == (params.get("loss") != "reconstruction")


def test_epoch_logs_losses_gradients_and_alarms(tmp_path) -> None:
    carve = validation_carve(tiny_data(), 0.2, 1)
    m = CFGAN(**TINY)
    m.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False, "log_path": str(tmp_path / "log.jsonl"),
                        "plot_path": str(tmp_path / "curves.png")}))
    h = m.history[-1]
    for key in ("loss_d", "loss_g", "loss_zr", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                "val_ndcg@20", "copy_mass", "self_similarity", "distinct_lists", "item_coverage",
                "copy_alarm", "collapse_alarm"):
        assert key in h, key
    assert 0 <= h["d_real"] <= 1 and 0 <= h["copy_mass"] <= 1 and 0 < h["distinct_lists"] <= 1
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == TINY["epochs"]
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_alarm_functions_on_known_cases() -> None:
    C = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], np.float32)
    assert dg.copy_mass(C, C, k=2) == pytest.approx(1.0)  # a generator that copies its condition
    assert dg.self_similarity(C, C) == pytest.approx(1.0)
    other = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]], np.float32)
    assert dg.copy_mass(other, C, k=2) == 0.0 and dg.self_similarity(other, C) == 0.0
    same = np.tile([[3, 1, 2]], (10, 1))
    assert dg.distinct_lists(same) == pytest.approx(0.1) and dg.item_coverage(same, 30) == pytest.approx(0.1)
    a = dg.alarms(C, C, same, 30, k=2)
    assert a["copy_alarm"] == 1.0 and a["collapse_alarm"] == 0.0


def test_negative_samples_avoid_observed_entries_and_follow_the_row_not_the_batch() -> None:
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 500, generator=g) < 0.1).float()
    rows = torch.arange(64)
    s = sample_unobserved(x, 0.7, 123, rows)
    assert not (s * x).any()
    share = s.sum(1) / (1 - x).sum(1)
    assert abs(float(share.mean()) - 0.7) < 0.01 and float(share.min()) > 0.6
    perm = torch.randperm(64, generator=g)
    assert torch.equal(sample_unobserved(x[perm], 0.7, 123, rows[perm]), s[perm])  # same epoch, any batch
    assert not torch.equal(sample_unobserved(x, 0.7, 124, rows), s)  # next epoch: a new sample
    assert not sample_unobserved(x, 0.0, 1, rows).any()


def test_shared_rank_draws_pick_the_same_positions_in_every_row_like_the_authors_clock_seeds() -> None:
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(64, 500, generator=g) < 0.1).float()
    s = sample_unobserved_by_rank(x, 0.7, 123)
    assert not (s * x).any()
    share = s.sum(1) / (1 - x).sum(1)
    assert abs(float(share.mean()) - 0.7) < 0.03
    # the j-th unobserved column of a row is drawn iff key j < 0.7: the same ranks in every row
    drawn = [torch.isin(torch.nonzero(1 - r).flatten(), torch.nonzero(d).flatten()) for r, d in zip(x, s, strict=True)]
    n = min(len(d) for d in drawn)
    assert all(torch.equal(d[:n], drawn[0][:n]) for d in drawn)
    assert torch.equal(s[0], sample_unobserved_by_rank(x[:1], 0.7, 123)[0])  # any batch, same sample
    assert not torch.equal(sample_unobserved_by_rank(x, 0.7, 124), s)
    assert not sample_unobserved_by_rank(x, 0.0, 1).any()
    m = _fit(tiny_data(), epochs=1, negative_draws="shared-ranks")
    assert np.isfinite(m.score(np.arange(3))).all()
    with pytest.raises(RecganError, match="negative_draws"):
        CFGAN(negative_draws="clock")


def test_shared_zr_pm_draw_is_nested_like_the_authors_code() -> None:
    m = _fit(tiny_data(), epochs=1, zr_pm_shared=True, zr_ratio=0.4, pm_ratio=0.7)
    x = torch.from_numpy(m._mats[0][:10].toarray())
    mask, zr = m._masks(x, torch.arange(10), 99)
    assert zr.sum() > 0 and not (zr * (1 - (mask - x))).any()  # every ZR entry is also a PM entry
    m.config.zr_ratio = 0.7
    mask, zr = m._masks(x, torch.arange(10), 99)
    assert torch.equal(zr, mask - x)
    _, independent = _fit(tiny_data(), epochs=1)._masks(x, torch.arange(10), 99)
    assert not torch.equal(independent, zr)


def test_multi_behaviour_condition_channels() -> None:
    base = tiny_data()
    rng = np.random.default_rng(0)
    cart = sp.csr_matrix((rng.random((base.n_users, base.n_items)) < 0.1).astype(np.float32))
    data = Interactions({"buy": base.X, "cart": cart}, "buy", base.users, base.items)
    m = _fit(data, condition_behaviours="all", epochs=1)
    assert m.G[0].in_features == 2 * data.n_items
    assert np.isfinite(m.score_history(base.binary()[:3])).all()  # fold-in: extra channels are zero
    item_mode = _fit(data, condition_behaviours="cart", mode="item", epochs=1)
    assert item_mode.G[0].in_features == 2 * data.n_users
    with pytest.raises(RecganError, match="condition_behaviours"):
        _fit(data, condition_behaviours="view")


def test_popularity_prior_and_input_dropout() -> None:
    """output_prior="popularity": before training G ranks by popularity (its output bias is each column's
    interaction share). input_dropout: training conditions lose entries, scoring uses the whole history."""
    data = tiny_data(empty_user=False)
    m = CFGAN(**{**TINY, "epochs": 1, "output_prior": "popularity", "mode": "user"})
    m._build(data)
    share = data.binary().getnnz(axis=0) / data.n_users
    np.testing.assert_allclose(m.G[-1].bias.detach().numpy(), share, rtol=1e-6)
    m2 = CFGAN(**{**TINY, "input_dropout": 0.5})
    m2._build(data)
    cond = torch.ones(64, data.n_items)
    dropped = m2._drop(cond)
    assert 0.3 < float(dropped.mean()) < 0.7 and set(dropped.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(CFGAN(**TINY)._drop(cond), cond)  # off by default
    fitted = _fit(data, input_dropout=0.5)
    users = np.arange(data.n_users)
    np.testing.assert_array_equal(fitted.score(users), fitted.score(users))  # deterministic scoring


def test_ease_start_begins_as_ease_and_then_trains() -> None:
    """init="ease": before any step G(c) is EASE's score row (skip path B = EASE weights, MLP output at zero);
    training then moves both the skip path and the MLP."""
    from recgan.models.ease import EASE

    data = tiny_data(empty_user=False)
    users = np.arange(data.n_users)
    start = _fit(data, mode="user", init="ease", init_l2=5.0, epochs=1, lr=0.0, lr_d=0.0, reg_g=0.0)
    np.testing.assert_allclose(start.score(users), EASE(l2=5.0).fit(data).score(users), atol=1e-5)
    trained = _fit(data, mode="user", init="ease", init_l2=5.0, epochs=2, lr=1e-2)
    assert not np.allclose(trained.score(users), start.score(users))
    assert float(trained.G[-1].weight.detach().abs().sum()) > 0  # the MLP body left zero
    assert trained.flops_per_epoch() > _fit(data, mode="user", epochs=1).flops_per_epoch()


def test_bad_parameters_raise() -> None:
    for bad in ({"init": "svd"}, {"mode": "both"}, {"scheme": "XY"}, {"loss": "lsgan"}, {"pm_ratio": 1.5},
                {"g_hidden": ()}, {"steps_g": 0}, {"input_dropout": -0.1}, {"output_prior": "uniform"}):
        with pytest.raises(RecganError):
            CFGAN(**bad)


def test_presets_are_the_authors_settings() -> None:
    for name, preset in CFGAN.presets.items():
        make_config(CFGANConfig, preset.params)
        assert (preset.fit.early_stopping is False) == (name in ("paper-ml100k", "paper-ml1m"))
    p = CFGAN.presets["paper-ml100k"].params
    assert (p["mode"], p["scheme"], p["zr_ratio"], p["pm_ratio"], p["zr_weight"]) == ("item", "ZP", 0.7, 0.7, 0.03)
    assert (p["g_hidden"], p["d_hidden"], p["steps_g"], p["steps_d"]) == ((400,), (125,), 4, 2)
    assert p["epochs"] * p["steps_g"] == 1000  # the code's 1000 "epochs" are generator passes
    assert p["zr_pm_shared"] and CFGAN.presets["paper-ml1m"].params["zr_pm_shared"]  # the code's one-seed draws
    q = CFGAN.presets["paper-ml1m"].params
    assert (q["zr_ratio"], q["g_hidden"], q["d_hidden"], q["lr_d"], q["batch_size_d"]) == (0.9, (300,), (250,), 5e-5, 512)


def test_cli_train_and_recommend_from_a_history(tmp_path) -> None:
    data = tiny_data(empty_user=False)
    df = data.to_frame()[["user", "item"]]
    df.to_csv(tmp_path / "train.tsv", sep="\t", header=False, index=False)
    rc = cli(["train", "--train", str(tmp_path / "train.tsv"), "--model", "cfgan", "--epochs", "2", "--quiet",
              "--no-early-stopping", "--param", "g_hidden=16", "--param", "d_hidden=8", "--out",
              str(tmp_path / "m")])
    assert rc == 0 and (tmp_path / "m" / "training_log.jsonl").exists()
    (tmp_path / "h.txt").write_text("\n".join(map(str, data.items.ids[:4])) + "\n")
    rc = cli(["recommend", "--model", str(tmp_path / "m"), "--history", str(tmp_path / "h.txt"), "-k", "5",
              "--out", str(tmp_path / "recs.tsv")])
    recs = pd.read_csv(tmp_path / "recs.tsv", sep="\t", header=None)
    assert rc == 0 and len(recs) == 5 and not set(recs[1]) & set(data.items.ids[:4])


def test_int32_sampler_matches_reference_keys():
    """The int32 evaluation of the negative-sampling hash draws exactly what the int64 reference keys give."""
    from recgan.core.gan_parts import _keys_below, hash_keys

    g = torch.Generator().manual_seed(0)
    for seed in (0, 123, 2**40 + 7, 2**63 - 1):
        rows = torch.randint(0, 10**6, (65,), generator=g)
        keys = hash_keys(seed, rows, 301)
        for t in (0, 1, 2**31, int(0.7 * 2**32), 2**32 - 1, 2**32):
            assert torch.equal(keys < t, _keys_below(seed, rows, 301, t))


@pytest.mark.parametrize("params, match", [
    ({"init": "ease", "mode": "user"}, "cfgan init=ease .user mode, an EASE start over 40 columns.*init=none"),
    ({"mode": "item", "epochs": 1}, "cfgan .item mode. scoring: the generator's 40 x 60 output.*mode=user"),
])
def test_cfgan_refuses_what_will_not_fit(monkeypatch, params, match):
    monkeypatch.setattr("recgan.core.memory.available_memory", lambda: 1000)
    with pytest.raises(RecganError, match=match):
        model = CFGAN(**params, g_hidden=(8,), d_hidden=(8,), seed=0).fit(tiny_data(60, 40))
        model.recommend([0], 5)  # item mode: the scoring cache is checked on first use


def test_resuming_a_run_that_stopped_early_adds_no_epoch(tmp_path) -> None:
    carve = validation_carve(tiny_data(), 0.2, 1)
    params = {"epochs": 40, "eval_every": 1, "patience": 1, "noise_dim": 2}
    ckpt = tmp_path / "ckpt"
    straight = CFGAN(**{**TINY, **params})
    straight.fit(carve.train, carve.test, options=TrainingOptions(progress=False, checkpoint_dir=str(ckpt),
                                                                  checkpoint_every=1))
    ran = straight.info["training"]["epochs_run"]
    assert straight.info["training"]["stopped_early"] and ran < 40
    resumed = CFGAN(**{**TINY, **params})  # as if killed after the last checkpoint, before the run returned
    resumed.fit(carve.train, carve.test, options=TrainingOptions(progress=False, resume=str(ckpt / "last")))
    assert resumed.info["training"]["epochs_run"] == ran and resumed.info["training"]["stopped_early"]
    a, b = resumed._state(), straight._state()
    for k in a:
        assert torch.equal(a[k], b[k]), k
