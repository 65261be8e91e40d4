"""``generator="auto"``: every densifier and no augmentation compete on the carve; no augmentation wins
unless a candidate beats it beyond the carve's noise; every candidate's score, the choice and why are
recorded; the CLI writes nothing generated when no augmentation wins."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recgan.augment import augment_log, densifier_names
from recgan.augment.core import Selection
from recgan.augment.pipeline import Candidate, _Carve, _decide
from recgan.cli.main import main
from recgan.data.interactions import Interactions

TINY = {"generator_params": {"epochs": 4, "g_hidden": (16,), "d_hidden": (8,)}, "synth_params": {"epochs": 2, "pretrain_epochs": 3}}
TINY_ARGS = ["--generator-param", "epochs=4", "--generator-param", "g_hidden=16", "--generator-param", "d_hidden=8",
             "--synth-param", "epochs=2", "--synth-param", "pretrain_epochs=3"]


def block_frame(n_blocks: int = 6, users_per_block: int = 6, block: int = 5) -> pd.DataFrame:
    """Every user holds all ``block`` items of its own block: EASE ranks each user's held-out block item
    first, so no augmentation already scores validation NDCG 1 and nothing can beat it."""
    u = np.repeat(np.arange(n_blocks * users_per_block), block)
    i = (u // users_per_block) * block + np.tile(np.arange(block), n_blocks * users_per_block)
    return pd.DataFrame({"user": [f"u{x:03d}" for x in u], "item": [f"i{x:03d}" for x in i]})


@pytest.fixture(scope="module")
def blocks() -> Interactions:
    return Interactions.from_frame(block_frame())


@pytest.fixture(scope="module")
def auto_blocks(blocks):
    return augment_log(blocks, seed=0, **TINY)


def test_auto_picks_none_when_nothing_helps(auto_blocks):
    res = auto_blocks
    auto = res.selection["auto"]
    assert auto["candidates"][0] == {"candidate": "none", "strategy": "none", "valid_ndcg@20": 1.0}
    assert res.chosen == "none" and auto["choice"] == "none" and "no candidate scored above" in auto["why"]
    assert res.augmented.generated.nnz == 0 and res.generators == {}
    assert (res.augmented.data.X != res.augmented.real.X).nnz == 0


def test_auto_records_every_candidate(auto_blocks):
    rows = auto_blocks.selection["auto"]["candidates"]
    assert [r["candidate"] for r in rows] == ["none", *densifier_names()]
    for r in rows[1:]:
        assert {"valid_ndcg@20", "diff_vs_none", "p_vs_none", "p_vs_best", "seconds", "weight"} <= set(r)
        assert ("m" in r) == (r["strategy"] == "densify") and ("n" in r) == (r["strategy"] == "add-users")


def test_auto_strategy_restricts_candidates(blocks):
    res = augment_log(blocks, seed=0, strategy="densify", m=2, weight=0.5, **TINY)
    assert [r["candidate"] for r in res.selection["auto"]["candidates"]] == ["none", *densifier_names("densify")]


def _carve_with(none: np.ndarray) -> _Carve:
    return _Carve(None, None, None, 500.0, None, none)  # type: ignore[arg-type]


def _cand(name: str, per_user: np.ndarray) -> Candidate:
    return Candidate(name, "densify", None, Selection({"m": 2, "weight": 0.5}, float(per_user.mean()), per_user, []),
                      0.0)


def test_decide_needs_a_significant_gain():
    rng = np.random.default_rng(0)
    none = rng.random(200) * 0.5
    clear = _cand("pop", none + 0.2 + 0.01 * rng.random(200))
    noise = rng.normal(0.0, 0.2, 100)
    noisy = _cand("itemknn", none + 0.005 + np.concatenate([noise, -noise]))  # +0.005 on average, within noise
    sel: dict = {}
    assert _decide(_carve_with(none), [noisy, clear], 0.05, sel, None)[0] == "pop"
    assert sel["auto"]["candidates"][2]["p_vs_none"] < 1e-10
    choice, why = _decide(_carve_with(none), [noisy], 0.05, {}, None)
    assert choice == "none" and "noise" in why


def test_decide_prefers_the_simpler_candidate_within_the_noise():
    rng = np.random.default_rng(1)
    none = rng.random(300) * 0.5
    pop = none + 0.2 + 0.01 * rng.random(300)
    noise = rng.normal(0.0, 0.2, 150)
    near = _cand("cfgan", pop + 0.005 + np.concatenate([noise, -noise]))  # best, but within the noise of pop
    choice, why = _decide(_carve_with(none), [near, _cand("pop", pop)], 0.05, {}, None)
    assert choice == "pop" and "simpler" in why
    far = _cand("cfgan", pop + 0.1)  # significantly better than pop: the best wins
    assert _decide(_carve_with(none), [far, _cand("pop", pop)], 0.05, {}, None)[0] == "cfgan"


def test_explicit_generator_below_none_warns(blocks):
    res = augment_log(blocks, generator="pop", seed=0)
    assert res.chosen == "pop" and res.augmented.generated.nnz > 0  # asked for explicitly: done, but said
    assert "auto would not augment" in res.selection["warnings"][0]


def test_cli_auto_none_writes_nothing_generated(tmp_path, capsys):
    train = tmp_path / "train.tsv"
    block_frame().to_csv(train, sep="\t", header=False, index=False)
    out = tmp_path / "aug"
    assert main(["augment", "--train", str(train), "--seed", "0", "--out", str(out), *TINY_ARGS]) == 0
    assert "no augmentation" in capsys.readouterr().out
    df = pd.read_csv(out / "augmented_train.tsv", sep="\t", dtype={"user": str, "item": str})
    assert len(df) == 180 and (df.source == "real").all()
    summary = json.loads((out / "augment.json").read_text())
    assert summary["selection"]["auto"]["choice"] == "none"
    assert len(summary["selection"]["auto"]["candidates"]) == 1 + len(densifier_names())
    assert not list(out.glob("generator-*"))
