"""Test doubles for the serving tests, installed in a *real* server process.

Run as ``python tests/serving/fakes.py [--fake-synth | --no-synth-module] serve --model DIR ...``: registers a
model that cannot fold in (``test-nofold``), optionally replaces :mod:`recgan.synth` by a fake (or makes it
unimportable), then runs the ordinary ``recgan`` command line.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd

from recgan.errors import FoldInNotSupported
from recgan.models.base import register
from recgan.models.popular import MostPopular


@register
class NoFoldPop(MostPopular):
    """Popularity without fold-in and without item similarities."""

    name = "test-nofold"
    supports_fold_in = False

    def _score_history(self, history):
        raise FoldInNotSupported(f"model {self.name!r} cannot fold in")


class FakeSynthesizer:
    """Samples 3 distinct items per synthetic user from ``synth/items.json``."""

    def __init__(self, folder: Path) -> None:
        self.items = json.loads((Path(folder) / "items.json").read_text())

    def sample(self, n_users: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        rows = [(f"syn{u}", item) for u in range(n_users) for item in rng.choice(self.items, 3, replace=False)]
        return pd.DataFrame(rows, columns=["user", "item"]).assign(behaviour="buy")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--fake-synth":
        try:  # the real package (the CLI reads its registry) with the loader replaced
            import recgan.synth as mod
        except ImportError:
            mod = types.ModuleType("recgan.synth")
            sys.modules["recgan.synth"] = mod
        mod.load_synthesizer = FakeSynthesizer
        argv = argv[1:]
    elif argv and argv[0] == "--no-synth-module":
        sys.modules["recgan.synth"] = None  # import raises ImportError, as before recgan.synth exists
        argv = argv[1:]
    from recgan.cli.main import main as cli

    return cli(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
