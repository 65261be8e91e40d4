"""The private behaviour GAN's utility, measured the way a user would get it: through the command line.

On ml-1m: a user-level 80/20 split by `recgan data split --method user --fraction 0.2 --seed 0` (train = 80 % of
the users, the held-out users = foldin + test), then per epsilon and generator seed

    recgan synth fit --train S/train.tsv --dp-epsilon E --seed SEED --out G
    recgan synth sample --model G --n-users <train users> --seed 1 --out syn.tsv

with the generator's defaults under DP, and the EASE utility ratio as `synth report` and benchmarks/synth.py
compute it (:func:`recgan.reports.utility.tstr`: EASE l2 500 trained on the synthetic users vs on the real
training users, NDCG@10 on the held-out users' hidden 20 %, the same fold-in carve, seed 0). Writes one JSON per
(epsilon, seed) under benchmarks/results/synth_dp/ and the section benchmarks/results/42-synth-dp.md (then
``python benchmarks/collect.py``):

    OMP_NUM_THREADS=1 python benchmarks/synth_dp_check.py --epsilons 1 3 10 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recgan.data.loaders import load_interactions, read_frame
from recgan.reports.synth_report import align_frame
from recgan.reports.utility import tstr

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "datasets"
OUT_JSON = HERE / "results" / "synth_dp"
OUT_MD = HERE / "results" / "42-synth-dp.md"
TARGETS = {1.0: 0.55, 3.0: 0.70, 10.0: 0.85}
"""The issue's utility targets on ml-1m (EASE ratio) per epsilon."""


def _recgan(*args: str) -> str:
    """Run one recgan command (its stderr is the log); stop the benchmark if it fails."""
    cmd = [sys.executable, "-m", "recgan", *args]
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if res.returncode:
        raise SystemExit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr}")
    print(f"  {' '.join(args[:2])}: {time.perf_counter() - t:.0f} s; {res.stderr.strip().splitlines()[-1:]}",
          flush=True)
    return res.stderr


def run(args) -> list[dict]:
    work = Path(args.work)
    split = work / "split"
    if not (split / "train.tsv").is_file():
        _recgan("data", "split", str(args.ratings), "--method", "user", "--fraction", "0.2", "--seed", "0",
                "--out", str(split))
    train = load_interactions(split / "train.tsv")
    hold_df = read_frame(split / "foldin.tsv")
    import pandas as pd

    holdout = align_frame(pd.concat([hold_df, read_frame(split / "test.tsv")], ignore_index=True), train,
                          source="holdout")
    n = train.n_users
    OUT_JSON.mkdir(parents=True, exist_ok=True)
    rows = []
    for eps in args.epsilons:
        for seed in args.seeds:
            g, syn = work / f"G-eps{eps:g}-seed{seed}", work / f"syn-eps{eps:g}-seed{seed}.tsv"
            t0 = time.perf_counter()
            _recgan("synth", "fit", "--train", str(split / "train.tsv"), "--dp-epsilon", f"{eps:g}", "--seed",
                    str(seed), "--out", str(g), "--quiet")
            fit_s = time.perf_counter() - t0
            _recgan("synth", "sample", "--model", str(g), "--n-users", str(n), "--seed", "1", "--out", str(syn))
            meta = json.loads((g / "synth.json").read_text())
            synthetic = align_frame(read_frame(syn), train, source=str(syn))
            util = tstr(train, holdout, {"syn": synthetic}, {"ease": {"l2": 500.0}}, seed=0)["ease"]
            row = {"dataset": "ml-1m", "epsilon": eps, "seed": seed, "train_users": n,
                   "holdout_users": holdout.n_users, "synthetic_users": synthetic.n_users,
                   "ease_real": util["real"], "ease_syn": util["syn"], "utility_ease_ratio": util["syn_ratio"],
                   "target": TARGETS.get(float(eps)), "privacy": meta["privacy"],
                   "spectral": (meta.get("info") or {}).get("spectral"), "fit_seconds": round(fit_s, 1),
                   "host": platform.node()}
            (OUT_JSON / f"ml-1m-eps{eps:g}-seed{seed}.json").write_text(json.dumps(row, indent=1) + "\n")
            print(f"epsilon {eps:g} seed {seed}: EASE utility {row['utility_ease_ratio']:.3f}, epsilon spent "
                  f"{meta['privacy']['epsilon']}", flush=True)
            rows.append(row)
    return rows


def markdown(rows: list[dict], command: str) -> str:
    """The section: per epsilon the EASE ratio (each seed, mean), the target, the accounting."""
    out = ["## Private GAN through the command line (ml-1m, user-level DP)", "",
           f"Command: `{command}`", "",
           "A user-level 80/20 split by `recgan data split --method user --fraction 0.2 --seed 0`; per epsilon and "
           "seed `recgan synth fit --train S/train.tsv --dp-epsilon E --seed SEED` with the generator's defaults "
           "under DP (delta 1e-5; the spectral start is the whole private release: the off-diagonal co-occurrence of "
           "the 700 most popular items by the noised popularity prior, each profile normalised within them, no "
           "DP-SGD epoch), then `recgan synth sample --n-users <train users> --seed 1`. Utility: EASE (l2 500) "
           "trained on the synthetic users over EASE trained on the real training users, NDCG@10 on the held-out "
           "users' hidden items (`recgan.reports.utility.tstr`, as in `synth report`). Accounting: RDP (Opacus), "
           "each release a Gaussian mechanism of sensitivity 1 at sample rate 1.", "",
           "| epsilon | seed | EASE utility | target | epsilon spent | noise multipliers (activity, prior, co-occurrence) | fit s |",
           "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["epsilon"], r["seed"])):
        p = r["privacy"]
        sig = ", ".join(f"{x['noise_multiplier']:.3g}" for x in p.get("releases", []))
        out.append(f"| {r['epsilon']:g} | {r['seed']} | {r['utility_ease_ratio']:.3f} | >= {r['target']} | "
                   f"{p['epsilon']:.3f} | {sig} | {r['fit_seconds']:.0f} |")
    by_eps: dict[float, list[float]] = {}
    for r in rows:
        by_eps.setdefault(r["epsilon"], []).append(r["utility_ease_ratio"])
    r0 = rows[0] if rows else {}
    out += ["", f"{r0.get('train_users')} training users (as many synthetic users), {r0.get('holdout_users')} held-out "
            f"users; EASE on the real training users: NDCG@10 {r0.get('ease_real', float('nan')):.4f}. The activity "
            "histograms' noise is the multiplier times sqrt(behaviours) (their sensitivity). The recipe (items, "
            "normalisation, no diagonal, no DP-SGD epoch) was chosen on a development carve of the training users "
            "(benchmarks/dev/synth_dp_dev.py, docs/privacy.md); the held-out users here are the same 1,208 as "
            "benchmarks/synth.py's holdout (checked user by user), outside that carve, not read to choose anything. "
            f"Machine: {r0.get('host')} (2-core CPU, shared), one thread."]
    out += ["", "Mean over seeds: " + "; ".join(
        f"epsilon {e:g}: {np.mean(v):.3f} ({len(v)} seed{'s' if len(v) > 1 else ''}, target {TARGETS.get(float(e))}, "
        f"{'met' if np.mean(v) >= TARGETS.get(float(e), 0) else 'NOT met'})" for e, v in sorted(by_eps.items())) + "."]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ratings", default=str(SHARED / "ml-1m" / "ratings_user_item_rating.csv"))
    ap.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--work", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "recgan-synth-dp-check"),
                    help="scratch folder for the split, the generators and the synthetic files")
    ap.add_argument("--render-only", action="store_true", help="re-render the section from the JSON files")
    args = ap.parse_args()
    if not args.render_only:
        run(args)
    rows = [json.loads(f.read_text()) for f in sorted(OUT_JSON.glob("ml-1m-eps*-seed*.json"))]
    eps, seeds = sorted({r["epsilon"] for r in rows}), sorted({r["seed"] for r in rows})  # what the table holds
    command = ("OMP_NUM_THREADS=1 python benchmarks/synth_dp_check.py --epsilons "
               + " ".join(f"{e:g}" for e in eps) + " --seeds " + " ".join(map(str, seeds)))
    OUT_MD.write_text(markdown(rows, command))
    print(f"wrote {OUT_MD}")


if __name__ == "__main__":
    main()
