"""Every command that writes a folder refuses an existing non-recgan folder or a regular file (one line, exit 2,
the target untouched, no hidden leftovers) and replaces a recgan folder of its own kind whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from recgan.cli.main import main
from recgan.data.splits import write_tsv
from recgan.testing import tiny_data


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("d") / "train.tsv"
    write_tsv(tiny_data(empty_user=False), p)
    return p


def _commands(train: Path, out: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", "--train", str(train), "--model", "pop", "--out", str(out)],
        "split": ["data", "split", str(train), "--out", str(out)],
        "synth-fit": ["synth", "fit", "--train", str(train), "--generator", "independent", "--out", str(out)],
    }


def _snapshot(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else b"<dir>") for p in path.rglob("*")}


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("recgan: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", ["train", "split", "synth-fit"])
@pytest.mark.parametrize("target", ["folder", "file"])
def test_refuses_what_is_not_its_artefact(tmp_path, train_file, capsys, command, target):
    out = tmp_path / "out"
    if target == "folder":
        (out / "sub").mkdir(parents=True)
        (out / "notes.txt").write_text("mine")
        (out / "sub" / "data.csv").write_text("1,2\n")
    else:
        out.write_text("my file\n")
    before = _snapshot(out)
    assert main(_commands(train_file, out)[command]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(out) in line and "refusing" in line
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing hidden left behind


@pytest.mark.parametrize("command", ["train", "split", "synth-fit"])
def test_replaces_its_own_kind_whole_and_refuses_another_kind(tmp_path, train_file, capsys, command):
    out = tmp_path / "out"
    cmds = _commands(train_file, out)
    assert main(cmds[command]) == 0
    (out / "stale.txt").write_text("from an older run")
    if command == "split":  # a split folder holds only split files; a stray file makes it a user folder
        (out / "stale.txt").unlink()
    assert main(cmds[command]) == 0
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    capsys.readouterr()
    other = "split" if command != "split" else "train"
    before = _snapshot(out)
    assert main(cmds[other]) == 2
    assert "refusing" in _one_error_line(capsys.readouterr().err)
    assert _snapshot(out) == before


def test_empty_folder_is_used(tmp_path, train_file):
    out = tmp_path / "out"
    out.mkdir()
    assert main(_commands(train_file, out)["train"]) == 0
    assert (out / "config.json").is_file()


def test_file_outputs_refuse_a_folder(tmp_path, train_file, capsys):
    model = tmp_path / "m"
    assert main(_commands(train_file, model)["train"]) == 0
    capsys.readouterr()
    d = tmp_path / "d"
    (d / "x").mkdir(parents=True)
    for cmd in (["recommend", "--model", str(model), "--users", "all", "--out", str(d)],
                ["data", "simulate", "--users", "5", "--items", "5", "--interactions", "20", "--out", str(d)],
                ["recommend", "--model", str(model), "--users", "all", "--out", str(tmp_path / "f" / "x.tsv")]):
        if "f" in cmd[-1]:
            (tmp_path / "f").write_text("a file")
        assert main(cmd) == 2
        assert "recgan: error:" in _one_error_line(capsys.readouterr().err)
    assert (d / "x").is_dir() and (tmp_path / "f").read_text() == "a file"


def test_unwritable_output_is_one_line(tmp_path, train_file, capsys, monkeypatch):
    """Permission errors (simulated: the tests may run as root) from the atomic writers and from any other
    file-system call of a command are one line and exit 2."""
    import tempfile

    import recgan.cli.data as cli_data

    model = tmp_path / "m"
    assert main(_commands(train_file, model)["train"]) == 0
    capsys.readouterr()

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert main(["recommend", "--model", str(model), "--users", "all", "--out", str(tmp_path / "r.tsv")]) == 2
    assert "permission denied" in _one_error_line(capsys.readouterr().err)
    monkeypatch.undo()

    def is_dir(df, path):
        raise IsADirectoryError(21, "Is a directory", str(path))

    monkeypatch.setattr(cli_data, "write_log", is_dir)
    out = tmp_path / "log.tsv"
    assert main(["data", "simulate", "--users", "5", "--items", "5", "--interactions", "20", "--out", str(out)]) == 2
    assert str(out) in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", ["demo", "augment", "synth-report"])
def test_other_folder_writers_refuse_before_any_work(tmp_path, train_file, capsys, command):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = {
        "demo": ["demo", "--out", str(out)],
        "augment": ["augment", "--train", str(train_file), "--out", str(out)],
        "synth-report": ["synth", "report", "--train", str(train_file), "--holdout", str(train_file),
                         "--synthetic", str(train_file), "--out", str(out)],
    }[command]
    assert main(argv) == 2
    assert "refusing" in _one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
