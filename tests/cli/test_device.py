"""The device is a run option: a model folder whose saved config says ``cuda`` (a folder trained on a GPU, or
written by an older recgan that saved the device) is used on a CPU-only host through ``recgan recommend``,
``recgan evaluate`` and the HTTP service. And importing the data layer does not load torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from recgan.cli.main import main
from recgan.core.trainer import TrainingOptions
from recgan.data import RandomHoldout
from recgan.data.splits import write_tsv
from recgan.errors import RecganError
from recgan.models.base import Recommender, get_model_class
from recgan.testing import tiny_data


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    """Every test here runs as on a host without CUDA, even where a GPU is present."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(scope="module")
def cuda_folder(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(model folder saying cuda everywhere, train.tsv, test.tsv): bpr, one epoch, on tiny data."""
    d = tmp_path_factory.mktemp("device")
    split = RandomHoldout(0.2, 0).split(tiny_data(30, 20, empty_user=False))
    write_tsv(split.train, d / "train.tsv")
    write_tsv(split.test, d / "test.tsv")
    model = get_model_class("bpr")(epochs=1, factors=8).fit(split.train, options=TrainingOptions(progress=False))
    folder = d / "bpr"
    model.save(folder)
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["device"] = "cuda"
    meta["info"].setdefault("training", {})["device"] = "cuda"
    (folder / "config.json").write_text(json.dumps(meta, indent=2))
    return folder, d / "train.tsv", d / "test.tsv"


def test_python_api_loads_on_cpu(cuda_folder):
    folder, _, _ = cuda_folder
    model = Recommender.load(folder)
    assert str(model.device) == "cpu"
    assert np.isfinite(model.score(np.arange(model.n_users))).all()
    assert model.config.to_dict() == {k: v for k, v in json.loads((folder / "config.json").read_text())["config"]
                                      .items() if k != "device"}
    with pytest.raises(RecganError, match="CUDA is not available"):  # asked for explicitly: one clear line
        Recommender.load(folder, device="cuda")


def test_recommend_and_evaluate(cuda_folder, tmp_path, capsys):
    folder, train, test = cuda_folder
    recs = tmp_path / "recs.tsv"
    assert main(["recommend", "--model", str(folder), "--users", "all", "-k", "3", "--out", str(recs)]) == 0
    df = pd.read_csv(recs, sep="\t", header=None, names=["user", "item", "rank", "score"])
    assert len(df) == 3 * df["user"].nunique() and df["user"].nunique() == 30
    capsys.readouterr()
    assert main(["evaluate", "--model", str(folder), "--test", str(test), "--json", "-k", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["metrics"]["ndcg@5"] <= 1


def test_http_service(cuda_folder):
    from fastapi.testclient import TestClient

    from recgan.serving import create_app

    folder, train, _ = cuda_folder
    user = pd.read_csv(train, sep="\t", header=None).iloc[0, 0]
    with TestClient(create_app(folder)) as c:
        assert c.get("/readyz").status_code == 200
        r = c.get(f"/v1/users/{user}/recommendations", params={"k": 4})
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 4


def test_importing_the_data_layer_does_not_load_torch():
    r = subprocess.run([sys.executable, "-c", "import sys, recgan.data; assert 'torch' not in sys.modules, "
                                              "sorted(m for m in sys.modules if m.startswith('torch'))[:5]"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_generator_folder_saying_cuda_samples_on_cpu(tmp_path):
    from recgan.synth import make_synthesizer

    synth = make_synthesizer("vae", epochs=1, hidden=16, z_dim=8, emb=8)
    synth.fit(tiny_data(30, 20, empty_user=False), options=TrainingOptions(progress=False))
    synth.save(tmp_path / "gen")
    meta_path = tmp_path / "gen" / "synth.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["device"] = "cuda"
    meta_path.write_text(json.dumps(meta))
    out = tmp_path / "syn.tsv"
    assert main(["synth", "sample", "--model", str(tmp_path / "gen"), "--n-users", "5", "--out", str(out)]) == 0
    assert pd.read_csv(out, sep="\t", header=None)[0].nunique() <= 5
