"""``recgan run``: kind recommenders only; ``--check`` verifies the data files and lists what would run; a
``kind: benchmark`` file (scripts: a program) is refused with one line. Each error: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from recgan.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

MISSING = """
name: Missing data
datasets:
  - name: gone
    train: nowhere/train.tsv
    test: nowhere/test.tsv
models:
  - {name: pop}
"""


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recgan: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_check_names_a_missing_data_file(tmp_path, capsys):
    f = tmp_path / "exp.yaml"
    f.write_text(MISSING)
    assert main(["run", str(f), "--check"]) == 2
    line = _one_error_line(capsys)
    assert "field 'datasets.0.train'" in line and str(tmp_path / "nowhere" / "train.tsv") in line
    assert "and 1 more missing file" in line
    assert main(["run", str(f)]) == 2  # the run checks first, too
    _one_error_line(capsys)


def test_check_lists_what_would_run(tmp_path, capsys):
    (tmp_path / "nowhere").mkdir()
    for n in ("train", "test"):
        (tmp_path / "nowhere" / f"{n}.tsv").write_text("user\titem\n1\t2\n")
    f = tmp_path / "exp.yaml"
    f.write_text(MISSING)
    assert main(["run", str(f), "--check"]) == 0
    out = capsys.readouterr().out
    assert "valid (1 data sets, 1 models); data files present" in out
    assert f"data set gone: {tmp_path / 'nowhere' / 'train.tsv'}" in out and "model pop: pop" in out


def test_the_baselines_example_without_its_data_is_not_called_valid(capsys):
    """examples/baselines.yaml reads ../shared; where that is absent, --check says which file is missing."""
    f = ROOT / "examples" / "baselines.yaml"
    rc = main(["run", str(f), "--check"])
    if (ROOT.parent / "shared" / "benchmarks" / "splits" / "ml-100k-p1" / "train.tsv").exists():
        assert rc == 0 and "data files present" in capsys.readouterr().out
    else:
        assert rc == 2 and "ml-100k-p1/train.tsv" in _one_error_line(capsys)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")
                                           if "kind: benchmark" in p.read_text()))
def test_a_benchmark_file_is_refused_with_the_harness_command(example, capsys):
    f = ROOT / "examples" / example
    assert main(["run", str(f), "--check"]) == 2
    line = _one_error_line(capsys)
    assert "kind 'benchmark' runs scripts (it is a program)" in line
    assert f"python -m benchmarks.harness.run {f}" in line


def test_help_says_benchmark_files_are_programs(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "runs no code of its own" in out and "they are programs" in out
