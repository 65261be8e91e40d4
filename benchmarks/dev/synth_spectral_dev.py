"""Development runs behind the spectral start's settings (docs/privacy.md, "Spectral start"), on the
development split of a data set's training users (benchmarks/synth.py's user split, then a second one inside
train; the benchmark's holdout is never touched).

Utility mode (default): fit the GAN with the given parameters on 80 % of the training users, sample as many
users, print the EASE utility ratio on the other 20 % and the DCR p (1,500 synthetic vs the development users,
target behaviour) at each temperature:

    python benchmarks/dev/synth_spectral_dev.py --params '{"epochs": 0, "spectral_scale": 3}'
    python benchmarks/dev/synth_spectral_dev.py --params '{"epochs": 10}'
    python benchmarks/dev/synth_spectral_dev.py --params '{"epochs": 20, "lr_g": 2e-4}'
    python benchmarks/dev/synth_spectral_dev.py --params '{"epochs": 0, "dp_epsilon": 10, "dp_spectral_sigma": 0.7}'

DCR mode (``--dcr-only``, for Tmall where EASE on 11,953 items is slow): 3,000 synthetic users, DCR p over all
behaviours, the share of exact matches; ``"independent"`` in the list runs the independent sampler:

    python benchmarks/dev/synth_spectral_dev.py --dataset tmall --dcr-only --params-list '["independent", {"epochs": 0}, {"epochs": 0, "spectral_scale": 1.0}, {"epochs": 0, "spectral_scale": 0.01}]'
"""

from __future__ import annotations

import argparse
import json
import time

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` and `harness` modules)
import torch
from synth import load, user_split

from recgan.reports import privacy as P
from recgan.reports.utility import tstr
from recgan.synth import BehaviourSynthesizer, IndependentSampler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-1m", choices=["ml-100k", "ml-1m", "tmall"])
    ap.add_argument("--params", default="{}", help="JSON: GAN parameters (utility mode)")
    ap.add_argument("--temperatures", default="1")
    ap.add_argument("--dcr-only", action="store_true")
    ap.add_argument("--params-list", default='["independent", {"epochs": 0}]', help="JSON list (DCR mode)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _holdout = user_split(load(args.dataset), 0)
    fit, dev = user_split(train, 100)
    if args.dcr_only:
        beh = list(fit.behaviours)
        ref = P.profiles([fit.binary(b) for b in beh])
        dev_dcr = 1.0 - P.nearest_jaccard(P.profiles([dev.binary(b) for b in beh]), ref)[:, 0]
        for params in json.loads(args.params_list):
            t = time.perf_counter()
            s = (IndependentSampler(seed=0) if params == "independent" else BehaviourSynthesizer(seed=0, **params)).fit(fit)
            syn = s.sample_interactions(3000, seed=0)
            dcr = 1.0 - P.nearest_jaccard(P.profiles([syn.binary(b) for b in beh]), ref)[:, 0]
            print(f"{params}: {time.perf_counter() - t:.0f} s, DCR p {P.dcr_p(dcr, dev_dcr):.3f}, exact-match share "
                  f"{(dcr == 0).mean():.3f} (development users {(dev_dcr == 0).mean():.3f})", flush=True)
        return
    params = json.loads(args.params)
    t = time.perf_counter()
    s = BehaviourSynthesizer(seed=0, **params).fit(fit)
    print(f"{params}: fit {time.perf_counter() - t:.1f} s, start {s.info.get('spectral')}, "
          f"epsilon {s.privacy.get('epsilon')}", flush=True)
    ref = P.profiles([fit.binary(fit.target)])
    dev_dcr = 1.0 - P.nearest_jaccard(P.profiles([dev.binary(dev.target)]), ref)[:, 0]
    for temp in (float(x) for x in args.temperatures.split(",")):
        s.config.temperature = temp
        syn = s.sample_interactions(fit.n_users, seed=0)
        u = tstr(fit, dev, {"syn": syn}, {"ease": {"l2": 500.0}})
        dcr = 1.0 - P.nearest_jaccard(P.profiles([syn.binary(syn.target)[:1500]]), ref)[:, 0]
        print(f"  T {temp:g}: EASE utility {u['ease']['syn_ratio']:.3f}, DCR p {P.dcr_p(dcr, dev_dcr):.3f}", flush=True)


if __name__ == "__main__":
    main()
