"""`recgan demo` end to end: all four jobs on the generated data, the HTML report and PNGs written."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "recgan", "demo", "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=2400)
    assert r.returncode == 0, r.stderr[-3000:]
    text = r.stdout.lower()
    for word in ("recommend", "augment", "synth", "privacy", "recgan serve"):
        assert word in text, word
    assert (out / "report.html").stat().st_size > 10_000
    assert list(out.glob("*.png"))
    assert (out / "models" / "cfgan" / "config.json").exists()
    assert (out / "summary.json").exists()
