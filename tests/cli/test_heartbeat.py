"""The heartbeat of long commands: a line on stderr after every silent stretch when stderr is not a terminal."""

from __future__ import annotations

import io
import sys
import time

import pytest

from recgan.cli.common import Heartbeat
from recgan.cli.main import _long_running, build_parser


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silence_gets_heartbeat_lines_naming_the_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Heartbeat(every=0.2):
        print("stage one", file=sys.stderr)
        time.sleep(0.9)
    assert sys.stderr is err  # restored
    lines = err.getvalue().splitlines()
    assert lines[0] == "stage one"
    beats = [ln for ln in lines[1:] if ln.startswith("recgan: still working,")]
    assert len(beats) >= 2 and all("(last: stage one)" in b for b in beats)


def test_output_resets_the_clock_and_terminals_get_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Heartbeat(every=0.5):
        for i in range(6):
            print(f"epoch {i}", file=sys.stderr)
            time.sleep(0.1)
    assert "still working" not in err.getvalue()
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with Heartbeat(every=0.1):
        time.sleep(0.4)
    assert tty.getvalue() == ""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("RECGAN_HEARTBEAT_SECONDS", "0")
    with Heartbeat():
        time.sleep(0.2)
    assert err.getvalue() == ""


def test_which_commands_get_one() -> None:
    p = build_parser()
    assert _long_running(p.parse_args(["train", "--train", "t", "--model", "ease", "--out", "m"]))
    assert _long_running(p.parse_args(["synth", "report", "--holdout", "h", "--synthetic", "s", "--out", "r"]))
    assert not _long_running(p.parse_args(["synth", "sample", "--model", "g", "--n-users", "3", "--out", "s"]))
    assert not _long_running(p.parse_args(["serve", "--model", "m"]))
    assert not _long_running(p.parse_args(["train", "--train", "t", "--model", "ease", "--quiet", "--out", "m"]))
