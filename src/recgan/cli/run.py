"""``recgan run EXPERIMENT.yaml``: reproduce a results table from a typed experiment file.

``recgan run`` runs files of ``kind: recommenders`` (the default): data files x registry models x seeds, fitted
and evaluated here; such a file runs no code of its own. Files of ``kind: benchmark`` name scripts, which makes
them programs; recgan run refuses them with one line (the recgan repository's harness runs them:
``python -m benchmarks.harness.run FILE``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recgan.errors import RecganError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run an experiment file (data sets, models, seeds, metrics)",
        description="Run a typed, validated experiment file of kind recommenders (data files, registry models, "
                    "seeds, metrics; it runs no code of its own): fit and evaluate every model on every data set, "
                    "print the table and write it if the file names an output. Files of kind benchmark name "
                    "scripts to run, so they are programs; recgan run refuses them (in a recgan repository "
                    "checkout, `python -m benchmarks.harness.run FILE` runs them).")
    p.add_argument("experiment", help="YAML experiment file (see examples/baselines.yaml)")
    p.add_argument("--output", default=None, help="override the Markdown section path of the file")
    p.add_argument("--seeds", default=None, help="override seeds, comma-separated")
    p.add_argument("--check", action="store_true",
                   help="validate the file, check that every data file exists and list what would run; run nothing")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from recgan.reports.experiment import check_inputs, load_experiment, plan, run_experiment

    exp = load_experiment(args.experiment)
    if args.output:
        exp.output = args.output
    if args.seeds:
        try:
            exp.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise RecganError(f"--seeds {args.seeds!r}: not a comma list of integers") from None
    base = Path(args.experiment).resolve().parent
    check_inputs(exp, base, args.experiment)
    if args.check:
        print(f"{args.experiment}: valid ({len(exp.datasets)} data sets, {len(exp.models)} models); data files present")
        print("\n".join("  " + line for line in plan(exp, base)))
        return 0
    cmd = "recgan run " + args.experiment + (f" --seeds {args.seeds}" if args.seeds else "")
    res = run_experiment(exp, base, cmd, log=lambda m: print(m, file=sys.stderr))
    print(res["markdown"])
    return 0
