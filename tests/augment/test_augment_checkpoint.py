"""``augment_log(checkpoint=DIR)``: every finished step is kept; a rerun, and a run interrupted after any
candidate or inside CFGAN's training, gives the augmented log of an uninterrupted run; a folder of another
run is refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from recgan.augment import augment_log
from recgan.augment.core import CFGAN_AUGMENT_PARAMS, carve, target_only
from recgan.core import trainer
from recgan.core.trainer import TrainingOptions
from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models.base import get_model_class

CFGAN = {"epochs": 4, "g_hidden": (16,), "d_hidden": (8,)}
TINY = {"generator_params": CFGAN, "synth_params": {"epochs": 2, "pretrain_epochs": 3}}


@pytest.fixture(scope="module")
def log() -> Interactions:
    rng = np.random.default_rng(3)
    rows = [(f"u{u:02d}", f"i{i:02d}") for u in range(40) for i in rng.choice(30, 6 + u % 5, replace=False)]
    return Interactions.from_frame(pd.DataFrame(rows, columns=["user", "item"]))


@pytest.fixture(scope="module")
def plain(log):
    return augment_log(log, seed=1, **TINY)


@pytest.fixture(scope="module")
def kept(log, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "run"
    return folder, augment_log(log, seed=1, checkpoint=folder, **TINY)


def same(a, b) -> None:
    assert a.chosen == b.chosen
    assert (a.augmented.data.X != b.augmented.data.X).nnz == 0
    assert list(a.augmented.data.users.ids) == list(b.augmented.data.users.ids)
    assert untimed(a.selection) == untimed(b.selection)


def untimed(o):
    """``o`` without its wall-clock fields (``seconds``) and the record of what was loaded (``checkpoint``)."""
    if isinstance(o, dict):
        return {k: untimed(v) for k, v in o.items() if k not in ("seconds", "checkpoint")}
    if isinstance(o, list):
        return [untimed(v) for v in o]
    return o


def test_checkpoint_keeps_every_step_and_changes_nothing(plain, kept):
    folder, res = kept
    same(plain, res)
    assert (folder / "run.json").is_file() and (folder / "carve.json").is_file()
    for name in ("cfgan", "ease", "itemknn", "pop", "synth"):
        assert (folder / "candidates" / name / "candidate.json").is_file()
    assert (folder / "candidates" / "cfgan" / "generator" / "config.json").is_file()
    assert (folder / "candidates" / "cfgan" / "train" / "last").is_dir()


def test_rerun_loads_everything(log, kept, tmp_path):
    folder, res = kept
    lines: list[str] = []
    again = augment_log(log, seed=1, checkpoint=folder, log=lines.append, **TINY)
    same(res, again)
    assert sum("kept in the checkpoint" in x for x in lines) == 6  # the carve and five candidates
    assert again.selection["checkpoint"]["loaded"] == ["carve", "cfgan", "ease", "itemknn", "pop", "synth"]
    assert res.selection["checkpoint"]["loaded"] == []
    assert not any("train vae" in x for x in lines)


def test_interrupted_after_some_candidates_resumes(log, kept, plain, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(kept[0], folder)
    for name in ("synth", "itemknn"):  # as if killed while scoring these: only the trainer's checkpoint is left
        (folder / "candidates" / name / "candidate.json").unlink()
    same(plain, augment_log(log, seed=1, checkpoint=folder, **TINY))


def test_interrupted_inside_cfgan_training_resumes(log, kept, plain, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    shutil.copytree(kept[0], folder)
    for name in ("cfgan", "synth"):
        shutil.rmtree(folder / "candidates" / name)
    ctr, cva = carve(target_only(log), 1)  # what the run's CFGAN candidate trains on, stopped after epoch 2
    cls = get_model_class("cfgan")
    cls(**{**CFGAN_AUGMENT_PARAMS, **CFGAN, "seed": 1, "device": "cpu"}).fit(
        ctr, cva, TrainingOptions(progress=False, checkpoint_dir=str(folder / "candidates" / "cfgan" / "train"),
                                  checkpoint_every=1, stop_after_epoch=2))
    assert json.loads((folder / "candidates/cfgan/train/last/checkpoint.json").read_text())["trainer"]["epoch"] == 2
    resumed = []
    load = trainer.load_checkpoint
    monkeypatch.setattr(trainer, "load_checkpoint", lambda m, p: resumed.append(p) or load(m, p))
    lines: list[str] = []
    same(plain, augment_log(log, seed=1, checkpoint=folder, log=lines.append, **TINY))
    assert [p.split("/candidates/")[1] for p in resumed] == ["cfgan/train/last"]  # continued, not restarted
    assert "  cfgan: its training continues from epoch 2, kept in the checkpoint" in lines


def test_folder_of_another_run_is_refused(log, kept, tmp_path):
    with pytest.raises(RecganError, match="another augmentation run"):
        augment_log(log, seed=2, checkpoint=kept[0], **TINY)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(RecganError, match="not an augmentation checkpoint"):
        augment_log(log, seed=1, checkpoint=tmp_path / "x", **TINY)
