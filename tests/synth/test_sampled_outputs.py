"""The behaviour GAN's sampled outputs: per-step cost over a candidate set, release over the whole catalogue."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recgan.core.trainer import TrainingOptions
from recgan.errors import RecganError
from recgan.synth import BehaviourSynthesizer, load_synthesizer
from recgan.synth import gan as gan_mod
from recgan.synth.base import ProfileDecoder
from recgan.synth.critic import Critic, SampledCritic, critic_input

TINY = {"epochs": 2, "train_batch": 32, "z_dim": 8, "hidden": 32, "emb": 16, "d_emb": 16, "d_hidden": 32,
        "diag_every": 1, "outputs": "sampled", "candidates": 24}
QUIET = TrainingOptions(progress=False)


def test_sampled_critic_is_the_dense_critic_on_profiles_inside_its_columns():
    torch.manual_seed(0)
    n_items, n_ch, pac = 40, 3, 2
    dense, sampled = Critic(n_items, n_ch, 8, 16, pac), SampledCritic(n_items, n_ch, 8, 16, pac)
    with torch.no_grad():
        sampled.table.copy_(dense.embed.weight.T)
        sampled.embed_bias.copy_(dense.embed.bias)
    sampled.net.load_state_dict(dense.net.state_dict())
    items = torch.tensor([3, 17, 5, 39, 0])
    prof = torch.rand(6, n_ch, len(items))
    prof = prof / prof.sum(-1, keepdim=True)
    full = torch.zeros(6, n_ch, n_items)
    full[:, :, items] = prof
    sizes = torch.randint(1, 5, (6, n_ch))
    sampled.use(items)
    torch.testing.assert_close(sampled(critic_input(prof, sizes)), dense(critic_input(full, sizes)))
    sampled(critic_input(prof, sizes)).sum().backward()
    assert sampled.table.grad.is_sparse
    rows = sampled.table.grad.coalesce().indices()[0]
    assert set(rows.tolist()) <= set((torch.arange(n_ch)[:, None] * n_items + items).reshape(-1).tolist())


def test_decoder_logits_of_some_items_match_the_full_logits():
    torch.manual_seed(0)
    g = ProfileDecoder(50, 2, 4, z_dim=6, hidden=12, emb=5)
    z, level = torch.randn(7, 6), torch.randint(0, 4, (7,))
    items = torch.tensor([49, 2, 10])
    part = g(z, level, items)
    torch.testing.assert_close(part, g(z, level)[:, :, items])
    part.sum().backward()
    assert g.item_emb.grad.is_sparse


def test_sampled_fit_releases_over_the_whole_catalogue(shop, tmp_path, monkeypatch):
    def no_dense(*a, **k):
        raise AssertionError("sampled outputs densified a batch over the catalogue")

    monkeypatch.setattr(gan_mod, "dense_batch", no_dense)
    s = BehaviourSynthesizer(**TINY).fit(shop, QUIET)
    assert s.info["outputs"] == "sampled" and s.info["candidates"] >= 24
    assert len(s.history) == 2 and np.isfinite(s.history[-1]["loss_d"])
    df = s.sample(200, seed=1)
    assert set(df["item"]) <= set(shop.items.to_list())
    assert df["item"].nunique() > 24  # not confined to one step's candidates
    syn = s.sample_interactions(200, seed=1)
    cart, buy = syn.binary("cart"), syn.binary("buy")
    assert buy.multiply(cart).nnz == buy.nnz  # the funnel holds in the release
    s.save(tmp_path / "s")
    assert load_synthesizer(tmp_path / "s").sample(50, seed=2).equals(s.sample(50, seed=2))


def test_auto_picks_by_catalogue_size_and_never_under_dp(shop, monkeypatch):
    small = {k: v for k, v in TINY.items() if k not in ("outputs", "candidates")}
    small["epochs"] = 1
    assert BehaviourSynthesizer(**small).fit(shop, QUIET).info["outputs"] == "dense"
    monkeypatch.setattr(gan_mod, "SAMPLED_FROM_ITEMS", 10)
    assert BehaviourSynthesizer(**small).fit(shop, QUIET).info["outputs"] == "sampled"
    dp = BehaviourSynthesizer(**small, dp_epsilon=10.0, init="none").fit(shop, QUIET)
    assert dp.info["outputs"] == "dense"


def test_sampled_outputs_under_dp_is_one_clear_error(shop):
    with pytest.raises(RecganError, match="outputs=sampled is not available with --dp-epsilon"):
        BehaviourSynthesizer(**TINY, dp_epsilon=3.0).fit(shop, QUIET)


def test_sampled_fit_resumes_bit_exactly(shop, tmp_path):
    params = {**TINY, "epochs": 3, "seed": 4}
    cut = QUIET.model_copy(update={"checkpoint_dir": str(tmp_path), "checkpoint_every": 1, "stop_after_epoch": 1})
    BehaviourSynthesizer(**params).fit(shop, cut)
    resumed = BehaviourSynthesizer(**params).fit(shop, QUIET.model_copy(update={"resume": str(tmp_path / "last")}))
    straight = BehaviourSynthesizer(**params).fit(shop, QUIET)
    a, b = resumed._state(), straight._state()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_row_adam_matches_sparse_adam():
    from recgan.synth.critic import RowAdam

    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(30, 4))
    b = torch.nn.Parameter(a.detach().clone())
    oa, ob = RowAdam([a], lr=0.1, betas=(0.5, 0.9)), torch.optim.SparseAdam([b], lr=0.1, betas=(0.5, 0.9))
    for step in range(4):
        idx = torch.tensor([[1, 7, 7, 20], [3, 3, 0, 29], [5, 6, 7, 8], [29, 1, 2, 3]][step])
        w = torch.randn(4, 4)
        for p, o in ((a, oa), (b, ob)):
            o.zero_grad()
            (torch.nn.functional.embedding(idx, p, sparse=True) * w).sum().backward()
            o.step()
    torch.testing.assert_close(a.detach(), b.detach())


def test_sampled_outputs_on_one_behaviour(shop):
    s = BehaviourSynthesizer(**{**TINY, "epochs": 1, "loss": "nonsaturating", "pac": 1}).fit(shop.only_target(), QUIET)
    assert s.info["outputs"] == "sampled" and set(s.sample(20, seed=0)["behaviour"]) == {"buy"}
