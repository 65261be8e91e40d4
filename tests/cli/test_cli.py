"""The command line end to end on small data, and its bad-input behaviour (one line, exit code 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from recgan.cli.main import main
from recgan.data import RandomHoldout
from recgan.data.splits import write_tsv
from recgan.testing import tiny_data


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("split")
    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    write_tsv(s.train, d / "train.tsv")
    write_tsv(s.test, d / "test.tsv")
    return d


def test_train_recommend_evaluate(split_dir, tmp_path, capsys):
    m = tmp_path / "m"
    assert main(["train", "--train", str(split_dir / "train.tsv"), "--model", "ease", "--tune", "--out", str(m)]) == 0
    assert (m / "config.json").exists() and (m / "weights.npz").exists()
    recs = tmp_path / "recs.tsv"
    assert main(["recommend", "--model", str(m), "--users", "all", "-k", "5", "--out", str(recs)]) == 0
    df = pd.read_csv(recs, sep="\t", header=None, names=["user", "item", "rank", "score"])
    train = pd.read_csv(split_dir / "train.tsv", sep="\t", header=None, names=["user", "item"])
    assert not set(zip(df.user, df.item, strict=True)) & set(zip(train.user, train.item, strict=True))
    assert df.groupby("user").size().max() == 5
    capsys.readouterr()
    assert main(["evaluate", "--model", str(m), "--train", str(split_dir / "train.tsv"),
                 "--test", str(split_dir / "test.tsv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["metrics"]["ndcg@20"] <= 1
    assert main(["evaluate", "--recs", str(recs), "--test", str(split_dir / "test.tsv"), "--json", "-k", "5"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    assert out2["metrics"]["ndcg@5"] == pytest.approx(out["metrics"]["ndcg@5"], abs=1e-6)
    hist = tmp_path / "h.txt"
    hist.write_text(f"{train.item.iloc[0]}\nno-such-item\n")
    assert main(["recommend", "--model", str(m), "--history", str(hist), "-k", "3"]) == 0
    cap = capsys.readouterr()
    assert "no-such-item" in cap.err and len(cap.out.strip().splitlines()) == 3


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recgan", *args], capture_output=True, text=True, timeout=120)


def test_user_errors_one_line_exit_2(split_dir, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t2\n3\n")
    r = _run("train", "--train", str(bad), "--model", "ease", "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "line 2" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "m").exists()
    assert len(r.stderr.strip().splitlines()) == 1


def test_more_user_errors(split_dir, tmp_path, capsys):
    m = tmp_path / "m"
    main(["train", "--train", str(split_dir / "train.tsv"), "--model", "pop", "--out", str(m)])
    capsys.readouterr()
    assert main(["recommend", "--model", str(m), "--users", "nobody", "-k", "3"]) == 2
    assert "unknown user id 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["recommend", "--model", str(m), "--users", "all", "-k", "0"])
    assert e.value.code == 2
    assert main(["train", "--train", str(split_dir / "train.tsv"), "--model", "nope", "--out", str(m)]) == 2
    assert main(["train", "--train", str(split_dir / "train.tsv"), "--model", "ease", "--param", "l2=abc",
                 "--out", str(tmp_path / "x")]) == 2
    assert "l2" in capsys.readouterr().err
    assert main(["train", "--train", str(split_dir / "train.tsv"), "--model", "ease", "--param", "zzz=1",
                 "--out", str(tmp_path / "x")]) == 2
    assert main(["recommend", "--model", str(tmp_path / "none"), "--users", "all"]) == 2
    assert not (tmp_path / "x").exists()


def test_data_commands(split_dir, tmp_path, capsys):
    assert main(["data", "info", str(split_dir / "train.tsv"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["users"] > 0
    assert main(["data", "split", str(split_dir / "train.tsv"), "--method", "random", "--valid-fraction", "0.2",
                 "--out", str(tmp_path / "s")]) == 0
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"train.tsv", "test.tsv", "valid.tsv"}
    assert main(["data", "split", str(split_dir / "train.tsv"), "--method", "loo", "--out", str(tmp_path / "t")]) == 2


def test_fetch_offline_and_from_path(tmp_path, capsys, monkeypatch):
    import recgan.data.fetch as f

    def fail(*a, **k):
        raise f.urllib.error.URLError("offline")

    monkeypatch.setattr(f.urllib.request, "urlopen", fail)
    assert main(["data", "fetch", "movielens-100k", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--from" in err
    src = tmp_path / "ml"
    src.mkdir()
    (src / "u.data").write_text("1\t2\t3\t4\n")
    assert main(["data", "fetch", "movielens-100k", "--cache", str(tmp_path / "c"), "--from", str(src)]) == 0
    assert (tmp_path / "c" / "movielens-100k" / "u.data").exists()


def test_python_m_same_cli():
    r = _run("--help")
    assert r.returncode == 0 and "train" in r.stdout
