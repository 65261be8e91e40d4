"""``recgan`` command line. Each sub-command group lives in its own module exposing ``register(sub)``.

User errors (bad files, unknown ids, bad values) print one line ``recgan: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from recgan import __version__
from recgan.errors import RecganError

COMMAND_MODULES = ("data", "models", "synth", "augment", "serve", "demo", "run", "catalog")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recgan",
        description="GANs for recommender systems: recommend, augment, protect, explain.",
    )
    parser.add_argument("--version", action="version", version=f"recgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"recgan.cli.{name}")
        except ModuleNotFoundError as e:  # a command group not built yet
            if e.name != f"recgan.cli.{name}":
                raise
            continue
        mod.register(sub)
    return parser


LONG_RUNNING = {("train", None), ("augment", None), ("run", None), ("synth", "fit"), ("synth", "report")}
"""Commands that can run for minutes: they get a heartbeat line on stderr after every ~15 s of silence when
stderr is not a terminal (:class:`recgan.cli.common.Heartbeat`), unless they are run with ``--quiet``."""


def _long_running(args: argparse.Namespace) -> bool:
    """A command of :data:`LONG_RUNNING` not asked to be ``--quiet``."""
    return (args.command, getattr(args, "synth_command", None)) in LONG_RUNNING and not getattr(args, "quiet", False)


def main(argv: list[str] | None = None) -> int:
    # Before torch loads: OpenMP threads that wait for work sleep instead of spinning. Left to libgomp's default
    # (spin, then sleep), every parallel op waits until all of torch's threads hold a core at once: on 2 cores at
    # load 10 a behaviour-GAN epoch took 23.3 s, 1.54 s with PASSIVE, 1.06 s with one thread
    # (benchmarks/dev/omp_wait_probe.py). A value the user set wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if _long_running(args):
            from recgan.cli.common import Heartbeat

            with Heartbeat():
                rc = args.func(args)
        else:
            rc = args.func(args)
    except RecganError as e:
        print(f"recgan: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recgan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file-system problem no command turned into a RecganError: still one line
        where = f"{e.filename}: " if e.filename else ""
        print(f"recgan: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
