"""Imported first by the development scripts in this folder: puts benchmarks/ on ``sys.path``, so that a script
run as ``python benchmarks/dev/NAME.py`` can use the product benchmarks' helpers (``synth``) and the harness
(``harness``) as the scripts in benchmarks/ do."""

import sys
from pathlib import Path

_BENCHMARKS = str(Path(__file__).resolve().parents[1])
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)
