"""User-level DP with Opacus: planning, the (epsilon, delta) statement, and the canary audit."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("opacus")

from recgan.errors import RecganError  # noqa: E402
from recgan.reports.privacy import epsilon_lower_bound  # noqa: E402
from recgan.synth import BehaviourSynthesizer, IndependentSampler  # noqa: E402
from recgan.synth.canaries import plant_canaries  # noqa: E402
from recgan.synth.dp import composed_epsilon, noise_for_epsilon  # noqa: E402

TINY = {"epochs": 2, "train_batch": 32, "z_dim": 8, "hidden": 32, "emb": 16, "d_emb": 16, "d_hidden": 32}


def test_noise_planning_is_tight_and_monotone():
    s1 = noise_for_epsilon(1.0, 1e-5, 0.05, 400, [20.0, 20.0])
    s10 = noise_for_epsilon(10.0, 1e-5, 0.05, 400, [20.0, 20.0])
    assert s1 > s10 > 0
    for eps, s in ((1.0, s1), (10.0, s10)):
        assert composed_epsilon(s, 0.05, 400, [20.0, 20.0], 1e-5) <= eps
        assert composed_epsilon(s / 1.03, 0.05, 400, [20.0, 20.0], 1e-5) > eps * 0.97
    with pytest.raises(RecganError):
        noise_for_epsilon(0.01, 1e-5, 0.05, 400, [2.0])


def test_dp_gan_states_epsilon_delta(shop, tmp_path):
    from recgan.synth import load_synthesizer

    s = BehaviourSynthesizer(**TINY, dp_epsilon=3.0, dp_delta=1e-4).fit(shop)
    st = s.privacy
    assert st["dp"] and st["unit"] == "user" and st["delta"] == 1e-4
    assert 0 < st["epsilon"] <= 3.0 + 1e-9
    assert st["noise_multiplier"] > 0 and st["steps"] == 2 * int(1 / st["sample_rate"])
    assert s.info["loss"] == "nonsaturating" and s.info["pac"] == 1
    # the coverage alarm's reference reads the real data: neither computed nor released under DP
    assert s.info["coverage_ratio"] is None and s.info["coverage_alarm"] is False
    # the spectral start's release (noise 7 / epsilon) is composed in the same accountant as DP-SGD
    assert s.info["init"] == "spectral" and s.info["spectral"]["sigma"] == pytest.approx(7.0 / 3.0)
    assert st["aux_releases_sigma"][-1] == pytest.approx(7.0 / 3.0) and len(st["aux_releases_sigma"]) == 3
    s.save(tmp_path / "dp")
    assert load_synthesizer(tmp_path / "dp").privacy["epsilon"] == st["epsilon"]
    df = s.sample(30, seed=0)
    assert df["user"].nunique() == 30


def test_epsilon_lower_bound_math():
    rng = np.random.default_rng(0)
    planted = rng.random(400) < 0.5
    perfect = planted.astype(float) + rng.random(400) * 0.1
    lb = epsilon_lower_bound(perfect, planted, 1e-5)["epsilon_lb"]
    assert 1.5 < lb < 6.0  # separable, but 400 trials cannot show more than a few nats
    noise = rng.random(400)
    assert epsilon_lower_bound(noise, planted, 1e-5)["epsilon_lb"] < 0.5


def test_canary_audit(shop):
    data, can = plant_canaries(shop, n=60, size=3, seed=0, fresh_items=True, plant_fraction=0.5)
    cols = can.items
    # a generator that copies marginals exposes the planted canaries
    m = IndependentSampler().fit(data).item_marginals(16)[0]
    lb = epsilon_lower_bound(m[cols].sum(1), can.planted, 1e-5)["epsilon_lb"]
    assert lb > 0.5
    # the DP generator's audit bound never exceeds its claim
    s = BehaviourSynthesizer(**TINY, dp_epsilon=1.0).fit(data)
    m = s.item_marginals(256)[0]
    res = epsilon_lower_bound(m[cols].sum(1), can.planted, 1e-5)
    assert res["epsilon_lb"] <= s.privacy["epsilon"]


def test_spectral_release_sensitivity(shop):
    """Adding or removing one user moves the released co-occurrence matrix by at most 1 (Frobenius), whatever
    the user's size or behaviours: the Gaussian mechanism's L2 sensitivity the accountant assumes."""
    from recgan.synth.spectral import cooccurrence

    mats = [shop.binary(b) for b in shop.behaviours]
    items = np.arange(shop.n_items)
    full = cooccurrence(mats, items)
    sizes = sum(np.diff(m.indptr) for m in mats)
    for u in (int(np.argmax(sizes)), int(np.argmin(np.where(sizes > 0, sizes, 10**9))), 3):
        keep = np.setdiff1d(np.arange(shop.n_users), [u])
        diff = full - cooccurrence([m[keep] for m in mats], items)
        assert np.linalg.norm(diff) <= 1.0 + 1e-9
        assert np.linalg.norm(diff) == pytest.approx(1.0)  # a user's own term has norm exactly 1
