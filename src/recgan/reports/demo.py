"""``recgan demo``: the four jobs of recgan on the embedded generated shop data, in a few minutes.

1. Recommend: EASE (tuned) and CFGAN (conditioned on view + cart + buy) trained with the honest protocol,
   compared on a held-out buy test with a paired Wilcoxon test; a fold-in recommendation for a new user.
2. Augment: a sparse version (5 buys per user) densified by CFGAN vs no augmentation vs a popularity control,
   EASE downstream, scored on the untouched real test.
3. Protect: the behaviour synthesizer on a user-level split, synthetic users sampled, fidelity / utility /
   privacy summarised beside a fresh real holdout and a copy of train.
4. Explain: training curves with the copying / collapse alarms, real-vs-synthetic popularity and activity,
   the augmentation uplift, all in one HTML page (and PNG files) in the output folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from recgan.core.trainer import TrainingOptions
from recgan.data.simulate import default_data
from recgan.data.splits import RandomHoldout, UserHoldout
from recgan.evaluation.evaluator import evaluate, paired_test
from recgan.io import write_json, write_text
from recgan.reports import html as H
from recgan.training.fitting import fit_model

CFGAN_DEMO = {
    "mode": "user", "condition_behaviours": "all", "scheme": "ZP", "zr_ratio": 0.5, "pm_ratio": 0.5,
    "zr_weight": 0.1, "g_hidden": (128,), "d_hidden": (64,), "lr": 2e-3, "lr_d": 2e-3, "batch_size": 128,
    "batch_size_d": 128, "epochs": 20, "eval_every": 2, "patience": 2,
}
"""CFGAN settings of the demo (user mode folds in new users; a bounded epoch budget). On the demo data the
validation carve peaks near epoch 12; evaluating every 2 epochs stops 2 evaluations later instead of running
on to the budget."""

SYNTH_DEMO = {"train_batch": 256}
"""Behaviour-synthesizer settings of the demo: the library's (the spectral start, then 10 adversarial passes) in
batches of 256 users instead of 64; sampled at temperature 1. Its fidelity / utility / privacy are printed as
measured."""


def run_demo(out: str | os.PathLike[str], seed: int = 0, log: Callable[[str], None] = print,
             progress: bool = True) -> dict[str, Any]:
    """Run the demo, write ``out/report.html``, PNGs, ``out/summary.json`` and model folders; return the
    summary. The folder is built in a temporary sibling and swapped in at the end: an interrupted demo
    leaves the earlier folder (or none), never a half-written one."""
    from recgan.io import atomic_dir

    final = Path(out)
    with atomic_dir(final, "demo") as tmp:
        return _build(tmp, final, seed, log, progress)


def _build(out: Path, final: Path, seed: int, log: Callable[[str], None], progress: bool) -> dict[str, Any]:
    """The demo's body: writes into ``out`` (the temporary folder); paths shown to the user name ``final``."""
    t_start = time.perf_counter()
    summary: dict[str, Any] = {"seed": seed}
    sections: list[tuple[str, str]] = []
    stages: dict[str, float] = {}

    # ---------------------------------------------------------------- data
    data = default_data(seed)
    split = RandomHoldout(0.2, seed).split(data)
    log(f"[data] generated shop log: {data}")
    log(f"       buy target split per user 80/20: train {split.train.nnz} buys, test {split.test.nnz} buys")
    summary["data"] = {"users": data.n_users, "items": data.n_items,
                       "interactions": {b: int(data.matrices[b].nnz) for b in data.behaviours}}

    stages["data"] = time.perf_counter() - t_start

    # ---------------------------------------------------------------- recommend
    t_stage = time.perf_counter()
    log("[recommend] training EASE (tuned on a validation carve) and CFGAN (early-stopped on it) ...")
    t = time.perf_counter()
    ease = fit_model("ease", split.train, tune=True, log=lambda m: None).model
    t_ease = time.perf_counter() - t
    t = time.perf_counter()
    # early-stopped on the validation carve and kept as is (no refit on all of train: keeps the demo short)
    cfgan = fit_model("cfgan", split.train, {**CFGAN_DEMO, "seed": seed}, refit=False,
                      options=TrainingOptions(**{"progress": progress}), log=lambda m: None).model
    t_gan = time.perf_counter() - t
    pop = fit_model("pop", split.train).model
    reps = {"EASE": evaluate(ease, split.test), "CFGAN": evaluate(cfgan, split.test),
            "MostPopular": evaluate(pop, split.test)}
    test = paired_test(reps["CFGAN"], reps["EASE"], "ndcg@10")
    rows = [{"model": k, "ndcg@10": r["ndcg@10"], "recall@20": r["recall@20"], "precision@5": r["precision@5"],
             "coverage@10": r["coverage@10"]} for k, r in reps.items()]
    rows[0]["fit s"], rows[1]["fit s"], rows[2]["fit s"] = round(t_ease, 2), round(t_gan, 2), 0.0
    log("          model         NDCG@10  Recall@20  P@5     cov@10   fit s")
    for r in rows:
        log(f"          {r['model']:12s}  {r['ndcg@10']:.4f}   {r['recall@20']:.4f}    {r['precision@5']:.4f}  "
            f"{r['coverage@10']:.4f}   {r['fit s']}")
    verdict = ("CFGAN beats EASE" if test["diff"] > 0 and test["p_value"] < 0.05 else
               "EASE beats CFGAN" if test["diff"] < 0 and test["p_value"] < 0.05 else "no significant difference")
    log(f"          paired Wilcoxon on NDCG@10, CFGAN vs EASE: diff {test['diff']:+.4f}, "
        f"p = {test['p_value']:.3g} -> {verdict}")
    last = cfgan.info.get("selection", {}).get("valid") or cfgan.info.get("training", {})
    alarms = {k: v for k, v in (cfgan.history[-1] if cfgan.history else {}).items()
              if k in ("copy_mass", "self_similarity", "distinct_lists", "item_coverage")}
    summary["recommend"] = {"table": rows, "cfgan_vs_ease": test, "verdict": verdict, "cfgan_training": last,
                            "alarms": alarms}
    models_dir = out / "models"
    cfgan.save(models_dir / "cfgan")
    ease.save(models_dir / "ease")

    # fold-in for a new user: a history of items this shop's users often buy together
    X = split.train.X
    pop_items = np.asarray(X.sum(0)).ravel().argsort()[::-1]
    history = split.train.items.original(pop_items[[3, 10, 25]]).tolist()
    rec, unknown = cfgan.recommend_for_history(history + ["no-such-item"], k=5)
    log(f"[recommend] fold-in for a new user who bought {history} (+ one unknown id):")
    log("          " + ", ".join(f"{i} ({s:.3f})" for i, s in zip(rec["item"], rec["score"], strict=True))
        + f"; unknown ids reported: {unknown}")
    summary["fold_in"] = {"history": history, "recommended": rec["item"].tolist(), "unknown": unknown}

    from recgan.core.plots import plot_history

    curves = out / "cfgan_training.png"
    plot_history(cfgan.history, curves, title="CFGAN training (validation carve)")
    sections.append(("Recommend: CFGAN vs EASE (buy target, held-out test)",
                     H.table(rows) + f"<p>Paired Wilcoxon on NDCG@10 (CFGAN - EASE): diff {test['diff']:+.4f}, "
                     f"p = {test['p_value']:.3g}: <b>{verdict}</b>.</p>"
                     f"<p>Fold-in for a new user with history {history}: {rec['item'].tolist()} "
                     f"(unknown ids reported, not dropped silently: {unknown}).</p>"))
    sections.append(("Explain: CFGAN training curves and alarms",
                     "<p class='note'>copy_mass: share of the generator's top-k mass on the condition's own "
                     "items (high = copying); distinct_lists / item_coverage: diversity across users (low = "
                     "collapse).</p>" + H.img(_b64(curves), "training curves")))

    stages["recommend"] = time.perf_counter() - t_stage

    # ---------------------------------------------------------------- augment
    t_stage = time.perf_counter()
    summary["augment"] = _augment(split, seed, log, out, sections)
    stages["augment"] = time.perf_counter() - t_stage

    # ---------------------------------------------------------------- protect
    t_stage = time.perf_counter()
    summary["synth"] = _synth(data, seed, log, out, sections, final)
    stages["synth"] = time.perf_counter() - t_stage

    # ---------------------------------------------------------------- report
    summary["seconds"] = round(time.perf_counter() - t_start, 1)
    summary["stage_seconds"] = {k: round(v, 1) for k, v in stages.items()}
    served = final / "models" / "cfgan"
    write_text(out / "report.html", H.page("recgan demo", sections + [(
        "Next", f"<pre>recgan serve --model {served}</pre>")]))
    write_json(out / "summary.json", summary)
    log(f"[report] {final / 'report.html'} (+ PNGs, summary.json, models/) in {summary['seconds']} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()) + ")")
    log(f"[serve] try next:  recgan serve --model {served}   "
        f"then  curl 'http://127.0.0.1:8000/v1/users/{split.train.users.ids[0]}/recommendations?k=5'")
    return summary


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode("ascii")


def _augment(split, seed: int, log, out: Path, sections) -> dict[str, Any]:
    from recgan.augment.core import densify, fit_densifier, keep_per_user, no_augmentation
    from recgan.models.ease import EASE

    sparse = keep_per_user(split.train, 5, seed)
    log(f"[augment] sparse version: at most 5 buys per user ({sparse.nnz} of {split.train.nnz}); "
        "densify with CFGAN vs a popularity control, EASE downstream ...")
    # a fixed, small CFGAN budget and a fixed volume / weight (`recgan augment` chooses them on a validation carve)
    gan_full = fit_densifier("cfgan", sparse, seed, params={"g_hidden": (128,), "d_hidden": (64,), "lr": 2e-3,
                                                            "lr_d": 2e-3, "batch_size": 128, "batch_size_d": 128,
                                                            "epochs": 15, "patience": 0})
    popm = fit_densifier("pop", sparse, seed)
    m, w = 3, 0.3
    results = {}
    for name, aug in (("none", no_augmentation(sparse)), ("popular control", densify(sparse, popm, m, w)),
                      ("CFGAN densify", densify(sparse, gan_full, m, w))):
        model = EASE(l2=100.0).fit(aug.data)
        results[name] = evaluate(model, split.test, exclude=aug.exclude())
    base = results["none"]["ndcg@10"]
    rows = []
    for name, r in results.items():
        up = (r["ndcg@10"] / base - 1) * 100 if base else 0.0
        p = paired_test(r, results["none"], "ndcg@10")["p_value"] if name != "none" else None
        rows.append({"strategy": name, "ndcg@10": r["ndcg@10"], "uplift %": round(up, 2), "p vs none": p})
        log(f"          {name:16s} NDCG@10 {r['ndcg@10']:.4f}  uplift {up:+.2f} %" + (f"  (p = {p:.3g})" if p else ""))
    gan_up, ctl_up = rows[2]["uplift %"], rows[1]["uplift %"]
    verdict = ("CFGAN densification helps here (beats no augmentation and the control)"
               if gan_up > max(0.0, ctl_up) and (rows[2]["p vs none"] or 1) < 0.05
               else "CFGAN densification does not help significantly here")
    log(f"          verdict: {verdict}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar([r["strategy"] for r in rows], [r["ndcg@10"] for r in rows], color=["#888", "#6a9", "#c63"])
    ax.set_ylabel("EASE NDCG@10 (real test)")
    ax.set_title("augmentation on sparse data (5 buys/user)")
    png = out / "augmentation_uplift.png"
    from recgan.io import atomic_path

    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    sections.append(("Augment: sparse data densified", H.table(rows) + f"<p><b>{verdict}</b> "
                     f"(m = {m} generated items per user at weight {w}).</p>" + H.img(_b64(png), "uplift")))
    return {"table": rows, "verdict": verdict, "m": m, "weight": w}


def _synth(data, seed: int, log, out: Path, sections, final: Path) -> dict[str, Any]:
    from recgan.reports.synth_report import build_report, write_report
    from recgan.synth import make_synthesizer

    us = UserHoldout(0.2, 0.8, seed).split(data)
    train = us.train
    holdout = data.select_users(np.flatnonzero(~np.isin(data.users.ids, train.users.ids)))
    log(f"[synth] fitting the behaviour synthesizer (GAN over whole view/cart/buy profiles) on "
        f"{train.n_users} users; {holdout.n_users} real users held out ...")
    t = time.perf_counter()
    gan = make_synthesizer("gan", seed=seed, **SYNTH_DEMO).fit(train)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    syn = gan.sample_interactions(train.n_users, seed=seed)
    sample_s = time.perf_counter() - t
    log(f"        fitted in {fit_s:.1f} s; sampled {syn.n_users} synthetic users in {sample_s:.2f} s")
    report = build_report(train, holdout, {"gan": _aligned(syn, train)}, seed=seed)
    folder = write_report(report, out / "synth_report")
    s = report["summary"]["gan"]
    keys = ["popularity_spearman", "longtail_coverage", "activity_ks_similarity", "detection_auc",
            "exact_copy_rate", "dcr_p", "mia_auc"]
    util = {k: v for k, v in s.items() if k.startswith("utility_")}
    log("        privacy: exact copies {:.3f}, DCR p {:.3f} (0.5 ideal), membership-inference AUC {:.3f}".format(
        s["exact_copy_rate"], s["dcr_p"], s["mia_auc"]))
    log("        utility (train on synthetic, test on real): " + ", ".join(f"{k} {v:.3f}" for k, v in util.items()))
    log(f"        fidelity: popularity Spearman {s['popularity_spearman']:.3f}, long-tail coverage "
        f"{s['longtail_coverage']:.3f}; full report {final / folder.name / 'report.html'}")
    gan.save(out / "models" / "cfgan" / "synth") if (out / "models" / "cfgan").exists() else None
    sections.append(("Protect: synthetic users (fidelity, utility, privacy)",
                     H.table([{"set": k, **{m: v.get(m) for m in keys}, **{m: v for m, v in v.items()
                              if m.startswith("utility_")}} for k, v in report["summary"].items()])
                     + "<p class='note'>Rows 'fresh holdout' and 'copy of train' are the references a good "
                       "synthesizer lands between. Full report: synth_report/report.html.</p>"
                     + "".join(H.img(b, k) for k, b in _synth_pngs(report, out).items())))
    return {"summary": {k: v for k, v in s.items() if k != "targets_met"}, "fit_seconds": round(fit_s, 1),
            "users_per_second": round(syn.n_users / max(sample_s, 1e-9))}


def _aligned(syn, train):
    from recgan.reports.synth_report import align_frame

    return align_frame(syn.to_frame(), train)


def _synth_pngs(report: dict, out: Path) -> dict[str, str]:
    from recgan.reports.synth_report import _plots

    pngs = _plots(report)
    import base64

    for name, b64 in pngs.items():
        (out / f"synth_{name}.png").write_bytes(base64.b64decode(b64))
    return pngs
