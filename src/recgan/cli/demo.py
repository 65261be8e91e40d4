"""``recgan demo``: all four jobs on the embedded generated data, no download, a few minutes."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="recommend, augment, synthesize and report on generated shop data",
                       description="Train CFGAN and EASE, fold in a new user, augment a sparse version, fit the "
                                   "behaviour synthesizer with a privacy report, and write one HTML report.")
    p.add_argument("--out", default="recgan-demo", help="output folder (default recgan-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from recgan.reports.demo import run_demo

    run_demo(args.out, seed=args.seed, log=lambda m: print(m, flush=True),
             progress=not args.quiet and sys.stderr.isatty())
    return 0
