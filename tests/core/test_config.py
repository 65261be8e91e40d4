"""recgan.core.config: one coercion rule for text values, one-line errors, run options never saved; and every
registered model's and generator's config (defaults valid, JSON round trip, presets valid, documented)."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import Field

import recgan.models  # noqa: F401  (registers every model)
import recgan.synth  # noqa: F401  (registers every generator)
from recgan.core.config import (
    RUN_OPTIONS,
    Config,
    FitOptions,
    Preset,
    TorchRunConfig,
    Widths,
    describe_fields,
    make_config,
)
from recgan.errors import RecganError
from recgan.models.base import REGISTRY as MODELS
from recgan.synth.base import REGISTRY as GENERATORS


class Example(TorchRunConfig):
    """A config with one field of each kind."""

    lr: float = Field(1e-3, gt=0)
    """Learning rate."""
    epochs: int = Field(10, ge=1)
    """Epochs."""
    mode: Literal["user", "item"] = "user"
    """Row kind."""
    hidden: Widths = (8,)
    """Widths."""
    cap: int | None = None
    """Optional cap."""
    flag: bool = False
    """A switch."""


def test_text_values_are_coerced():
    c = make_config(Example, {"lr": "0.5", "epochs": "1e3", "mode": "item", "hidden": "400x200", "cap": "none",
                              "flag": "true", "seed": "3"})
    assert (c.lr, c.epochs, c.mode, c.hidden, c.cap, c.flag, c.seed) == (0.5, 1000, "item", (400, 200), None, True, 3)
    assert make_config(Example, {"hidden": "400,200"}).hidden == (400, 200)
    assert make_config(Example, {"hidden": 16}).hidden == (16,)
    assert make_config(Example, {"cap": "null"}).cap is None
    assert make_config(Example, None) == Example()


@pytest.mark.parametrize("params,needles", [
    ({"nope": 1}, ["unknown parameter 'nope'", "known:", "lr", "epochs"]),
    ({"lr": "abc"}, ["'lr'", "'abc'", "accepts float"]),
    ({"lr": "0"}, ["'lr'", "greater than 0"]),
    ({"lr": "nan"}, ["'lr'", "finite"]),
    ({"lr": "inf"}, ["'lr'", "finite"]),
    ({"epochs": "1.5"}, ["'epochs'", "accepts int"]),
    ({"epochs": "1e-3"}, ["'epochs'"]),
    ({"epochs": "0"}, ["'epochs'", "greater than or equal to 1"]),
    ({"mode": "XYZ"}, ["'mode'", "'XYZ'", "'user'", "'item'"]),
    ({"hidden": "400x0"}, ["'hidden'"]),
    ({"hidden": ""}, ["'hidden'"]),
    ({"cap": "many"}, ["'cap'", "int or none"]),
    ({"flag": "perhaps"}, ["'flag'"]),
])
def test_bad_values_are_one_line(params, needles):
    with pytest.raises(RecganError) as e:
        make_config(Example, params)
    msg = str(e.value)
    assert "\n" not in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_run_options_are_accepted_but_never_saved():
    c = make_config(Example, {"device": "cuda", "lr": 0.1})
    assert c.device == "cuda"
    assert "device" not in c.to_dict() and RUN_OPTIONS <= {"device"}
    assert c.to_dict()["lr"] == 0.1
    assert "device" not in c.model_dump_json()


def test_replace_validates():
    c = Example()
    assert c.replace(lr=0.2).lr == 0.2 and c.lr == 1e-3
    with pytest.raises(RecganError, match="'lr'"):
        c.replace(lr=-1)


def test_describe_fields():
    rows = {r["name"]: r for r in describe_fields(Example)}
    assert rows["mode"]["type"] == "'user' | 'item'"
    assert rows["cap"]["type"] == "int or none"
    assert rows["lr"] == {"name": "lr", "type": "float", "default": 1e-3, "description": "Learning rate.",
                          "run_option": False}
    assert rows["device"]["run_option"] and rows["seed"]["description"]


def test_presets_and_fit_options_are_typed():
    with pytest.raises(ValueError):
        FitOptions(early_stop=False)  # a typo is refused, not ignored
    with pytest.raises(ValueError):
        Preset(params={}, fit={"refit": False, "nope": 1})
    assert Preset(params={"a": 1}).fit == FitOptions()


# --------------------------------------------------------------- every registered configuration
ALL = [pytest.param(cls, id=f"model-{n}") for n, cls in MODELS.items()] + \
      [pytest.param(cls, id=f"generator-{n}") for n, cls in GENERATORS.items()]


@pytest.mark.parametrize("cls", ALL)
def test_defaults_validate_and_round_trip_through_json(cls):
    cfg = make_config(cls.config_class, {})
    saved = json.loads(json.dumps(cfg.to_dict()))
    assert not set(saved) & RUN_OPTIONS
    assert make_config(cls.config_class, saved).to_dict() == cfg.to_dict()
    assert issubclass(cls.config_class, Config)
    assert cls.config_class.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("cls", ALL)
def test_every_field_is_documented(cls):
    """Every setting has a docstring: ``recgan models NAME`` and docs/parameters.md show it."""
    missing = [r["name"] for r in describe_fields(cls.config_class) if not r["description"]]
    assert not missing, f"{cls.config_class.__name__}: fields without a docstring: {missing}"


@pytest.mark.parametrize("cls", [pytest.param(c, id=n) for n, c in MODELS.items() if c.presets])
def test_every_preset_validates(cls):
    for name, preset in cls.presets.items():
        assert isinstance(preset, Preset), name
        make_config(cls.config_class, preset.params)


def test_replace_keeps_run_options() -> None:
    from recgan.synth.gan import GANConfig

    cfg = GANConfig(device="cuda", temperature=1.0)
    assert cfg.replace(temperature=0.5).device == "cuda"
    assert "device" not in cfg.to_dict()
