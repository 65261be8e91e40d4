"""`recgan demo` end to end: all four jobs on the generated data, the HTML report and PNGs written.

Issue 10 asks for under 3 minutes on an idle 2-core machine; the elapsed time is printed (run pytest with
``-s`` to see it) but not asserted, because test machines are shared and loaded."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "recgan", "demo", "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=2400)
    elapsed = time.perf_counter() - t0
    print(f"\nrecgan demo: {elapsed:.1f} s elapsed (target: under 180 s on an idle 2-core machine)")
    assert r.returncode == 0, r.stderr[-3000:]
    text = r.stdout.lower()
    for word in ("recommend", "augment", "synth", "privacy", "recgan serve"):
        assert word in text, word
    assert (out / "report.html").stat().st_size > 10_000
    pngs = list(out.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert (out / "models" / "cfgan" / "config.json").exists()
    assert (out / "summary.json").exists()
    assert list(tmp_path.iterdir()) == [out] and ".tmp" not in r.stdout  # built aside, swapped in, paths final
