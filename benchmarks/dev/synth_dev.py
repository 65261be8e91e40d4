"""Synthesizer development on the training users only (docs/privacy.md, "VAE warm start"): fit a generator on
80 % of a data set's training users (the same seeded user split as benchmarks/synth.py, then a second one
inside train) and print the EASE utility ratio on the other 20 % at several sampling temperatures.

    python benchmarks/dev/synth_dev.py --dataset ml-1m --generator vae --epochs 60
    python benchmarks/dev/synth_dev.py --dataset ml-1m --generator gan --epochs 10 --params '{"pretrain_epochs": 60, "lr_g": 1e-4}'
    python benchmarks/dev/synth_dev.py --dataset ml-1m --generator gan --epochs 10 --params '{"pretrain_epochs": 60, "lr_g": 2e-5}'

With --choose-temperature it instead runs `recgan synth fit`'s temperature choice
(recgan.reports.synth_calibration.choose_temperature: fit on 80 % of the training users, DCR p, canaries and
EASE utility on the other 20 %) and prints its table, e.g. to compare generator widths at equal privacy:

    python benchmarks/dev/synth_dev.py --dataset ml-1m --generator gan --choose-temperature --params '{"hidden": 256, "emb": 64, "z_dim": 64}'
    python benchmarks/dev/synth_dev.py --dataset ml-1m --generator gan --choose-temperature --params '{"hidden": 512, "emb": 128, "z_dim": 128}'
"""

from __future__ import annotations

import argparse
import json
import time

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` and `harness` modules)
import torch
from synth import load, user_split

from recgan.reports.synth_calibration import choose_temperature
from recgan.reports.utility import tstr
from recgan.synth import BehaviourSynthesizer, VAESynthesizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-100k", choices=["ml-100k", "ml-1m"])
    ap.add_argument("--generator", default="gan", choices=["gan", "vae"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--params", default="{}", help="JSON: further generator parameters")
    ap.add_argument("--temperatures", default="1,0.8,0.6,0.4,0.25")
    ap.add_argument("--choose-temperature", action="store_true",
                    help="print synth fit's temperature-choice table on the training users instead")
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _holdout = user_split(load(args.dataset), 0)  # the benchmark's holdout is not touched
    cls = BehaviourSynthesizer if args.generator == "gan" else VAESynthesizer
    if args.choose_temperature:
        t = time.perf_counter()
        chosen, table = choose_temperature(lambda: cls(seed=0, **json.loads(args.params)), train, seed=0)
        print(f"{args.generator} {args.params}: {time.perf_counter() - t:.0f} s -> temperature {chosen}")
        for row in table:
            print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        return
    fit_part, dev = user_split(train, 100)
    t = time.perf_counter()
    s = cls(seed=0, epochs=args.epochs, **json.loads(args.params)).fit(fit_part)
    print(f"{args.generator} {args.params}: fit {time.perf_counter() - t:.1f} s", flush=True)
    for temp in (float(x) for x in args.temperatures.split(",")):
        s.config.temperature = temp
        syn = s.sample_interactions(fit_part.n_users, seed=0)
        u = tstr(fit_part, dev, {"syn": syn}, {"ease": {"l2": 500.0}})
        print(f"  temperature {temp:g}: EASE utility {u['ease']['syn_ratio']:.3f}", flush=True)


if __name__ == "__main__":
    main()
