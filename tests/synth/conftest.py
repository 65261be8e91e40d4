"""Small simulated shop data shared by the synth and report tests (view / cart / buy, funnel-consistent)."""

from __future__ import annotations

import numpy as np
import pytest

from recgan.data.interactions import Interactions
from recgan.data.simulate import simulate


def split_users(data: Interactions, fraction: float = 0.3, seed: int = 0) -> tuple[Interactions, Interactions]:
    perm = np.random.default_rng(seed).permutation(data.n_users)
    n = int(round(fraction * data.n_users))
    return data.select_users(np.sort(perm[n:])), data.select_users(np.sort(perm[:n]))


@pytest.fixture(scope="session")
def shop() -> Interactions:
    return Interactions.from_frame(simulate(240, 90, 7000, seed=3), target="buy")


@pytest.fixture(scope="session")
def shop_split(shop) -> tuple[Interactions, Interactions]:
    return split_users(shop, 0.3, 0)
