"""torchrun data parallelism on CPU (gloo): 2 processes learn like 1, and a rank-0 checkpoint resumes on all
ranks bit for bit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from recgan.data.simulate import simulate, write_log

TORCHRUN = Path(sys.executable).with_name("torchrun")
PARAMS = ["--param", "g_hidden=64", "--param", "d_hidden=32", "--param", "batch_size=32", "--param",
          "batch_size_d=32", "--param", "eval_every=1", "--param", "patience=0", "--param", "lr=1e-3",
          "--param", "lr_d=1e-3", "--param", "scheme=ZR"]


def _train(nproc: int, data: Path, out: Path, epochs: int, *extra: str) -> subprocess.CompletedProcess:
    if nproc == 1:
        cmd = [sys.executable, "-m", "recgan"]
    else:
        cmd = [str(TORCHRUN), "--nproc_per_node", str(nproc), "--master_port", str(29500 + os.getpid() % 1000),
               "-m", "recgan"]
    cmd += ["train", "--train", str(data), "--model", "cfgan", "--epochs", str(epochs), "--no-refit",
            "--quiet", "--out", str(out), *PARAMS, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _val(out: Path) -> list[float]:
    lines = (out / "training_log.jsonl").read_text().splitlines()
    return [json.loads(x)["val_ndcg@20"] for x in lines]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ddp") / "log.tsv"
    df = simulate(400, 150, 20_000, seed=5)
    write_log(df[df.behaviour == "view"][["user", "item"]], p)
    return p


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside this python")
def test_two_processes_match_one_and_resume(data, tmp_path):
    one = _train(1, data, tmp_path / "one", 8)
    two = _train(2, data, tmp_path / "two", 8)
    v1, v2 = _val(tmp_path / "one"), _val(tmp_path / "two")
    assert len(v1) == len(v2) == 8
    assert max(v2) > v2[0]  # it learns
    assert abs(max(v1) - max(v2)) < 0.03, (v1, v2)  # same accuracy within noise
    del one, two
    # a checkpoint written by rank 0 at epoch 4 resumes on both ranks and ends where an uninterrupted run ends
    _train(2, data, tmp_path / "a", 4, "--checkpoint-every", "2", "--checkpoint-dir", str(tmp_path / "ck"))
    assert (tmp_path / "ck" / "last" / "checkpoint.json").exists()
    _train(2, data, tmp_path / "b", 8, "--resume", str(tmp_path / "ck" / "last"))
    assert [json.loads(x)["epoch"] for x in (tmp_path / "b" / "training_log.jsonl").read_text().splitlines()] == [5, 6, 7, 8]
    w_full = load_file(str(tmp_path / "two" / "weights.safetensors"))
    w_resumed = load_file(str(tmp_path / "b" / "weights.safetensors"))
    for k in w_full:
        np.testing.assert_array_equal(w_full[k], w_resumed[k])
    shutil.rmtree(tmp_path / "ck")
