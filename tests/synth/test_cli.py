"""`recgan synth fit|sample|report` end to end on a small user<TAB>item file (the shape of ml-100k's u.data
converted to user<TAB>item)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recgan.cli.main import main
from recgan.data.simulate import simulate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth_cli")
    df = simulate(200, 70, 5000, seed=11)
    df = df[df["behaviour"] == "view"][["user", "item"]].drop_duplicates()
    users = df["user"].unique()
    held = set(np.random.default_rng(0).choice(users, 50, replace=False).tolist())
    df[~df["user"].isin(held)].to_csv(d / "train.tsv", sep="\t", header=False, index=False)
    df[df["user"].isin(held)].to_csv(d / "holdout.tsv", sep="\t", header=False, index=False)
    return d


def test_fit_sample_report(files, capsys):
    d = files
    args = ["--param", "train_batch=32", "--param", "hidden=32", "--param", "emb=16", "--param", "d_emb=16",
            "--param", "d_hidden=32", "--param", "z_dim=8"]
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--seed", "0", "--epochs", "2", *args,
                 "--param", "pretrain_epochs=3", "--plant-canaries", "3", "--out", str(d / "gan")]) == 0
    assert (d / "gan" / "synth.json").is_file() and (d / "gan" / "canaries.tsv").is_file()
    assert len(pd.read_csv(d / "gan" / "decoys.tsv", sep="\t", header=None)) == len(
        pd.read_csv(d / "gan" / "canaries.tsv", sep="\t", header=None))
    err = capsys.readouterr().err  # --temperature auto (the default): chosen on a development split of train
    assert "DCR p" in err and ("temperature:" in err or "WARNING: no temperature" in err)
    meta = json.loads((d / "gan" / "synth.json").read_text())
    cal = meta["info"]["temperature_calibration"]
    assert meta["config"]["temperature"] == cal["chosen"] and len(cal["table"]) == 6
    assert main(["synth", "sample", "--model", str(d / "gan"), "--n-users", "120", "--seed", "1",
                 "--out", str(d / "syn.tsv")]) == 0
    syn = pd.read_csv(d / "syn.tsv", sep="\t", header=None)
    assert syn.shape[1] == 2 and syn[0].nunique() == 120 and syn[0].str.fullmatch(r"syn\d{7}").all()
    assert main(["synth", "sample", "--model", str(d / "gan"), "--n-users", "120", "--seed", "1",
                 "--out", str(d / "syn2.tsv")]) == 0
    assert (d / "syn.tsv").read_text() == (d / "syn2.tsv").read_text()
    assert main(["synth", "report", "--train", str(d / "train.tsv"), "--holdout", str(d / "holdout.tsv"),
                 "--synthetic", str(d / "syn.tsv"), "--canaries", str(d / "gan" / "canaries.tsv"),
                 "--decoys", str(d / "gan" / "decoys.tsv"),
                 "--baseline-epochs", "2", "--out", str(d / "report")]) == 0
    assert "baseline vae" in (err := capsys.readouterr().err) and "at temperature" in err  # auto, like fit
    rep = json.loads((d / "report" / "report.json").read_text())
    assert {"gan", "vae", "independent", "real holdout", "copy of train"} <= set(rep["summary"])
    for section in ("fidelity", "utility", "privacy"):
        assert section in rep
    assert rep["summary"]["copy of train"]["dcr_p"] > rep["summary"]["real holdout"]["dcr_p"]
    assert "canaries_reproduced" in rep["summary"]["gan"] and "decoys_reproduced" in rep["summary"]["gan"]
    html = (d / "report" / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html and "http" not in html.split("<body>")[1]


def test_dp_fit_states_epsilon(files, capsys):
    pytest.importorskip("opacus")
    d = files
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--dp-epsilon", "5", "--dp-delta", "1e-4",
                 "--epochs", "1", "--param", "hidden=32", "--param", "d_hidden=32", "--seed", "0",
                 "--out", str(d / "dp")]) == 0
    err = capsys.readouterr().err
    assert "epsilon=" in err and "DP accounting: epsilon" in err and "popularity prior sigma" in err
    meta = json.loads((d / "dp" / "synth.json").read_text())
    assert meta["privacy"]["dp"] and meta["privacy"]["epsilon"] <= 5
    # the privacy statement in the folder: each release's noise multiplier (sensitivity 1), the total epsilon
    assert [r["release"] for r in meta["privacy"]["releases"]] == [
        "activity histograms", "popularity prior", "co-occurrence (spectral start)", "discriminator (DP-SGD)"]


@pytest.mark.parametrize("argv, msg", [
    (["synth", "fit", "--train", "no-such.tsv", "--out", "x"], "no such file"),
    (["synth", "fit", "--train", "{train}", "--generator", "vae", "--dp-epsilon", "1", "--out", "x"], "has no private mode"),
    (["synth", "fit", "--train", "{train}", "--dp-delta", "1e-5", "--out", "x"], "needs --dp-epsilon"),
    (["synth", "fit", "--train", "{train}", "--param", "bogus=1", "--out", "x"], "unknown parameter"),
    (["synth", "fit", "--train", "{train}", "--temperature", "cold", "--out", "x"], "--temperature"),
    (["synth", "fit", "--train", "{train}", "--temperature", "-1", "--out", "x"], "--temperature"),
    (["synth", "sample", "--model", "{dir}", "--n-users", "3", "--out", "-"], "not a synthesizer folder"),
    (["synth", "report", "--train", "{train}", "--holdout", "{train}", "--synthetic", "{train}", "--out", "r"],
     "also in"),
])
def test_user_errors(files, capsys, argv, msg):
    argv = [a.format(train=files / "train.tsv", dir=files) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("recgan: error:") and msg in err


def test_report_on_user_split_folder(files):
    d = files
    assert main(["data", "split", str(d / "train.tsv"), "--method", "user", "--fraction", "0.3", "--seed", "0",
                 "--out", str(d / "usplit")]) == 0
    assert main(["synth", "fit", "--train", str(d / "usplit" / "train.tsv"), "--generator", "independent",
                 "--out", str(d / "ind")]) == 0
    assert main(["synth", "sample", "--model", str(d / "ind"), "--n-users", "60", "--out", str(d / "ind.tsv")]) == 0
    assert main(["synth", "report", "--train", str(d / "usplit" / "train.tsv"), "--holdout", str(d / "usplit"),
                 "--synthetic", str(d / "ind.tsv"), "--no-baselines", "--out", str(d / "rep2")]) == 0
    rep = json.loads((d / "rep2" / "report.json").read_text())
    assert set(rep["summary"]) == {"independent", "real holdout", "copy of train"}
    assert rep["meta"]["holdout_users"] > 0
