"""Densifier development on ml-100k-p1 at n5 without reading test (docs/augmentation.md, "third round").

Development target: each user's *dropped training* interactions (the train items the n5 scarcity setting
removed; never the test set). For each CFGAN variant (early-stopped on the carve, as in the grid) and the two
controls: the densifier's own NDCG@10 on that target, and EASE's (l2 from the carve) after densifying the n5
log at a few (m, W).

    python benchmarks/dev/augment_dev.py --seed 0 --variants '{"base": {}, "prior": {"output_prior": "popularity"}}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` and `harness` modules)
import torch
from harness.augment_grid import load_dataset

from recgan.augment.core import (
    _Excluding,
    carve,
    densify,
    fit_densifier,
    no_augmentation,
    scarcity,
    sparse_users,
    target_only,
    top_unseen,
)
from recgan.augment.pipeline import tune_ease
from recgan.core.validation import validation_scores
from recgan.models.base import get_model_class

SHARED = Path(__file__).resolve().parents[3] / "shared"
PAIRS = ((2, 0.5), (5, 0.5), (10, 0.2), (10, 0.5), (10, 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--setting", default="n5")
    ap.add_argument("--variants", default='{"base": {}}', help="JSON: name -> CFGAN parameter overrides")
    ap.add_argument("--curve", default="",
                    help="comma list of fixed epoch counts: each CFGAN variant is also fitted for exactly that many "
                         "epochs on the carve's train part (no early stopping; 0 = its start, untrained)")
    ap.add_argument("--others", default="{}",
                    help='JSON: name -> [model, params], non-GAN densifiers for a headroom check, e.g. '
                         '\'{"ease2000": ["ease", {"l2": 2000}], "rp3": ["rp3beta", {}]}\'')
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _test = load_dataset("ml-100k-p1", SHARED)  # the test set is loaded by the helper and not used
    real = scarcity(train, args.setting, args.seed)
    dev = target_only(train).X - real.X
    dev.eliminate_zeros()
    dev.data[:] = 1
    ctr, cva = carve(real, args.seed)
    l2, _ = tune_ease(ctr, cva)
    gens = {"pop": fit_densifier("pop", real), "itemknn": fit_densifier("itemknn", real)}
    for name, (model, params) in json.loads(args.others).items():
        gens[name] = fit_densifier(model, real, params=params)
    for name, params in json.loads(args.variants).items():
        gens[name] = fit_densifier("cfgan", ctr, args.seed, params=params, valid=cva)
        for e in [int(x) for x in args.curve.split(",") if x.strip()]:
            lr0 = {"lr": 0.0, "lr_d": 0.0, "reg_g": 0.0, "reg_d": 0.0} if e == 0 else {}
            gens[f"{name}@{e}"] = fit_densifier("cfgan", ctr, args.seed, params={**params, **lr0, "epochs": max(e, 1)})
    users = sparse_users(real, None)
    print(f"seed {args.seed}: EASE l2 {l2}; no augmentation "
          f"{_ease(l2, no_augmentation(real), dev):.4f}")
    for name, g in gens.items():
        row = {"own": round(validation_scores(_Excluding(g, real.X), dev, 10)["ndcg@10"], 4)}
        top = top_unseen(g, real.X, users, max(m for m, _ in PAIRS))
        for m, w in PAIRS:
            row[f"m={m},W={w}"] = round(_ease(l2, densify(real, g, m, w, _top=top), dev), 4)
        print(name, row, flush=True)


def _ease(l2: float, aug, dev) -> float:
    model = get_model_class("ease")(l2=l2).fit(aug.data)
    return validation_scores(_Excluding(model, aug.exclude()), dev, 10)["ndcg@10"]


if __name__ == "__main__":
    main()
