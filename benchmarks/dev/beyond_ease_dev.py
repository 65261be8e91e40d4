"""Issue 9 development: validation curves of candidate models against tuned EASE, on a validation carve of
train only (the test file is never read). Prints EASE's carve score at each l2 of the benchmark's grid, then
each variant's validation NDCG@20 per evaluation (epoch 0 = the untrained start where the model has one).

    OMP_NUM_THREADS=1 python benchmarks/dev/beyond_ease_dev.py --no-ease --pop-beta=-0.2,-0.1,-0.05,0.05,0.1
    OMP_NUM_THREADS=1 python benchmarks/dev/beyond_ease_dev.py --dataset ml-100k-p1 \
        --variants '{"cfgan_ease": ["cfgan", {"mode": "user", "init": "ease", "init_l2": 500}]}'

Writes one JSON per variant under --out (default /tmp/beyond_ease_dev) so runs can be compared later.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from recgan.core.trainer import TrainingOptions

SHARED = Path(os.environ.get("RECGAN_SHARED", Path(__file__).resolve().parents[3] / "shared"))
EASE_GRID = [50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0]


def edlae_weights(X, l2: float, p: float):
    """EDLAE's closed form (Steck 2020, full emphasis): EASE with the per-item ridge l2 + p/(1-p) (X^T X)_ii."""
    import numpy as np

    from recgan.models.ease import ease_weights

    gram_diag = np.asarray(X.multiply(X).sum(0), dtype=np.float64).ravel()
    return ease_weights(X, l2 + p / (1 - p) * gram_diag)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-100k-p1")
    ap.add_argument("--variants", default="{}", help='JSON {"label": ["model", {params}]}')
    ap.add_argument("--no-ease", action="store_true", help="skip EASE's l2 sweep")
    ap.add_argument("--edlae", default="", help="comma list of dropout rates p: also sweep EDLAE (Steck 2020, "
                    "EASE with the ridge l2 + p/(1-p) diag(X^T X)), a non-adversarial reference")
    ap.add_argument("--pop-beta", default="", help="comma list of beta: EASE (--l2) with each item's column "
                    "of B scaled by popularity^beta, the headroom of a popularity calibration of EASE's lists")
    ap.add_argument("--l2", type=float, default=500.0, help="EASE's l2 for --pop-beta")
    ap.add_argument("--out", default="/tmp/beyond_ease_dev")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    from recgan.core.validation import validation_scores
    from recgan.data.splits import load_split, validation_carve
    from recgan.models.base import get_model_class
    from recgan.models.ease import EASE

    split = load_split(SHARED / "benchmarks" / "splits" / args.dataset)
    carve = validation_carve(split.train)  # the seed and fraction fit_model uses
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_ease:
        for l2 in EASE_GRID:
            s = validation_scores(EASE(l2=l2).fit(carve.train), carve.test, 20)
            print(f"EASE l2 {l2:g}: valid ndcg@20 {s['ndcg@20']:.4f} recall@20 {s['recall@20']:.4f}", flush=True)
    betas = [float(x) for x in args.pop_beta.split(",") if x]
    if betas:
        import numpy as np

        m = EASE(l2=args.l2).fit(carve.train)
        W, pop = m.W_.copy(), np.asarray(carve.train.X.sum(0)).ravel() + 1.0
        top, _ = m.recommend(np.arange(carve.train.n_users), 20)
        print(f"EASE l2 {args.l2:g}: mean log popularity of its top-20 items {np.log(pop[top]).mean():.3f}, of the "
              f"held-out items {np.log(pop[carve.test.X.indices]).mean():.3f}")
        for beta in betas:
            m.W_ = (W * (pop ** beta)[None, :]).astype(np.float32)
            print(f"EASE l2 {args.l2:g} x popularity^{beta:g}: valid ndcg@20 "
                  f"{validation_scores(m, carve.test, 20)['ndcg@20']:.4f}", flush=True)
    for p in [float(x) for x in args.edlae.split(",") if x]:
        for l2 in EASE_GRID:
            m = EASE(l2=l2).fit(carve.train)
            m.W_ = edlae_weights(carve.train.X, l2, p)
            s = validation_scores(m, carve.test, 20)
            print(f"EDLAE p {p:g} l2 {l2:g}: valid ndcg@20 {s['ndcg@20']:.4f}", flush=True)
    for label, (name, params) in json.loads(args.variants).items():
        t0 = time.perf_counter()
        m = get_model_class(name)(**params)
        m.fit(carve.train, carve.test, options=TrainingOptions(**{"progress": False}))
        curve = [(0, m.info.get("start_val", {}).get("val_ndcg@20"))] + [
            (h.get("epoch"), h.get("val_ndcg@20")) for h in m.history if h.get("val_ndcg@20") is not None]
        best = m.info.get("training", {}).get("best_epoch")
        s = validation_scores(m, carve.test, 20)
        print(f"{label}: best epoch {best}, valid ndcg@20 {s['ndcg@20']:.4f} ({time.perf_counter() - t0:.0f} s); "
              "curve " + " ".join(f"{e}:{v:.4f}" for e, v in curve if v is not None), flush=True)
        (out / f"{args.dataset}__{label}.json").write_text(json.dumps(
            {"model": name, "params": params, "best_epoch": best, "valid": s, "curve": curve}, default=float))


if __name__ == "__main__":
    main()
