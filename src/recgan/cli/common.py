"""Helpers shared by the CLI modules: reading data arguments, parameters, id lists, writing tables."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
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
        if not _write_tsv_arrow(df, tmp, header):
            df.to_csv(tmp, sep="\t", header=header, index=False, float_format="%.6g")


def _write_tsv_arrow(df: pd.DataFrame, path: Path, header: bool) -> bool:
    """``df`` as TSV through pyarrow's CSV writer (about 10x pandas' speed on the 1.5M rows of a
    ``recommend --users all``): floats rounded to 6 significant digits (pandas' ``%.6g``) and written in
    their shortest float32 form, no quoting (ids come from tab-separated files, so hold no tab or newline).
    False, having written nothing, when a column is neither numeric nor text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = {}
    for name in df.columns:
        v = df[name].to_numpy()
        if v.dtype.kind == "f":
            x = v.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = 10.0 ** (np.floor(np.log10(np.abs(x))) - 5)
                r = np.where(np.isfinite(scale) & (scale > 0), np.round(x / scale) * scale, x)
            cols[str(name)] = pa.array(r.astype(np.float32), mask=np.isnan(r))  # NaN: empty, as pandas
        elif v.dtype.kind == "b":
            cols[str(name)] = pa.array(np.where(v, "True", "False"))  # pandas' spelling
        elif v.dtype.kind in "iu":
            cols[str(name)] = pa.array(v)
        else:
            try:
                a = pa.array(v, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return False
            if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type) or pa.types.is_null(a.type)):
                return False
            cols[str(name)] = a
    if header and any(set(str(c)) & set('\t\n\r"') for c in df.columns):
        return False
    opts = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    try:
        with open(path, "wb") as fh:
            if header:  # pyarrow would quote the names
                fh.write(("\t".join(str(c) for c in df.columns) + "\n").encode())
            pacsv.write_csv(pa.table(cols), fh, write_options=opts)
    except pa.ArrowInvalid:  # a text value holds a tab, newline or quote: pandas quotes it
        return False
    return True


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


class Heartbeat:
    """Keeps a long command from going silent when stderr is not a terminal (a log file, CI, a pipe).

    Used as ``with Heartbeat(): ...``: ``sys.stderr`` is wrapped so that every write is time-stamped, and a
    background thread writes ``recgan: still working, N s (last: ...)`` whenever nothing has been written to
    stderr for ``every`` seconds. The real progress lines (the trainer's epochs, a command's stage lines) come
    through unchanged; the heartbeat only fills the gaps between them. Nothing happens on a terminal (progress
    bars redraw there) or when ``every`` <= 0 (``RECGAN_HEARTBEAT_SECONDS=0``).
    """

    def __init__(self, every: float | None = None) -> None:
        if every is None:
            try:
                every = float(os.environ.get("RECGAN_HEARTBEAT_SECONDS", "15"))
            except ValueError:
                every = 15.0
        self.every = every
        self._stream = None
        self._stop = None

    def __enter__(self) -> Heartbeat:
        import threading
        import time

        stream = sys.stderr
        if self.every <= 0 or stream is None or _isatty(stream):
            return self
        self._stream, self._stop = stream, threading.Event()
        proxy = _StampedStream(stream)
        sys.stderr = proxy
        t0 = time.monotonic()

        def beat() -> None:
            while not self._stop.wait(min(1.0, self.every / 4)):
                now = time.monotonic()
                if now - proxy.last >= self.every:
                    last = f" (last: {proxy.last_line[:100]})" if proxy.last_line else ""
                    proxy.write(f"recgan: still working, {now - t0:.0f} s{last}\n", beat=True)
                    proxy.flush()

        self._thread = threading.Thread(target=beat, name="recgan-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join(2)
            sys.stderr = self._stream


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _StampedStream:
    """A text stream that records when it was last written to (and the last line written) and passes
    everything else to the stream it wraps."""

    def __init__(self, stream) -> None:
        import threading
        import time

        self._stream, self._lock, self._clock = stream, threading.Lock(), time.monotonic
        self.last = self._clock()
        self.last_line = ""

    def write(self, s: str, beat: bool = False) -> int:
        with self._lock:
            n = self._stream.write(s)
            if s.strip():
                self.last = self._clock()
                if not beat:
                    self.last_line = s.strip().splitlines()[-1].strip()
        return n

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
