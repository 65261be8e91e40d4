"""Helpers shared by the CLI modules: reading data arguments, parameters, id lists, writing tables."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from recgan.data.interactions import Interactions
from recgan.data.loaders import load_interactions, read_frame
from recgan.errors import RecganError
from recgan.io import atomic_path


def add_data_args(p: argparse.ArgumentParser, name: str = "--train", required: bool = True) -> None:
    kw = {"required": required} if name.startswith("-") else {}
    p.add_argument(name, metavar="FILE", **kw,
                   help="interaction log: .tsv/.csv/.parquet/.txt (user item [rating|behaviour] [timestamp])")
    p.add_argument("--aux", action="append", default=[], metavar="BEHAVIOUR=FILE",
                   help="extra behaviour from its own file (repeatable), e.g. --aux cart=cart.txt")
    p.add_argument("--target", default=None, help="target behaviour (default: buy if present, else the only one)")
    p.add_argument("--rating-threshold", type=float, default=None, metavar="R",
                   help="keep only rows with rating >= R as positives")


def load_data_args(args: argparse.Namespace, attr: str = "train") -> Interactions:
    path = getattr(args, attr)
    if not args.aux:
        return load_interactions(path, target=args.target, rating_threshold=args.rating_threshold)
    frames = []
    main = read_frame(path)
    if args.rating_threshold is not None and "rating" in main.columns:
        main = main[main["rating"] >= args.rating_threshold]
    target = args.target or (main["behaviour"].iloc[0] if "behaviour" in main.columns else "buy")
    if "behaviour" not in main.columns:
        main = main.assign(behaviour=target)
    frames.append(main[["user", "item", "behaviour"]])
    for spec in args.aux:
        if "=" not in spec:
            raise RecganError(f"--aux {spec!r}: expected BEHAVIOUR=FILE")
        b, f = spec.split("=", 1)
        frames.append(read_frame(f).assign(behaviour=b)[["user", "item", "behaviour"]])
    return Interactions.from_frame(pd.concat(frames, ignore_index=True), target=target, source=str(path))


def parse_params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise RecganError(f"--param {pair!r}: expected key=value")
        k, v = pair.split("=", 1)
        out[k.strip().replace("-", "_")] = v.strip()
    return out


def parse_id_list(spec: str) -> list[str] | None:
    """``all`` -> None; ``@file`` -> one id per line; else comma-separated ids."""
    if spec == "all":
        return None
    if spec.startswith("@"):
        return read_id_file(spec[1:])
    return [s for s in (x.strip() for x in spec.split(",")) if s]


def read_id_file(path: str | os.PathLike[str]) -> list[str]:
    """One id per line (UTF-8; blank lines skipped, each line trimmed). Ids follow the id rule of
    :mod:`recgan.data.ids` (``42`` matches the integer id 42; ``042`` and ``42.0`` do not)."""
    p = Path(path)
    if not p.is_file():
        raise RecganError(f"{p}: no such file" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise RecganError(f"{p}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RecganError(f"{p}: line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                          "save the file as UTF-8") from None
    ids = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not ids:
        raise RecganError(f"{p}: empty (expected one id per line)")
    return ids


def load_model(path: str | os.PathLike[str], device: str | None = None):
    """:meth:`Recommender.load` for a folder named on the command line: a missing, foreign or damaged folder
    (truncated weights, a zip that is no npz, a missing file) is one :class:`RecganError` line."""
    from recgan.models.base import Recommender

    folder = Path(path)
    if not folder.is_dir():
        raise RecganError(f"{folder}: no such model folder" + (" (it is a file)" if folder.exists() else ""))
    try:
        return Recommender.load(folder, device=device) if device is not None else Recommender.load(folder)
    except RecganError:
        raise
    except Exception as e:
        why = (str(e).strip().splitlines() or [""])[0][:300]
        raise RecganError(f"{folder}: cannot load the model folder (damaged or incomplete): "
                          f"{type(e).__name__}: {why}") from None


def write_frame(df: pd.DataFrame, out: str | None, header: bool = False) -> None:
    """TSV to ``out`` atomically, or to stdout when ``out`` is None or '-'."""
    if out in (None, "-"):
        df.to_csv(sys.stdout, sep="\t", header=header, index=False)
        return
    with atomic_path(out) as tmp:
        df.to_csv(tmp, sep="\t", header=header, index=False, float_format="%.6g")


def nonnegative_int(s: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v
