"""Simulated shop data for the report tests (a copy of tests/synth's fixture: test folders are not packages)."""

from __future__ import annotations

import pytest

from recgan.data.interactions import Interactions
from recgan.data.simulate import simulate


@pytest.fixture(scope="session")
def shop_report() -> Interactions:
    return Interactions.from_frame(simulate(360, 100, 12000, seed=5), target="buy")
