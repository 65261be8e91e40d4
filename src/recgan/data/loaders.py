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

from recgan.data.filters import kcore
from recgan.data.ids import IdMap
from recgan.data.interactions import (
    BEHAVIOUR,
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


def _open_text(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RecganError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecganError(f"{path}: is a folder, expected a file") from None


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


def _frame_from_text(path: Path, sep: str | None, columns: list[str] | None) -> pd.DataFrame:
    text = _open_text(path)
    if not text.strip():
        raise RecganError(f"{path}: empty file")
    sample = text.lstrip().splitlines()[0]
    if sep is None:
        sep = "::" if "::" in sample else "\t" if "\t" in sample else "," if "," in sample else r"\s+"
    first_fields = [f.strip().lower() for f in (sample.split() if sep == r"\s+" else sample.split(sep))]
    named = [ALIASES.get(f, f) for f in first_fields]
    has_header = columns is None and USER in named and ITEM in named
    if columns is None and not has_header and len(first_fields) >= 2:
        second = text.lstrip().splitlines()[1:2]
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
        b = df[BEHAVIOUR].astype(str).astype("category")
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
) -> pd.DataFrame:
    """Read a log into a validated long frame (columns user, item and any of rating, behaviour,
    weight, timestamp). Format from the suffix: ``.parquet``; ``.dat`` (``::``), ``.csv``, ``.tsv``,
    anything else as whitespace/tab separated text. A header row is used when it names ``user`` and ``item``.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except FileNotFoundError:
            raise RecganError(f"{path}: no such file") from None
        except Exception as e:  # pyarrow raises many types for corrupt files
            raise RecganError(f"{path}: cannot read parquet: {e}") from None
        df.columns = [ALIASES.get(str(c).lower(), str(c).lower()) for c in df.columns]
        if len(df) == 0:
            raise RecganError(f"{path}: empty file")
        df = df.astype({c: str for c in (USER, ITEM) if c in df.columns and df[c].dtype.kind not in "iuf"})
    else:
        df = _frame_from_text(path, sep, columns)
    return _validate(df, path)


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
) -> Interactions:
    """Load one log file into :class:`Interactions`.

    Args:
        rating_threshold: keep only rows with ``rating >= threshold`` as positives (implicit feedback).
        min_user_interactions, min_item_interactions: k-core filter on the target behaviour.
        behaviour: name of the behaviour when the file has no behaviour column.
        use_rating_as_weight: use the rating as the interaction weight instead of 1.
        users, items, unknown: index against existing id maps (see :meth:`Interactions.from_frame`).
    """
    path = Path(path)
    df = read_frame(path, sep=sep, columns=columns)
    df = _prepare(df, path, rating_threshold, behaviour, use_rating_as_weight)
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
