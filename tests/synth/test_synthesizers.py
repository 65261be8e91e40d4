"""Every generator passes the synthesizer contract on tiny simulated data."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recgan.errors import RecganError
from recgan.reports.fidelity import activity_ks_similarity
from recgan.synth import (
    BehaviourSynthesizer,
    IndependentSampler,
    VAESynthesizer,
    load_synthesizer,
    make_synthesizer,
)

TINY_GAN = {"epochs": 2, "train_batch": 32, "z_dim": 8, "hidden": 32, "emb": 16, "d_emb": 16, "d_hidden": 32,
            "diag_every": 1, "pretrain_epochs": 2}
TINY_VAE = {"epochs": 2, "train_batch": 32, "z_dim": 8, "hidden": 32, "emb": 16}


class SynthContract:
    cls = None
    params: dict = {}

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, shop):
        return cls.cls(**cls.params).fit(shop)

    def test_fit_returns_self_and_registry(self, shop):
        s = self.cls(**self.params)
        assert s.fit(shop) is s
        assert type(make_synthesizer(s.name, **self.params)) is self.cls

    def test_sample_frame(self, fitted, shop):
        df = fitted.sample(50, seed=1)
        assert list(df.columns) == ["user", "item", "behaviour"]
        assert df["user"].nunique() == 50
        assert all(re.fullmatch(r"syn\d{7}", u) for u in df["user"].unique())
        assert set(df["item"]) <= set(shop.items.ids.tolist())
        assert set(df["behaviour"]) <= set(shop.behaviours)
        assert not df.duplicated(["user", "item", "behaviour"]).any()

    def test_deterministic_under_seed(self, fitted):
        a, b, c = fitted.sample(40, seed=5), fitted.sample(40, seed=5), fitted.sample(40, seed=6)
        assert a.equals(b)
        assert not a.equals(c)

    def test_sizes_follow_real_activity(self, fitted, shop):
        syn = fitted.sample_interactions(400, seed=2)
        for b in shop.behaviours:
            assert activity_ks_similarity(shop.binary(b), syn.binary(b)) > 0.8, b

    def test_funnel_consistency(self, fitted, shop):
        assert fitted.funnel.describe(fitted.behaviours) != "none"
        syn = fitted.sample_interactions(100, seed=3)
        buy, cart, view = (syn.binary(b) for b in ("buy", "cart", "view"))
        assert buy.multiply(cart).nnz == buy.nnz
        assert cart.multiply(view).nnz == cart.nnz

    def test_save_load_round_trip(self, fitted, tmp_path):
        fitted.save(tmp_path / "m")
        names = {p.name for p in (tmp_path / "m").iterdir()}
        assert names <= {"synth.json", "items.json", "activity.npz", "weights.safetensors", "weights.npz"}
        assert not list(tmp_path.glob(".*tmp"))
        loaded = load_synthesizer(tmp_path / "m")
        assert type(loaded) is type(fitted)
        assert loaded.sample(30, seed=9).equals(fitted.sample(30, seed=9))
        # a model folder holding the synthesizer as synth/ (what the service is given)
        fitted.save(tmp_path / "model" / "synth")
        assert load_synthesizer(tmp_path / "model").sample(5, seed=1).equals(fitted.sample(5, seed=1))
        json.loads((tmp_path / "m" / "synth.json").read_text())

    def test_marginals(self, fitted, shop):
        m = fitted.item_marginals(64)
        assert m.shape == (len(shop.behaviours), shop.n_items)
        np.testing.assert_allclose(m.sum(1), 1.0, rtol=1e-4)

    def test_errors(self, fitted):
        with pytest.raises(RecganError):
            self.cls(**self.params).sample(3)
        with pytest.raises(RecganError):
            fitted.sample(0)
        with pytest.raises(RecganError):
            self.cls(no_such_param=1)


class TestIndependent(SynthContract):
    cls = IndependentSampler


class TestVAE(SynthContract):
    cls = VAESynthesizer
    params = TINY_VAE


class TestGAN(SynthContract):
    cls = BehaviourSynthesizer
    params = TINY_GAN

    def test_training_log_and_alarm(self, fitted):
        hist = fitted.info["history"]
        assert len(hist) == 2 and all(np.isfinite(h["loss_d"]) for h in hist)
        assert "distinct_lists" in hist[-1] and isinstance(fitted.info["collapse_alarm"], bool)
        assert isinstance(fitted.info["coverage_alarm"], bool) and fitted.info["coverage_ratio"] > 0

    def test_only_generator_released(self, fitted, tmp_path):
        from safetensors.torch import load_file

        fitted.save(tmp_path / "g")
        keys = load_file(str(tmp_path / "g" / "weights.safetensors")).keys()
        assert keys and all(k.startswith("generator.") for k in keys)

    def test_vae_warm_start(self, shop, tmp_path):
        """pretrain_epochs: the generator starts as the decoder of a VAE of the same widths (and samples its
        noise through that VAE's ex-post Gaussian); zero adversarial epochs release exactly that VAE."""
        widths = {k: TINY_GAN[k] for k in ("z_dim", "hidden", "emb")}  # the VAE keeps its own batch
        g = BehaviourSynthesizer(**{**TINY_GAN, "epochs": 0, "ema": 0.0, "init": "vae"}).fit(shop)
        v = VAESynthesizer(**widths, epochs=2).fit(shop)
        for k, t in v.decoder.state_dict().items():
            assert torch.equal(t, g.generator.state_dict()[k]), k
        assert torch.equal(g.latent_mean_, v.latent_mean_) and g.info["pretrain_epochs"] == 2
        assert g.info["lr_g"] == 2e-5 and g.info["epochs"] == 0
        g.save(tmp_path / "g")
        again = load_synthesizer(tmp_path / "g")
        assert torch.equal(again.latent_chol_, g.latent_chol_)
        assert again.sample(30, seed=3).equals(g.sample(30, seed=3))
        scratch = BehaviourSynthesizer(**{**TINY_GAN, "init": "vae", "pretrain_epochs": 0, "epochs": 1}).fit(shop)
        assert scratch.info["pretrain_epochs"] == 0 and scratch.info["lr_g"] == 1e-3
        assert scratch.info["init"] == "none"
        assert torch.equal(scratch.latent_chol_, torch.eye(TINY_GAN["z_dim"]))

    def test_spectral_start(self, shop, tmp_path):
        """init="spectral" (the default): with zero adversarial epochs the generator is exactly the linear
        generator of the co-occurrence matrix's top eigenvectors plus the popularity prior."""
        from recgan.synth.spectral import spectral_basis

        g = BehaviourSynthesizer(**{**TINY_GAN, "epochs": 0, "ema": 0.0, "spectral_items": 30}).fit(shop)
        info = g.info["spectral"]
        assert g.info["init"] == "spectral" and info["rank"] == 8 and info["items"] == 30  # rank <= z_dim 8
        mats = [shop.binary(b) for b in g.behaviours]
        pop = sum(np.asarray(m.sum(0)).ravel() for m in mats)
        order = np.argsort(-np.exp(g.generator.bias.detach().numpy()).sum(0), kind="stable")[:30]
        v, lam = spectral_basis(mats, rank=8, items=order)
        assert set(order[:5]) <= set(np.argsort(-pop)[:10])  # the prior ranks items by popularity
        emb = g.generator.item_emb.detach().numpy()
        np.testing.assert_allclose(np.abs(emb[order, :8]), np.abs(v), atol=1e-5)  # eigenvectors up to sign
        outside = np.setdiff1d(np.arange(shop.n_items), order)
        assert not emb[outside].any()
        z = torch.randn(5, 8)
        with torch.no_grad():
            out = g.generator(z, torch.zeros(5, dtype=torch.long))
            lin = (z @ g.generator.skip.weight.T).view(5, -1, 16) @ g.generator.item_emb.T
        torch.testing.assert_close(out - g.generator.bias, lin)
        g.save(tmp_path / "s")
        again = load_synthesizer(tmp_path / "s")
        assert again.generator.skip is not None and again.sample(30, seed=3).equals(g.sample(30, seed=3))
        with pytest.raises(RecganError, match="init"):
            BehaviourSynthesizer(**{**TINY_GAN, "init": "pca"}).fit(shop)

    def test_single_behaviour_and_loss_variants(self, shop):
        data = shop.only_target()
        s = BehaviourSynthesizer(**{**TINY_GAN, "epochs": 1, "loss": "nonsaturating", "pac": 1}).fit(data)
        df = s.sample(20, seed=0)
        assert set(df["behaviour"]) == {"buy"}


def test_temperature_sharpens_profiles(shop):
    """Below 1 the sample concentrates on the generator's likelier items: fewer distinct items overall, the
    same sizes; a non-positive temperature is one clear error."""
    s = VAESynthesizer(**TINY_VAE).fit(shop)
    hot = s.sample_interactions(300, seed=0)
    s.config.temperature = 0.3
    cold = s.sample_interactions(300, seed=0)
    assert np.array_equal(np.diff(hot.X.indptr), np.diff(cold.X.indptr))
    assert (np.diff(cold.X.tocsc().indptr) > 0).sum() < (np.diff(hot.X.tocsc().indptr) > 0).sum()
    s.config.temperature = 0.0
    with pytest.raises(RecganError, match="temperature"):
        s.sample(5)


def test_no_dense_users_by_items(shop, monkeypatch):
    """sample() densifies one batch at a time: batch_size bounds the dense logits."""
    s = IndependentSampler(batch_size=16).fit(shop)
    seen = []
    orig = s._logits
    monkeypatch.setattr(s, "_logits", lambda sizes, gen: seen.append(len(sizes)) or orig(sizes, gen))
    s.sample(100, seed=0)
    assert max(seen) <= 16 and sum(seen) == 100


def test_canaries_planting(shop):
    from recgan.synth.canaries import plant_canaries

    data, can = plant_canaries(shop, n=6, size=4, seed=0)
    assert data.n_users == shop.n_users + 6
    M = can.matrix(data.n_items)
    rows = data.X[-6:]
    assert (rows != M).nnz == 0
    assert len({tuple(sorted(r)) for r in can.items}) == 6
    again, with_decoys = plant_canaries(shop, n=6, size=4, seed=0, decoys=5)
    assert (again.X != data.X).nnz == 0 and np.array_equal(with_decoys.items, can.items)  # decoys change nothing
    assert with_decoys.decoys.shape == (5, 4) and not set(with_decoys.decoys.ravel()) & set(can.items.ravel())
    pop = np.asarray(shop.binary().sum(0)).ravel()
    assert pop[with_decoys.decoys].max() <= 5 and pop[with_decoys.decoys].min() >= 1  # the same rare pool
    assert with_decoys.decoy_matrix(data.n_items).shape == (5, data.n_items)
    fresh, can2 = plant_canaries(shop, n=10, size=3, seed=1, fresh_items=True, plant_fraction=0.5)
    assert fresh.n_items == shop.n_items + 30
    assert fresh.n_users == shop.n_users + int(can2.planted.sum())
    assert sp.csr_matrix(fresh.X[:, shop.n_items:]).nnz == 3 * int(can2.planted.sum())


def test_real_coverage_cuts_each_profile_to_k_items():
    """The coverage alarm's reference: distinct items over n users' profiles cut to k random items each."""
    from recgan.synth.gan import real_coverage

    assert real_coverage(sp.identity(6, format="csr"), n=6, k=20) == 1.0  # six users, six distinct items
    one_heavy = sp.csr_matrix(np.ones((1, 100)))
    assert real_coverage(one_heavy, n=1, k=20) == pytest.approx(0.2)  # 20 of the 100 items
    assert real_coverage(one_heavy, n=1, k=20, seed=1) == pytest.approx(0.2)
