"""Small simulated shop data shared by the synth and report tests (view / cart / buy, funnel-consistent)."""

from __future__ import annotations

import pytest

from recgan.data.interactions import Interactions
from recgan.data.simulate import simulate


@pytest.fixture(scope="session")
def shop() -> Interactions:
    return Interactions.from_frame(simulate(240, 90, 7000, seed=3), target="buy")

