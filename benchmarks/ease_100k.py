"""The approximate EASE solver at ~100,000 items: simulate a log, fit ``recgan train --model ease --param
solver=approx`` (the defaults' neighbours / keep unless given) under ``/usr/bin/time -v``, and write wall s,
CPU s, peak RSS and the solver's own memory estimate to benchmarks/results/91-ease-100k.json (read by
benchmarks/gowalla_accept.py into the Gowalla section):

    OMP_NUM_THREADS=1 python benchmarks/ease_100k.py [--work /tmp/g23] [--param neighbours=8192 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from harness.timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "91-ease-100k.json"
RECGAN = str(Path(sys.executable).with_name("recgan"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/g23")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="an EASE setting")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "sim100k.parquet"
    sim = [RECGAN, "data", "simulate", "--users", "100000", "--items", "112000", "--interactions", "4000000",
           "--seed", "0", "--out", str(log)]
    if not log.exists() and timed(sim, work / "simulate.log")["rc"]:
        raise SystemExit(f"simulate failed: {work / 'simulate.log'}")
    from recgan.models.ease import EASEConfig

    params = {**{k: v.default for k, v in EASEConfig.model_fields.items() if k in ("neighbours", "keep")},
              **dict(p.split("=", 1) for p in a.param)}
    started, load0 = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), os.getloadavg()[0]
    cmd = [RECGAN, "train", "--train", str(log), "--target", "view", "--model", "ease", "--param", "solver=approx",
           *[x for p in a.param for x in ("--param", p)], "--out", str(work / "m100k")]
    r = timed(cmd, work / "train.log", text=True)
    if r["rc"]:
        raise SystemExit(r["text"][-2000:])
    data = re.search(r"data: Interactions\(users=(\d+), items=(\d+).*?view=(\d+)", r["text"])
    res = {
        "commands": [" ".join(["recgan", *sim[1:]]), "/usr/bin/time -v " + r["cmd"]],
        "env": (f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}; 2-core box, load average "
                f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end ({started})"),
        "neighbours": int(params["neighbours"]), "keep": int(params["keep"]),
        "items": int(data.group(2)) if data else None, "users": int(data.group(1)) if data else None,
        "target_interactions": int(data.group(3)) if data else None,
        "solver_line": (re.findall(r"EASE solver: .*", r["text"]) or [""])[-1],
        "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_gb": r["peak_rss_gb"],
    }
    OUT.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
