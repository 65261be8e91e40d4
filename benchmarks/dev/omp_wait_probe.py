"""How torch's CPU threads behave on a machine whose cores other processes use: seconds per epoch of the
behaviour GAN (``recgan synth fit``'s default generator) on the README's generated shop data, with

* one thread (``OMP_NUM_THREADS=1``),
* torch's default thread count (one per core) with ``OMP_WAIT_POLICY`` unset (libgomp's default: spin a while,
  then sleep),
* torch's default thread count with OpenMP threads that spin while they wait (``OMP_WAIT_POLICY=ACTIVE``,
  close to libgomp's own default),
* the default thread count with waiting threads asleep (``OMP_WAIT_POLICY=PASSIVE``, what ``recgan`` sets
  unless the user set it).

Each setting runs in its own process (the policy is read when torch loads), ``--repeat`` times, interleaved.

    python benchmarks/dev/omp_wait_probe.py --epochs 3 --repeat 1

Finding recorded in src/recgan/cli/main.py (the OMP_WAIT_POLICY default) and README.md ("busy machine").
Measured 2026-12-02 on the 2-core development machine shared with other jobs (load average 9.9 / 9.3),
``--epochs 3 --repeat 1``: 1 thread 1.06 s per epoch; default threads with the policy unset 23.31 s, ACTIVE
10.46 s, PASSIVE 1.54 s. Not measured on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import sys, time
from recgan.core.trainer import TrainingOptions
from recgan.data.interactions import Interactions
from recgan.data.simulate import simulate
from recgan.synth import make_synthesizer
data = Interactions.from_frame(simulate(1200, 600, 96000, seed=0), target="buy")
g = make_synthesizer("gan", seed=0, epochs=int(sys.argv[1]), temperature=1.0)
g.fit(data, TrainingOptions(progress=False))
print(sorted(h["seconds"] for h in g.history)[len(g.history) // 2], flush=True)
"""

SETTINGS = {
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "default threads, OMP_WAIT_POLICY unset (libgomp's default)": {},
    "default threads, spinning (ACTIVE)": {"OMP_WAIT_POLICY": "ACTIVE"},
    "default threads, asleep (PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="adversarial epochs per fit (default 3)")
    ap.add_argument("--repeat", type=int, default=1, help="fits per setting (default 1)")
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, env in SETTINGS.items():
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.epochs)], env={**base, **env},
                                 capture_output=True, text=True, check=True)
            runs.setdefault(name, []).append(float(out.stdout.split()[-1]))
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f}; seconds per adversarial epoch "
          f"(median epoch of a {args.epochs}-epoch fit; median over {args.repeat} fits)")
    print("| setting | s per epoch |\n|---|---|")
    for name in SETTINGS:
        per = sorted(runs[name])
        print(f"| {name} | {per[len(per) // 2]:.2f} |")


if __name__ == "__main__":
    main()
