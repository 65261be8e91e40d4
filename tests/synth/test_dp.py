"""User-level DP with Opacus: planning, the (epsilon, delta) statement, and the canary audit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 12), st.integers(2, 30), st.integers(1, 3),
       st.booleans())
def test_offdiagonal_release_sensitivity_is_at_most_one(seed, n_users, n_items, n_ch, subset):
    """The release under DP (profiles normalised within the released items, no diagonal, sqrt 2 scale): adding
    or removing any one user moves the released strictly upper triangle by at most 1 in L2 norm (the
    Frobenius norm of the released entries; the lower triangle is their mirror, not a second release)."""
    import scipy.sparse as sp

    from recgan.synth.spectral import cooccurrence

    rng = np.random.default_rng(seed)
    mats = [sp.csr_matrix((rng.random((n_users, n_items)) < rng.uniform(0.05, 0.9)).astype(np.float32))
            for _ in range(n_ch)]
    items = np.sort(rng.choice(n_items, rng.integers(1, n_items + 1) if subset else n_items, replace=False))
    full = cooccurrence(mats, items, within_items=True, diagonal=False)
    assert np.all(np.diag(full) == 0) and np.allclose(full, full.T)
    iu = np.triu_indices(len(items), 1)
    for u in range(n_users):
        keep = np.setdiff1d(np.arange(n_users), [u])
        diff = full - cooccurrence([m[keep] for m in mats], items, within_items=True, diagonal=False)
        k = len(np.intersect1d(np.flatnonzero(sum(m[u].toarray().ravel() for m in mats)), items))
        moved = np.linalg.norm(diff[iu])
        assert moved <= 1.0 + 1e-9
        assert moved == pytest.approx(np.sqrt((k - 1) / k) if k else 0.0, abs=1e-9)  # the docstring's bound


def test_private_default_spends_at_most_the_target(shop, tmp_path):
    """Under DP by default the spectral start is the whole release (no DP-SGD step): its noise is the smallest
    that keeps the composed epsilon <= the target; the statement lists each release's noise multiplier."""
    from recgan.synth import load_synthesizer
    from recgan.synth.dp import accounting_line, composed_epsilon

    for eps in (1.0, 3.0, 10.0):
        s = BehaviourSynthesizer(z_dim=8, hidden=32, emb=16, d_emb=16, d_hidden=32, dp_epsilon=eps).fit(shop)
        st = s.privacy
        assert s.info["epochs"] == 0 and st["steps"] == 0 and st["noise_multiplier"] is None
        assert 0.9 * eps < st["epsilon"] <= eps
        sig = [r["noise_multiplier"] for r in st["releases"]]
        assert [r["release"] for r in st["releases"]] == ["activity histograms", "popularity prior",
                                                          "co-occurrence (spectral start)"]
        assert composed_epsilon(1.0, 1.0, 0, sig, 1e-5) <= eps + 1e-3
        sp_info = s.info["spectral"]
        assert sp_info["items"] == min(700, shop.n_items) and not sp_info["diagonal"] and sp_info["within_items"]
        assert sp_info["sigma"] == pytest.approx(sig[-1], rel=1e-3)
        assert "sigma" in accounting_line(st) and f"{st['epsilon']:.3g}" in accounting_line(st)
    s.save(tmp_path / "dp")
    assert load_synthesizer(tmp_path / "dp").privacy["releases"] == st["releases"]


@pytest.mark.parametrize("params, msg", [
    ({"dp_epsilon": 1.0, "dp_delta": 1.0 / 200}, "must be below 1 / training users"),
    ({"dp_epsilon": 0.001}, "too small"),
    ({"dp_epsilon": float("inf")}, "epsilon"),
])
def test_bad_budget_is_one_line_before_training(shop, params, msg):
    s = None
    with pytest.raises(RecganError, match=msg) as e:  # the config (inf) or the fit, before any epoch
        s = BehaviourSynthesizer(z_dim=8, hidden=32, emb=16, d_emb=16, d_hidden=32, **params)
        s.fit(shop)
    assert "\n" not in str(e.value) and (s is None or not s.history)
