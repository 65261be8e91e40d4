"""``recgan demo``: all four jobs on the embedded generated data, no download, a few minutes."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="recommend, augment, synthesize and report on generated shop data",
                       description="Train CFGAN and EASE, fold in a new user, augment a sparse version, fit the "
                                   "behaviour synthesizer with a privacy report, and write one HTML report.")
    p.add_argument("--out", default="recgan-demo",
                   help="output folder (default recgan-demo); an earlier demo folder there is written over, any "
                        "other existing file or non-empty folder is refused")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from recgan.io import check_replaceable
    from recgan.reports.demo import run_demo

    check_replaceable(args.out, "demo")  # before minutes of work
    run_demo(args.out, seed=args.seed, log=lambda m: print(m, flush=True),
             progress=not args.quiet and sys.stderr.isatty())
    return 0
