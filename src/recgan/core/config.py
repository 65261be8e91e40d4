"""Typed configuration for every model, synthesizer and densifier: one pydantic base, one coercion rule.

Every configurable part of recgan declares its settings as a subclass of :class:`Config` (a pydantic model):
fields with defaults and a docstring each, ``Literal[...]`` for enum-like settings and ``Field(ge=..., le=...)``
for ranges. Values may come as text (command line ``--param lr=1e-3``, YAML, HTTP) and are coerced by
pydantic's rules plus three recgan conveniences: ``"none"`` / ``"null"`` for an optional field, integer text
in exponent form (``"1e3"``) for an int field, and ``"400x200"`` / ``"400,200"`` for a tuple of widths.
:func:`make_config` turns the first validation error into one line naming the parameter and what it accepts.
Settings that describe *where* a run happens (``device``) are run options: accepted, never saved.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from recgan.errors import RecganError

__all__ = ["Config", "FitOptions", "Preset", "RUN_OPTIONS", "TorchRunConfig", "Widths", "describe_fields", "make_config"]

RUN_OPTIONS = frozenset({"device"})
"""Fields that say where a run happens, not what is learnt: never written into a model folder."""


def _parse_widths(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p for p in value.replace("x", ",").split(",") if p.strip()]
        return tuple(parts)
    if isinstance(value, int | float):
        return (value,)
    return value


Widths = Annotated[tuple[Annotated[int, Field(ge=1)], ...], BeforeValidator(_parse_widths), Field(min_length=1)]
"""Layer widths: a tuple of ints >= 1, also written ``"400x200"`` or ``"400,200"``."""


def _admits_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(annotation)
    return annotation is None or annotation is type(None)


def _base_type(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_type(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else annotation
    return annotation


class Config(BaseModel):
    """Base of every typed configuration. Subclasses add fields with defaults and a docstring each."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, use_attribute_docstrings=True,
                              validate_default=False, protected_namespaces=())

    seed: int = 0
    """Seed for numpy, torch and samplers."""

    @model_validator(mode="before")
    @classmethod
    def _text_conveniences(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is None or not isinstance(value, str):
                continue
            text = value.strip()
            if text.lower() in ("none", "null") and _admits_none(field.annotation):
                out[name] = None
            elif _base_type(field.annotation) is int and "e" in text.lower():
                try:
                    f = float(text)
                except ValueError:
                    continue
                if f.is_integer():
                    out[name] = int(f)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings without run options (what a model folder stores)."""
        return self.model_dump(mode="json", exclude=set(RUN_OPTIONS))

    def replace(self, **changes: Any) -> Config:
        """A validated copy with ``changes`` applied."""
        return make_config(type(self), {**dict(self), **changes})  # dict(): run options (excluded from dumps) kept


class TorchRunConfig(Config):
    """Run options shared by everything trained with torch (accepted as parameters, never saved)."""

    device: str = Field("cpu", exclude=True)
    """Torch device: "cpu", "cuda", "cuda:1", or "auto" (CUDA when present). A run option: not saved; loading
    a folder uses the device asked for at load time (default auto)."""


C = TypeVar("C", bound=Config)


def make_config(cls: type[C], params: dict[str, Any] | None) -> C:
    """Build ``cls`` from ``params`` (values may be text). The first problem raises :class:`RecganError` with
    one line naming the parameter and what it accepts."""
    params = dict(params or {})
    try:
        return cls.model_validate(params)
    except ValidationError as e:
        raise RecganError(_one_line(cls, e)) from None


def _one_line(cls: type[Config], e: ValidationError) -> str:
    err = e.errors(include_url=False)[0]
    loc = err["loc"][0] if err["loc"] else "?"
    if err["type"] == "extra_forbidden":
        return (f"unknown parameter {loc!r} for {cls.__name__}; known: "
                f"{', '.join(sorted(n for n in cls.model_fields))}")
    field = cls.model_fields.get(str(loc))
    literal = field is not None and typing.get_origin(_base_type(field.annotation)) is typing.Literal
    accepts = f" (accepts {_accepts(field.annotation)})" if field is not None and not literal else ""
    return f"parameter {loc!r}: {err['msg'].rstrip('.')}, got {err.get('input')!r}{accepts}"


def _accepts(annotation: Any) -> str:
    base = _base_type(annotation)
    if typing.get_origin(base) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(base))
    text = getattr(base, "__name__", None) or str(base).replace("typing.", "")
    if _admits_none(annotation):
        text += " or none"
    return text


class FitOptions(BaseModel):
    """How PROTOCOL.md's fitting procedure runs for a model (what ``recgan train`` flags also set)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    early_stopping: bool = True
    """Choose the epoch count on a validation carve of train (iterative models)."""
    refit: bool = True
    """After early stopping, retrain on all of train for the chosen epoch count."""


class Preset(BaseModel):
    """Named settings of a model: its parameters and the fit options they are meant to run with."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    params: dict[str, Any]
    """Model parameters (validated by the model's config when used)."""
    fit: FitOptions = FitOptions()
    """Fit options of the preset (e.g. a published protocol's fixed epoch count: no early stopping)."""


def describe_fields(cls: type[Config]) -> list[dict[str, Any]]:
    """One row per setting: name, type, default, description (the source of --help text and docs tables)."""
    rows = []
    for name, f in cls.model_fields.items():
        default = f.default if f.default_factory is None else f.default_factory()
        rows.append({"name": name, "type": _accepts(f.annotation), "default": default,
                     "description": " ".join((f.description or "").split()),
                     "run_option": name in RUN_OPTIONS})
    return rows
