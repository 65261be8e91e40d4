"""Development runs for utility under user-level DP (docs/privacy.md, "The DP control" and the DP research
notes), on the development split of a data set's training users (benchmarks/synth.py's user split, then a
second one inside train; the benchmark's holdout is never read). Each entry of the JSON list is a generator
name and its parameters; prints the EASE utility ratio on the development users (fit on 80 % of train, as
many synthetic users) and the epsilon spent:

    python benchmarks/dev/synth_dp_dev.py --dataset ml-1m --runs '[["gan", {"epochs": 0, "dp_epsilon": 3}]]'
    python benchmarks/dev/synth_dp_dev.py --runs '[["randomised-response", {"dp_epsilon": 3, "max_items": 16}]]'
"""

from __future__ import annotations

import argparse
import json
import time

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` module)
import torch
from synth import load, user_split

from recgan.reports.utility import tstr
from recgan.synth import make_synthesizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-1m", choices=["ml-100k", "ml-1m"])
    ap.add_argument("--runs", required=True, help='JSON list of [generator, {params}]')
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _holdout = user_split(load(args.dataset), 0)
    fit, dev = user_split(train, 100)
    for kind, params in json.loads(args.runs):
        t = time.perf_counter()
        s = make_synthesizer(kind, seed=0, **params).fit(fit)
        syn = s.sample_interactions(fit.n_users, seed=0)
        u = tstr(fit, dev, {"syn": syn}, {"ease": {"l2": 500.0}})
        print(f"{kind} {json.dumps(params)}: EASE utility {u['ease']['syn_ratio']:.3f}, epsilon "
              f"{s.privacy.get('epsilon')}, {time.perf_counter() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
