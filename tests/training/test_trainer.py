"""The shared trainer: a model whose untrained start is already a recommender competes as "epoch 0"."""

from __future__ import annotations

import json

import numpy as np

from recgan.core.trainer import TrainingOptions
from recgan.data.splits import validation_carve
from recgan.models.easegan import EASEGAN
from recgan.testing import tiny_data
from recgan.training.fitting import fit_model

TINY = {"l2": 10.0, "hidden": 8, "d_dim": 4, "d_hidden": 4, "epochs": 3, "batch_size": 16, "seed": 1,
        "eval_every": 1, "patience": 2}


def _start_scores(data, users):
    m = EASEGAN(**TINY)
    m.data_ = data
    m._build(data)
    return m._score(users)


def test_start_competes_as_epoch_zero_and_wins_when_training_only_hurts(tmp_path):
    """With a learning rate that wrecks the model, validation keeps the start (epoch 0): the restored
    weights score exactly as the untrained EASE start; the JSONL log holds the epoch-0 line."""
    data = tiny_data()
    carve = validation_carve(data, 0.2, 12345)
    m = EASEGAN(**{**TINY, "lr": 50.0})
    m.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False, "log_path": str(tmp_path / "log.jsonl")}))
    assert m.info["training"]["best_epoch"] == 0 and "val_ndcg@20" in m.info["start_val"]
    users = np.arange(carve.train.n_users)
    np.testing.assert_allclose(m._score(users), _start_scores(carve.train, users), rtol=1e-5, atol=1e-6)
    first = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    assert first["epoch"] == 0 and "val_ndcg@20" in first
    assert len(m.history) >= 1 and m.history[0]["epoch"] == 1  # epoch 0 is not a training epoch


def test_refit_of_a_chosen_start_is_the_start_on_all_of_train():
    data = tiny_data()
    res = fit_model("ease-gan", data, {**TINY, "lr": 50.0}, options=TrainingOptions(**{"progress": False}), log=lambda m: None)
    assert res.model.info["selection"]["valid_best_epoch"] == 0 and res.model.history == []
    users = np.arange(data.n_users)
    np.testing.assert_allclose(res.model._score(users), _start_scores(data, users), rtol=1e-5, atol=1e-6)


def test_a_useful_epoch_still_wins():
    data = tiny_data()
    carve = validation_carve(data, 0.2, 12345)
    m = EASEGAN(**{**TINY, "lr": 1e-3})
    m.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False}))
    t = m.info["training"]
    start = m.info["start_val"]["val_ndcg@20"]
    assert t["best_val"] >= start  # never worse than the start on validation
    assert (t["best_epoch"] == 0) == (t["best_val"] == start)
