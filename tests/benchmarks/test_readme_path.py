"""The README's command-line block, run top to bottom in a fresh copy: <= 10 minutes, no step silent > 30 s.

Minutes of work, so CI does not run it: set RECGAN_README_PATH=1 to run it (it writes nothing into the
repository; ``python benchmarks/readme_path.py`` is the same run that writes the RESULTS.md section). The
block parser is checked always (fast)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("readme_path", ROOT / "benchmarks" / "readme_path.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("readme_path", mod)
    spec.loader.exec_module(mod)
    return mod


def test_the_block_is_found_and_split_into_commands() -> None:
    steps = _script().readme_block(ROOT / "README.md")
    commands = [s.command for s in steps]
    assert commands[0].startswith("recgan data simulate")
    assert any(c.startswith("recgan serve") for c in commands)
    assert all("#" not in c for c in commands)  # trailing comments are not part of the command


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RECGAN_README_PATH") != "1",
                    reason="minutes of work: set RECGAN_README_PATH=1 to run the README path")
def test_readme_path_within_budget() -> None:
    rc = _script().main(["--no-write", "--quiet"])
    assert rc == 0, "the README path took more than 600 s, a step failed, or a step was silent for > 30 s"
