"""Run one command under ``/usr/bin/time -v`` and read back what every scale benchmark reports: exit code, wall
seconds, CPU seconds (user + system) and peak resident memory. One definition for benchmarks/scale.py,
benchmarks/synth_scale.py and benchmarks/gowalla.py."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any


def timed(cmd: list[str], log: Path, *, text: bool = False) -> dict[str, Any]:
    """Run ``cmd`` (its stdout and stderr to ``log``) under ``/usr/bin/time -v``.

    Returns ``rc``, ``wall_s`` (seconds), ``cpu_s`` (user + system seconds of the process and its children),
    ``peak_rss_gb`` (GiB; None when time printed none) and ``cmd`` (the command as a shell line, a path to
    the ``recgan`` script shown as ``recgan``); with ``text=True`` also ``text``, the whole log."""
    print("$", shlex.join(cmd), flush=True)
    t = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=fh, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t
    out = Path(log).read_text()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out)
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", out)]
    shown = ["recgan", *cmd[1:]] if Path(cmd[0]).name == "recgan" else cmd
    r: dict[str, Any] = {"rc": rc, "wall_s": round(wall, 1), "cpu_s": round(sum(cpu), 1),
                         "peak_rss_gb": round(int(rss.group(1)) / 1024**2, 2) if rss else None,
                         "cmd": shlex.join(shown)}
    if text:
        r["text"] = out
    return r
