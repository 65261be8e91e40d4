"""The one id rule (recgan.data.ids): integer columns only when every id is canonical int64 text; big ids stay
strings and distinct; the scalar rule (HTTP) and the vectorised rule (CLI, Python, loaders) agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recgan.data.ids import IdMap, factorize_ids, id_key, normalise_ids, query_keys
from recgan.data.interactions import Interactions
from recgan.errors import UnknownIdError

BIG = ["99999999999999999999", "99999999999999999998", "9223372036854775808", "18446744073709551616"]


def test_ids_of_2_63_or_more_stay_strings_and_distinct():
    ids = normalise_ids(["1", *BIG])
    assert ids.dtype == object and ids.tolist() == ["1", *BIG]
    uniques, codes = factorize_ids(np.array(BIG + BIG, dtype=object))
    assert len(uniques) == len(BIG) and sorted(uniques.tolist()) == sorted(BIG)
    assert (uniques[codes] == np.array(BIG + BIG, dtype=object)).all()
    assert np.iinfo(np.int64).min not in set(uniques.tolist())
    # typed unsigned and Python ints beyond int64 too
    assert normalise_ids(np.array([2**64 - 1, 1], dtype=np.uint64)).tolist() == [str(2**64 - 1), "1"]
    assert normalise_ids([2**63, 1]).tolist() == [str(2**63), "1"]


def test_int64_limits_are_integers():
    assert normalise_ids(["9223372036854775807", "-9223372036854775808"]).tolist() == [2**63 - 1, -(2**63)]
    assert normalise_ids(["-9223372036854775809"]).dtype == object


@pytest.mark.parametrize("text", ["007", "+5", "-0", "5.0", " 5", "5 ", "1e3", "0x10", "٣"])
def test_non_canonical_text_makes_a_string_column(text):
    assert normalise_ids(["1", text]).tolist() == ["1", text]


def test_lookup_rule():
    m = IdMap(np.array([1, 2, 10**12]), "user")
    assert m.lookup(["1", 1, np.int64(2), 2.0, "1000000000000"]).tolist() == [0, 0, 1, 1, 2]
    bad = ["01", "+1", "1.0", " 1", "x", "", True, None, 2**70, str(2**70), float("nan")]
    assert m.lookup(np.array(bad, dtype=object)).tolist() == [-1] * len(bad)
    s = IdMap(np.array(["a", "5", BIG[0]], dtype=object), "user")
    assert s.lookup([5, "5", BIG[0], int(BIG[0]), "a", "A", True]).tolist() == [1, 1, 2, 2, 0, -1, -1]
    with pytest.raises(UnknownIdError, match="'01'"):
        m.index(["1", "01"])


def test_two_big_users_stay_two_users():
    df = pd.DataFrame({"user": [BIG[0], BIG[1], BIG[0]], "item": ["1", "2", "3"]})
    data = Interactions.from_frame(df)
    assert data.n_users == 2 and sorted(data.users.to_list()) == sorted(BIG[:2])
    assert data.items.is_int and data.items.to_list() == [1, 2, 3]


def test_extend_keeps_indices_and_never_wraps():
    m = IdMap(np.array([3, 5]), "item")
    e = m.extend(["5", BIG[0], "7"])
    assert e.to_list() == ["3", "5", "7", BIG[0]]  # the map became a string map; old indices kept
    assert e.lookup([3, "5", BIG[0]]).tolist() == [0, 1, 3]
    assert m.extend([7, 3]).to_list() == [3, 5, 7]


def test_caller_array_is_not_frozen():
    a = np.array([1, 2, 3])
    IdMap(a)
    a[0] = 9  # still writable


_text = st.one_of(
    st.from_regex(r"-?[0-9]{1,22}", fullmatch=True),
    st.text(alphabet="0123456789+-. ex", min_size=0, max_size=8),
    st.text(max_size=6),
)
_value = st.one_of(_text, st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(),
                   st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=200, deadline=None)
@given(st.lists(_text, min_size=1, max_size=30))
def test_fuzz_columns_round_trip_and_stay_distinct(values):
    uniques, codes = factorize_ids(np.array(values, dtype=object))
    # distinct texts stay distinct ids, and each id prints as the text it came from
    assert len(uniques) == len(set(values))
    assert [str(u) for u in uniques[codes].tolist()] == values
    if uniques.dtype.kind == "i":
        assert all(-(2**63) <= int(v) < 2**63 and str(int(v)) == v for v in values)


@settings(max_examples=200, deadline=None)
@given(st.lists(_value, min_size=1, max_size=20), st.booleans())
def test_fuzz_scalar_and_vector_rules_agree(values, as_int):
    keys, ok = query_keys(np.array(values, dtype=object), as_int)
    for v, k, good in zip(values, keys.tolist(), ok.tolist(), strict=True):
        expect = id_key(v, as_int)
        assert good == (expect is not None)
        if good:
            assert k == expect


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(2**66), max_value=2**66), min_size=1, max_size=20, unique=True))
def test_fuzz_integer_ids_never_merge(values):
    texts = [str(v) for v in values]
    m, codes = IdMap.from_values(np.array(texts, dtype=object), "user")
    assert len(m) == len(values)
    assert m.lookup(texts).tolist() == codes.tolist()
    assert m.lookup(values).tolist() == codes.tolist()


_file_id = st.one_of(
    st.from_regex(r"-?[0-9]{1,22}", fullmatch=True),
    st.text(alphabet="0123456789-+._abcXYZ", min_size=1, max_size=10),
).filter(lambda s: s.lower() not in ("nan", "none", "null"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_file_id, _file_id), min_size=1, max_size=25))
def test_fuzz_training_file_ids_round_trip(tmp_path_factory, rows):
    """Ids read from a file come back with the same text, and distinct texts stay distinct ids."""
    from recgan.data.loaders import load_interactions

    p = tmp_path_factory.mktemp("ids") / "log.tsv"
    p.write_text("user\titem\n" + "".join(f"{u}\t{i}\n" for u, i in rows), encoding="utf-8")
    data = load_interactions(p)
    assert sorted(map(str, data.users.to_list())) == sorted({u for u, _ in rows})
    assert sorted(map(str, data.items.to_list())) == sorted({i for _, i in rows})
    back = data.to_frame()
    assert {(str(u), str(i)) for u, i in zip(back["user"], back["item"], strict=True)} == set(rows)
