"""benchmarks/harness/stats.py: the one mean ± std over seeds (ddof 1) and the one seed-averaged paired test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from benchmarks.harness.stats import DDOF, fmt_mean_std, mean_std, seed_average, seed_averaged_test


def test_mean_std_is_the_sample_std():
    assert DDOF == 1
    m, s = mean_std([0.1, 0.2, 0.4])
    assert m == pytest.approx(np.mean([0.1, 0.2, 0.4]))
    assert s == pytest.approx(np.std([0.1, 0.2, 0.4], ddof=1))
    assert mean_std([0.3]) == (0.3, 0.0)  # one seed: no spread
    with pytest.raises(ValueError):
        mean_std([])


def test_fmt_mean_std():
    assert fmt_mean_std([0.5, 0.7]) == f"0.6000 ± {np.std([0.5, 0.7], ddof=1):.4f}"
    assert fmt_mean_std([0.5]) == "0.5000"
    assert fmt_mean_std([], empty="pending") == "pending"
    assert fmt_mean_std([None, 1.0, None, 2.0], digits=3, empty="–") == "1.500 ± 0.707"
    assert fmt_mean_std([None], digits=3, empty="–") == "–"


def test_seed_average_and_its_shape_checks():
    rep = seed_average([[0.0, 1.0], [1.0, 1.0]], ["u1", "u2"])
    np.testing.assert_allclose(rep.per_user["m"], [0.5, 1.0])
    assert list(rep.users) == ["u1", "u2"]
    with pytest.raises(ValueError):
        seed_average([[0.0, 1.0], [1.0]], ["u1", "u2"])
    with pytest.raises(ValueError):
        seed_average([], [])


def test_seed_averaged_test_is_wilcoxon_on_seed_means_over_shared_users():
    rng = np.random.default_rng(0)
    users = [f"u{i}" for i in range(60)]
    a = [rng.random(60) for _ in range(3)]
    b = [rng.random(60) * 0.8]
    t = seed_averaged_test(a, users, b, users)
    x, y = np.mean(a, axis=0), b[0]
    assert t["p_value"] == pytest.approx(sps.wilcoxon(x, y, zero_method="wilcox").pvalue)
    assert t["diff"] == pytest.approx((x - y).mean()) and t["n_users"] == 60
    # the other side may list its users in another order, and hold users the first does not
    order = rng.permutation(60)
    t2 = seed_averaged_test(a, users, [b[0][order]], [users[i] for i in order])
    assert t2["p_value"] == pytest.approx(t["p_value"])
    t3 = seed_averaged_test([v[:50] for v in a], users[:50], b, users)
    assert t3["n_users"] == 50
    assert seed_averaged_test(a, users, a, users)["p_value"] == 1.0  # identical sides
