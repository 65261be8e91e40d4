"""``recgan run EXPERIMENT.yaml``: reproduce a results table from a typed experiment file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an experiment file (data, split, models, seeds, metrics)",
                       description="Run a typed, validated experiment file; print and optionally write the table.")
    p.add_argument("experiment", help="YAML experiment file (see examples/)")
    p.add_argument("--output", default=None, help="override the Markdown section path of the file")
    p.add_argument("--seeds", default=None, help="override seeds, comma-separated")
    p.add_argument("--check", action="store_true", help="validate the file and exit")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from recgan.reports.experiment import load_experiment, run_experiment

    exp = load_experiment(args.experiment)
    if args.check:
        print(f"{args.experiment}: valid ({len(exp.datasets)} data sets, {len(exp.models)} models)")
        return 0
    if args.output:
        exp.output = args.output
    if args.seeds:
        exp.seeds = [int(s) for s in args.seeds.split(",")]
    cmd = "recgan run " + args.experiment + (f" --seeds {args.seeds}" if args.seeds else "")
    res = run_experiment(exp, Path(args.experiment).resolve().parent, cmd,
                         log=lambda m: print(m, file=sys.stderr))
    print(res["markdown"])
    return 0
