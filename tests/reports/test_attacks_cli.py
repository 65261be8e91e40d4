"""`recgan synth report`'s attacks from the command line: the headline figures printed, the DP control beside a
private release with its verdict, and a report refused (one line, exit 2) without the release's training
users."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recgan.cli.main import main
from recgan.data.simulate import simulate

TINY = ["--param", "train_batch=32", "--param", "hidden=32", "--param", "emb=8", "--param", "d_emb=8",
        "--param", "d_hidden=32", "--param", "z_dim=8"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("attacks_cli")
    df = simulate(200, 70, 5000, seed=11)
    df = df[df["behaviour"] == "view"][["user", "item"]].drop_duplicates()
    users = df["user"].unique()
    held = set(np.random.default_rng(0).choice(users, 60, replace=False).tolist())
    df[~df["user"].isin(held)].to_csv(d / "train.tsv", sep="\t", header=False, index=False)
    df[df["user"].isin(held)].to_csv(d / "holdout.tsv", sep="\t", header=False, index=False)
    df[df["user"].isin(held)].head(200).to_csv(d / "other.tsv", sep="\t", header=False, index=False)
    return d


@pytest.mark.slow
def test_dp_release_report_prints_attacks_and_the_control(files, capsys):
    pytest.importorskip("opacus")
    d = files
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--dp-epsilon", "3", "--epochs", "1", *TINY,
                 "--plant-canaries", "3", "--seed", "0", "--out", str(d / "dp")]) == 0
    assert main(["synth", "sample", "--model", str(d / "dp"), "--n-users", "140", "--out", str(d / "dp.tsv")]) == 0
    capsys.readouterr()
    assert main(["synth", "report", "--train", str(d / "train.tsv"), "--holdout", str(d / "holdout.tsv"),
                 "--synthetic", str(d / "dp.tsv"), "--canaries", str(d / "dp" / "canaries.tsv"),
                 "--decoys", str(d / "dp" / "decoys.tsv"), "--baseline-epochs", "1", "--baseline-temperature", "1",
                 "--shadows", "2", "--out", str(d / "rep")]) == 0
    err = capsys.readouterr().err
    assert "membership (synthetic) AUC" in err and "membership (generator) AUC" in err
    assert "attribute advantage" in err and "canaries" in err and "epsilon spent 3" in err.replace("2.99", "3")
    assert "DP control:" in err
    # the accounting: each release's noise multiplier and the total epsilon (fit's statement, printed and in HTML)
    assert "DP accounting of gan" in err and "co-occurrence (spectral start) sigma 2.33" in err
    assert "discriminator (DP-SGD) sigma" in err
    rep = json.loads((d / "rep" / "report.json").read_text())
    ctrl = [k for k in rep["summary"] if k.startswith("randomised-response")]
    assert len(ctrl) == 1 and rep["privacy_statement"][ctrl[0]]["epsilon"] == 3.0
    assert "earn" in rep["meta"]["dp_verdict"]
    row = rep["privacy"]["by_set"]["copy of train"]
    assert row["lira"]["synthetic"]["tpr_at_1pct_fpr"] > 0.3  # the sandwich's strong end, end to end
    html = (d / "rep" / "report.html").read_text()
    assert "membership inference ROC, log FPR" in html and "co-occurrence (spectral start): 2.33" in html
    assert all(k in html for k in ("lira_synthetic", "attribute", "canaries"))


def test_report_without_training_users_says_what_it_needs(files, capsys):
    d = files
    assert main(["synth", "report", "--holdout", str(d / "holdout.tsv"), "--synthetic", str(d / "holdout.tsv"),
                 "--out", str(d / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("recgan: error:") and "needs --train" in err and "\n" not in err


def test_report_refuses_other_users_as_training_users(files, capsys):
    d = files
    assert main(["synth", "fit", "--train", str(d / "other.tsv"), "--generator", "independent",
                 "--out", str(d / "ind")]) == 0  # fit on a few held-out users, reported against train
    assert main(["synth", "sample", "--model", str(d / "ind"), "--n-users", "50", "--out", str(d / "ind.tsv")]) == 0
    capsys.readouterr()
    rc = main(["synth", "report", "--train", str(d / "train.tsv"), "--holdout", str(d / "holdout.tsv"),
               "--synthetic", str(d / "ind.tsv"), "--no-baselines", "--out", str(d / "r2")])
    err = capsys.readouterr().err
    assert rc == 2 and "not the release's training users" in err


def test_randomised_response_from_the_cli(files, capsys):
    d = files
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--generator", "randomised-response",
                 "--dp-epsilon", "3", "--out", str(d / "rr")]) == 0
    assert "epsilon=3" in capsys.readouterr().err
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--generator", "randomised-response",
                 "--dp-epsilon", "0", "--out", str(d / "rr0")]) == 2
    assert capsys.readouterr().err.startswith("recgan: error:")


def test_one_shadow_kind_for_every_set(files):
    d = files
    assert main(["synth", "fit", "--train", str(d / "train.tsv"), "--generator", "independent",
                 "--out", str(d / "ind2")]) == 0
    assert main(["synth", "sample", "--model", str(d / "ind2"), "--n-users", "80", "--out", str(d / "ind2.tsv")]) == 0
    assert main(["synth", "report", "--train", str(d / "train.tsv"), "--holdout", str(d / "holdout.tsv"),
                 "--synthetic", str(d / "ind2.tsv"), "--no-baselines", "--shadows", "2",
                 "--shadow-generator", "independent", "--out", str(d / "r3")]) == 0
    rep = json.loads((d / "r3" / "report.json").read_text())
    lira = rep["privacy"]["by_set"]["independent"]["lira"]
    assert lira["n_shadows"] == 2 and {"synthetic", "generator"} <= set(lira)

