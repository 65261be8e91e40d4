"""Synthetic-user benchmark: the behaviour GAN beside the independent sampler and the VAE, with DP at several
epsilons, on ml-100k / ml-1m / Tmall with a seeded user-level 80/20 split. Writes one JSON per (dataset,
seed) into benchmarks/results/synth/ and the section benchmarks/results/40-synth.md (then run
``python benchmarks/collect.py``).

    python benchmarks/synth.py --dataset ml-100k --seeds 0 1 2 --dp 1 3 10
    python benchmarks/synth.py --dataset ml-1m --seeds 0 --gan-epochs 30 --vae-epochs 30
    python benchmarks/synth.py --markdown-only        # rebuild 40-synth.md from the JSON files

Every training set gets two kinds of canaries: 10 users of rare, unique item combinations (is any
reproduced? beside 10 decoys from the same rare items, never planted: the chance level) and, for the DP audit, 100 users of 5 fresh items each, planted with probability 1/2 (how well
the generator's item marginals tell planted from unplanted ones bounds epsilon from below).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from harness.stats import fmt_mean_std

from recgan.data.interactions import Interactions
from recgan.data.loaders import load_movielens, load_multi_behaviour
from recgan.reports.privacy import epsilon_lower_bound
from recgan.reports.synth_calibration import choose_temperature
from recgan.reports.synth_report import COPY, FRESH, align_frame, build_report, json_ready
from recgan.synth import BehaviourSynthesizer, IndependentSampler, VAESynthesizer
from recgan.synth.canaries import plant_canaries

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "datasets"
OUT_JSON = HERE / "results" / "synth"
OUT_MD = HERE / "results" / "40-synth.md"


def load(name: str) -> Interactions:
    if name == "ml-100k":
        return load_movielens(SHARED / "ml-100k" / "u.data")
    if name == "ml-1m":
        return load_movielens(SHARED / "ml-1m" / "ratings_user_item_rating.csv")
    if name == "tmall":
        d = SHARED / "tmall-mbgcn"
        return load_multi_behaviour({"buy": d / "buy.txt", "collect": d / "collect.txt", "cart": d / "cart.txt"},
                                    target="buy")
    raise SystemExit(f"unknown dataset {name}")


def user_split(data: Interactions, seed: int, fraction: float = 0.2) -> tuple[Interactions, Interactions]:
    """Seeded user-level split: whole users to the holdout."""
    perm = np.random.default_rng(seed).permutation(data.n_users)
    n = int(round(fraction * data.n_users))
    return data.select_users(np.sort(perm[n:])), data.select_users(np.sort(perm[:n]))


def _with_temperature(synth, t: float):
    synth.config = synth.config.replace(temperature=t)
    return synth


def run(dataset: str, seed: int, args) -> dict:
    torch.set_num_threads(args.threads)
    data = load(dataset)
    train, holdout = user_split(data, seed)
    train_ref, rare = plant_canaries(train, n=10, size=8, seed=seed, decoys=10)
    train_fit, audit = plant_canaries(train_ref, n=100, size=5, seed=seed + 1000, fresh_items=True, plant_fraction=0.5)
    n = train.n_users
    auto = args.temperature == "auto"
    temp = {} if args.temperature is None or auto else {"temperature": float(args.temperature)}
    gens = {
        "gan": lambda: BehaviourSynthesizer(seed=seed, epochs=args.gan_epochs, **temp),
        "vae": lambda: VAESynthesizer(seed=seed, epochs=args.vae_epochs, **temp),
        "independent": lambda: IndependentSampler(seed=seed),
    }
    if args.ablate:  # what the adversarial stage adds: the same generator released right after its start
        gens["gan-no-adv"] = lambda: BehaviourSynthesizer(seed=seed, epochs=0, **temp)
    if args.gan_scratch:  # the ablation of the warm start: the adversarial GAN alone, from scratch
        gens["gan-scratch"] = lambda: BehaviourSynthesizer(seed=seed, init="none", epochs=args.dp_epochs, **temp)
    if seed in args.dp_seeds:
        for eps in args.dp:
            gens[f"gan-dp-eps{eps:g}"] = (lambda e: lambda: BehaviourSynthesizer(seed=seed, epochs=args.dp_epochs, **temp,
                                                                                  dp_epsilon=e))(eps)
            if args.ablate:
                gens[f"gan-dp-eps{eps:g}-no-adv"] = (lambda e: lambda: BehaviourSynthesizer(
                    seed=seed, epochs=0, **temp, dp_epsilon=e))(eps)
    sets, runs, fitted = {}, {}, {}
    for name, make in gens.items():
        t0 = time.perf_counter()
        calibration = None
        if auto and name in ("gan", "vae", "gan-scratch", "gan-no-adv"):  # never the DP runs: that would read real users
            chosen, table = choose_temperature(make, train_fit, seed=seed)
            calibration = {"chosen": chosen, "table": table}
            print(f"{dataset} seed {seed} {name}: temperature {chosen} from {table}", flush=True)
            make = (lambda mk, t: lambda: _with_temperature(mk(), t))(make, chosen)
        cal_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = make().fit(train_fit)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = s.sample(n, seed=seed)
        sample_s = time.perf_counter() - t0
        sets[name], fitted[name] = align_frame(df, train_ref), s
        marg = s.item_marginals(2048, seed=seed)[s.behaviours.index(train.target)]
        audit_cols = audit.items
        lb = epsilon_lower_bound(np.log(marg[audit_cols]).sum(1), audit.planted, s.privacy.get("delta", 1e-5))
        runs[name] = {"fit_seconds": fit_s, "users_per_second": n / max(sample_s, 1e-9), "privacy": s.privacy,
                      "audit": lb, "collapse_alarm": s.info.get("collapse_alarm"),
                      "epochs": s.info.get("epochs", getattr(s.config, "epochs", None)),
                      "pretrain_epochs": s.info.get("pretrain_epochs", 0), "init": s.info.get("init"),
                      "spectral": s.info.get("spectral"),
                      "temperature": getattr(s.config, "temperature", 1.0),
                      "dp_planning_seconds": s.info.get("dp_planning_seconds", 0.0),
                      "temperature_calibration": calibration, "calibration_seconds": cal_s}
        print(f"{dataset} seed {seed} {name}: fit {fit_s:.1f}s, eps_lb {lb['epsilon_lb']:.2f}, "
              f"privacy {s.privacy.get('epsilon', 'inf')}", flush=True)
    rep = build_report(train_ref, holdout, sets, seed=seed, canaries=rare.matrix(train_ref.n_items),
                       decoys=rare.decoy_matrix(train_ref.n_items),
                       privacy={k: v["privacy"] for k, v in runs.items() if v["privacy"].get("dp")},
                       generators=fitted, n_shadows=args.shadows)  # shadows of each set's kind
    out = {"dataset": dataset + (f" ({args.tag})" if args.tag else ""), "seed": seed, "gan_epochs": args.gan_epochs, "vae_epochs": args.vae_epochs,
           "dp_epochs": args.dp_epochs, "temperature": args.temperature, "gan_scratch": args.gan_scratch,
           "ablate": args.ablate,
           "threads": args.threads, "machine": platform.machine(), "runs": runs, "report": json_ready(rep)}
    OUT_JSON.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    (OUT_JSON / f"{dataset}-seed{seed}{tag}.json").write_text(json.dumps(out, indent=1, default=float))
    return out


KEYS = [("utility_ease_ratio", "utility EASE"), ("utility_itemknn_ratio", "utility ItemKNN"),
        ("popularity_spearman", "pop. Spearman"), ("popularity_similarity", "pop. 1-TVD"),
        ("longtail_coverage", "long-tail cov."), ("activity_ks_similarity", "activity 1-KS"),
        ("cooccurrence_correlation", "co-occ. corr."), ("cooccurrence_lift_correlation", "co-occ. lift corr."),
        ("detection_auc", "detection AUC"), ("exact_copy_rate", "exact copies"), ("dcr_p", "DCR p"),
        ("mia_auc", "MIA AUC (max)"), ("lira_auc", "membership AUC (shadow LiRA)"),
        ("lira_tpr_at_1pct_fpr", "membership TPR at 1 % FPR"), ("attribute_advantage", "attribute advantage"),
        ("canaries_reproduced", "canaries reproduced (of 10)"),
        ("decoys_reproduced", "decoys reproduced (of 10; chance level)")]


def _ms(vals: list[float | None]) -> str:
    return fmt_mean_std(vals, 3, empty="–")


def markdown() -> str:
    files = sorted(OUT_JSON.glob("*.json"))
    by_ds: dict[str, list[dict]] = {}
    for f in files:
        r = json.loads(f.read_text())
        by_ds.setdefault(r["dataset"], []).append(r)
    lines = ["## Synthetic users: GAN vs baselines, fidelity / utility / privacy, DP (issue 4)", "",
             "Produced by `python benchmarks/synth.py` (commands per data set below) on the 2-core CPU machine, "
             "torch with 1 thread while other jobs shared the machine (wall times are therefore inflated and "
             "comparable only within a row of this table). Seeded user-level 80/20 split; the holdout's users "
             "are never trained on. Each set holds as many synthetic users as train. Reference rows: "
             f"**{COPY}** (the real training users released as is: the privacy worst case) and **{FRESH}** "
             "(half of the holdout: fresh real users, the best case; the other half is the privacy yardstick). "
             "Utility = NDCG@10 of models fit on the set, tested on the held-out real users by fold-in "
             "(80 % given / 20 % hidden), as a ratio to the same model fit on the real train. "
             "Mean ± sample std over seeds where several.", ""]
    for ds, rs in by_ds.items():
        seeds = sorted(r["seed"] for r in rs)
        r0 = rs[0]
        g0 = r0["runs"].get("gan", {})
        if g0.get("init") == "spectral":
            gan_desc = f"GAN: spectral start + {g0.get('epochs')} adversarial epochs"
        elif g0.get("pretrain_epochs"):
            gan_desc = f"GAN: VAE warm start {g0.get('pretrain_epochs')} + {g0.get('epochs')} adversarial epochs"
        else:
            gan_desc = f"GAN {g0.get('epochs', r0['gan_epochs'])} epochs from scratch"
        lines += [f"### {ds} (seeds {', '.join(map(str, seeds))}; {gan_desc}; VAE {r0['vae_epochs']} epochs; "
                  f"DP GANs {r0.get('dp_epochs', r0['gan_epochs'])} epochs; sampling temperature "
                  + ("chosen per seed, see the generator table" if g0.get("temperature_calibration")
                     else f"{g0.get('temperature', 1.0)}") + ")", ""]
        groups: dict[str, list[int]] = {}
        for r in rs:  # one command per set of seeds run alike (with or without the DP runs)
            dp_eps = " ".join(k.split("eps")[1] for k in r["runs"] if "dp" in k and not k.endswith("-no-adv"))
            groups.setdefault(dp_eps, []).append(r["seed"])
        for dp_eps, ss in groups.items():
            name, tag = (ds.split(" (")[0], ds.split(" (")[1].rstrip(")")) if " (" in ds else (ds, "")
            lines.append(f"    python benchmarks/synth.py --dataset {name} --seeds {' '.join(map(str, sorted(ss)))} "
                         + (f"--gan-epochs {r0['gan_epochs']} " if r0["gan_epochs"] is not None else "")
                         + f"--vae-epochs {r0['vae_epochs']}"
                         + (f" --dp-epochs {r0['dp_epochs']}" if r0.get("dp_epochs") else "")
                         + (" --gan-scratch" if r0.get("gan_scratch") else "")
                         + (" --ablate" if r0.get("ablate") else "")
                         + (f" --temperature {r0['temperature']}" if r0.get("temperature") is not None else "")
                         + (f" --dp {dp_eps}" if dp_eps else "") + (f" --tag {tag}" if tag else ""))
        lines.append("")
        names = list(dict.fromkeys(k for r in rs for k in r["report"]["summary"]))
        lines.append("| metric | " + " | ".join(names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for key, label in KEYS:
            row = [_ms([r["report"]["summary"].get(n, {}).get(key) for r in rs]) for n in names]
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        lines += ["", "| generator | fit s | temperature (choice s) | synthetic users / s | DP epsilon (spent) | delta "
                  "| audit epsilon lower bound | collapse alarm |", "|---|---|---|---|---|---|---|---|"]
        gens = list(dict.fromkeys(k for r in rs for k in r["runs"]))
        for g in gens:
            rr = [r["runs"][g] for r in rs if g in r["runs"]]
            priv = rr[0]["privacy"]
            temps = ", ".join(f"{x.get('temperature', 1.0):g}" for x in rr)
            if any(x.get("temperature_calibration") for x in rr):
                temps = f"auto: {temps} ({_ms([x.get('calibration_seconds', 0.0) for x in rr])})"
            lines.append(f"| {g} | {_ms([x['fit_seconds'] for x in rr])} | {temps} | "
                         f"{_ms([x['users_per_second'] for x in rr])} | "
                         f"{priv.get('epsilon', 'inf (no DP)')} | {priv.get('delta', '–')} | "
                         f"{_ms([x['audit']['epsilon_lb'] for x in rr])} | "
                         f"{sum(bool(x['collapse_alarm']) for x in rr)}/{len(rr)} |")
        for g in ("gan", "vae"):
            cal = [(r["seed"], r["runs"][g].get("temperature_calibration")) for r in rs if g in r["runs"]]
            cal = [(sd, c) for sd, c in cal if c]
            if cal:
                sd, c = min(cal, key=lambda x: x[0])
                lines += ["", f"Temperature choice of {g}, seed {sd} (development split of the training users; "
                          "T: DCR p / canaries reproduced / EASE utility): " + "; ".join(
                              f"{r['temperature']:g}: {r['dcr_p']:.3f} / {r.get('canaries_reproduced', '-')} / "
                              f"{r.get('utility_ease_ratio', float('nan')):.3f}" for r in c["table"])
                          + f" -> {c['chosen']:g}."]
        dp = [g for g in gens if "dp" in g and not g.endswith("-no-adv")]
        if dp:
            base = [r["runs"]["gan"]["fit_seconds"] for r in rs if "gan" in r["runs"] and dp[0] in r["runs"]]
            ratios = {g: np.mean([r["runs"][g]["fit_seconds"] for r in rs if g in r["runs"]]) / np.mean(base)
                      for g in dp}
            plan = {g: np.mean([r["runs"][g].get("dp_planning_seconds", 0.0) for r in rs if g in r["runs"]])
                    for g in dp}
            same = all(r["runs"][g].get("epochs") == r["runs"]["gan"].get("epochs") and
                       not r["runs"]["gan"].get("pretrain_epochs") for r in rs for g in dp if g in r["runs"])
            lines += ["", "DP wall time / non-DP wall time (" + ("same epochs, whole fit" if same else
                      "whole fits as run, each with its start and the epochs above; the temperature choice "
                      "not counted") + "): "
                      + ", ".join(f"{g}: {v:.2f}x" for g, v in ratios.items())
                      + "; of which the one-off noise planning (RDP accountant search): "
                      + ", ".join(f"{g}: {v:.1f}s" for g, v in plan.items())]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-100k", choices=["ml-100k", "ml-1m", "tmall"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--dp", type=float, nargs="*", default=[])
    ap.add_argument("--dp-seeds", type=int, nargs="*", default=None, help="seeds that also run DP (default all)")
    ap.add_argument("--gan-epochs", type=int, default=None,
                    help="adversarial epochs of the GAN (default: the library's, 10 after its VAE warm start)")
    ap.add_argument("--dp-epochs", type=int, default=150, help="epochs of the DP GANs and of --gan-scratch")
    ap.add_argument("--gan-scratch", action="store_true", help="also run the GAN from scratch (no start)")
    ap.add_argument("--ablate", action="store_true", help="also release each GAN (and DP GAN) right after its "
                    "start, with no adversarial epoch: what the adversarial stage adds")
    ap.add_argument("--temperature", default=None, help="sampling temperature of the non-DP GAN and VAE: a "
                    "number, or auto (the lowest with DCR p <= 0.5 on a development split of the training users, "
                    "recgan.reports.synth_calibration); default: the library's, 1")
    ap.add_argument("--vae-epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shadows", type=int, default=8, help="shadow releases per set of the membership attack (0: off)")
    ap.add_argument("--tag", default="", help="suffix of the result file and data-set label (e.g. dp)")
    ap.add_argument("--markdown-only", action="store_true")
    args = ap.parse_args()
    if args.dp_seeds is None:
        args.dp_seeds = args.seeds
    if not args.markdown_only:
        for seed in args.seeds:
            run(args.dataset, seed, args)
    OUT_MD.write_text(markdown() + "\n")
    print(f"wrote {OUT_MD}")


if __name__ == "__main__":
    main()
