"""``recgan models [NAME]``: what can be trained and with which parameters, read from the registries.

``recgan models`` lists every recommender, behaviour generator and densifier with its one-line description;
``recgan models NAME`` prints the parameter table of a model or generator (name, type, default, meaning) from
its typed config; ``recgan models --markdown`` prints docs/parameters.md (a test checks the committed page is
exactly this output, so the docs cannot drift from the code).
"""

from __future__ import annotations

import argparse
from typing import Any

from recgan.core.config import describe_fields
from recgan.core.registry import Registry, parameter_table
from recgan.errors import RecganError

KINDS = ("model", "generator", "densifier")


def registries() -> dict[str, Registry[Any]]:
    """Kind -> registry, every built-in entry registered (densifiers only when their package is present)."""
    import recgan.models  # noqa: F401  (registers every built-in model)
    import recgan.synth  # noqa: F401  (registers every built-in generator)
    from recgan.models.base import REGISTRY as MODELS
    from recgan.synth.base import REGISTRY as GENERATORS

    out: dict[str, Registry[Any]] = {"model": MODELS, "generator": GENERATORS}
    try:
        from recgan.augment.densifiers import DENSIFIERS
    except ImportError:  # pragma: no cover - densifiers are optional to this listing
        pass
    else:
        out["densifier"] = DENSIFIERS
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="list models, generators and densifiers; NAME: its parameter table",
        description="Without NAME: every recommender (recgan train --model), behaviour generator (recgan synth "
                    "fit --generator) and densifier (recgan augment --generator) with one line each. With NAME: "
                    "the parameters of that model or generator (pass them as --param KEY=VALUE).")
    p.add_argument("name", nargs="?", default=None, metavar="NAME", help="a model or generator name")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="look NAME up among these only (a name may be both a model and a densifier)")
    p.add_argument("--markdown", action="store_true",
                   help="print every parameter table as markdown (the page docs/parameters.md)")
    p.set_defaults(func=cmd_models)


def _lookup(name: str, kind: str | None) -> tuple[str, Any]:
    regs = registries()
    for k in (kind,) if kind else ("model", "generator", "densifier"):
        if k in regs and name in regs[k]:
            return k, regs[k][name]
    known = ", ".join(sorted({n for k, r in regs.items() if kind in (None, k) for n in r.names()}))
    raise RecganError(f"unknown {kind or 'model or generator'} {name!r}; available: {known}")


def first_line(cls: Any) -> str:
    """The first sentence of a class's docstring (what ``--help`` lists)."""
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split()).split(". ")[0].rstrip(".")


def text_table(config_class: Any) -> str:
    """Aligned plain-text parameter table (name, type, default, meaning) of a config class."""
    rows = [(r["name"], r["type"], repr(r["default"]),
             r["description"] + (" (run option, not saved)" if r["run_option"] else ""))
            for r in describe_fields(config_class)]
    head = ("parameter", "type", "default", "meaning")
    w = [max(len(x[i]) for x in [head, *rows]) for i in range(3)]
    return "\n".join(f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}".rstrip() for a, b, c, d in [head, *rows])


def parameters_markdown() -> str:
    """The page docs/parameters.md: every model's and generator's parameters, generated from the code."""
    regs = registries()
    out = ["# Parameters", "",
           "Generated from the typed configs by `recgan models --markdown > docs/parameters.md`; "
           "`tests/cli/test_params.py` fails when this page and the code disagree. Pass a parameter as "
           "`--param KEY=VALUE` (`recgan train`, `recgan synth fit`) or in a YAML run file; "
           "`recgan models NAME` prints one table in the terminal. Run options (`device`) say where a run "
           "happens and are never saved in a model folder.", ""]
    titles = {"model": ("Recommenders", "recgan train --model"),
              "generator": ("Behaviour generators", "recgan synth fit --generator")}
    for kind, (title, flag) in titles.items():
        out += [f"## {title}", ""]
        for name, cls in regs[kind].items():
            out += [f"### `{name}`", "", f"{first_line(cls)} (`{flag} {name}`).", "",
                    parameter_table(cls.config_class), ""]
    return "\n".join(out)


def cmd_models(args: argparse.Namespace) -> int:
    if args.markdown:
        if args.name:
            raise RecganError("--markdown prints every table; give no NAME")
        print(parameters_markdown(), end="")
        return 0
    if args.name:
        kind, cls = _lookup(args.name, args.kind)
        print(f"{args.name} ({kind}): {first_line(cls)}")
        config_class = getattr(cls, "config_class", None)
        if config_class is None:
            print("no parameters of its own (see recgan augment --help)")
            return 0
        print(text_table(config_class))
        return 0
    for kind, reg in registries().items():
        if args.kind in (None, kind):
            print(f"{kind}s:")
            print(reg.help_table())
    return 0
