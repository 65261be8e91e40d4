"""APR: the recommender contract and the adversarial perturbation."""

import numpy as np
import torch

from recgan.core.trainer import TrainingOptions
from recgan.models.apr import APR
from recgan.models.mf import bpr_loss
from recgan.testing import RecommenderContract, tiny_data

TINY = {"epochs": 2, "pretrain_epochs": 2, "factors": 8, "batch_size": 64}


class TestAPR(RecommenderContract):
    model_name = "apr"
    params = TINY


def _fitted(**params) -> APR:
    m = APR(**{**TINY, **params})
    return m.fit(tiny_data(), options=TrainingOptions(**{"progress": False}))


def test_adversarial_perturbation_increases_the_loss() -> None:
    m = _fitted(eps=0.5)
    u, i, j = m.sampler.sample(256, torch.Generator().manual_seed(1))
    _, adv = m.adversarial_losses(u, i, j)
    du, di, dj = m.adversarial_perturbation(u, i, j)
    np.testing.assert_allclose(du.norm(dim=-1).numpy(), 0.5, rtol=1e-4)
    # a random perturbation of the same length raises the loss less than the adversarial one
    g = torch.Generator().manual_seed(2)
    rand = [0.5 * torch.nn.functional.normalize(torch.randn(d.shape, generator=g), dim=-1) for d in (du, di, dj)]
    mf = m.mf
    with torch.no_grad():
        base = bpr_loss(mf.user[u], mf.item[i], mf.item[j], mf.bias[i], mf.bias[j], 0.0)
        rnd = bpr_loss(mf.user[u] + rand[0], mf.item[i] + rand[1], mf.item[j] + rand[2], mf.bias[i], mf.bias[j], 0.0)
    assert adv.item() > base.item()
    assert adv.item() > rnd.item()


def test_pretrained_folder_is_loaded(tmp_path) -> None:
    from recgan.models.bpr import BPR

    data = tiny_data()
    bpr = BPR(epochs=2, factors=8, batch_size=64)
    bpr.fit(data, options=TrainingOptions(**{"progress": False})).save(tmp_path / "bpr")
    m = APR(**{**TINY, "epochs": 1, "eps": 0.0, "reg_adv": 0.0, "adv_lr": 1e-12, "pretrained": str(tmp_path / "bpr")})
    m.fit(data, options=TrainingOptions(**{"progress": False}))
    users = np.arange(data.n_users)
    np.testing.assert_allclose(m.score(users), bpr.score(users), atol=1e-5)
