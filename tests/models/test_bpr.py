"""BPR-MF: the recommender contract, the triple sampler, and the ml-100k-p2 bars (slow)."""

import numpy as np
import pytest
import torch

from recgan.core.trainer import TrainingOptions
from recgan.data.loaders import load_interactions
from recgan.data.splits import load_heldout
from recgan.evaluation.evaluator import evaluate
from recgan.models.mf import TripleSampler
from recgan.testing import RecommenderContract, tiny_data
from recgan.training.fitting import fit_model

TINY = {"epochs": 3, "factors": 8, "batch_size": 64}


class TestBPR(RecommenderContract):
    model_name = "bpr"
    params = TINY


def test_sampler_negatives_are_unobserved_and_positives_observed() -> None:
    X = tiny_data(empty_user=False).binary()
    s = TripleSampler(X)
    u, i, j = s.sample(5000, torch.Generator().manual_seed(0))
    dense = X.toarray() > 0
    assert dense[u.numpy(), i.numpy()].all()
    assert not dense[u.numpy(), j.numpy()].any()
    assert s.observed(u, i).all() and not s.observed(u, j).any()


def test_sampler_is_seeded() -> None:
    s = TripleSampler(tiny_data().binary())
    a = s.sample(100, torch.Generator().manual_seed(3))
    b = s.sample(100, torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.slow
def test_bpr_and_apr_bars_on_ml100k_p2(shared) -> None:
    """The default command's bars: BPR NDCG@20 >= 0.2574 (implicit's tuned BPR); APR >= 1.03 x BPR."""
    folder = shared("benchmarks", "splits", "ml-100k-p2")
    train = load_interactions(folder / "train.tsv")
    test = load_heldout(folder / "test.tsv", train)
    opts = {"progress": False}
    bpr = evaluate(fit_model("bpr", train, {"seed": 0}, options=TrainingOptions(**opts), log=lambda m: None).model, test)
    apr = evaluate(fit_model("apr", train, {"seed": 0}, options=TrainingOptions(**opts), log=lambda m: None).model, test)
    assert bpr["ndcg@20"] >= 0.2574
    assert apr["ndcg@20"] >= 1.03 * bpr["ndcg@20"], (apr["ndcg@20"], bpr["ndcg@20"])
    assert np.isfinite(apr["ndcg@20"])
