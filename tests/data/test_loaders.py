"""Loaders: every supported format, the bad-input rules, and property-based round trips."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recgan.data import load_interactions, load_movielens, load_multi_behaviour
from recgan.data.filters import kcore
from recgan.errors import RecganError


def test_headerless_tsv_user_item(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("1\t10\n1\t11\n2\t10\n")
    d = load_interactions(p)
    assert (d.n_users, d.n_items, d.nnz) == (2, 2, 3)
    assert d.users.ids.dtype.kind == "i"


def test_csv_with_header_and_aliases(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("user_id,item_id,rating,timestamp\nu1,i1,5,100\nu1,i2,2,200\nu2,i1,4,300\n")
    d = load_interactions(p, rating_threshold=4)
    assert d.nnz == 2 and d.timestamps is not None
    assert set(d.users.ids) == {"u1", "u2"}


def test_whitespace_with_rating(tmp_path):
    p = tmp_path / "ML100K.train"
    p.write_text("0 0 3.0\n1 1 5.0\n2 2 4.0\n")
    d = load_interactions(p, rating_threshold=4)
    assert d.nnz == 2


def test_movielens_formats(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    d = load_movielens(tmp_path / "u.data")
    assert d.nnz == 2 and d.timestamps is not None
    dat = tmp_path / "ratings.dat"
    dat.write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978300000\n")
    d = load_movielens(dat, rating_threshold=4)
    assert d.nnz == 2
    gz = tmp_path / "r.dat.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("1::1193::5::978300760\n")
    assert load_interactions(gz).nnz == 1


def test_parquet_and_behaviour_column(tmp_path):
    df = pd.DataFrame({"user": [1, 1, 2, 2], "item": [5, 6, 5, 7], "behaviour": ["view", "buy", "view", "cart"]})
    p = tmp_path / "log.parquet"
    df.to_parquet(p)
    d = load_interactions(p)
    assert d.target == "buy"
    assert set(d.behaviours) == {"buy", "view", "cart"}
    assert d.matrices["view"].nnz == 2


def test_one_file_per_behaviour(tmp_path):
    (tmp_path / "buy.txt").write_text("0 7\n0 1\n")
    (tmp_path / "cart.txt").write_text("1 7\n")
    d = load_multi_behaviour({"buy": tmp_path / "buy.txt", "cart": tmp_path / "cart.txt"}, target="buy")
    assert d.behaviours == ["buy", "cart"] and d.n_users == 2


def test_duplicates_merged_and_kcore(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("1\t10\n1\t10\n1\t11\n2\t10\n3\t12\n")
    d = load_interactions(p)
    assert d.nnz == 4
    k = kcore(d, min_user=2, min_item=1)
    assert k.n_users == 1 and k.nnz == 2


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty file"),
        ("1\t10\n2\n", "line 2"),
        ("1\t10\t5\n2\t11\tnan\n", "line 2: field 'rating'"),
        ("1\t10\t5\n2\t11\tabc\n", None),
        ("user,item\n1,\n", "field 'item'"),
        ("a,b\n1,2\n", None),
    ],
)
def test_bad_input_names_the_problem(tmp_path, content, needle):
    p = tmp_path / "bad.tsv" if "," not in content else tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(RecganError) as e:
        load_interactions(p, rating_threshold=1 if "\t5" in content else None)
    assert str(p) in str(e.value)
    if needle:
        assert needle in str(e.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(RecganError, match="no such file"):
        load_interactions(tmp_path / "nope.tsv")
    with pytest.raises(RecganError):
        load_interactions(tmp_path)


def test_string_ids_keep_leading_zeros(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("007\tA\n7\tB\n")
    d = load_interactions(p)
    assert d.n_users == 2


ids = st.one_of(st.integers(0, 10**6), st.text("abcXYZ_-", min_size=1, max_size=6).map(lambda s: "x" + s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(ids, ids), min_size=1, max_size=40), fmt=st.sampled_from(["tsv", "csv", "parquet"]))
def test_round_trip_property(tmp_path, rows, fmt):
    """Whatever ids a user has, writing a log and reading it back gives the same set of pairs."""
    df = pd.DataFrame(rows, columns=["user", "item"]).astype(str)
    p = tmp_path / f"log.{fmt}"
    if fmt == "parquet":
        df.to_parquet(p)
    else:
        df.to_csv(p, sep="\t" if fmt == "tsv" else ",", index=False)
    d = load_interactions(p)
    back = d.to_frame()
    got = set(zip(back["user"].astype(str), back["item"].astype(str), strict=True))
    want = {(str(d.users.ids[d.users.lookup([u])[0]]), str(d.items.ids[d.items.lookup([i])[0]])) for u, i in rows}
    assert got == want
    assert d.nnz == len(set(rows)) or d.nnz == len({(str(u), str(i)) for u, i in rows})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["1\t2", "3\t4", "x", "", "5\t6\t7", "8\t9\tnan", "1\t\t"]), min_size=1, max_size=8))
def test_garbage_never_crashes_uncontrolled(tmp_path_factory, lines):
    """Arbitrary mixes of good and bad lines either load or raise RecganError, never anything else."""
    p = tmp_path_factory.mktemp("g") / "g.tsv"
    p.write_text("\n".join(lines) + "\n")
    try:
        d = load_interactions(p)
        assert d.nnz >= 1
    except RecganError:
        pass


def test_ids_lookup_and_unknown():
    from recgan.data.ids import IdMap
    from recgan.errors import UnknownIdError

    m, codes = IdMap.from_values(np.array([5, 3, 5, 9]))
    assert m.to_list() == [3, 5, 9] and codes.tolist() == [1, 0, 1, 2]
    assert m.lookup(["5", "4", "x"]).tolist() == [1, -1, -1]
    with pytest.raises(UnknownIdError, match="4"):
        m.index([5, 4])
