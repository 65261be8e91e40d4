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


def test_refuses_dp_and_bad_input(shop_report):
    with pytest.raises(RecganError, match="DP"):
        choose_temperature(lambda: BehaviourSynthesizer(dp_epsilon=1.0), shop_report)
    with pytest.raises(RecganError, match="grid"):
        choose_temperature(lambda: IndependentSampler(), shop_report, grid=(1.0, 0.0))
    with pytest.raises(RecganError, match="at least 8"):
        choose_temperature(lambda: IndependentSampler(), shop_report.select_users([0, 1, 2, 3, 4]))
