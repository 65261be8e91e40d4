"""The GAN and VAE synthesizers train through the one trainer: checkpoints, bit-exact resume, progress."""

from __future__ import annotations

import pytest
import torch

from recgan.cli.main import main
from recgan.core.trainer import TrainingOptions
from recgan.data.simulate import simulate
from recgan.synth import load_synthesizer, make_synthesizer
from recgan.testing import tiny_data

SMALL = {"train_batch": 16, "hidden": 16, "emb": 8, "d_emb": 8, "d_hidden": 16, "z_dim": 8}
QUIET = TrainingOptions(progress=False)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_interrupted_and_resumed_fit_ends_with_the_same_weights(tmp_path, name) -> None:
    data, params = tiny_data(), {**SMALL, "seed": 3, "epochs": 5}
    if name == "vae":
        params = {k: v for k, v in params.items() if k in ("hidden", "emb", "z_dim", "seed", "epochs")}
    cut = QUIET.model_copy(update={"checkpoint_dir": str(tmp_path), "checkpoint_every": 1, "stop_after_epoch": 2})
    make_synthesizer(name, **params).fit(data, cut)
    resumed = make_synthesizer(name, **params).fit(data, QUIET.model_copy(update={"resume": str(tmp_path / "last")}))
    straight = make_synthesizer(name, **params).fit(data, QUIET)
    assert _same(resumed._state(), straight._state())
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4, 5]


def test_cli_resume_matches_an_uninterrupted_cli_fit(tmp_path) -> None:
    df = simulate(60, 25, 900, seed=5)
    df = df[df["behaviour"] == "view"][["user", "item"]].drop_duplicates()
    df.to_csv(tmp_path / "train.tsv", sep="\t", header=False, index=False)
    args = ["synth", "fit", "--train", str(tmp_path / "train.tsv"), "--seed", "0", "--epochs", "4",
            "--temperature", "1", "--quiet"] + [a for k, v in SMALL.items() for a in ("--param", f"{k}={v}")]
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    # an interruption after epoch 2: the checkpoint an interrupted CLI run leaves behind
    from recgan.data.loaders import load_interactions

    data = load_interactions(str(tmp_path / "train.tsv"))
    make_synthesizer("gan", seed=0, epochs=4, temperature=1.0, **SMALL).fit(
        data, QUIET.model_copy(update={"checkpoint_dir": str(tmp_path / "ck"), "checkpoint_every": 1,
                                       "stop_after_epoch": 2}))
    assert main([*args, "--resume", str(tmp_path / "ck" / "last"), "--out", str(tmp_path / "resumed")]) == 0
    a, b = load_synthesizer(tmp_path / "straight"), load_synthesizer(tmp_path / "resumed")
    assert _same(a._state(), b._state())


def test_cli_help_lists_resume_and_checkpoints(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["synth", "fit", "--help"])
    out = capsys.readouterr().out
    assert "--resume" in out and "--checkpoint-every" in out


def test_resume_from_a_folder_without_checkpoint_is_one_line(tmp_path, capsys) -> None:
    rc = main(["synth", "fit", "--train", "x.tsv", "--resume", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--resume" in err[0] and not (tmp_path / "o").exists()


def test_epochs_zero_releases_the_start() -> None:
    s = make_synthesizer("gan", seed=0, epochs=0, **SMALL).fit(tiny_data(), QUIET)
    assert s.history == [] and s.sample(5, seed=1).shape[0] > 0
