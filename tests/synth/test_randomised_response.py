"""The randomised-response DP control: its mechanism's probabilities, bad input refused before any work,
a fit / sample / save / load round trip, and that what it releases follows the reports only."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recgan.errors import RecganError
from recgan.synth import load_synthesizer, make_synthesizer
from recgan.synth import randomised_response as R


def test_probabilities_give_the_stated_epsilon():
    p, q = R.response_probabilities(3.0, 10)
    # one pair swapped (one added, one removed) moves a report's probability by at most e^(eps / c)
    worst = (p / q) * ((1 - q) / (1 - p))
    assert math.log(worst) == pytest.approx(0.3)


def test_bounding_and_randomising_are_vectorised_and_right():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((300, 50)) < 0.3).astype(np.float32))
    B = R.bound_profiles(X, 4, rng)
    assert (np.diff(B.indptr) == np.minimum(np.diff(X.indptr), 4)).all() and (B - B.multiply(X)).nnz == 0
    bits = R.randomise(B, 0.5, 0.1, rng, chunk=64)
    y = np.unpackbits(bits, axis=1, count=50).astype(bool)
    on = B.toarray() > 0
    assert abs(y[on].mean() - 0.5) < 0.05 and abs(y[~on].mean() - 0.1) < 0.02


def test_bad_input_is_one_line_before_any_work(shop):
    with pytest.raises(RecganError):
        make_synthesizer("randomised-response", dp_epsilon=0)
    with pytest.raises(RecganError):
        make_synthesizer("randomised-response", dp_epsilon=-1)
    with pytest.raises(RecganError, match="needs dp_epsilon"):
        make_synthesizer("randomised-response").fit(shop)
    with pytest.raises(RecganError, match="1 / users"):
        make_synthesizer("randomised-response", dp_epsilon=3, dp_delta=1.0 / shop.n_users).fit(shop)


def test_fit_sample_save_load(shop, tmp_path):
    s = make_synthesizer("randomised-response", dp_epsilon=3.0, max_items=8, seed=0).fit(shop)
    assert s.privacy["dp"] and s.privacy["epsilon"] == 3.0 and s.privacy["delta"] == 0.0
    df = s.sample(50, seed=1)
    assert set(df.columns) == {"user", "item", "behaviour"} and df["user"].nunique() == 50
    assert set(df["behaviour"]) <= set(shop.behaviours)
    s.save(tmp_path / "rr")
    again = load_synthesizer(tmp_path / "rr")
    assert again.privacy == s.privacy
    assert again.sample(50, seed=1).equals(df)


def test_large_epsilon_keeps_the_popular_items(shop):
    """Little noise: the released prior ranks the truly popular pairs first; at epsilon 0.1 it is noise."""
    X = sp.hstack([shop.binary(b) for b in shop.behaviours], format="csr")
    pop = np.asarray(X.sum(0)).ravel()
    top = set(np.argsort(-pop)[:20])

    def overlap(eps):
        s = make_synthesizer("randomised-response", dp_epsilon=eps, max_items=4, seed=0).fit(shop)
        return len(top & set(np.argsort(-s.log_prior_.numpy().ravel())[:20])) / 20

    assert overlap(200.0) > 0.5 > overlap(0.1)


def test_a_release_that_will_not_fit_is_refused_before_randomising(monkeypatch):
    from recgan.testing import tiny_data

    monkeypatch.setattr("recgan.core.memory.available_memory", lambda: 1000)
    with pytest.raises(RecganError, match="randomised-response over .* users x .* columns needs ~.*--param chunk="):
        make_synthesizer("randomised-response", dp_epsilon=5.0, dp_delta=1e-6, seed=0).fit(tiny_data(60, 40))
