"""``recgan augment`` end to end on tiny data, and its bad-input behaviour."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from recgan.cli.main import main
from recgan.data import RandomHoldout
from recgan.data.splits import write_tsv
from recgan.testing import tiny_data

TINY = ["--generator-param", "epochs=4", "--generator-param", "g_hidden=16", "--generator-param", "d_hidden=8"]


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("split")
    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    write_tsv(s.train, d / "train.tsv")
    write_tsv(s.test, d / "test.tsv")
    return d


def test_augment_cfgan_densify_with_downstream(split_dir, tmp_path, capsys):
    out = tmp_path / "aug"
    rc = main(["augment", "--train", str(split_dir / "train.tsv"), "--generator", "cfgan", "--strategy", "densify",
               "--volume", "3", "--weight", "0.5", "--seed", "1", "--max-user-items", "0", "--out", str(out),
               "--downstream", "ease,itemknn", "--test", str(split_dir / "test.tsv"), *TINY])
    assert rc == 0
    df = pd.read_csv(out / "augmented_train.tsv", sep="\t", dtype={"user": str, "item": str})
    assert list(df.columns) == ["user", "item", "weight", "source"]
    train = pd.read_csv(split_dir / "train.tsv", sep="\t", header=None, names=["user", "item"], dtype=str)
    real = df[df.source == "real"]
    assert len(real) == len(train) and (real.weight == 1.0).all()
    gen = df[df.source == "generated"]
    assert (gen.weight == 0.5).all() and gen.groupby("user").size().max() == 3
    assert not set(zip(gen.user, gen.item, strict=True)) & set(zip(train.user, train.item, strict=True))
    assert (out / "generator-cfgan" / "config.json").exists()
    summary = json.loads((out / "augment.json").read_text())
    assert set(summary["downstream"]) == {"ease", "itemknn"}
    assert 0 <= summary["downstream"]["ease"]["metrics"]["ndcg@10"] <= 1
    assert "generated interactions" in capsys.readouterr().out


@pytest.mark.parametrize("generator", ["ease", "pop", "itemknn"])
def test_augment_baseline_densifier_volume_and_weight_chosen_on_the_carve(split_dir, tmp_path, generator):
    out = tmp_path / generator
    assert main(["augment", "--train", str(split_dir / "train.tsv"), "--generator", generator, "--seed", "0",
                 "--max-user-items", "0", "--out", str(out)]) == 0
    df = pd.read_csv(out / "augmented_train.tsv", sep="\t", dtype={"user": str, "item": str})
    gen = df[df.source == "generated"]
    sel = json.loads((out / "augment.json").read_text())["selection"]["densify"]
    assert len(gen) > 0 and (gen.weight == sel["weight"]).all() and gen.groupby("user").size().max() == sel["m"]
    assert len(sel["table"]) > 1  # several (m, W) scored on the validation carve
    real = df[df.source == "real"]
    assert not set(zip(gen.user, gen.item, strict=True)) & set(zip(real.user, real.item, strict=True))
    assert (out / f"generator-{generator}" / "config.json").exists()


def test_augment_baseline_densifier_rejects_cfgan_parameters(split_dir, tmp_path, capsys):
    rc = main(["augment", "--train", str(split_dir / "train.tsv"), "--generator", "ease", "--out", str(tmp_path / "x"),
               "--generator-param", "epochs=3"])
    assert rc != 0 and "takes none" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_augment_synth_add_users(split_dir, tmp_path):
    out = tmp_path / "syn"
    assert main(["augment", "--train", str(split_dir / "train.tsv"), "--generator", "synth", "--volume", "n=12",
                 "--weight", "0.3", "--seed", "0", "--out", str(out), "--synth-param", "epochs=2"]) == 0
    df = pd.read_csv(out / "augmented_train.tsv", sep="\t", dtype={"user": str, "item": str})
    syn = df[df.user.str.startswith("syn")]
    assert syn.user.nunique() == 12 and (syn.source == "generated").all() and (syn.weight == 0.3).all()
    assert (out / "generator-synth").is_dir()


@pytest.mark.parametrize("argv, msg", [
    (["--generator", "cfgan", "--strategy", "add-users"], "implements strategy"),
    (["--weight", "1.5"], "--weight"),
    (["--volume", "x"], "--volume"),
    (["--checkpoint", "OUT/ckpt"], "inside --out"),
])
def test_augment_bad_input(split_dir, tmp_path, capsys, argv, msg):
    argv = [a.replace("OUT", str(tmp_path / "o")) for a in argv]
    rc = main(["augment", "--train", str(split_dir / "train.tsv"), "--out", str(tmp_path / "o"), *argv])
    assert rc == 2
    assert msg in capsys.readouterr().err


def test_augment_checkpoint_resumes_with_the_same_output(split_dir, tmp_path, capsys):
    argv = ["augment", "--train", str(split_dir / "train.tsv"), "--generator", "cfgan", "--strategy", "densify",
            "--seed", "1", "--checkpoint", str(tmp_path / "ckpt"), *TINY]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "ckpt" / "candidates" / "cfgan" / "candidate.json").is_file()
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "cfgan: scored before (kept in the checkpoint)" in capsys.readouterr().err
    assert (tmp_path / "a" / "augmented_train.tsv").read_text() == (tmp_path / "b" / "augmented_train.tsv").read_text()
    assert main([*argv[:-len(TINY)], "--seed", "2", "--out", str(tmp_path / "c"), *TINY]) == 2
    assert "another augmentation run" in capsys.readouterr().err


def test_augment_failure_leaves_no_half_written_folder(split_dir, tmp_path, capsys):
    out = tmp_path / "aug"  # the second downstream model is unknown: found after the first was trained and saved
    rc = main(["augment", "--train", str(split_dir / "train.tsv"), "--generator", "pop", "--volume", "2",
               "--weight", "0.5", "--downstream", "ease,nosuchmodel", "--out", str(out)])
    assert rc == 2 and "nosuchmodel" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []
