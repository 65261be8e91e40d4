"""The densifier registry: it lists every densifier, the CLI's choices and help come from it, and adding a
densifier is one class (the worked example below registers one and runs it through ``augment_log``, by name
and as a candidate of ``auto``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from recgan.augment import augment_log
from recgan.augment.densifiers import (
    DENSIFIERS,
    Densifier,
    densifier_names,
    get_densifier,
    register_densifier,
)
from recgan.cli.main import main
from recgan.errors import RecganError
from recgan.testing import tiny_data

BUILT_IN = {"cfgan": "densify", "ease": "densify", "itemknn": "densify", "pop": "densify", "synth": "add-users"}


def test_registry_lists_every_densifier():
    assert {n: DENSIFIERS[n].strategy for n in densifier_names()} == BUILT_IN
    assert densifier_names("add-users") == ["synth"]
    assert densifier_names(auto_only=True) == sorted(BUILT_IN)
    for name in BUILT_IN:
        d = get_densifier(name)
        assert isinstance(d, Densifier) and d.name == name and (type(d).__doc__ or "").strip()
    with pytest.raises(RecganError, match="available: cfgan, ease, itemknn, pop, synth"):
        get_densifier("gpt")


def test_reserved_names_are_refused():
    for name in ("auto", "none", "both", ""):
        with pytest.raises(ValueError):
            register_densifier(type("X", (Densifier,), {"name": name}))


def test_cli_help_lists_every_densifier(capsys):
    with pytest.raises(SystemExit):
        main(["augment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{auto,cfgan,ease,itemknn,pop,synth,both}" in text
    for name in BUILT_IN:
        doc = " ".join((type(get_densifier(name)).__doc__ or "").split()).rstrip(".")
        assert f"{name}: {doc}" in text


# --- worked example: a new densifier is one class (in its own module under recgan/augment/densifiers/) ---
class RP3betaDensifier(Densifier):
    """RP3beta's top unseen items (a worked example, not shipped: untuned RP3beta densified poorly)."""

    name = "rp3beta-example"

    def fit(self, train, *, seed: int = 0, valid=None, l2: float = 500.0, params: dict[str, Any] | None = None,
            device: str = "cpu") -> Any:
        from recgan.models.base import get_model_class

        return get_model_class("rp3beta")().fit(train)


@pytest.fixture
def rp3():
    register_densifier(RP3betaDensifier)
    yield RP3betaDensifier.name
    DENSIFIERS._items.pop(RP3betaDensifier.name)


def test_a_new_densifier_is_one_class(rp3, capsys):
    data = tiny_data(40, 30, empty_user=False)
    res = augment_log(data, generator=rp3, m=2, weight=0.5, seed=0, select_params={"l2": 5.0})
    assert res.chosen == rp3 and res.augmented.generated.nnz == 2 * data.n_users
    assert np.allclose(res.augmented.data.X[res.augmented.generated.nonzero()].A, 0.5)
    auto = augment_log(data, strategy="densify", m=2, weight=0.5, seed=0, select_params={"l2": 5.0},
                       generator_params={"epochs": 2, "g_hidden": (8,), "d_hidden": (8,)})
    assert rp3 in [r["candidate"] for r in auto.selection["auto"]["candidates"]]
    with pytest.raises(SystemExit):
        main(["augment", "--help"])
    assert rp3 in capsys.readouterr().out


def test_augment_help_does_not_load_torch():
    import subprocess
    import sys

    code = ("import argparse, sys\nfrom recgan.cli import augment\np = argparse.ArgumentParser()\n"
            "augment.register(p.add_subparsers())\nassert 'torch' not in sys.modules, 'torch loaded'\n")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0
