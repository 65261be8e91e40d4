"""The privacy-aware temperature choice runs on a development split of the training users only."""

from __future__ import annotations

import pytest

from recgan.errors import RecganError
from recgan.reports.synth_calibration import choose_temperature
from recgan.synth import BehaviourSynthesizer, IndependentSampler, VAESynthesizer

TINY_VAE = {"epochs": 3, "train_batch": 32, "z_dim": 8, "hidden": 32, "emb": 16}


def test_lowest_temperature_within_the_dcr_bound(shop_report):
    grid = (1.0, 0.6, 0.3)
    t, rows = choose_temperature(lambda: VAESynthesizer(**TINY_VAE), shop_report, grid=grid, seed=0)
    assert [r["temperature"] for r in rows] == [1.0, 0.6, 0.3]
    assert all(0.0 <= r["dcr_p"] <= 1.0 and r["utility_ease_ratio"] >= 0 for r in rows)
    assert all(0 <= r["canaries_reproduced"] <= 10 for r in rows)
    assert rows[-1]["dcr_p"] > rows[0]["dcr_p"]  # colder samples sit nearer the training users
    ok = [r["temperature"] for r in rows if r["dcr_p"] <= 0.5 and r["canaries_reproduced"] == 0]
    assert t == (min(ok) if ok else 1.0)
    # a bound nothing meets falls back to the highest temperature
    t0, _ = choose_temperature(lambda: VAESynthesizer(**TINY_VAE), shop_report, grid=grid, max_dcr_p=-1.0,
                               utility=False)
    assert t0 == 1.0


def test_dcr_on_capped_subsamples_and_no_utility_column(shop_report):
    """Large logs: the DCR p compares at most max_users users per side; utility=False skips the EASE column."""
    t, rows = choose_temperature(lambda: IndependentSampler(), shop_report, grid=(1.0, 0.5), max_users=20,
                                 utility=False)
    assert t in (1.0, 0.5) and all("utility_ease_ratio" not in r and 0.0 <= r["dcr_p"] <= 1.0 for r in rows)


def test_refuses_dp_and_bad_input(shop_report):
    with pytest.raises(RecganError, match="DP"):
        choose_temperature(lambda: BehaviourSynthesizer(dp_epsilon=1.0), shop_report)
    with pytest.raises(RecganError, match="grid"):
        choose_temperature(lambda: IndependentSampler(), shop_report, grid=(1.0, 0.0))
    with pytest.raises(RecganError, match="at least 8"):
        choose_temperature(lambda: IndependentSampler(), shop_report.select_users([0, 1, 2, 3, 4]))


def test_report_compares_on_the_behaviours_the_holdout_has(shop_report):
    """A target-only holdout (the fold-in files of a user split) against multi-behaviour training users: the
    report restricts every set to the shared behaviours and says so, instead of calling every set a copier."""
    import numpy as np

    from recgan.reports.synth_report import build_report

    data = shop_report
    perm = np.random.default_rng(0).permutation(data.n_users)
    train, holdout = data.select_users(np.sort(perm[60:])), data.select_users(np.sort(perm[:60]))
    target_only = holdout.only_target()
    fresh_twin = data.select_users(np.sort(perm[60:120]))  # real training users as a "synthetic" set
    rep = build_report(train, target_only, {"real": fresh_twin}, seed=0, utility_models={})
    assert "compared on buy only" in rep["meta"]["note"]
    assert rep["summary"]["real holdout"]["dcr_p"] < 0.8  # near 0.5, not ~1 as over mismatched behaviours
    full = build_report(train, holdout, {"real": fresh_twin}, seed=0, utility_models={})
    assert "note" not in full["meta"]
