"""EASE-GAN: the recommender contract, the ablation (adv_weight=0 trains no discriminator), and the start
from EASE (before any training step G ranks exactly as EASE)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recgan.core.trainer import TrainingOptions
from recgan.data.splits import validation_carve
from recgan.errors import RecganError
from recgan.models.easegan import EASEGAN, ease_weights
from recgan.testing import RecommenderContract, tiny_data

TINY = {"l2": 10.0, "hidden": 8, "d_dim": 4, "d_hidden": 4, "epochs": 3, "batch_size": 16, "seed": 1}


class TestEASEGAN(RecommenderContract):
    model_name = "ease-gan"
    params = TINY


class TestEASEGANAblation(RecommenderContract):
    model_name = "ease-gan"
    params = {**TINY, "adv_weight": 0.0}


def _fit(**params):
    m = EASEGAN(**{**TINY, **params})
    return m.fit(tiny_data(), options=TrainingOptions(**{"progress": False}))


def test_ablation_has_no_discriminator():
    m = _fit(adv_weight=0.0)
    assert m.D is None and set(m.modules()) == {"R"} and set(m.optimizers()) == {"g"}
    assert all("loss_d" not in h and "loss_g" not in h for h in m.history)
    assert all("loss_rec" in h for h in m.history)


def test_adversarial_trains_discriminator():
    m = _fit(adv_weight=0.5, loss="hinge")
    assert m.D is not None and {"loss_d", "loss_g", "d_real", "d_fake"} <= set(m.history[0])
    assert all(np.isfinite(h["loss_d"]) for h in m.history)


def test_wgan_gp_runs():
    m = _fit(adv_weight=0.5, loss="wgan-gp", epochs=1)
    assert np.isfinite(m.history[0]["loss_d"])


def test_starts_from_ease():
    data = tiny_data()
    m = EASEGAN(**TINY)
    m.data_ = data
    m._build(data)
    users = np.arange(data.n_users)
    expected = data.binary()[users] @ ease_weights(data.X, TINY["l2"])
    scale = float(m.R.log_scale.detach().exp())
    np.testing.assert_allclose(m._score(users), scale * expected, rtol=1e-4, atol=1e-4)


def test_sampled_lists_train_reproducibly_and_move_g():
    """list_mode="sampled": D sees discrete Gumbel top-k lists, G learns by REINFORCE; one seed, one result,
    and a list longer than the drawable items (list_k > catalogue) still gives finite losses."""
    a, b = _fit(adv_weight=1.0, list_mode="sampled", list_k=3), _fit(adv_weight=1.0, list_mode="sampled", list_k=3)
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(a.history[0])
    users = np.arange(tiny_data().n_users)
    np.testing.assert_array_equal(a._score(users), b._score(users))
    ablation = _fit(adv_weight=0.0)
    assert not np.allclose(a._score(users), ablation._score(users))  # the adversarial term changes G
    big = _fit(adv_weight=1.0, list_mode="sampled", list_k=10_000, epochs=1)
    assert all(np.isfinite(v) for v in big.history[0].values())


@pytest.mark.parametrize("bad", [{"loss": "reconstruction"}, {"dropout": 1.0}, {"adv_weight": -1.0}, {"hidden": 0},
                                 {"list_mode": "hard"}, {"list_k": 0}])
def test_bad_params(bad):
    with pytest.raises(RecganError):
        EASEGAN(**bad)


def test_tune_base_keeps_zero_diagonal_and_folds_in():
    m = _fit(tune_base=True, epochs=2)
    data = tiny_data()
    assert m.R.dB is not None and float(m.R.dB.detach().abs().sum()) > 0
    items = np.arange(data.n_items)
    users = np.arange(5)
    np.testing.assert_allclose(m.score_history(data.binary()[users]), m.score(users), atol=1e-4)
    assert m._item_similarity(items).shape == (data.n_items, data.n_items)


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    carve = validation_carve(tiny_data(), 0.2, 1)
    params = {**TINY, "epochs": 4, "patience": 0, "noise": 0.1}
    ckpt = tmp_path / "ckpt"
    runs = []
    for opts in ({"checkpoint_dir": str(ckpt), "checkpoint_every": 2, "stop_after_epoch": 2},
                 {"resume": str(ckpt / "last")}, {}):
        m = EASEGAN(**params)
        runs.append(m.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False, **opts})))
    resumed, straight = runs[1], runs[2]
    a, b = resumed._state(), straight._state()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_memory_check_fails_early_with_one_line():
    from recgan.models.easegan import check_memory, memory_needed

    n = 40_981  # Gowalla: the float32 base fits 24 GB, the tune_base correction with its Adam state does not
    assert memory_needed(n, False) < 8 * 2**30 < 32 * 2**30 < memory_needed(n, True)
    check_memory(n, False, available=24 * 2**30)
    with pytest.raises(RecganError, match=r"40981 items needs ~3\d\.\d GiB, 24\.0 GiB available; set --param tune_base"):
        check_memory(n, True, available=24 * 2**30)
    with pytest.raises(RecganError, match="solver=approx"):
        check_memory(n, False, available=4 * 2**30)


def test_fit_refuses_before_allocating(monkeypatch):
    monkeypatch.setattr("recgan.core.memory.available_memory", lambda: 1024)
    monkeypatch.setattr("recgan.models.easegan.ease_weights", lambda *a, **k: pytest.fail("allocated"))
    with pytest.raises(RecganError, match="ease-gan with .* items needs"):
        _fit()
