"""Loaders at scale: the pyarrow reader and the vectorised builder give what the pandas path gives; the
LightGCN / NGCF adjacency format; a byte that is not UTF-8 is an error naming the line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recgan.data import loaders as L
from recgan.data.interactions import Interactions
from recgan.data.loaders import interactions_from_log, load_interactions, read_adjacency, read_frame
from recgan.errors import RecganError


def _same(a: Interactions, b: Interactions) -> None:
    assert a.target == b.target and a.behaviours == b.behaviours
    assert a.users.ids.tolist() == b.users.ids.tolist() and a.items.ids.tolist() == b.items.ids.tolist()
    for name in a.behaviours:
        assert (a.matrices[name] != b.matrices[name]).nnz == 0
        assert a.matrices[name].nnz == b.matrices[name].nnz
    assert (a.timestamps is None) == (b.timestamps is None)
    if a.timestamps is not None:
        for name in a.behaviours:
            assert np.array_equal(a.timestamps[name].toarray(), b.timestamps[name].toarray())


def _log(n: int, seed: int = 0, string_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.integers(0, 300, n)
    i = rng.integers(0, 200, n)
    df = pd.DataFrame({
        "user": [f"u{x:03d}" for x in u] if string_ids else u + 1,
        "item": [f"0{x}" for x in i] if string_ids else i * 7,
        "behaviour": rng.choice(["view", "cart", "buy"], n),
        "weight": rng.integers(1, 5, n).astype(float),
        "timestamp": rng.integers(0, 10**6, n),
    })
    return df


@pytest.mark.parametrize("string_ids", [False, True])
def test_vectorised_builder_matches_from_frame(string_ids):
    df = _log(5000, string_ids=string_ids)  # many duplicate (user, item, behaviour): the last row wins
    _same(interactions_from_log(df), Interactions.from_frame(df))
    one = df[["user", "item"]]
    _same(interactions_from_log(one), Interactions.from_frame(one))
    with pytest.raises(RecganError, match="several behaviours"):
        interactions_from_log(df.assign(behaviour=np.where(np.arange(5000) % 2, "a", "b")))


@pytest.mark.parametrize("sep,suffix", [(",", ".csv"), ("\t", ".tsv")])
def test_arrow_reader_matches_pandas_reader(tmp_path, monkeypatch, sep, suffix):
    df = _log(4000, seed=1, string_ids=True)
    p = tmp_path / f"log{suffix}"
    df.to_csv(p, sep=sep, index=False)
    slow = load_interactions(p, target="buy")  # small: pandas path
    monkeypatch.setattr(L, "ARROW_MIN_BYTES", 0)
    assert L._arrow_text(p, None, None) is not None  # the pyarrow path is taken
    fast = load_interactions(p, target="buy")
    _same(fast, slow)
    assert fast.items.ids[0] == "00"  # ids as written: leading zeros kept


def test_arrow_reader_headerless_ints_and_ratings(tmp_path, monkeypatch):
    p = tmp_path / "r.tsv"
    p.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in [(1, 10, 5), (1, 11, 2), (2, 10, 4), (3, 12, 4.5)]))
    slow = load_interactions(p, rating_threshold=4)
    monkeypatch.setattr(L, "ARROW_MIN_BYTES", 0)
    fast = load_interactions(p, rating_threshold=4)
    _same(fast, slow)
    assert fast.users.ids.dtype.kind == "i" and fast.nnz == 3


def test_arrow_reader_falls_back_to_the_line_naming_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(L, "ARROW_MIN_BYTES", 0)
    p = tmp_path / "bad.csv"
    p.write_text("user,item,rating\n1,2,5\n1,3,five\n")
    with pytest.raises(RecganError, match=r"line 3: field 'rating' is not a finite number"):
        load_interactions(p)
    p.write_text("user,item\n1,2\n,3\n")
    with pytest.raises(RecganError, match=r"line 3: field 'user' is empty"):
        load_interactions(p)


def test_non_utf8_byte_names_file_and_line(tmp_path, monkeypatch):
    p = tmp_path / "latin1.tsv"
    p.write_bytes("u1\ti1\nu2\ti2\nJos\xe9\ti3\n".encode("latin-1"))
    with pytest.raises(RecganError, match=r"latin1.tsv: line 3: byte 0xe9 at column 4 is not UTF-8"):
        load_interactions(p)
    monkeypatch.setattr(L, "ARROW_MIN_BYTES", 0)
    with pytest.raises(RecganError, match=r"latin1.tsv: line 3: byte 0xe9"):
        load_interactions(p)
    adj = tmp_path / "adj.txt"
    adj.write_bytes(b"0 1 2 3\n1 \xff 4\n")
    with pytest.raises(RecganError, match=r"adj.txt: line 2: byte 0xff"):
        read_adjacency(adj)


def test_adjacency_format(tmp_path):
    p = tmp_path / "train.txt"
    p.write_text("0 0 1 2 3\n1 2 5\n2\n3 7\n\n4 1 2 3 4 5 6\r\n")
    df = read_adjacency(p)
    assert df["user"].tolist() == [0, 0, 0, 0, 1, 1, 3, 4, 4, 4, 4, 4, 4]
    assert df["item"].tolist() == [0, 1, 2, 3, 2, 5, 7, 1, 2, 3, 4, 5, 6]
    d = load_interactions(p)  # detected: varying field counts
    assert (d.n_users, d.n_items, d.nnz) == (4, 8, 13)  # user 2 has no items
    same = load_interactions(p, fmt="adjacency")
    _same(d, same)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{u}\t{i}\n" for u, i in zip(df["user"], df["item"], strict=True)))
    _same(d, load_interactions(pairs))
    # three fields on every line stay 'user item rating'
    r = tmp_path / "ML100K.train"
    r.write_text("0 0 3\n1 1 5\n")
    assert load_interactions(r).nnz == 2 and "rating" in read_frame(r).columns
    with pytest.raises(RecganError, match="unknown log format"):
        read_frame(p, fmt="graph")


def test_adjacency_string_ids(tmp_path):
    p = tmp_path / "adj.txt"
    p.write_text("alice 007 x\nbob x\n")
    df = read_adjacency(p)
    assert df["user"].astype(str).tolist() == ["alice", "alice", "bob"]
    assert df["item"].astype(str).tolist() == ["007", "x", "x"]


@pytest.mark.slow
def test_shared_gowalla_adjacency_matches_its_tsv():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2].parent / "shared"
    adj = root / "datasets" / "gowalla" / "train.txt"
    tsv = root / "benchmarks" / "splits" / "gowalla" / "train.tsv"
    if not adj.exists() or not tsv.exists():
        pytest.skip("shared Gowalla data not present")
    a = load_interactions(adj)
    assert (a.n_users, a.n_items, a.nnz) == (29858, 40981, 810128)
    _same(a, load_interactions(tsv))
