"""The attacks of `recgan synth report` (:mod:`recgan.reports.attacks`) on every release kind, one data set and
seed: the GAN, the VAE, the independent sampler, the private GAN and the randomised-response DP control at
each epsilon, a copy of train and real holdout users. Writes benchmarks/results/synth_attacks/<dataset>-seed<s>.json
and the section benchmarks/results/41-synth-attacks.md (then ``python benchmarks/collect.py``).

    python benchmarks/synth_attacks.py --dataset ml-100k --seed 0 --dp 3 10

Same split and canaries as benchmarks/synth.py (seeded user-level 80/20 split; 10 canary users of 8 rare items
planted in training beside 10 decoys); the GAN and the VAE at the temperature chosen like `synth fit
--temperature auto`, the DP runs at 1; as many synthetic users as training users; 8 shadows per set.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from synth import load, user_split

from recgan.reports.synth_calibration import choose_temperature
from recgan.reports.synth_report import build_report, dp_verdict, json_ready
from recgan.synth import make_synthesizer
from recgan.synth.canaries import plant_canaries

HERE = Path(__file__).resolve().parent
OUT_JSON = HERE / "results" / "synth_attacks"
OUT_MD = HERE / "results" / "41-synth-attacks.md"


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    data = load(args.dataset)
    train, holdout = user_split(data, args.seed)
    train_fit, rare = plant_canaries(train, n=10, size=8, seed=args.seed, decoys=10)
    n = train.n_users
    kinds: dict[str, tuple[str, dict]] = {"gan": ("gan", {}), "vae": ("vae", {"epochs": args.vae_epochs}),
                                          "independent": ("independent", {})}
    for eps in args.dp:
        kinds[f"gan DP eps={eps:g}"] = ("gan", {"dp_epsilon": eps})
        kinds[f"randomised-response DP eps={eps:g}"] = ("randomised-response", {"dp_epsilon": eps})
    sets, gens, statements, runs = {}, {}, {}, {}
    for name, (kind, params) in kinds.items():
        t0 = time.perf_counter()
        params = {"seed": args.seed, **params}
        if kind in ("gan", "vae") and "dp_epsilon" not in params:  # never under DP: that would read real users
            chosen, _ = choose_temperature(lambda k=kind, p=params: make_synthesizer(k, **p), train_fit,
                                           seed=args.seed, utility=False)
            params["temperature"] = chosen
        s = make_synthesizer(kind, **params).fit(train_fit)
        sets[name], gens[name] = s.sample_interactions(n, seed=args.seed), s
        if s.privacy.get("dp"):
            statements[name] = s.privacy
        runs[name] = {"seconds": round(time.perf_counter() - t0, 1), "temperature": s.config.temperature,
                      "privacy": s.privacy}
        print(f"{args.dataset} seed {args.seed} {name}: {runs[name]}", flush=True)
    t0 = time.perf_counter()
    rep = build_report(train_fit, holdout, sets, seed=args.seed, canaries=rare.matrix(train_fit.n_items),
                       decoys=rare.decoy_matrix(train_fit.n_items), privacy=statements, generators=gens,
                       n_shadows=args.shadows)
    out = {"dataset": args.dataset, "seed": args.seed, "shadows": args.shadows, "vae_epochs": args.vae_epochs,
           "dp": args.dp, "threads": args.threads, "machine": platform.machine(), "runs": runs,
           "report_seconds": round(time.perf_counter() - t0, 1), "report": json_ready(rep)}
    OUT_JSON.mkdir(parents=True, exist_ok=True)
    (OUT_JSON / f"{args.dataset}-seed{args.seed}.json").write_text(json.dumps(out, indent=1, default=float))
    return out


def _ci(f: dict, key: str) -> str:
    return f"{f[key]:.3f} [{f[key + '_ci_low']:.3f}, {f[key + '_ci_high']:.3f}]"


def markdown(results: list[dict], command: str) -> str:
    lines = ["## Attacks on synthetic releases (membership with shadows, attribute, canaries)", "",
             f"Command: `{command}`", "",
             "Threat models, statistics and shadows: docs/privacy.md, \"Attacks\". Brackets: bootstrap 95 % "
             "intervals over the targets. Read every row against **real holdout** (fresh real users released: "
             "the chance level for these very targets, whose AUC sits away from 0.5 when the member sample and "
             "the non-members differ by chance) and **copy of train** (the worst case). With N non-member targets "
             "an FPR below 1 / N cannot be told from 0: at N < 1000 the 0.1 % and 1 % columns are both the TPR "
             "above the highest non-member score. Empirical epsilon: the largest Clopper-Pearson lower bound "
             "(95 %) of the membership attacks and the canary audit, bounded by the number of targets.", ""]
    for r in results:
        rep = r["report"]
        lines += [f"### {r['dataset']}, seed {r['seed']} ({rep['meta']['train_users']} training users, "
                  f"{rep['privacy']['yardstick_users']} non-member targets, {r['shadows']} shadows per set; "
                  f"report {r['report_seconds']:.0f} s on {r['machine']}, {r['threads']} thread(s))", "",
                  "| set | utility EASE | membership AUC (synthetic) | TPR@0.1%FPR | TPR@1%FPR | membership AUC "
                  "(generator) | TPR@1%FPR (generator) | attribute advantage | canaries / decoys | epsilon "
                  "spent | empirical epsilon >= |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, p in rep["privacy"]["by_set"].items():
            s = rep["summary"][name]
            ls, lg = p.get("lira", {}).get("synthetic"), p.get("lira", {}).get("generator")
            a, c = p["attribute"], p.get("canary_audit", {})
            util = s.get("utility_ease_ratio")
            eps = s.get("epsilon_spent")
            lines.append(
                f"| {name} | {'' if util is None else f'{util:.3f}'} | {_ci(ls, 'auc') if ls else ''} | "
                f"{_ci(ls, 'tpr_at_0.1pct_fpr') if ls else ''} | {_ci(ls, 'tpr_at_1pct_fpr') if ls else ''} | "
                f"{_ci(lg, 'auc') if lg else ''} | {_ci(lg, 'tpr_at_1pct_fpr') if lg else ''} | "
                f"{a['advantage']:+.3f} [{a['advantage_ci_low']:+.3f}, {a['advantage_ci_high']:+.3f}] | "
                f"{c.get('canaries_reproduced', '')} / {c.get('decoys_reproduced', '')} | "
                f"{'none' if eps is None else f'{eps:.2f}'} | {s.get('epsilon_lb', 0):.2f} |")
        verdict = dp_verdict(rep["summary"], rep["privacy_statement"])
        if verdict:
            lines += ["", f"DP control: {verdict}."]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dp", type=float, nargs="*", default=[3.0, 10.0])
    ap.add_argument("--shadows", type=int, default=8)
    ap.add_argument("--vae-epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--markdown-only", action="store_true")
    args = ap.parse_args()
    command = "python benchmarks/synth_attacks.py --dataset {} --seed {} --dp {} --shadows {}".format(
        args.dataset, args.seed, " ".join(f"{e:g}" for e in args.dp), args.shadows)
    if not args.markdown_only:
        run(args)
    results = [json.loads(p.read_text()) for p in sorted(OUT_JSON.glob("*.json"))]
    OUT_MD.write_text(markdown(results, command) + "\n")
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
