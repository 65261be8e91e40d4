"""``recgan data info|fetch|simulate|split``."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from recgan.cli.common import add_data_args, load_data_args, positive_int
from recgan.data.fetch import DATASETS, fetch
from recgan.data.simulate import simulate, write_log
from recgan.data.splits import LeaveOneOut, RandomHoldout, TemporalGlobal, UserHoldout, validation_carve
from recgan.errors import RecganError
from recgan.io import check_replaceable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="inspect, fetch, simulate and split interaction data")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    q = dsub.add_parser("info", help="counts, behaviours, sparsity and activity of a log")
    add_data_args(q, "input")
    q.add_argument("--json", action="store_true", help="print the summary as JSON")
    q.set_defaults(func=cmd_info)

    q = dsub.add_parser("fetch", help="download MovieLens into the cache (or import a local copy)")
    q.add_argument("name", choices=sorted(DATASETS), help="data set to fetch")
    q.add_argument("--from", dest="from_path", default=None, metavar="PATH", help="import a local archive/folder")
    q.add_argument("--cache", default=None, help="cache folder (default ~/.cache/recgan or $RECGAN_CACHE)")
    q.set_defaults(func=cmd_fetch)

    q = dsub.add_parser("simulate", help="generate a realistic view/cart/buy shop log (the default data)")
    q.add_argument("--users", type=positive_int, default=1500, help="number of users (default 1500)")
    q.add_argument("--items", type=positive_int, default=600, help="number of items (default 600)")
    q.add_argument("--interactions", type=positive_int, default=120_000,
                   help="rows to generate over all behaviours (view, cart, buy; default 120000)")
    q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    q.add_argument("--out", required=True, help="output .tsv, .csv or .parquet")
    q.set_defaults(func=cmd_simulate)

    q = dsub.add_parser("split", help="write a split folder (train.tsv, test.tsv[, valid.tsv, foldin.tsv])")
    add_data_args(q, "input")
    q.add_argument("--method", choices=["random", "loo", "temporal", "user"], default="random",
                   help="random per-user holdout, leave-one-out, global temporal, or user-level holdout")
    q.add_argument("--fraction", type=float, default=0.2, help="test fraction (items per user, or users)")
    q.add_argument("--loo-by", choices=["time", "random"], default="time",
                   help="leave-one-out: hold out each user's latest item (time, default) or a random one")
    q.add_argument("--foldin-fraction", type=float, default=0.8, help="user holdout: share of items given")
    q.add_argument("--valid-fraction", type=float, default=0.0, help="also carve valid.tsv out of train")
    q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    q.add_argument("--out", required=True, metavar="DIR",
                   help="split folder to write; an existing split folder there is replaced whole, any other "
                        "existing file or non-empty folder is refused")
    q.set_defaults(func=cmd_split)


def cmd_info(args: argparse.Namespace) -> int:
    data = load_data_args(args, "input")
    info = {
        "users": data.n_users, "items": data.n_items, "target": data.target,
        "interactions": {b: int(data.matrices[b].nnz) for b in data.behaviours},
        "density": data.nnz / max(1, data.n_users * data.n_items),
        "timestamps": data.timestamps is not None,
    }
    act = np.diff(data.X.indptr)
    pop = np.asarray(data.binary().sum(0)).ravel()
    info["user_activity"] = {q: float(np.quantile(act, v)) for q, v in
                             [("min", 0), ("p25", .25), ("median", .5), ("p75", .75), ("max", 1)]}
    info["items_with_target"] = int((pop > 0).sum())
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:18s} {v}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = fetch(args.name, dest=Path(args.cache) if args.cache else None, from_path=args.from_path,
                 progress=sys.stderr.isatty())
    print(path)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    df = simulate(args.users, args.items, args.interactions, seed=args.seed)
    write_log(df, args.out)
    counts = df["behaviour"].value_counts().to_dict()
    print(f"wrote {len(df)} rows ({', '.join(f'{k} {v}' for k, v in counts.items())}) to {args.out}",
          file=sys.stderr)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    check_replaceable(args.out, "split")  # before any work
    data = load_data_args(args, "input")
    if args.method == "random":
        splitter = RandomHoldout(args.fraction, args.seed)
    elif args.method == "loo":
        splitter = LeaveOneOut(args.loo_by, args.seed)
    elif args.method == "temporal":
        splitter = TemporalGlobal(args.fraction)
    else:
        splitter = UserHoldout(args.fraction, args.foldin_fraction, args.seed)
    split = splitter.split(data)
    if args.valid_fraction:
        if not 0 < args.valid_fraction < 1:
            raise RecganError(f"--valid-fraction must be in (0, 1), got {args.valid_fraction}")
        carve = validation_carve(split.train, args.valid_fraction, args.seed + 1)
        split = type(split)(carve.train, split.test, carve.test, split.foldin)
    split.save(args.out)
    print(f"wrote {args.out}: train {split.train.nnz}, test {split.test.nnz}"
          + (f", valid {split.valid.nnz}" if split.valid is not None else "")
          + (f", foldin {split.foldin.nnz}" if split.foldin is not None else ""), file=sys.stderr)
    return 0
