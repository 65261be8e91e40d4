"""What the harness's command-line entry points share: the repository root, the command line they record in
a report, and the error convention of recgan (one line ``PROG: error: ...`` on stderr, exit status 2)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from recgan.errors import RecganError


def repository_root() -> Path:
    """The root of the repository this harness belongs to (benchmarks/harness/ sits two levels below it)."""
    return Path(__file__).resolve().parents[2]


def command_line(prefix: str, argv: list[str] | None = None) -> str:
    """``prefix`` followed by the arguments (``argv``, default ``sys.argv[1:]``), shell-quoted, for a report."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join([prefix, *(shlex.quote(a) for a in args)])


def run_main(main: Callable[[list[str] | None], int], prog: str) -> None:
    """Run ``main`` and exit with its status; a :class:`RecganError` (bad input) becomes one line on stderr
    and exit status 2, without a traceback."""
    try:
        code = main(None)
    except RecganError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
