"""``recgan run EXPERIMENT.yaml``: reproduce a results table from a typed experiment file.

Two kinds of files (``kind:``): ``recommenders`` (the default: data sets x models x seeds, run here) and
``benchmark`` (the script(s) under benchmarks/ that write a section of benchmarks/RESULTS.md, run in order).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from recgan.errors import RecganError

if TYPE_CHECKING:
    from recgan.reports.benchmark_run import BenchmarkExperiment


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an experiment file (data, split, models, seeds, metrics)",
                       description="Run a typed, validated experiment file; print and optionally write the table. "
                                   "A file with `kind: benchmark` runs the benchmark script(s) it names from the "
                                   "repository root and checks that they wrote its output section.")
    p.add_argument("experiment", help="YAML experiment file (see examples/)")
    p.add_argument("--output", default=None, help="override the Markdown section path of the file "
                                                  "(kind recommenders only)")
    p.add_argument("--seeds", default=None, help="override seeds, comma-separated (kind recommenders only)")
    p.add_argument("--check", action="store_true", help="validate the file and exit")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from recgan.reports.benchmark_run import BenchmarkExperiment, repo_root, run_benchmark
    from recgan.reports.experiment import load_experiment, run_experiment

    exp = load_experiment(args.experiment)
    if isinstance(exp, BenchmarkExperiment):
        for opt in ("output", "seeds"):
            if getattr(args, opt):
                raise RecganError(f"--{opt}: not available for {args.experiment} (kind: benchmark; its "
                                  "script decides); edit the file's arguments instead")
        check_subcommands(exp, args.experiment)
        if args.check:
            print(f"{args.experiment}: valid (kind benchmark, {len(exp.benchmark)} command(s), writes {exp.output})")
            return 0
        run_benchmark(exp, repo_root(args.experiment), log=lambda m: print(f"recgan run: {m}", file=sys.stderr,
                                                                             flush=True))
        return 0
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


def check_subcommands(exp: BenchmarkExperiment, where: str) -> None:
    """Every ``recgan:`` command of a benchmark file must be a recgan sub-command whose parser accepts its
    arguments (checked without running it); raise :class:`RecganError` naming the field otherwise."""
    from recgan.cli.main import build_parser

    parser = build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    for i, inv in enumerate(exp.benchmark):
        if inv.recgan is None:
            continue
        if inv.recgan not in choices:
            raise RecganError(f"{where}: field 'benchmark.{i}.recgan': unknown recgan command {inv.recgan!r}")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                _, unknown = choices[inv.recgan].parse_known_args(inv.argv())
        except SystemExit:
            msg = err.getvalue().strip().splitlines()
            raise RecganError(f"{where}: field 'benchmark.{i}.args': `recgan {inv.recgan}` rejects them: "
                              f"{msg[-1] if msg else 'bad arguments'}") from None
        if unknown:
            raise RecganError(f"{where}: field 'benchmark.{i}.args': `recgan {inv.recgan}` does not accept "
                              f"{' '.join(unknown)}")
