"""BPR-MF vs APR vs IRGAN (vs EASE, and Mult-VAE for reference) per PROTOCOL.md; writes
benchmarks/results/30-bpr-apr-irgan.md.

Parts (each run caches its raw figures in benchmarks/results/30-bpr-apr-irgan.json and the per-user values
behind its Wilcoxon tests in 30-bpr-apr-irgan.per_user.npz, and the section is
re-rendered from every cached part, so parts can be run separately):

* ``ml100k``: the ready ml-100k-p2 split (ratings >= 4);
* ``ml1m``: ML-1M ratings >= 4, a seeded per-user 80/20 split (RandomHoldout(0.2, seed=0));
* ``irgan``: the IRGAN authors' ML-100K split, ratings >= 4 positive, P@3/5/10 and NDCG@3/5/10.

Every model is fitted by ``recgan.training.fitting.fit_model`` exactly as ``recgan train`` does (validation
carve of train for early stopping, refit on all of train; EASE tuned on the carve); test is read once.

    nice -n 10 python benchmarks/adversarial_rankers.py --part ml100k --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from harness.stats import fmt_mean_std, seed_averaged_test

import recgan  # noqa: F401  (installs the training driver)
from recgan.core.trainer import TrainingOptions
from recgan.data.loaders import load_interactions
from recgan.data.splits import RandomHoldout, load_heldout
from recgan.evaluation.evaluator import evaluate
from recgan.io import load_npz, write_npz, write_text
from recgan.training.fitting import fit_model

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
CACHE = HERE / "results" / "30-bpr-apr-irgan.json"
PER_USER = HERE / "results" / "30-bpr-apr-irgan.per_user.npz"  # seed-averaged per-user metric, for the tests
OUT = HERE / "results" / "30-bpr-apr-irgan.md"

# label -> (registry name, parameters beyond the seed, tuned on the validation carve?)
MODELS = {
    "EASE": ("ease", {}, True),
    "BPR-MF": ("bpr", {}, False),
    "APR": ("apr", {}, False),
    "IRGAN (pretrained G, D)": ("irgan", {}, False),
    "IRGAN (no pretraining)": ("irgan", {"g_pretrain_epochs": 0, "d_pretrain_epochs": 0, "lr": 1e-2}, False),
    "Mult-VAE": ("multvae", {}, False),
}
IRGAN_PART = ["EASE", "BPR-MF", "IRGAN (pretrained G, D)", "IRGAN (no pretraining)"]
METRIC = {"ml100k": "ndcg@20", "ml1m": "ndcg@20", "irgan": "ndcg@10"}
IRGAN_PUBLISHED = {  # IRGAN paper (SIGIR 2017), MovieLens item recommendation: as recalled, unverified
    "precision@3": 0.3750, "precision@5": 0.3555, "precision@10": 0.3311,
    "ndcg@3": 0.3916, "ndcg@5": 0.3769, "ndcg@10": 0.3520,
}


def load_part(part: str):
    if part == "ml100k":
        d = SHARED / "benchmarks" / "splits" / "ml-100k-p2"
        train = load_interactions(d / "train.tsv")
        return train, load_heldout(d / "test.tsv", train)
    if part == "ml1m":
        data = load_interactions(SHARED / "datasets" / "ml-1m" / "ratings_user_item_rating.csv", rating_threshold=4)
        split = RandomHoldout(0.2, seed=0).split(data)
        return split.train, split.test
    if part == "irgan":
        d = SHARED / "datasets" / "irgan-original-split"
        cols = ["user", "item", "rating"]
        train = load_interactions(d / "movielens-100k-train.txt", rating_threshold=4, columns=cols, sep="\t")
        test = load_interactions(d / "movielens-100k-test.txt", rating_threshold=4, columns=cols, sep="\t",
                                 users=train.users, items=train.items)
        return train, test
    raise SystemExit(f"unknown part {part!r}")


def run_model(part: str, train, test, label: str, seeds: list[int]) -> tuple[list[dict], dict]:
    """Fit ``label`` once per seed (EASE once); returns the runs and the seed-averaged per-user metric."""
    ks = (3, 5, 10) if part == "irgan" else (5, 10, 20)
    metric = METRIC[part]
    name, params, tune = MODELS[label]
    runs, reps = [], []
    for seed in ([0] if name == "ease" else seeds):
        t0 = time.perf_counter()
        res = fit_model(name, train, {**params, "seed": seed}, tune=tune, options=TrainingOptions(**{"progress": False}),
                        log=lambda m: None)
        secs = time.perf_counter() - t0
        rep = evaluate(res.model, test, ks)
        hist = getattr(res.model, "history", [])
        finite = all(np.isfinite(v) for r in hist for v in r.values() if isinstance(v, float))
        runs.append({"seed": seed, "seconds": round(secs, 1), "epochs": res.params.get("epochs"),
                     "finite": bool(finite), "params": {k: v for k, v in res.params.items() if k != "seed"},
                     "metrics": {k: float(v) for k, v in rep.metrics.items()}})
        reps.append(rep)
        print(f"{part} {label} seed {seed}: {metric} {rep[metric]:.4f} ({secs:.0f}s)", flush=True)
    per_user = {"users": [str(u) for u in reps[0].users],
                "values": np.mean([r.per_user[metric] for r in reps], axis=0).tolist()}
    return runs, per_user


def load_cache() -> dict:
    """The JSON cache (figures per run) with each part's per-user values put back from the npz beside it."""
    if not CACHE.exists():
        return {}
    cache = json.loads(CACHE.read_text())
    arrays = load_npz(PER_USER) if PER_USER.exists() else {}
    for part, c in cache.items():
        users = arrays.get(f"{part}|users")
        c["per_user"] = {} if users is None else {
            k.split("|", 1)[1]: {"users": users.tolist(), "values": v.tolist()}
            for k, v in arrays.items() if k.startswith(f"{part}|") and k != f"{part}|users"}
    return cache


def save_cache(cache: dict) -> None:
    """Figures to the JSON, per-user values (float64, one user list per part) to the npz; both atomic."""
    arrays, slim = {}, {}
    for part, c in cache.items():
        slim[part] = {k: v for k, v in c.items() if k != "per_user"}
        for label, pu in c.get("per_user", {}).items():
            users = np.asarray(pu["users"], dtype=str)
            if f"{part}|users" in arrays and not np.array_equal(arrays[f"{part}|users"], users):
                raise SystemExit(f"{part}: {label} was evaluated on other users than the part's other models")
            arrays[f"{part}|users"] = users
            arrays[f"{part}|{label}"] = np.asarray(pu["values"], dtype=np.float64)
    write_npz(PER_USER, **arrays)
    write_text(CACHE, json.dumps(slim, indent=1, default=float))


def wilcoxon_vs_ease(c: dict, label: str) -> dict | None:
    pu = c["per_user"]
    if "EASE" not in pu or label == "EASE" or label not in pu:
        return None

    a, b = pu[label], pu["EASE"]  # each already averaged over its seeds: one "seed" per side here
    return seed_averaged_test([a["values"]], a["users"], [b["values"]], b["users"])


def _ms(runs: list[dict], key: str) -> str:
    return fmt_mean_std([r["metrics"][key] for r in runs])


def render(cache: dict) -> str:
    out = ["## BPR-MF, APR, IRGAN vs EASE (issue 6)\n",
           "Machine: 2-core CPU shared with other jobs (wall-clock seconds are indicative), "
           "`torch.set_num_threads(1)`. Every model fitted as `recgan train` does (validation carve of train "
           "for early stopping, refit on all of train for the chosen epochs; EASE's lambda tuned on the carve). "
           "Stochastic models: mean ± std over the seeds listed; p = paired Wilcoxon over users of the "
           "seed-averaged per-user metric against EASE (`recgan.evaluation.paired_test`).\n"]
    titles = {"ml100k": "ml-100k-p2 (ratings >= 4, the ready split)",
              "ml1m": "ML-1M, ratings >= 4, per-user 80/20 RandomHoldout(seed=0)",
              "irgan": "IRGAN authors' ML-100K split (ratings >= 4 positive; train positives excluded)"}
    for part in ("ml100k", "ml1m", "irgan"):
        if part not in cache:
            continue
        c = cache[part]
        ks, metric = c["ks"], METRIC[part]
        d = c["data"]
        out.append(f"### {titles[part]}\n")
        missing = [m for m in MODELS if m not in c["rows"] and (part != "irgan" or m in IRGAN_PART)]
        if missing:
            out.append(f"Not run here (CPU time on the shared 2-core machine ran out): {', '.join(missing)}. "
                       "Model defaults are tuned for ml-100k-p2, not for this data.\n" if part == "ml1m" else
                       f"Not run here (CPU time on the shared 2-core machine ran out): {', '.join(missing)}.\n")
        out.append(f"Command: `nice -n 10 python benchmarks/adversarial_rankers.py --part {part} "
                   f"[--models LABEL ...] --seeds SEED ...` (seeds per row below). Data: {d['users']} users, {d['items']} items, "
                   f"{d['train']} train / {d['test']} test positives. {c['machine']}.\n")
        cols = ([f"precision@{k}" for k in ks] + [f"ndcg@{k}" for k in ks]) if part == "irgan" else \
            ["precision@20", "recall@20", "ndcg@10", "ndcg@20"]
        out.append("| model | seeds | " + " | ".join(cols) + f" | p vs EASE ({metric}) | epochs | fit s | NaN-free |")
        out.append("|---|---|" + "---|" * len(cols) + "---|---|---|---|")
        for label, runs in c["rows"].items():
            t = wilcoxon_vs_ease(c, label)
            pv = "-" if t is None else (f"{t['p_value']:.2g}" if t["p_value"] > 0 else "<1e-300")
            p = pv if t is None else f"{pv} ({'+' if t['diff'] > 0 else ''}{t['diff']:.4f})"
            secs = np.mean([r["seconds"] for r in runs])
            eps = "/".join(str(r["epochs"]) for r in runs) if runs[0]["epochs"] is not None else "-"
            out.append(f"| {label} | {','.join(str(r['seed']) for r in runs)} | " + " | ".join(_ms(runs, k) for k in cols)
                       + f" | {p} | {eps} | {secs:.0f} | {'yes' if all(r['finite'] for r in runs) else 'NO'} |")
        if part == "irgan":
            out.append("| IRGAN as published (SIGIR 2017; as recalled, unverified; epochs picked on test) | - | "
                       + " | ".join(f"{IRGAN_PUBLISHED[k]:.4f}" for k in cols) + " | - | - | - | - |")
        out.append("")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", required=True, choices=["ml100k", "ml1m", "irgan"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", nargs="+", default=None, help=f"labels among {list(MODELS)}")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    labels = args.models or (list(MODELS) if args.part != "irgan" else IRGAN_PART)
    train, test = load_part(args.part)
    for label in labels:  # the section is rewritten after every model, so a long run reports what finished
        runs, per_user = run_model(args.part, train, test, label, args.seeds)
        cache = load_cache()
        c = cache.setdefault(args.part, {"rows": {}, "per_user": {}})
        c["rows"][label], c["per_user"][label] = runs, per_user
        c.update(ks=[3, 5, 10] if args.part == "irgan" else [5, 10, 20],
                 data={"users": train.n_users, "items": train.n_items, "train": train.nnz, "test": test.nnz},
                 machine=f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
        save_cache(cache)
        write_text(OUT, render(cache))
        print(f"wrote {OUT}", flush=True)


if __name__ == "__main__":
    main()
