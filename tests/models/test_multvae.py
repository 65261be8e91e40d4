"""Mult-VAE: the recommender contract (exact fold-in) and the KL annealing."""

from recgan.core.trainer import TrainingOptions
from recgan.models.multvae import MultVAE
from recgan.testing import RecommenderContract, tiny_data

TINY = {"epochs": 3, "hidden": 16, "latent": 4, "batch_size": 16}


class TestMultVAE(RecommenderContract):
    model_name = "multvae"
    params = TINY


def test_beta_is_annealed_to_its_cap() -> None:
    m = MultVAE(**{**TINY, "epochs": 6, "anneal_steps": 4, "beta_cap": 0.3})
    m.fit(tiny_data(), options=TrainingOptions(**{"progress": False}))
    betas = [row["beta"] for row in m.history]
    assert betas[0] < 0.3 and betas[-1] == 0.3
    assert all(b2 >= b1 for b1, b2 in zip(betas, betas[1:], strict=False))
    assert m.steps == 6 * 3  # 39 active users / 16 per batch = 3 steps per epoch
