"""Readers for interaction logs: CSV / TSV / Parquet with named columns, whitespace ``user item [rating]``
files (CFGAN, IRGAN and MBGCN formats), MovieLens 100K ``u.data``, MovieLens 1M ``ratings.dat`` (``::``) and
its CSV, and multi-behaviour logs (a behaviour column, or one file per behaviour).

Every reader returns an :class:`~recgan.data.interactions.Interactions`. Malformed input raises
:class:`~recgan.errors.RecganError` naming the file, line and field.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import scipy.sparse as sp

from recgan.data.filters import kcore
from recgan.data.ids import IdMap, factorize_ids
from recgan.data.interactions import (
    BEHAVIOUR,
    DEFAULT_BEHAVIOUR,
    ITEM,
    RATING,
    TIMESTAMP,
    USER,
    WEIGHT,
    Interactions,
)
from recgan.errors import RecganError

KNOWN_COLUMNS = {USER, ITEM, BEHAVIOUR, WEIGHT, TIMESTAMP, RATING, "source", "rank", "score"}
ALIASES = {
    "user_id": USER, "userid": USER, "uid": USER, "item_id": ITEM, "itemid": ITEM, "iid": ITEM,
    "movie_id": ITEM, "movieid": ITEM, "behavior": BEHAVIOUR, "behaviour_type": BEHAVIOUR,
    "behavior_type": BEHAVIOUR, "event": BEHAVIOUR, "time": TIMESTAMP, "ts": TIMESTAMP,
}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise RecganError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecganError(f"{path}: is a folder, expected a file") from None


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 text of ``data``; a byte that is not UTF-8 raises :class:`RecganError` naming its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise RecganError(
            f"{path}: line {line}: byte 0x{data[e.start]:02x} at column {col} is not UTF-8 "
            f"(save the file as UTF-8)"
        ) from None


def _open_text(path: Path) -> str:
    return _decode(_read_bytes(path), path)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _looks_numeric(values: pd.Series) -> bool:
    """A column is numeric when most of its values parse as numbers (bad ones are reported by line later)."""
    if len(values) == 0:
        return False
    parsed = pd.to_numeric(values, errors="coerce").notna()
    return bool(parsed.mean() >= 0.5)


def _frame_from_text(path: Path, sep: str | None, columns: list[str] | None, text: str | None = None) -> pd.DataFrame:
    """The pandas reader (every message names its line); ``text``: the file's text when already read (or the
    head of it, to learn the layout of a big file)."""
    text = _open_text(path) if text is None else text
    if not text.strip():
        raise RecganError(f"{path}: empty file")
    head = text.lstrip()[:1 << 16].splitlines()
    sample = head[0]
    if sep is None:
        sep = "::" if "::" in sample else "\t" if "\t" in sample else "," if "," in sample else r"\s+"
    first_fields = [f.strip().lower() for f in (sample.split() if sep == r"\s+" else sample.split(sep))]
    named = [ALIASES.get(f, f) for f in first_fields]
    has_header = columns is None and USER in named and ITEM in named
    if columns is None and not has_header and len(first_fields) >= 2:
        second = head[1:2]
        if second and _is_number(second[0].split()[0] if sep == r"\s+" else second[0].split(sep)[0]) \
                and not any(_is_number(f) for f in first_fields):
            raise RecganError(
                f"{path}: line 1 looks like a header but names no 'user' and 'item' columns (found: {first_fields})"
            )
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=0 if has_header else None,
            dtype=str,
            engine="python" if sep in ("::", r"\s+") else "c",
            skip_blank_lines=True,
            comment=None,
            keep_default_na=False,
        )
    except pd.errors.ParserError as e:
        raise RecganError(f"{path}: malformed row: {e}") from None
    header_lines = 1 if has_header else 0
    if len(df) == 0:
        raise RecganError(f"{path}: no rows after the header")
    if has_header:
        df.columns = [ALIASES.get(c.strip().lower(), c.strip().lower()) for c in df.columns]
    else:
        df.columns = columns[: df.shape[1]] if columns else _infer_columns(df, path)
        if columns and df.shape[1] < len(columns):
            raise RecganError(f"{path}: expected {len(columns)} fields ({columns}), found {df.shape[1]}")
    # line numbers are computed only when an error must name one (blank lines are skipped by pandas)
    df.attrs["line_no"] = lambda: _line_numbers(text, header_lines)
    df.attrs["layout"] = (sep, has_header)
    return df


def _line_numbers(text: str, header_lines: int) -> np.ndarray:
    nums = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip()]
    return np.asarray(nums[header_lines:], dtype=np.int64)


def _infer_columns(df: pd.DataFrame, path: Path) -> list[str]:
    """Name headerless columns: user, item, then numbers are rating then timestamp, text is behaviour/source."""
    if df.shape[1] < 2:
        raise RecganError(f"{path}: line 1: expected at least 2 fields (user, item), found {df.shape[1]}")
    names = [USER, ITEM]
    numeric_names = [RATING, TIMESTAMP]
    for j in range(2, df.shape[1]):
        col = df.iloc[:, j]
        nonempty = col[col.str.strip() != ""]
        if _looks_numeric(nonempty):
            names.append(numeric_names.pop(0) if numeric_names else f"extra{j}")
        elif set(nonempty.unique()) <= {"real", "generated"}:
            names.append("source")
        elif BEHAVIOUR not in names:
            names.append(BEHAVIOUR)
        else:
            names.append(f"extra{j}")
    return names


ARROW_MIN_BYTES = 4 << 20
"""Text logs at least this big are parsed by pyarrow (multi-threaded, typed, no Python objects per row); smaller
ones, and any file pyarrow rejects, by pandas, whose messages name the line at fault."""

_HEAD_BYTES = 1 << 18
_NUMERIC = (RATING, WEIGHT, TIMESTAMP)


def _id_column(arr: pa.Array | pa.ChunkedArray) -> np.ndarray | pd.Categorical | None:
    """A column of ids from pyarrow, factorised without a Python object per row: int64 when every id is an
    integer under the id rule (:mod:`recgan.data.ids`), else a Categorical of the ids as written (trimmed).
    None when a value is empty / null / NaN (the caller re-reads with the reader that names the line)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_integer(arr.type):
        if arr.null_count:
            return None
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64) \
            if not pa.types.is_uint64(arr.type) else arr.to_numpy()
    if pa.types.is_floating(arr.type):
        v = arr.to_numpy(zero_copy_only=False)
        return None if arr.null_count or not np.isfinite(v).all() else v
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr)
    if arr.null_count:
        return None
    words = pc.utf8_trim_whitespace(arr.dictionary.cast(pa.string()))
    low = pc.utf8_lower(words)
    if pc.any(pc.is_in(low, pa.array(["", "nan", "none", "null"]))).as_py():
        used = np.zeros(len(words), bool)
        used[np.asarray(arr.indices.to_numpy(zero_copy_only=False))] = True
        bad = np.asarray(pc.is_in(low, pa.array(["", "nan", "none", "null"])).to_numpy(zero_copy_only=False))
        if (bad & used).any():
            return None
    uniques, dcodes = factorize_ids(np.asarray(words.to_numpy(zero_copy_only=False), dtype=object))
    codes = dcodes[np.asarray(arr.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    if uniques.dtype.kind == "i":
        return uniques[codes]
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def _label_column(arr: pa.Array | pa.ChunkedArray) -> pd.Categorical | None:
    """A text column with few distinct values (behaviour, source) as a Categorical of trimmed strings."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr.cast(pa.string()))
    if arr.null_count:
        return None
    words = np.asarray(pc.utf8_trim_whitespace(arr.dictionary.cast(pa.string())).to_numpy(zero_copy_only=False),
                       dtype=object)
    cats, dcodes = np.unique(words, return_inverse=True)
    codes = dcodes.ravel()[np.asarray(arr.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    return pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))


def _frame_from_table(table: pa.Table) -> pd.DataFrame | None:
    """Columns of a pyarrow table (names already recgan's) as a frame: ids factorised (:func:`_id_column`),
    behaviour / source as Categoricals, numbers as float64 (int64 timestamps kept). None when a value needs
    the line-naming reader's message."""
    cols: dict[str, object] = {}
    for name in table.column_names:
        arr = table.column(name)
        if name in (USER, ITEM):
            v = _id_column(arr)
        elif name in _NUMERIC:
            if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)) or arr.null_count:
                return None
            v = np.asarray(arr.to_numpy(), dtype=np.float64)
            if not np.isfinite(v).all():
                return None
        elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
            v = arr.to_numpy()
        else:
            v = _label_column(arr)
        if v is None:
            return None
        cols[name] = v
    return pd.DataFrame(cols, copy=False)


def _arrow_text(path: Path, sep: str | None, columns: list[str] | None) -> pd.DataFrame | None:
    """A big CSV / TSV log parsed by pyarrow, its layout (separator, header, column names) learnt from its
    head by the pandas reader. None where pyarrow does not apply (small, gzip, ``::`` or whitespace
    separated) or rejects a value: the caller then uses the pandas reader, which names the line."""
    if path.suffix == ".gz" or not path.is_file() or path.stat().st_size < ARROW_MIN_BYTES:
        return None
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = _frame_from_text(path, sep, columns, text=text)
    sep_used, has_header = sample.attrs["layout"]
    if sep_used not in ("\t", ","):
        return None
    names = list(sample.columns)
    dict_str = pa.dictionary(pa.int32(), pa.string())
    types = {c: (pa.float64() if c in _NUMERIC else dict_str) for c in names}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=[f"f{j}" for j in range(len(names))],
                                           skip_rows=1 if has_header else 0, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep_used, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{j}": types[c] for j, c in enumerate(names)},
                null_values=[""], strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError):
        return None
    table = table.rename_columns(names)
    return _frame_from_table(table)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise RecganError(f"{path}: no such file") from None
    except Exception as e:  # pyarrow raises many types for corrupt files
        raise RecganError(f"{path}: cannot read parquet: {e}") from None
    if table.num_rows == 0:
        raise RecganError(f"{path}: empty file")
    names = [ALIASES.get(str(c).lower(), str(c).lower()) for c in table.column_names]
    table = table.rename_columns(names)
    df = _frame_from_table(table)
    if df is None:  # a null / empty / NaN value: the pandas path below names the row
        df = table.to_pandas()
        df = df.astype({c: str for c in (USER, ITEM) if c in df.columns and df[c].dtype.kind not in "iuf"})
    return df


def _adjacency_like(head: str) -> bool:
    """Whitespace-separated integer lines with a varying number of fields, or more than 4 of them: the
    LightGCN / NGCF ``user item item ...`` layout rather than ``user item [rating [timestamp]]``."""
    lines = [ln.split() for ln in head.splitlines()[:1000] if ln.strip()]
    if len(lines) < 1 or any("," in ln or "\t" in ln for ln in head.splitlines()[:1]):
        return False
    counts = {len(f) for f in lines}
    if min(counts) < 1 or not all(t.lstrip("-").isdigit() for f in lines[:50] for t in f):
        return False
    return len(counts) > 1 or max(counts) > 4


def read_adjacency(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the LightGCN / NGCF adjacency format: one line per user, ``user item item ...`` separated by
    spaces or tabs (a line with only a user has no interactions). Returns a frame (user, item) in file
    order, ids under the id rule. Vectorised over the bytes: no Python work per line or per id."""
    path = Path(path)
    data = _read_bytes(path)
    _decode(data, path)  # a non-UTF-8 byte: one line naming it
    b = np.frombuffer(data, dtype=np.uint8)
    if not len(b) or not (b > 32).any():
        raise RecganError(f"{path}: empty file")
    nl = b == 10
    sep_ = (b == 32) | (b == 9) | (b == 13) | nl
    starts = np.flatnonzero(~sep_ & np.concatenate([[True], sep_[:-1]]))
    ends = np.flatnonzero(~sep_ & np.concatenate([sep_[1:], [True]])) + 1
    line = np.cumsum(nl)[starts]  # 0-based line of each token
    first = np.concatenate([[True], line[1:] != line[:-1]])  # the first token of a line is its user
    # tokens as one pyarrow string array over the separator-free bytes: offsets = cumulative token lengths
    chars = b[~sep_]
    offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
    tokens = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
    user_of = np.cumsum(first) - 1  # line owner (index into the users' tokens) of every token
    users = _id_column(pc.take(tokens, pa.array(np.flatnonzero(first))))
    items = _id_column(pc.filter(tokens, pa.array(~first)))
    if users is None or items is None:
        raise RecganError(f"{path}: an id is empty or NaN")
    owner = user_of[~first]
    user_col = users[owner] if isinstance(users, np.ndarray) else \
        pd.Categorical.from_codes(users.codes[owner], categories=users.categories)
    if len(owner) == 0:
        raise RecganError(f"{path}: no interactions (every line holds only a user)")
    return pd.DataFrame({USER: user_col, ITEM: items}, copy=False)


def _validate(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    lines = df.attrs.get("line_no")

    def where(mask: np.ndarray) -> str:
        k = int(np.flatnonzero(mask)[0])
        line_no = lines() if callable(lines) else None
        return f"line {line_no[k]}" if line_no is not None and k < len(line_no) else f"row {k + 1}"

    for col in (USER, ITEM):
        if col not in df.columns:
            raise RecganError(f"{path}: missing column {col!r} (columns: {list(df.columns)})")
        if df[col].dtype.kind in "iu":  # typed columns (Parquet): nothing to clean
            continue
        if isinstance(df[col].dtype, pd.CategoricalDtype):  # factorised by the pyarrow reader: already clean
            continue
        if df[col].dtype.kind == "f":
            bad = ~np.isfinite(df[col].to_numpy())
            if bad.any():
                raise RecganError(f"{path}: {where(bad)}: field {col!r} is empty or NaN")
            continue
        vals = df[col].astype(str).str.strip()
        bad = (vals == "") | vals.str.lower().isin(["nan", "none", "null"]) | df[col].isna().to_numpy()
        if bad.any():
            raise RecganError(f"{path}: {where(bad.to_numpy())}: field {col!r} is empty or NaN")
        df[col] = vals
    for col in (RATING, WEIGHT, TIMESTAMP):
        if col in df.columns:
            if df[col].dtype.kind in "iuf":
                num = df[col].astype(np.float64)
                bad = ~np.isfinite(num.to_numpy())
                if bad.any():
                    raise RecganError(f"{path}: {where(bad)}: field {col!r} is not a finite number")
                df[col] = num
                continue
            num = pd.to_numeric(df[col].astype(str).str.strip(), errors="coerce")
            bad = num.isna().to_numpy() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise RecganError(
                    f"{path}: {where(bad)}: field {col!r} is not a finite number: {df[col].iloc[k]!r}"
                )
            df[col] = num.astype(np.float64)
    if BEHAVIOUR in df.columns:
        b = df[BEHAVIOUR]
        if not isinstance(b.dtype, pd.CategoricalDtype) or not all(isinstance(c, str) for c in b.cat.categories):
            b = b.astype(str).astype("category")
        cats = [c.strip() for c in b.cat.categories]
        b = b.cat.rename_categories(cats) if len(set(cats)) == len(cats) else b.astype(str).str.strip().astype("category")
        df[BEHAVIOUR] = b
        bad = (b.astype(str) == "").to_numpy() if "" in set(b.cat.categories) else np.zeros(len(b), bool)
        if bad.any():
            raise RecganError(f"{path}: {where(bad)}: field 'behaviour' is empty")
    df.attrs.clear()
    return df


def read_frame(
    path: str | os.PathLike[str],
    *,
    sep: str | None = None,
    columns: list[str] | None = None,
    fmt: str | None = None,
) -> pd.DataFrame:
    """Read a log into a validated long frame (columns user, item and any of rating, behaviour,
    weight, timestamp). Format from the suffix: ``.parquet``; ``.dat`` (``::``), ``.csv``, ``.tsv``,
    anything else as whitespace/tab separated text. A header row is used when it names ``user`` and ``item``.
    ``fmt="adjacency"`` reads the LightGCN / NGCF ``user item item ...`` layout (:func:`read_adjacency`);
    a headerless whitespace file of integers whose lines have varying field counts (or more than 4 fields)
    is read that way too. User and item ids come back int64 when every id is an integer under the id rule
    (:mod:`recgan.data.ids`), else as text. Big CSV / TSV files are parsed by pyarrow (:data:`ARROW_MIN_BYTES`).
    """
    path = Path(path)
    if fmt not in (None, "table", "adjacency"):
        raise RecganError(f"unknown log format {fmt!r}; use 'table' or 'adjacency'")
    if path.suffix == ".parquet":
        df = _read_parquet(path)
    elif fmt == "adjacency":
        df = read_adjacency(path)
    else:
        df = None
        if fmt is None and sep is None and columns is None and path.suffix not in (".csv", ".tsv", ".dat") \
                and path.is_file():
            with open(path, "rb") as fh:
                head = fh.read(_HEAD_BYTES)
            try:
                if _adjacency_like(head[: head.rfind(b"\n") + 1].decode("utf-8") or head.decode("utf-8")):
                    df = read_adjacency(path)
            except UnicodeDecodeError:
                pass
        if df is None:
            df = _arrow_text(path, sep, columns)
        if df is None:
            df = _frame_from_text(path, sep, columns)
    return _validate(df, path)


def _id_codes(col: pd.Series, kind: str) -> tuple[IdMap, np.ndarray]:
    """Id map (sorted ids) and int64 codes of an id column; a Categorical is factorised over its categories."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.cat.remove_unused_categories()
        uniques, dcodes = factorize_ids(np.asarray(col.cat.categories, dtype=object))
        return IdMap(uniques, kind), dcodes[col.cat.codes.to_numpy().astype(np.int64)]
    v = col.to_numpy()
    if v.dtype.kind == "i" and len(v):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 4 * len(v) + 1024:  # ids in a compact range: a presence table instead of hashing
            present = np.zeros(hi - lo + 1, bool)
            present[v - lo] = True
            uniques = np.flatnonzero(present) + lo
            rank = np.cumsum(present) - 1
            return IdMap(uniques.astype(np.int64), kind), rank[v - lo].astype(np.int64)
    return IdMap.from_values(v, kind)


def interactions_from_log(df: pd.DataFrame, *, target: str | None = None, source: str = "data frame") -> Interactions:
    """:meth:`Interactions.from_frame` for a fresh log (new id maps), vectorised for tens of millions of rows:
    ids factorised once (Categorical columns over their categories, compact integer ids by a presence table),
    duplicates of (user, item, behaviour) dropped keeping the last row (its weight and timestamp win) by one
    stable sort of an int64 key, and each behaviour's CSR built straight from the sorted entries. Same result
    as ``from_frame``."""
    for col in (USER, ITEM):
        if col not in df.columns:
            raise RecganError(f"{source}: missing column {col!r} (columns: {list(df.columns)})")
    n = len(df)
    if n == 0:
        raise RecganError(f"{source}: no interactions")
    if BEHAVIOUR in df.columns:
        b = df[BEHAVIOUR]
        if not isinstance(b.dtype, pd.CategoricalDtype):
            b = b.astype(str).astype("category")
        names = [str(c) for c in b.cat.categories]
        bcodes = b.cat.codes.to_numpy().astype(np.int64)
    else:
        names = [target or DEFAULT_BEHAVIOUR]
        bcodes = np.zeros(n, np.int64)
    used = np.unique(bcodes)
    present = sorted({names[c] for c in used})
    if target is None:
        target = "buy" if "buy" in present else present[0] if len(present) == 1 else None
        if target is None:
            raise RecganError(f"{source}: several behaviours {present}; say which is the target")
    if target not in present:
        raise RecganError(f"{source}: target behaviour {target!r} not found (have {present})")
    umap, u = _id_codes(df[USER], "user")
    imap, i = _id_codes(df[ITEM], "item")
    nu, ni = len(umap), len(imap)
    if len(names) * nu * ni >= 2**63:
        return Interactions.from_frame(df, target=target, source=source)
    key = (bcodes * nu + u) * ni + i
    order = np.argsort(key, kind="stable")
    ks = key[order]
    del key
    last = np.ones(n, bool)
    last[:-1] = ks[1:] != ks[:-1]
    sel = order[last]  # the last row of each (behaviour, user, item), in (behaviour, user, item) order
    del order, ks, last
    weights = df[WEIGHT].to_numpy(np.float32)[sel] if WEIGHT in df.columns else np.ones(len(sel), np.float32)
    ts = df[TIMESTAMP].to_numpy(np.float64)[sel] if TIMESTAMP in df.columns else None
    bs, us, is_ = bcodes[sel], u[sel], i[sel]
    bounds = np.searchsorted(bs, np.arange(len(names) + 1))
    mats, tss = {}, {}
    for code, name in enumerate(names):
        lo, hi = bounds[code], bounds[code + 1]
        if lo == hi:
            continue
        indptr = np.concatenate([[0], np.cumsum(np.bincount(us[lo:hi], minlength=nu))]).astype(np.int64)
        cols = is_[lo:hi].astype(np.int32 if ni < 2**31 else np.int64)
        mats[name] = sp.csr_matrix((weights[lo:hi], cols, indptr), shape=(nu, ni))
        if ts is not None:
            tss[name] = sp.csr_matrix((ts[lo:hi], cols.copy(), indptr.copy()), shape=(nu, ni))
    return Interactions(mats, target, umap, imap, tss if ts is not None else None)


def load_interactions(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    rating_threshold: float | None = None,
    min_user_interactions: int = 0,
    min_item_interactions: int = 0,
    behaviour: str | None = None,
    use_rating_as_weight: bool = False,
    users: IdMap | None = None,
    items: IdMap | None = None,
    unknown: str = "extend",
    sep: str | None = None,
    columns: list[str] | None = None,
    fmt: str | None = None,
) -> Interactions:
    """Load one log file into :class:`Interactions` (formats: :func:`read_frame`).

    Args:
        rating_threshold: keep only rows with ``rating >= threshold`` as positives (implicit feedback).
        min_user_interactions, min_item_interactions: k-core filter on the target behaviour.
        behaviour: name of the behaviour when the file has no behaviour column.
        use_rating_as_weight: use the rating as the interaction weight instead of 1.
        users, items, unknown: index against existing id maps (see :meth:`Interactions.from_frame`).
    """
    path = Path(path)
    df = read_frame(path, sep=sep, columns=columns, fmt=fmt)
    df = _prepare(df, path, rating_threshold, behaviour, use_rating_as_weight)
    if users is None and items is None:
        data = interactions_from_log(df, target=target, source=str(path))
    else:
        data = Interactions.from_frame(
            df, target=target, users=users, items=items, unknown=unknown, source=str(path)
        )
    if min_user_interactions or min_item_interactions:
        data = kcore(data, min_user_interactions, min_item_interactions)
    return data


def _prepare(
    df: pd.DataFrame,
    path: Path,
    rating_threshold: float | None,
    behaviour: str | None,
    use_rating_as_weight: bool,
) -> pd.DataFrame:
    if rating_threshold is not None:
        if RATING not in df.columns:
            raise RecganError(f"{path}: rating threshold given but the file has no rating column")
        df = df[df[RATING] >= rating_threshold]
        if len(df) == 0:
            raise RecganError(f"{path}: no rows with rating >= {rating_threshold}")
    if use_rating_as_weight and RATING in df.columns and WEIGHT not in df.columns:
        df = df.assign(**{WEIGHT: df[RATING]})
    if behaviour is not None and BEHAVIOUR not in df.columns:
        df = df.assign(**{BEHAVIOUR: behaviour})
    return df


def load_multi_behaviour(
    files: Mapping[str, str | os.PathLike[str]],
    *,
    target: str,
    rating_threshold: float | None = None,
) -> Interactions:
    """One file per behaviour (e.g. Tmall's ``buy.txt``, ``collect.txt``, ``cart.txt``)."""
    frames = []
    for name, p in files.items():
        df = read_frame(p)
        df = _prepare(df, Path(p), rating_threshold, None, False)
        frames.append(df.assign(**{BEHAVIOUR: name})[[c for c in df.columns if c != BEHAVIOUR] + [BEHAVIOUR]])
    df = pd.concat(frames, ignore_index=True)
    return Interactions.from_frame(df, target=target, source=", ".join(str(p) for p in files.values()))


def load_movielens(path: str | os.PathLike[str], *, rating_threshold: float | None = None) -> Interactions:
    """MovieLens 100K ``u.data`` (tab: user item rating timestamp), 1M ``ratings.dat`` (``::``), or the CSV
    with header ``user,item,rating``. Each rating is one interaction (weight 1) unless thresholded."""
    p = Path(path)
    if p.is_dir():
        for cand in ("u.data", "ratings.dat", "ratings_user_item_rating.csv"):
            if (p / cand).exists():
                p = p / cand
                break
        else:
            raise RecganError(f"{path}: no u.data, ratings.dat or ratings_user_item_rating.csv inside")
    has_header = p.suffix == ".csv"
    columns = None if has_header else [USER, ITEM, RATING, TIMESTAMP]
    return load_interactions(p, rating_threshold=rating_threshold, columns=columns)
