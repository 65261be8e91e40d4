"""IRGAN: the recommender contract, sampling, and no NaN with and without generator pretraining."""

import math

import numpy as np
import pytest
import torch

from recgan.core.trainer import TrainingOptions
from recgan.models.irgan import IRGAN, _sample_rows
from recgan.testing import RecommenderContract, tiny_data

TINY = {"epochs": 3, "factors": 8, "batch_size": 64, "user_batch": 16, "g_pretrain_epochs": 2,
        "d_pretrain_epochs": 1}


class TestIRGAN(RecommenderContract):
    model_name = "irgan"
    params = TINY


@pytest.mark.parametrize("g_pretrain", [0, 3])
def test_no_nan_with_and_without_pretraining(g_pretrain: int) -> None:
    data = tiny_data()
    m = IRGAN(**{**TINY, "epochs": 4, "g_pretrain_epochs": g_pretrain, "lr": 0.05, "lr_d": 0.05,
                 "temperature": 0.05})
    m.fit(data, data, options=TrainingOptions(**{"progress": False}))  # validation on train data: exercises the evaluation path too
    for row in m.history:
        for k, v in row.items():
            if isinstance(v, float):
                assert math.isfinite(v), (k, row)
        assert 0.0 <= row["d_real"] <= 1.0 and 0.0 <= row["d_fake"] <= 1.0
    assert np.isfinite(m.score(np.arange(data.n_users))).all()
    assert ("loss_pre_g" in m.history[0]) == (g_pretrain > 0)


def test_inverse_cdf_sampling_matches_the_distribution() -> None:
    p = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]])
    s = _sample_rows(p.clamp_min(1e-30).log(), 20000, torch.Generator().manual_seed(0))
    freq = torch.stack([torch.bincount(r, minlength=4).float() / 20000 for r in s])
    np.testing.assert_allclose(freq.numpy(), p.numpy(), atol=0.02)
    assert (s[0] != 3).all() and (s[1] >= 2).all()
