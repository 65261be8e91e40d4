"""recgan.core.registry: one registry type for every family, its help lines and parameter tables."""

from __future__ import annotations

import sys
import types

import pytest

import recgan.models  # noqa: F401  (registers every model)
import recgan.synth  # noqa: F401  (registers every generator)
from recgan.core.config import Config, describe_fields
from recgan.core.registry import Registry, discover, parameter_table
from recgan.errors import RecganError
from recgan.models.base import REGISTRY as MODELS
from recgan.synth.base import REGISTRY as GENERATORS


class Cfg(Config):
    """Settings."""

    alpha: float = 1.0
    """Weight a | b (a pipe in the text)."""


class A:
    """First thing. More detail that help lines leave out.

    A second paragraph."""

    name = "a"
    config_class = Cfg


class B:
    """Second (Smith et al., 2020): the one after A."""

    name = "b"
    config_class = Config


def test_add_get_names_and_errors():
    r: Registry[type] = Registry("widget")
    assert r.add(B) is B and r.add(A) is A and r.add(A) is A  # registering the same class twice is harmless
    assert r.names() == ["a", "b"] and list(r) == ["a", "b"] and len(r) == 2
    assert "a" in r and "c" not in r and r.get("b") is B and r["a"] is A
    assert r.items() == [("a", A), ("b", B)]
    with pytest.raises(RecganError) as e:
        r.get("c")
    assert str(e.value) == "unknown widget 'c'; available: a, b"
    other = type("Other", (), {"name": "a"})
    with pytest.raises(RecganError, match="two widgets named 'a'"):
        r.add(other)


def test_help_table_is_one_line_per_entry():
    r: Registry[type] = Registry("widget")
    r.add(A)
    r.add(B)
    lines = r.help_table().splitlines()
    assert [line.split(None, 1) for line in lines] == [["a", "First thing"],
                                                       ["b", "Second (Smith et al., 2020): the one after A"]]


def test_parameter_table_markdown():
    table = parameter_table(Cfg).splitlines()
    assert table[0] == "| parameter | type | default | meaning |"
    assert len(table) == 2 + len(Cfg.model_fields)
    assert table[-1] == "| `alpha` | float | `1.0` | Weight a \\| b (a pipe in the text). |"


def test_discover_imports_every_public_module(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text("LOADED = True\n")
    (pkg / "_private.py").write_text("raise RuntimeError('private modules are not imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg

    discover("plugpkg", plugpkg.__path__)
    assert sys.modules["plugpkg.one"].LOADED
    assert "plugpkg._private" not in sys.modules
    for m in ("plugpkg", "plugpkg.one"):
        monkeypatch.delitem(sys.modules, m)


FAMILIES = [pytest.param(MODELS, id="models"), pytest.param(GENERATORS, id="generators")]


@pytest.mark.parametrize("registry", FAMILIES)
def test_every_entry_has_a_help_line_and_a_typed_config(registry):
    """``--help`` and ``recgan models`` show the first sentence of each class's docstring."""
    for line, (name, cls) in zip(registry.help_table().splitlines(), registry.items(), strict=True):
        assert line.split()[0] == name
        assert len(line.split()) > 1, f"{name}: class docstring missing (its --help line is empty)"
        assert issubclass(cls.config_class, Config)
        assert describe_fields(cls.config_class)


def test_densifiers_have_help_lines():
    densifiers = pytest.importorskip("recgan.augment.densifiers")
    for line in densifiers.DENSIFIERS.help_table().splitlines():
        assert len(line.split()) > 1, line


def test_models_and_generators_are_discovered_from_their_packages():
    assert {"ease", "itemknn", "rp3beta", "pop", "cfgan", "bpr"} <= set(MODELS.names())
    assert {"gan", "vae", "independent"} <= set(GENERATORS.names())
    for registry, pkg in ((MODELS, "recgan.models"), (GENERATORS, "recgan.synth")):
        for _, cls in registry.items():
            assert isinstance(sys.modules[cls.__module__], types.ModuleType)
            assert cls.__module__.startswith(pkg + ".")
