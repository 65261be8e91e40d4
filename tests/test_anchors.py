"""Guards of the published baseline numbers (ANCHORS.md) on the protocol splits; read ../shared."""

from __future__ import annotations

import json

import pytest

from recgan.cli.main import main
from recgan.data import load_split
from recgan.evaluation import evaluate
from recgan.models import ItemKNN


@pytest.mark.slow
def test_ease_tuned_and_itemknn_on_ml100k_p1(shared, tmp_path, capsys):
    split = shared("benchmarks", "splits", "ml-100k-p1")
    m = tmp_path / "m"
    assert main(["train", "--train", str(split / "train.tsv"), "--model", "ease", "--tune", "--out", str(m)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(m), "--train", str(split / "train.tsv"), "--test",
                 str(split / "test.tsv"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["metrics"]
    assert got["ndcg@20"] >= 0.440
    # ANCHORS.md, EASE lambda 500 on ml-100k-p1: P@20 0.2955, R@20 0.3642, NDCG@10 0.4453, NDCG@20 0.4423, cov 0.192
    for k, v in {"precision@20": 0.2955, "recall@20": 0.3642, "ndcg@10": 0.4453, "ndcg@20": 0.4423}.items():
        assert round(got[k], 4) == pytest.approx(v, abs=1e-4), k
    s = load_split(split)
    knn = evaluate(ItemKNN(neighbours=100, shrink=10).fit(s.train), s.test)
    assert knn["ndcg@20"] >= 0.39
    assert round(knn["ndcg@20"], 4) == 0.3926
