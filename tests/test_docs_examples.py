"""The worked example of docs/contributing.md runs: docs/examples/recent_pop.py registers a model that passes
the recommender contract and trains through ``recgan train`` like a built-in one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recgan.data.interactions import Interactions
from recgan.models.base import REGISTRY, Recommender, get_model_class
from recgan.testing import RecommenderContract

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "recent_pop.py"


@pytest.fixture(scope="module", autouse=True)
def example_registered():
    """Import the example (it registers ``recent-pop``) and take it out of the registry afterwards, so that
    other tests (docs/parameters.md, --help) see only the built-in models."""
    before = dict(REGISTRY._items)
    spec = importlib.util.spec_from_file_location("recgan_docs_example_recent_pop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    REGISTRY._items.clear()
    REGISTRY._items.update(before)
    sys.modules.pop(spec.name, None)


class TestRecentPopular(RecommenderContract):
    model_name = "recent-pop"
    params = {"half_life_days": 10.0}


def test_recent_interactions_count_more():
    day = 86_400.0
    df = pd.DataFrame({"user": ["a", "b", "c", "d", "a"], "item": ["old", "old", "old", "new", "new"],
                       "timestamp": [0.0, 0.0, 0.0, 100 * day, 100 * day]})
    data = Interactions.from_frame(df)
    m = get_model_class("recent-pop")(half_life_days=10.0).fit(data)
    pop = dict(zip(data.items.ids.tolist(), m.score(np.array([0]))[0].tolist(), strict=True))
    assert pop["new"] == pytest.approx(2.0) and pop["old"] == pytest.approx(3 * 0.5 ** 10, rel=1e-5)
    flat = get_model_class("recent-pop")(half_life_days=1e9).fit(data)
    assert flat.score(np.array([0]))[0].tolist() == pytest.approx([3.0, 2.0] if data.items.ids[0] == "old"
                                                                  else [2.0, 3.0], rel=1e-6)


def test_trains_through_the_cli(tmp_path, capsys):
    from recgan.cli.main import main
    from recgan.data.splits import write_tsv
    from recgan.testing import tiny_data

    write_tsv(tiny_data(20, 15, empty_user=False), tmp_path / "train.tsv")
    assert main(["train", "--train", str(tmp_path / "train.tsv"), "--model", "recent-pop",
                 "--param", "half_life_days=7", "--out", str(tmp_path / "m")]) == 0
    assert Recommender.load(tmp_path / "m").config.half_life_days == 7.0
    assert main(["train", "--train", str(tmp_path / "train.tsv"), "--model", "recent-pop",
                 "--param", "half_life_days=-1", "--out", str(tmp_path / "m2")]) == 2
    assert "'half_life_days'" in capsys.readouterr().err and not (tmp_path / "m2").exists()
