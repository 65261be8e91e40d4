"""Mistyped parameters on the command line, for every registered model and generator: one line
``recgan: error: ...`` naming the parameter and what it accepts, exit 2, nothing written, no traceback; and
the registry-driven help, ``recgan models`` and docs/parameters.md."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

import recgan.models  # noqa: F401  (registers every model)
import recgan.synth  # noqa: F401  (registers every generator)
from recgan.cli.catalog import parameters_markdown
from recgan.cli.main import main
from recgan.core.config import _base_type
from recgan.data.splits import write_tsv
from recgan.models.base import REGISTRY as MODELS
from recgan.synth.base import REGISTRY as GENERATORS
from recgan.testing import tiny_data

ROOT = Path(__file__).resolve().parents[2]
SET_BY_FLAGS = {"seed"}
"""Fields the commands set from their own flags (``--seed``), overriding ``--param``."""


def _fields_of(config_class, want) -> list[str]:
    return [n for n, f in config_class.model_fields.items()
            if n not in SET_BY_FLAGS and want(_base_type(f.annotation))]


def _numeric(t) -> bool:
    return t in (int, float)


def _literal(t) -> bool:
    return typing.get_origin(t) is typing.Literal


def _cases(registry, kind: str) -> list:
    """(kind, name, KEY=VALUE, what the error line must contain) for each entry of a registry."""
    out = []
    for name, cls in registry.items():
        cfg = cls.config_class
        out.append(pytest.param(kind, name, "no_such_param=1", ["'no_such_param'", "known:"],
                                id=f"{kind}-{name}-unknown"))
        for field in _fields_of(cfg, _numeric)[:2]:
            out.append(pytest.param(kind, name, f"{field}=abc", [f"'{field}'", "'abc'"],
                                    id=f"{kind}-{name}-{field}=abc"))
        for field in _fields_of(cfg, _literal):
            allowed = typing.get_args(_base_type(cfg.model_fields[field].annotation))
            out.append(pytest.param(kind, name, f"{field}=XYZ", [f"'{field}'", "'XYZ'", *map(str, allowed)],
                                    id=f"{kind}-{name}-{field}=XYZ"))
    return out


CASES = _cases(MODELS, "model") + _cases(GENERATORS, "generator")


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("params")
    write_tsv(tiny_data(20, 15, empty_user=False), d / "train.tsv")
    return d / "train.tsv"


def _argv(kind: str, name: str, param: str, train: Path, out: Path) -> list[str]:
    if kind == "model":
        return ["train", "--train", str(train), "--model", name, "--param", param, "--out", str(out)]
    return ["synth", "fit", "--train", str(train), "--generator", name, "--param", param, "--out", str(out)]


def _assert_one_line(err: str, needles: list[str]) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("recgan: error: "), line
    assert "Traceback" not in err
    for n in needles:
        assert n in line, (n, line)
    return line


@pytest.mark.parametrize("kind,name,param,needles", CASES)
def test_mistyped_parameter_is_one_line_exit_2_nothing_written(kind, name, param, needles, train_file, tmp_path,
                                                                capsys):
    out = tmp_path / "out"
    assert main(_argv(kind, name, param, train_file, out)) == 2
    cap = capsys.readouterr()
    _assert_one_line(cap.err, needles)
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no temporary left either


@pytest.mark.parametrize("name,param,needles", [
    ("ease", "l2=0", ["'l2'", "greater than"]),
    ("ease", "l2=-5", ["'l2'", "greater than"]),
    ("ease", "l2=1e-30", ["'l2'", "greater than"]),
    ("ease", "l2=nan", ["'l2'", "finite"]),
    ("itemknn", "neighbours=-1", ["'neighbours'", "greater than or equal to 1"]),
    ("rp3beta", "alpha=-1", ["'alpha'", "greater than or equal to 0"]),
    ("cfgan", "g_hidden=400x0", ["'g_hidden'"]),
    ("cfgan", "epochs=1.5", ["'epochs'", "int"]),
])
def test_out_of_range_values(name, param, needles, train_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv("model", name, param, train_file, out)) == 2
    _assert_one_line(capsys.readouterr().err, needles)
    assert not out.exists()


@pytest.mark.parametrize("kind,name", [("model", "cfgan"), ("generator", "gan")])
def test_parameters_are_checked_before_the_data_is_read(kind, name, tmp_path, capsys):
    """A bad parameter is reported even when the data file does not exist: validation comes first."""
    argv = _argv(kind, name, "lr_d=abc", tmp_path / "missing.tsv", tmp_path / "out")
    assert main(argv) == 2
    _assert_one_line(capsys.readouterr().err, ["'lr_d'"])


def test_subprocess_no_traceback(train_file, tmp_path):
    """The real entry point (python -m recgan): one stderr line, exit 2, for the issue's own example (the
    in-process tests above cover every model and generator; this one process costs a torch import)."""
    r = subprocess.run([sys.executable, "-m", "recgan", "train", "--train", str(train_file), "--model", "cfgan",
                        "--param", "scheme=XYZ", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    _assert_one_line(r.stderr, ["recgan: error: parameter 'scheme'", "'ZR'"])
    assert r.stdout == ""
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ help, `recgan models`, docs
def test_train_help_lists_every_model(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for name, cls in MODELS.items():
        assert f"  {name} " in out
        first = " ".join((cls.__doc__ or "").split())[:20]
        assert first and first in " ".join(out.split()), name


def test_synth_fit_help_lists_every_generator(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in GENERATORS:
        assert f" {name} " in out


def test_synth_fit_choices_come_from_the_registry(train_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["synth", "fit", "--train", str(train_file), "--generator", "nope", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert all(n in err for n in GENERATORS.names())


def test_models_lists_and_describes(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {n} " in out for n in [*MODELS.names(), *GENERATORS.names()])
    assert main(["models", "cfgan"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cfgan (model): ")
    for name in MODELS["cfgan"].config_class.model_fields:
        assert f"\n{name} " in out
    assert "'ZR' | 'PM' | 'ZP'" in out
    assert main(["models", "gan", "--kind", "generator"]) == 0
    assert "dp_epsilon" in capsys.readouterr().out


def test_models_unknown_name_is_one_line(capsys):
    assert main(["models", "no-such-model"]) == 2
    _assert_one_line(capsys.readouterr().err, ["'no-such-model'", "ease", "gan"])


def test_docs_parameters_page_matches_the_code():
    """docs/parameters.md is generated (``recgan models --markdown > docs/parameters.md``): regenerate it
    whenever a config, a docstring or the registry changes."""
    page = ROOT / "docs" / "parameters.md"
    assert page.read_text(encoding="utf-8") == parameters_markdown(), (
        "docs/parameters.md is stale: run `recgan models --markdown > docs/parameters.md`")
