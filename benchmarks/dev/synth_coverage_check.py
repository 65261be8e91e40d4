"""The synthesizer's collapse and coverage alarms on a healthy and on a long-tail-losing fit.

    python benchmarks/dev/synth_coverage_check.py --dataset ml-100k-p1            # default GAN settings
    python benchmarks/dev/synth_coverage_check.py --dataset tmall --epochs 1      # buy + cart + collect

Prints the alarms and figures that `recgan synth fit` stores in the generator folder's synth.json
(docs/privacy.md, "GAN stabilisers").
"""

from __future__ import annotations

import argparse
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=["ml-100k-p1", "tmall"], default="ml-100k-p1")
    ap.add_argument("--epochs", type=int, default=None, help="adversarial epochs (default: the GAN's)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from recgan.synth import make_synthesizer

    if args.dataset == "tmall":
        from recgan.data.loaders import load_multi_behaviour

        t = SHARED / "datasets" / "tmall-mbgcn"
        data = load_multi_behaviour({"buy": t / "buy.txt", "cart": t / "cart.txt", "collect": t / "collect.txt"},
                                    target="buy")
    else:
        from recgan.data.splits import load_split

        data = load_split(SHARED / "benchmarks" / "splits" / args.dataset).train
    params = {"seed": args.seed, **({"epochs": args.epochs} if args.epochs is not None else {})}
    m = make_synthesizer("gan", **params).fit(data)
    keys = ("collapse_alarm", "distinct_lists", "coverage_alarm", "coverage_ratio", "item_coverage")
    print(args.dataset, {k: m.info[k] for k in keys})


if __name__ == "__main__":
    main()
