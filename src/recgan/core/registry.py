"""One registry type for every pluggable family (models, synthesizers, densifiers).

A family keeps one :class:`Registry`; a class registers itself with the family's ``register`` decorator
(``cls.name`` is its key) and its package imports every module it holds on first use (auto-discovery: adding
a model is adding one file). The CLI's choices, ``--help`` text and the docs' parameter tables are read from
here (:meth:`Registry.names`, :meth:`Registry.help_table`, :func:`parameter_table`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from recgan.core.config import describe_fields
from recgan.errors import RecganError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> class for one family (``kind``: "model", "generator", "densifier")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, cls: T) -> T:
        name = cls.name  # type: ignore[attr-defined]
        if name in self._items and self._items[name] is not cls:
            raise RecganError(f"two {self.kind}s named {name!r}: {self._items[name]} and {cls}")
        self._items[name] = cls
        return cls

    def get(self, name: str) -> T:
        if name not in self._items:
            raise RecganError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def help_table(self) -> str:
        """One line per entry: name and the first sentence of its docstring (for ``--help``)."""
        lines = []
        width = max([14, *map(len, self._items)])
        for name, cls in self.items():
            doc = (cls.__doc__ or "").strip().split("\n\n")[0]
            first = " ".join(doc.split()).split(". ")[0].rstrip(".")
            lines.append(f"  {name:<{width}} {first}")
        return "\n".join(lines)


def discover(package_name: str, package_path: list[str]) -> None:
    """Import every public module of a package (each registers what it defines)."""
    for m in pkgutil.iter_modules(package_path):
        if not m.name.startswith("_"):
            importlib.import_module(f"{package_name}.{m.name}")


def parameter_table(config_class: Any) -> str:
    """Markdown table of a config class's settings (name, type, default, meaning), run options marked."""
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for r in describe_fields(config_class):
        desc = r["description"].replace("|", "\\|") + (" (run option, not saved)" if r["run_option"] else "")
        rows.append(f"| `{r['name']}` | {r['type'].replace('|', '/')} | `{r['default']!r}` | {desc} |")
    return "\n".join(rows)
