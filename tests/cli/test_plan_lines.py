"""Long commands say what they will do before doing it (a ``plan:`` line) and report each stage as it goes."""

from __future__ import annotations

from recgan.cli.main import main
from recgan.data.splits import write_tsv
from recgan.testing import tiny_data


def test_synth_fit_plans_and_reports_the_temperature_choice(tmp_path, capsys) -> None:
    train = tmp_path / "train.tsv"
    write_tsv(tiny_data(60, 40, empty_user=False), train)
    assert main(["synth", "fit", "--train", str(train), "--epochs", "0", "--quiet", "--out", str(tmp_path / "g")]) == 0
    err = capsys.readouterr().err.splitlines()
    plan = [i for i, ln in enumerate(err) if ln.startswith("plan: two fits")]
    stages = [i for i, ln in enumerate(err) if ln.startswith("temperature choice:")]
    assert plan and stages and plan[0] < stages[0]
    assert any("sampled and measured" in ln for ln in err)
    assert any(ln.startswith("temperature choice took") and "about" in ln for ln in err)


def test_augment_plans_its_candidates(tmp_path, capsys) -> None:
    train = tmp_path / "train.tsv"
    write_tsv(tiny_data(60, 40, empty_user=False), train)
    assert main(["augment", "--train", str(train), "--generator", "pop", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "plan: 1 candidate(s) (pop: 9 settings)" in err
