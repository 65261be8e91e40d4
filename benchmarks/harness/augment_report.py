"""Report of the augmentation grid: mean +- std over seeds, paired Wilcoxon tests against no augmentation and
against the best control, per-activity-bucket changes, plain verdicts, and a plot.

Statistics (:mod:`benchmarks.harness.stats`): mean ± sample std (ddof 1) over the seeds a cell has;
significance by the seed-averaged paired test (per-user values averaged over the cell's seeds, the test users
being the same real users in every seed, then :func:`recgan.evaluation.paired_test`, two-sided Wilcoxon
signed-rank). A GAN strategy *helps* only where it beats no augmentation **and** the best
control (the control with the highest mean NDCG@10 in that cell) with p < 0.05 on NDCG@10.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .augment_grid import BUCKETS, CONTROLS, METRICS, bucket_of
from .stats import mean_std, seed_average, seed_averaged_test

GAN_STRATEGIES = ("cfgan", "synth", "both")
ORDER = ("none", "pop", "itemknn", "ease-top", "indep", "cfgan", "synth", "both", "auto")
AUTO = "auto"
"""The product's automatic choice (``augment_log(generator="auto")``, downstream EASE), a grid column when the
grid ran with ``--auto``."""
AUTO_MAX_LOSS = 0.01
"""Issue 21: auto never loses more than 1 % NDCG@10 against no augmentation (per seed)."""
SETTING_ORDER = ("n2", "n5", "n10", "cold", "full")
ALPHA = 0.05
ISSUE_CONTROLS = ("pop", "itemknn")
"""The controls the issue names (target 1 is checked against the better of these; ``ease-top`` was added
later and is reported beside them)."""


def load_units(folder: str | Path) -> list[dict[str, Any]]:
    files = sorted((Path(folder) / "units").glob("*.json"))
    return [json.loads(f.read_text()) for f in files]


def _key_setting(s: str) -> int:
    return SETTING_ORDER.index(s) if s in SETTING_ORDER else len(SETTING_ORDER)


def collect(units: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(dataset, setting, model, strategy) -> {"seeds": [...], metric: [means], "per_user": {metric: avg},
    "users", "n_train"}."""
    cells: dict[tuple, dict[str, Any]] = defaultdict(lambda: {"seeds": [], "means": defaultdict(list),
                                                             "pu": defaultdict(list)})
    for u in units:
        for key, r in u["runs"].items():
            model, strat = key.split("|")
            c = cells[(u["dataset"], u["setting"], model, strat)]
            c["seeds"].append(u["seed"])
            c["users"] = np.asarray(r["users"], dtype=object)
            c["n_train"] = np.asarray(r["n_train"])
            for m in METRICS:
                c["means"][m].append(r["metrics"][m])
                c["pu"][m].append(np.asarray(r[m], dtype=np.float64))
    out = {}
    for k, c in cells.items():
        lens = {len(a) for a in c["pu"][METRICS[0]]}
        if len(lens) != 1:  # a test user set that differs between seeds cannot happen on a fixed test
            raise ValueError(f"cell {k}: per-user arrays of different lengths")
        out[k] = {"seeds": c["seeds"], "users": c["users"], "n_train": c["n_train"],
                  **{m: np.asarray(c["means"][m]) for m in METRICS},
                  "per_seed": {m: c["pu"][m] for m in METRICS},
                  "per_user": {m: seed_average(c["pu"][m], c["users"]).per_user["m"] for m in METRICS}}
    return out


def _pvalue(cell: dict[str, Any], other: dict[str, Any], metric: str, mask: np.ndarray | None = None) -> float:
    """Seed-averaged paired test of ``cell`` against ``other`` on ``metric`` (over the users in ``mask``)."""
    def side(c: dict[str, Any]) -> tuple[list[np.ndarray], np.ndarray]:
        per_seed = c["per_seed"][metric]
        return ([v[mask] for v in per_seed], c["users"][mask]) if mask is not None else (per_seed, c["users"])

    return seed_averaged_test(*side(cell), *side(other))["p_value"]


def _best(cells: dict[tuple, dict[str, Any]], group: tuple, names: tuple[str, ...]) -> str | None:
    """The strategy among ``names`` with the highest mean NDCG@10 in ``group`` (dataset, setting, model)."""
    present = [s for s in names if (*group, s) in cells]
    return max(present, key=lambda s: cells[(*group, s)]["ndcg@10"].mean()) if present else None


def _versus(cell: dict[str, Any], other: dict[str, Any]) -> tuple[float, float]:
    """(mean NDCG@10 difference, Wilcoxon p over seed-averaged per-user NDCG@10) of ``cell`` against ``other``."""
    diff = float(cell["ndcg@10"].mean()) - float(other["ndcg@10"].mean())
    return diff, _pvalue(cell, other, "ndcg@10")


def analyse(cells: dict[tuple, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, setting, model, strategy): means, stds, relative lift, p-values, verdict."""
    rows = []
    groups = sorted({k[:3] for k in cells}, key=lambda k: (k[0], _key_setting(k[1]), k[2]))
    for ds, st, model in groups:
        none = cells.get((ds, st, model, "none"))
        best_ctrl = _best(cells, (ds, st, model), (*CONTROLS, "indep"))
        issue_ctrl = _best(cells, (ds, st, model), ISSUE_CONTROLS)
        for strat in ORDER:
            c = cells.get((ds, st, model, strat))
            if c is None:
                continue
            row: dict[str, Any] = {"dataset": ds, "setting": st, "model": model, "strategy": strat,
                                   "n_seeds": len(c["seeds"]), "best_control": best_ctrl}
            for m in METRICS:
                row[m], row[m + "_std"] = mean_std(c[m])
            if none is not None and strat != "none":
                base = float(none["ndcg@10"].mean())
                row["lift"] = (row["ndcg@10"] - base) / base if base else float("nan")
                for m in METRICS:
                    row[f"p_none_{m}"] = _pvalue(c, none, m)
            if best_ctrl is not None and strat in GAN_STRATEGIES:
                row["vs_ctrl"], row["p_ctrl_ndcg@10"] = _versus(c, cells[(ds, st, model, best_ctrl)])
                row["helps"] = bool(row.get("lift", 0) > 0 and row["p_none_ndcg@10"] < ALPHA
                                    and row["vs_ctrl"] > 0 and row["p_ctrl_ndcg@10"] < ALPHA)
                if issue_ctrl is not None:
                    row["issue_control"] = issue_ctrl
                    row["vs_issue_ctrl"], row["p_issue_ctrl"] = _versus(c, cells[(ds, st, model, issue_ctrl)])
            rows.append(row)
    return rows


def buckets(cells: dict[tuple, dict[str, Any]], model: str = "ease") -> list[dict[str, Any]]:
    """Per activity bucket (real train size): NDCG@10 of each strategy and its relative change vs none."""
    out = []
    for (ds, st, mdl, strat), c in sorted(cells.items(), key=lambda kv: (kv[0][0], _key_setting(kv[0][1]))):
        if mdl != model or strat == "none" or (ds, st, mdl, "none") not in cells:
            continue
        none = cells[(ds, st, mdl, "none")]
        labels = bucket_of(c["n_train"])
        for b in _bucket_labels():
            mask = labels == b
            if mask.sum() == 0:
                continue
            a, z = c["per_user"]["ndcg@10"][mask], none["per_user"]["ndcg@10"][mask]
            p = _pvalue(c, none, "ndcg@10", mask) if mask.sum() > 5 else 1.0
            out.append({"dataset": ds, "setting": st, "strategy": strat, "bucket": b, "users": int(mask.sum()),
                        "ndcg@10": float(a.mean()), "none": float(z.mean()),
                        "rel": float((a.mean() - z.mean()) / z.mean()) if z.mean() else float("nan"), "p": p})
    return out


def _bucket_labels() -> list[str]:
    return list(dict.fromkeys(bucket_of(np.asarray(BUCKETS[1:-1]))))


def _f(x: float, d: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{d}f}"


def _p(x: float | None) -> str:
    """A p-value for a table; one that underflowed to 0 is written as such, not as a bare 0."""
    if x is None:
        return "-"
    return "< 1e-300" if x < 1e-300 else f"{x:.2g}"


def markdown(rows: list[dict[str, Any]], bucket_rows: list[dict[str, Any]], units: list[dict[str, Any]],
             command: str, plot_name: str | None) -> str:
    """The report as Markdown (tables, verdicts)."""
    checks = auto_checks(rows, units) if any(r["strategy"] == AUTO for r in rows) else issue_targets(rows, bucket_rows)
    lines: list[str] = ["Acceptance checks of the issue:", "", *checks, "", *auto_markdown(rows, units)]
    by_ds: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_ds[r["dataset"]].append(r)
    for ds, rs in by_ds.items():
        strategies = [s for s in ORDER if any(r["strategy"] == s for r in rs)]
        lines += [f"### {ds}", ""]
        sel = [u for u in units if u["dataset"] == ds]
        for st in sorted({u["setting"] for u in sel}, key=_key_setting):
            us = [u for u in sel if u["setting"] == st]
            ch = ", ".join(f"seed {u['seed']}: m={u['selection']['m']}, W={u['selection']['weight']}, "
                           f"EASE l2={u['selection']['ease_l2']:g}" for u in sorted(us, key=lambda u: u["seed"]))
            lines.append(f"- `{st}`: {us[0]['real_nnz']:,} real train interactions, {us[0]['n_users']:,} users; "
                         f"chosen on the validation carve: {ch}")
        lines.append("")
        for metric in METRICS:
            lines += [f"{metric.upper().replace('@', '@')} (mean ± std over seeds; *n* = seeds)", "",
                      "| setting | model | n | " + " | ".join(strategies) + " |",
                      "|---|---|---|" + "---|" * len(strategies)]
            for (st, model), grp in _group(rs):
                cells = {r["strategy"]: r for r in grp}
                vals = [f"{_f(cells[s][metric])} ± {_f(cells[s][metric + '_std'])}" if s in cells else "-"
                        for s in strategies]
                lines.append(f"| {st} | {model} | {grp[0]['n_seeds']} | " + " | ".join(vals) + " |")
            lines.append("")
        lines += ["GAN strategies on NDCG@10: relative lift over no augmentation, Wilcoxon p against no "
                  "augmentation and against the best control (p on seed-averaged per-user values).", "",
                  "| setting | model | strategy | NDCG@10 | lift vs none | p vs none | best control | "
                  "diff vs best control | p vs control | R@20 p vs none | helps? |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            if r["strategy"] not in GAN_STRATEGIES:
                continue
            lines.append(
                f"| {r['setting']} | {r['model']} | {r['strategy']} | {_f(r['ndcg@10'])} | "
                f"{100 * r.get('lift', float('nan')):+.1f} % | {_p(r.get('p_none_ndcg@10'))} | {r['best_control']} | "
                f"{r.get('vs_ctrl', float('nan')):+.4f} | {_p(r.get('p_ctrl_ndcg@10'))} | "
                f"{_p(r.get('p_none_recall@20'))} | {'**yes**' if r.get('helps') else 'no'} |")
        lines.append("")
    if bucket_rows:
        lines += ["### EASE NDCG@10 by user-activity bucket (real training interactions)", "",
                  "| dataset | setting | strategy | bucket | users | NDCG@10 | none | change | p |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for b in bucket_rows:
            if b["setting"] in ("full", "cold") and b["strategy"] in ("cfgan", *CONTROLS, "synth", "both"):
                lines.append(f"| {b['dataset']} | {b['setting']} | {b['strategy']} | {b['bucket']} | {b['users']} | "
                             f"{_f(b['ndcg@10'])} | {_f(b['none'])} | {100 * b['rel']:+.1f} % | {_p(b['p'])} |")
        lines.append("")
    if plot_name:
        lines += [f"![relative NDCG@10 change]({plot_name})", ""]
    lines += ["Verdict per cell (GAN strategy helps only where it beats no augmentation and the best control, "
              "p < 0.05 on NDCG@10):", ""]
    lines += verdicts(rows)
    return "\n".join(lines) + "\n"


def _group(rs: list[dict]) -> list[tuple[tuple[str, str], list[dict]]]:
    g: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rs:
        g[(r["setting"], r["model"])].append(r)
    return sorted(g.items(), key=lambda kv: (_key_setting(kv[0][0]), kv[0][1]))


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        if r["strategy"] not in GAN_STRATEGIES:
            continue
        where = f"{r['dataset']} / {r['setting']} / {r['model']} / {r['strategy']}"
        if r.get("helps"):
            out.append(f"- {where}: **helps** ({100 * r['lift']:+.1f} % NDCG@10, beats {r['best_control']} by "
                       f"{r['vs_ctrl']:+.4f}, p = {_p(r['p_ctrl_ndcg@10'])}).")
        else:
            why = []
            if not (r.get("lift", 0) > 0 and r.get("p_none_ndcg@10", 1) < ALPHA):
                why.append(f"vs no augmentation {100 * r.get('lift', float('nan')):+.1f} % (p = {_p(r.get('p_none_ndcg@10'))})")
            if not (r.get("vs_ctrl", 0) > 0 and r.get("p_ctrl_ndcg@10", 1) < ALPHA):
                why.append(f"vs best control {r['best_control']} {r.get('vs_ctrl', float('nan')):+.4f} "
                           f"(p = {_p(r.get('p_ctrl_ndcg@10'))})")
            out.append(f"- {where}: **does not help**: " + "; ".join(why) + ".")
    return out


def plot(rows: list[dict[str, Any]], path: str | Path, model: str = "ease") -> Path:
    """Grouped bars: relative NDCG@10 change vs no augmentation per setting and strategy (one panel per
    dataset), error bars = std over seeds relative to the no-augmentation mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = [r for r in rows if r["model"] == model and r["strategy"] != "none"]
    dss = sorted({r["dataset"] for r in rs})
    fig, axes = plt.subplots(1, max(1, len(dss)), figsize=(5.5 * max(1, len(dss)), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], dss, strict=False):
        sub = [r for r in rs if r["dataset"] == ds]
        settings = sorted({r["setting"] for r in sub}, key=_key_setting)
        strats = [s for s in ORDER if any(r["strategy"] == s for r in sub)]
        width = 0.8 / max(1, len(strats))
        for j, s in enumerate(strats):
            vals, errs = [], []
            for st in settings:
                r = next((x for x in sub if x["setting"] == st and x["strategy"] == s), None)
                base = next((x for x in rows if x["dataset"] == ds and x["setting"] == st and x["model"] == model
                             and x["strategy"] == "none"), None)
                vals.append(100 * r["lift"] if r and "lift" in r else np.nan)
                errs.append(100 * r["ndcg@10_std"] / base["ndcg@10"] if r and base else 0.0)
            ax.bar(np.arange(len(settings)) + (j - (len(strats) - 1) / 2) * width, vals, width, yerr=errs,
                   label=s, capsize=2)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(settings)), settings)
        ax.set_title(f"{ds}: {model.upper()} NDCG@10")
        ax.set_ylabel("change vs no augmentation (%)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(grid_dir: str | Path, md_path: str | Path, command: str, header: str = "") -> dict[str, Any]:
    """Build the report from ``grid_dir/units`` into ``md_path`` (plus a PNG and a JSON beside it)."""
    units = load_units(grid_dir)
    if not units:
        from recgan.errors import RecganError

        raise RecganError(f"{grid_dir}: no finished grid units")
    cells = collect(units)
    rows = analyse(cells)
    brows = buckets(cells)
    md_path = Path(md_path)
    png = md_path.with_suffix(".png")
    plot(rows, png)
    # sections in benchmarks/results/ are concatenated into benchmarks/RESULTS.md: link from there
    link = f"results/{png.name}" if md_path.parent.name == "results" else png.name
    body = markdown(rows, brows, units, command, link)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(header + body)
    js = {"rows": rows, "buckets": brows, "auto": auto_table(rows, units)}
    md_path.with_suffix(".json").write_text(json.dumps(js, indent=1, default=float))
    return js


def issue_targets(rows: list[dict[str, Any]], bucket_rows: list[dict[str, Any]],
                  dataset: str = "ml-100k-p1") -> list[str]:
    """The issue's two acceptance checks, stated with numbers: (1) at 5 training interactions per user, CFGAN
    densification lifts EASE's NDCG@10 by >= 3 % and beats both controls with p < 0.05; (2) in the full-data
    setting, users with many interactions (> 20 real, i.e. not densified) lose no more than 1 %."""
    out = []
    r = next((x for x in rows if (x["dataset"], x["setting"], x["model"], x["strategy"])
              == (dataset, "n5", "ease", "cfgan")), None)
    if r is None:
        out.append(f"- Target 1 ({dataset}, n5, EASE, CFGAN densify): not run.")
    else:
        ic, vs, p_ic = (r.get("issue_control", r["best_control"]), r.get("vs_issue_ctrl", r["vs_ctrl"]),
                        r.get("p_issue_ctrl", r["p_ctrl_ndcg@10"]))
        ok = r["lift"] >= 0.03 and r["p_none_ndcg@10"] < ALPHA and vs > 0 and p_ic < ALPHA
        also = (f"; vs the best of every control ({r['best_control']}) {r['vs_ctrl']:+.4f} "
                f"(p = {_p(r['p_ctrl_ndcg@10'])})") if r["best_control"] != ic else ""
        out.append(f"- Target 1 ({dataset}, 5 interactions per user, EASE, CFGAN densification): NDCG@10 "
                   f"{r['ndcg@10']:.4f} vs {r['ndcg@10'] / (1 + r['lift']):.4f} without augmentation "
                   f"({100 * r['lift']:+.1f} %, p = {_p(r['p_none_ndcg@10'])}); vs the better of the issue's "
                   f"controls ({ic}) {vs:+.4f} (p = {_p(p_ic)}){also} over "
                   f"{r['n_seeds']} seeds: **{'met' if ok else 'NOT met'}**.")
    full = [b for b in bucket_rows if b["dataset"] == dataset and b["setting"] == "full"
            and b["strategy"] == "cfgan"]
    if not full:
        out.append(f"- Target 2 ({dataset}, full data, EASE, users with > 20 interactions): not run.")
    else:
        heavy = [b for b in full if not b["bucket"].endswith("-20") and not b["bucket"].endswith("-5")
                 and not b["bucket"].endswith("-10")]
        users = sum(b["users"] for b in heavy)
        new = sum(b["ndcg@10"] * b["users"] for b in heavy) / max(users, 1)
        old = sum(b["none"] * b["users"] for b in heavy) / max(users, 1)
        rel = (new - old) / old if old else float("nan")
        rall = next((x for x in rows if (x["dataset"], x["setting"], x["model"], x["strategy"])
                     == (dataset, "full", "ease", "cfgan")), None)
        tail = (f"; all users {100 * rall['lift']:+.1f} % (p = {_p(rall['p_none_ndcg@10'])})") if rall else ""
        out.append(f"- Target 2 ({dataset}, full data, EASE, CFGAN densification): users with > 20 real "
                   f"interactions ({users}) NDCG@10 {new:.4f} vs {old:.4f} ({100 * rel:+.1f} %){tail}: "
                   f"**{'met' if rel >= -0.01 else 'NOT met'}** (no more than 1 % loss).")
    return out


def auto_table(rows: list[dict[str, Any]], units: list[dict[str, Any]], model: str = "ease") -> list[dict[str, Any]]:
    """Per (dataset, setting) with an ``auto`` column, on ``model``'s NDCG@10: auto against no augmentation
    per seed (relative difference; the worst seed), and auto's mean over seeds against the best strategy in
    hindsight (the highest mean over the grid's other strategies; its seed spread = sample std, ddof 1,
    :func:`benchmarks.harness.stats.mean_std`)."""
    out = []
    for ds, st in dict.fromkeys((r["dataset"], r["setting"]) for r in rows if r["strategy"] == AUTO and r["model"] == model):
        us = sorted((u for u in units if u["dataset"] == ds and u["setting"] == st
                     and f"{model}|{AUTO}" in u["runs"] and f"{model}|none" in u["runs"]), key=lambda u: u["seed"])
        if not us:
            continue
        strategies = [s for s in ORDER if s != AUTO and all(f"{model}|{s}" in u["runs"] for u in us)]
        val = {s: [u["runs"][f"{model}|{s}"]["metrics"]["ndcg@10"] for u in us] for s in [*strategies, AUTO]}
        rel = [(a - n) / n if n else float("nan") for a, n in zip(val[AUTO], val["none"], strict=True)]
        stats = {s: mean_std(v) for s, v in val.items()}
        best = max(strategies, key=lambda s: stats[s][0])
        (am, asd), (bm, bsd) = stats[AUTO], stats[best]
        out.append({"dataset": ds, "setting": st, "model": model, "seeds": [u["seed"] for u in us],
                    "chosen": [u["selection"].get("auto", {}).get("chosen", "?") for u in us],
                    "auto": val[AUTO], "none": val["none"], "rel_vs_none": rel, "worst": min(rel),
                    "loss_ok": bool(min(rel) >= -AUTO_MAX_LOSS), "auto_mean": am, "auto_std": asd,
                    "best": best, "best_mean": bm, "best_std": bsd, "best_values": val[best],
                    "diff_best": am - bm, "within": bool(am >= bm - bsd) if len(us) > 1 else None,
                    "p_none": next((r.get("p_none_ndcg@10") for r in rows if (r["dataset"], r["setting"], r["model"],
                                    r["strategy"]) == (ds, st, model, AUTO)), None),
                    "auto_seconds": [u["selection"].get("auto", {}).get("seconds") for u in us],
                    "unit_seconds": [u["seconds"] for u in us]})
    return out


def auto_checks(rows: list[dict[str, Any]], units: list[dict[str, Any]]) -> list[str]:
    """Issue 21's grid acceptance, stated with numbers per data set: auto never more than 1 % below no
    augmentation (every seed), and auto's mean over seeds within the seed spread (sample std) of the best
    strategy in hindsight."""
    out = []
    for t in auto_table(rows, units):
        per = ", ".join(f"seed {s}: {c} {100 * r:+.1f} %" for s, c, r in zip(t["seeds"], t["chosen"], t["rel_vs_none"],
                                                                             strict=True))
        if t["within"] is None:
            spread = (f"auto {t['auto_mean']:.4f} vs the best strategy in hindsight, {t['best']}, {t['best_mean']:.4f} "
                      f"({t['diff_best']:+.4f}); one seed: no seed spread, **not measured**")
        else:
            spread = (f"auto's mean {t['auto_mean']:.4f} ± {t['auto_std']:.4f} vs the best strategy in hindsight, "
                      f"{t['best']}, {t['best_mean']:.4f} ± {t['best_std']:.4f} ({t['diff_best']:+.4f}): "
                      f"**{'within' if t['within'] else 'NOT within'}** its seed spread")
        out.append(f"- {t['dataset']} {t['setting']} ({len(t['seeds'])} seed{'s' if len(t['seeds']) > 1 else ''}, "
                   f"EASE NDCG@10): auto vs no augmentation {per}; worst seed {100 * t['worst']:+.1f} %: "
                   f"**{'met' if t['loss_ok'] else 'NOT met'}** (no more than 1 % loss; over the seeds "
                   f"{100 * (t['auto_mean'] / float(np.mean(t['none'])) - 1):+.1f} %, seed-averaged paired Wilcoxon "
                   f"p = {_p(t['p_none'])}); {spread}.")
    return out


def auto_markdown(rows: list[dict[str, Any]], units: list[dict[str, Any]]) -> list[str]:
    """The auto table: per data set and setting, auto's choice and NDCG@10 per seed beside no augmentation
    and the best strategy in hindsight."""
    tab = auto_table(rows, units)
    if not tab:
        return []
    lines = ["Auto per seed (EASE NDCG@10 on test; auto's choice is made on the validation carve of the unit's sparse "
             "train; best = the strategy with the best mean over the unit's seeds, chosen in hindsight; seconds: "
             "auto's own choice and fit / the whole unit):", "",
             "| dataset | setting | seed | auto chose | auto | none | auto vs none | best in hindsight | best | "
             "auto - best | auto s / unit s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in tab:
        for i, seed in enumerate(t["seeds"]):
            lines.append(f"| {t['dataset']} | {t['setting']} | {seed} | {t['chosen'][i]} | {t['auto'][i]:.4f} | "
                         f"{t['none'][i]:.4f} | {100 * t['rel_vs_none'][i]:+.1f} % | {t['best']} | "
                         f"{t['best_values'][i]:.4f} | {t['auto'][i] - t['best_values'][i]:+.4f} | "
                         f"{t['auto_seconds'][i]:.0f} / {t['unit_seconds'][i]:.0f} |")
        if len(t["seeds"]) > 1:
            lines.append(f"| {t['dataset']} | {t['setting']} | mean ± sd | | {t['auto_mean']:.4f} ± {t['auto_std']:.4f} | "
                         f"{float(np.mean(t['none'])):.4f} | worst {100 * t['worst']:+.1f} % | {t['best']} | "
                         f"{t['best_mean']:.4f} ± {t['best_std']:.4f} | {t['diff_best']:+.4f} | |")
    return [*lines, ""]


def section_header(command: str, title: str = "GAN data augmentation (issue 5)") -> str:
    """The results section's title and the command that wrote it."""
    return (f"## {title}\n\nReport command: `{command}` "
            f"(2-core CPU shared with other jobs; torch and BLAS on one thread).\n\n")


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/augment_report.py``: rebuild the report from a grid folder's finished units."""
    import argparse

    from recgan.errors import RecganError

    from .cli import command_line

    ap = argparse.ArgumentParser(
        prog="augment_report.py",
        description="Rebuild the augmentation report (Markdown, plus a PNG and a JSON beside it) from the finished "
                    "units of a grid folder (benchmarks/augment_grid.py --out GRID).")
    ap.add_argument("--grid", required=True, metavar="DIR", help="grid folder (DIR/units/*.json)")
    ap.add_argument("--results", default=None, metavar="FILE",
                    help="report Markdown file; default DIR/report.md (the repository's section is "
                         "benchmarks/results/60-augmentation.md)")
    ap.add_argument("--preamble", default=None, metavar="FILE",
                    help="Markdown inserted after the report's title (the grid commands and scope notes)")
    ap.add_argument("--title", default=None, metavar="TEXT",
                    help="the section's title (default: the augmentation grid's)")
    args = ap.parse_args(argv)
    command = command_line("python benchmarks/augment_report.py", argv)
    header = section_header(command, *([args.title] if args.title else []))
    if args.preamble:
        pre = Path(args.preamble)
        if not pre.is_file():
            raise RecganError(f"--preamble {args.preamble}: no such file")
        header += pre.read_text().rstrip() + "\n\n"
    results = args.results or str(Path(args.grid) / "report.md")
    write_report(args.grid, results, command, header=header)
    print(f"wrote {results}")
    return 0
