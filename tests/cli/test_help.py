"""Every option and positional of every ``recgan`` sub-command says what it is for in ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from recgan.cli.main import build_parser


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, action


def test_every_option_has_help_text() -> None:
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in _actions(build_parser(), "recgan")
               if not (a.help or "").strip() or a.help == argparse.SUPPRESS]
    assert not missing, "options without help text:\n" + "\n".join(missing)


def test_every_subcommand_has_help_text() -> None:
    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[str]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {c.dest for c in action._choices_actions if (c.help or "").strip()}
                for name, sub in action.choices.items():
                    if name not in helped:
                        yield f"{path} {name}"
                    yield from walk(sub, f"{path} {name}")

    missing = list(walk(build_parser(), "recgan"))
    assert not missing, "sub-commands without help text:\n" + "\n".join(missing)


def test_synth_fit_accepts_zero_epochs() -> None:
    """'--epochs 0 releases the start' (the help's own words): 0 parses."""
    args = build_parser().parse_args(["synth", "fit", "--train", "t.tsv", "--epochs", "0", "--out", "g"])
    assert args.epochs == 0
