"""The embedded default data generator."""

import numpy as np

from recgan.data import Interactions, simulate


def test_deterministic_and_funnel():
    a = simulate(300, 100, 10_000, seed=3)
    b = simulate(300, 100, 10_000, seed=3)
    pd_equal = a.equals(b)
    assert pd_equal
    d = Interactions.from_frame(a, target="buy")
    viewed = d.binary("view")
    bought = d.binary("buy")
    assert (bought - bought.multiply(viewed)).nnz == 0, "buy implies viewed"
    assert d.binary("cart").nnz > bought.nnz > 0
    assert 8_000 < len(a) < 12_000


def test_long_tail():
    df = simulate(2000, 1000, 60_000, seed=0)
    counts = np.sort(df[df.behaviour == "view"].groupby("item").size().to_numpy())[::-1]
    top10 = counts[: len(counts) // 10].sum() / counts.sum()
    assert top10 > 0.3  # the head 10 % of items draws a large share


def test_cli_simulate(tmp_path):
    from recgan.cli.main import main

    out = tmp_path / "s.parquet"
    assert main(["data", "simulate", "--users", "50", "--items", "30", "--interactions", "500", "--out", str(out)]) == 0
    assert out.exists()
