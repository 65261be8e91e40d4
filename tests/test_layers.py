"""Layers import only downward and the package has no import cycles between its sub-packages.

data -> core -> models / synth (independent of each other) -> training -> evaluation -> augment -> reports ->
front doors (serving, then the cli that starts it). ``errors``, ``io`` and ``metrics`` sit below everything; imports inside
``if TYPE_CHECKING:`` blocks (annotations only) are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import recgan

ROOT = Path(recgan.__file__).parent
LEVEL = {"errors": 0, "io": 0.5, "metrics": 0.5, "data": 1, "core": 2, "models": 3, "synth": 3, "training": 4,
         "evaluation": 5, "augment": 6, "reports": 7, "testing": 8, "serving": 9, "cli": 10, "__main__": 11,
         "__init__": 0}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recgan."):
            out.append((node.module.split(".")[1], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name.split(".")[1], node.lineno) for a in node.names if a.name.startswith("recgan.")]
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py")


def test_every_import_points_down_or_sideways_within_its_package() -> None:
    bad = []
    for path in ROOT.rglob("*.py"):
        pkg = _package(path)
        for target, line in _imports(path):
            if target == pkg:
                continue
            if LEVEL[target] >= LEVEL[pkg] and pkg != "__init__":
                bad.append(f"{path.relative_to(ROOT)}:{line} ({pkg}) imports recgan.{target}")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_every_subpackage_has_a_level() -> None:
    names = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert names <= set(LEVEL), sorted(names - set(LEVEL))


def test_import_recgan_data_does_not_load_torch() -> None:
    import subprocess
    import sys

    code = "import sys, recgan.data; assert 'torch' not in sys.modules, 'torch loaded'"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
