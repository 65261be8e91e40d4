"""The command line's TSV writer: pyarrow's fast path writes what pandas' ``%.6g`` would, up to float spelling."""

import numpy as np
import pandas as pd

from recgan.cli.common import write_frame


def _read(path):
    return pd.read_csv(path, sep="\t", header=None, keep_default_na=False, dtype=str)


def test_write_frame_rounds_like_pandas(tmp_path):
    rng = np.random.default_rng(0)
    s = (rng.standard_normal(2000) * 10.0 ** rng.integers(-6, 7, 2000)).astype(np.float32)
    df = pd.DataFrame({"user": np.repeat(["u1", "u2"], 1000), "item": [f"i{j}" for j in range(2000)],
                       "rank": np.tile(np.arange(1, 1001), 2), "score": s})
    write_frame(df, str(tmp_path / "a.tsv"))
    df.to_csv(tmp_path / "b.tsv", sep="\t", header=False, index=False, float_format="%.6g")
    a, b = _read(tmp_path / "a.tsv"), _read(tmp_path / "b.tsv")
    assert (a[[0, 1, 2]] == b[[0, 1, 2]]).all().all()
    assert np.array_equal(a[3].astype(np.float64), b[3].astype(np.float64))  # same numbers, maybe spelt otherwise


def test_write_frame_header_missing_values_and_booleans(tmp_path):
    df = pd.DataFrame({"user": [None, "x"], "item": ["a", "b"], "w": [np.nan, 2.0], "flag": [True, False]})
    write_frame(df, str(tmp_path / "a.tsv"), header=True)
    assert (tmp_path / "a.tsv").read_text() == "user\titem\tw\tflag\n\ta\t\tTrue\nx\tb\t2\tFalse\n"


def test_write_frame_quotes_a_tab_through_pandas(tmp_path):
    df = pd.DataFrame({"user": ["a\tb"], "v": [1]})
    write_frame(df, str(tmp_path / "a.tsv"))
    assert (tmp_path / "a.tsv").read_text() == '"a\tb"\t1\n'
