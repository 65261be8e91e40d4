"""How faithfully ``recgan train --model ease --tune`` ranks the l2 grid on big catalogues: validation NDCG@20
over EASE's grid on a validation carve of train (PROTOCOL.md: 20 % per user, seed 12345), exact EASE beside
the approximate solver's shared-Gram grid (:func:`recgan.models.ease.ease_weights_approx_grid`, the path
``--tune`` takes above 15,000 items) at several neighbourhood sizes. Test is never read. Prints one JSON line
per solver and appends them to OUT (a JSON list), which benchmarks/gowalla_accept.py renders:

    python benchmarks/ease_tune_curves.py --train ../shared/benchmarks/splits/ml-1m-p1/train.tsv --exact \\
        --neighbours 256,512,1024
    python benchmarks/ease_tune_curves.py --train ../shared/benchmarks/splits/gowalla/train.tsv --neighbours 2048
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from recgan.core.validation import validation_scores
from recgan.data.loaders import load_interactions
from recgan.data.splits import validation_carve
from recgan.models.ease import EASE, ease_weights, ease_weights_approx_grid

OUT = Path(__file__).resolve().parent / "results" / "91-gowalla-tuning.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--exact", action="store_true", help="also fit exact EASE at every grid point")
    ap.add_argument("--neighbours", default="2048", help="comma list of approximate-solver neighbourhoods")
    ap.add_argument("--keep", type=int, default=1024)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    l2s = list(EASE.tune_grid["l2"])
    carve = validation_carve(load_interactions(args.train), 0.2, 12345)
    name = Path(args.train).parent.name

    def ndcg(W, l2: float) -> float:
        m = EASE(l2=l2)
        m.data_, m.W_ = carve.train, W
        return round(validation_scores(m, carve.test, 20)["ndcg@20"], 5)

    rows = []
    fits = [("exact", None)] if args.exact else []
    fits += [(f"approx neighbours={c} keep={args.keep}", int(c)) for c in args.neighbours.split(",") if c]
    for solver, c in fits:
        t, cpu = time.perf_counter(), time.process_time()
        if c is None:
            curve = [ndcg(ease_weights(carve.train.X, l2), l2) for l2 in l2s]
        else:
            Ws = ease_weights_approx_grid(carve.train.X, l2s, neighbours=c, keep=args.keep)
            curve = [ndcg(Ws.pop(0), l2) for l2 in l2s]
        row = {"data": name, "items": carve.train.n_items, "solver": solver, "l2": l2s, "valid_ndcg@20": curve,
               "best_l2": l2s[int(np.argmax(curve))], "wall_s": round(time.perf_counter() - t, 1),
               "cpu_s": round(time.process_time() - cpu, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(old + rows, indent=1))


if __name__ == "__main__":
    main()
