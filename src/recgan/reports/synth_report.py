"""The synthetic-data report: fidelity, utility (train on synthetic, test on real) and user-level privacy of
one or more synthetic user sets against the real training users and a real holdout, with two reference rows
that bracket every metric:

* ``copy of train`` — the training users released as they are: perfect fidelity, worst privacy;
* ``real holdout`` — fresh real users never trained on (half of the holdout): the best privacy a release of
  real-looking users can have, and the fidelity that sampling noise alone leaves.

The other half of the holdout is the privacy yardstick (non-members for the membership-inference attacks,
the distances of fresh users to training for the DCR test, the copy rate of fresh users); the whole holdout
is the test set of the utility metric. The attacks of :mod:`recgan.reports.attacks` (shadow-model membership
inference, attribute inference, canaries with their empirical epsilon) run on every set; the membership
attacker's own real users (its reference population) are the fresh half.

:func:`build_report` returns a JSON-ready dict; :func:`write_report` writes ``report.json`` and one
self-contained ``report.html`` (tables and base64-embedded plots).
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import BEHAVIOUR, ITEM, USER, Interactions
from recgan.errors import RecganError
from recgan.io import atomic_dir, write_json
from recgan.reports import attacks as AT
from recgan.reports import fidelity as F
from recgan.reports import html as H
from recgan.reports import privacy as P
from recgan.reports.utility import tstr

COPY = "copy of train"
FRESH = "real holdout"
TARGETS = {
    "utility_ease_ratio": (">=", 0.85), "popularity_spearman": (">=", 0.9), "longtail_coverage": (">=", 0.8),
    "dcr_p": ("<=", 0.55), "mia_auc": ("<=", 0.55), "canaries_reproduced": ("<=", 0),
}
"""Acceptance targets for a non-DP release (shown as pass/fail for each generator): utility, fidelity and
privacy levels a release should reach before it is used."""


def align_frame(df: pd.DataFrame, train: Interactions, source: str = "synthetic data") -> Interactions:
    """A long frame (user, item[, behaviour]) as :class:`Interactions` in ``train``'s item space and with
    ``train``'s behaviours (missing ones empty; unknown items and behaviours dropped)."""
    df = df.copy()
    if BEHAVIOUR not in df.columns:
        df[BEHAVIOUR] = train.target
    df[BEHAVIOUR] = df[BEHAVIOUR].astype(str)
    df = df[df[BEHAVIOUR].isin(train.behaviours)]
    if not len(df):
        raise RecganError(f"{source}: no rows with a behaviour of the training data {train.behaviours}")
    users, uidx = IdMap.from_values(df[USER].to_numpy(), "user")
    iidx = train.items.lookup(df[ITEM].to_numpy())
    keep = iidx >= 0
    if not keep.any():
        raise RecganError(f"{source}: none of its items is in the training data")
    beh = df[BEHAVIOUR].to_numpy()
    shape = (len(users), train.n_items)
    mats = {}
    for b in train.behaviours:
        sel = keep & (beh == b)
        m = sp.csr_matrix((np.ones(int(sel.sum()), np.float32), (uidx[sel], iidx[sel])), shape=shape)
        m.data[:] = 1.0
        mats[b] = m
    return Interactions(mats, train.target, users, train.items)


def split_holdout(holdout: Interactions, seed: int = 0) -> tuple[Interactions, Interactions]:
    """(yardstick, fresh) halves of the holdout users, at random."""
    rng = np.random.default_rng([seed, 17])
    perm = rng.permutation(holdout.n_users)
    half = holdout.n_users // 2
    if half < 2:
        raise RecganError(f"the holdout needs at least 4 users (has {holdout.n_users})")
    return holdout.select_users(np.sort(perm[:half])), holdout.select_users(np.sort(perm[half:]))


def _mats(data: Interactions, behaviours: list[str]) -> list[sp.csr_matrix]:
    return [data.binary(b) for b in behaviours]


def _funnel_pairs(train: Interactions) -> list[tuple[str, str]]:
    nnz = {b: train.matrices[b].nnz for b in train.behaviours}
    return [(c, p) for c in train.behaviours for p in train.behaviours if c != p and nnz[p] > nnz[c] > 0]


def fidelity_section(train: Interactions, cands: dict[str, Interactions], seed: int = 0) -> dict[str, Any]:
    beh = train.behaviours
    bases = F.svd_bases(_mats(train, beh), seed=seed)
    pairs = _funnel_pairs(train)
    real_funnel = F.funnel_ratios({b: train.binary(b) for b in beh}, pairs)
    out: dict[str, Any] = {"real_funnel": real_funnel, "by_set": {}}
    for name, c in cands.items():
        X, S = train.X, c.binary()
        row: dict[str, Any] = {
            "users": c.n_users, "interactions": int(sum(c.binary(b).nnz for b in beh)),
            "popularity_similarity": F.popularity_similarity(X, S),
            "popularity_spearman": F.popularity_spearman(X, S),
            "longtail_coverage": F.longtail_coverage(X, S),
            "activity_ks_similarity": F.activity_ks_similarity(X, S),
            "cooccurrence_correlation": F.cooccurrence_correlation(X, S),
            "cooccurrence_lift_correlation": F.cooccurrence_lift_correlation(X, S),
            "detection_auc": F.detection_auc(_mats(train, beh), _mats(c, beh), bases, seed=seed),
        }
        if len(beh) > 1:
            row["per_behaviour"] = {
                b: {"popularity_spearman": F.popularity_spearman(train.binary(b), c.binary(b)),
                    "activity_ks_similarity": F.activity_ks_similarity(train.binary(b), c.binary(b))}
                for b in beh}
        if pairs:
            fr = F.funnel_ratios({b: c.binary(b) for b in beh}, pairs)
            row["funnel"] = fr
            row["funnel_similarity"] = F.funnel_similarity(real_funnel, fr)
        out["by_set"][name] = row
    return out


def privacy_section(train: Interactions, yardstick: Interactions, cands: dict[str, Interactions], seed: int = 0,
                    canaries: sp.csr_matrix | None = None, decoys: sp.csr_matrix | None = None, *,
                    reference: Interactions | None = None, generators: dict[str, Any] | None = None,
                    shadows: dict[str, AT.ShadowMaker] | None = None, n_shadows: int = 8,
                    privacy: dict | None = None, attribute_k: int = 5,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Distance-based metrics and the attacks of :mod:`recgan.reports.attacks` for every set in ``cands``.

    ``reference``: the attacker's own real users (the other half of the holdout); ``generators``: {set: the
    released generator} (adds the white-box membership setting); ``shadows``: {set: shadow maker} (default:
    a copy for the two reference rows, the set's own generator kind (fast version) when given, else the GAN's
    spectral start); ``n_shadows`` 0 skips the membership attack with shadows. ``log``: one line per set."""
    beh = train.behaviours
    T = P.profiles(_mats(train, beh))
    Y = P.profiles(_mats(yardstick, beh))
    rng = np.random.default_rng([seed, 23])
    member_rows = np.sort(rng.choice(T.shape[0], min(Y.shape[0], T.shape[0]), replace=False))
    members = T[member_rows]
    members_i = train.select_users(member_rows)
    generators, shadows, privacy = generators or {}, shadows or {}, privacy or {}
    y_dcr = 1.0 - P.nearest_jaccard(Y, T)[:, 0]
    out: dict[str, Any] = {
        "holdout_copy_rate": P.exact_copy_rate(Y, T), "holdout_dcr_median": float(np.median(y_dcr)),
        "yardstick_users": int(Y.shape[0]), "by_set": {}, "_dcr": {FRESH + " (yardstick)": y_dcr}, "_roc": {},
        "_lira": {}, "threat_models": AT.THREAT_MODELS,
    }
    for i, (name, c) in enumerate(cands.items(), 1):
        t_set = time.perf_counter()
        if log:
            log(f"privacy: set {i}/{len(cands)} ({name}): distances and attacks"
                + (f", {n_shadows} shadow releases" if n_shadows and reference is not None else ""))
        S = P.profiles(_mats(c, beh))
        dcr = 1.0 - P.nearest_jaccard(S, T)[:, 0]
        attacks = P.mia(members, Y, S, seed=seed)
        row: dict[str, Any] = {
            "exact_copy_rate": P.exact_copy_rate(S, T),
            "exact_copy_excess": P.exact_copy_rate(S, T) - out["holdout_copy_rate"],
            "dcr_median": float(np.median(dcr)), "dcr_p": P.dcr_p(dcr, y_dcr),
            "mia_distance": attacks["distance"], "mia_density": attacks["density"],
            "mia_auc": max(attacks["distance"]["auc"], attacks["density"]["auc"]),
        }
        if canaries is not None:
            rep = P.canary_reproduction(c.X, canaries)
            row["canaries_reproduced"] = rep["reproduced"]
            row["canary_max_overlap"] = float(max(rep["max_overlap"], default=0.0))
        if decoys is not None and decoys.shape[0]:
            row["decoys_reproduced"] = P.canary_reproduction(c.X, decoys)["reproduced"]
        stmt = privacy.get(name) or {}
        claimed = stmt.get("epsilon") if stmt.get("dp") else None
        if canaries is not None:
            row["canary_audit"] = AT.canary_audit(c.X, canaries, decoys, claimed_epsilon=claimed,
                                                  delta=float(stmt.get("delta") or 0.0))
        row["attribute"] = AT.attribute_inference(members, Y, S, k=attribute_k, seed=seed)
        if n_shadows and reference is not None:
            if name in shadows:
                make = shadows[name]
            elif name in (COPY, FRESH):
                make = AT.copy_shadow
            elif name in generators:
                make = AT.shadow_of(generators[name])
            else:  # a file of unknown origin: the attacker's guess is recgan's default GAN (its start)
                make = AT.synthesizer_shadow("gan", white_box=False)
            g = generators.get(name)
            if g is not None and (list(g.behaviours) != list(beh) or len(g.items) != train.n_items
                                  or list(map(str, g.items.to_list())) != list(map(str, train.items.to_list()))):
                g = None  # its channels are not the report's columns (e.g. behaviours the holdout lacks): black box only
            lira = AT.shadow_membership(members_i, yardstick, reference, c, make, generator=g,
                                        n_shadows=n_shadows, seed=seed)
            out["_lira"][name] = lira.pop("_scores")
            row["lira"] = lira
        out["by_set"][name] = row
        out["_dcr"][name] = dcr
        sm = P.nearest_jaccard(members, S)[:, 0]
        sn = P.nearest_jaccard(Y, S)[:, 0]
        out["_roc"][name] = (sm, sn)
        if log:
            log(f"privacy: set {i}/{len(cands)} ({name}) done in {time.perf_counter() - t_set:.0f} s")
    return out


def build_report(train: Interactions, holdout: Interactions, synthetic: dict[str, Interactions], *,
                 seed: int = 0, canaries: sp.csr_matrix | None = None, decoys: sp.csr_matrix | None = None,
                 privacy: dict | None = None,
                 meta: dict | None = None, utility_models: dict | None = None,
                 references: bool = True, generators: dict[str, Any] | None = None,
                 shadows: dict[str, AT.ShadowMaker] | None = None, n_shadows: int = 8,
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fidelity, utility and privacy of every set in ``synthetic`` (all in ``train``'s item space), plus the
    two reference rows. ``train``: the real users the releases were fit on (the attacks' members; required).
    ``privacy``: {set name: DP statement} shown with the results; ``canaries``: CSR
    (n_canaries, items) of canary users planted in ``train``; ``decoys``: CSR (n_decoys, items) of equally
    rare item combinations never planted (their reproduction count is the canary check's chance level).
    ``generators``: {set name: the fitted synthesizer that released it} (white-box membership attack, and
    the shadows' kind); ``shadows``: {set name: shadow maker} overriding the default; ``n_shadows``: shadow
    releases per set for the membership attack (even; 0 skips it). ``log``: called with one line per stage
    (and per set in the privacy section), so that a long report is never silent."""
    if train is None:
        raise RecganError("the report needs the release's training users (train=...): the attacks score them "
                          "as members against held-out users")
    if n_shadows and (n_shadows < 2 or n_shadows % 2):
        raise RecganError(f"n_shadows must be 0 or an even number >= 2, got {n_shadows}")
    t0 = time.perf_counter()
    note = None
    missing = [b for b in train.behaviours
               if b != train.target and (b not in holdout.matrices or holdout.matrices[b].nnz == 0)]
    if missing:  # e.g. the fold-in files of `recgan data split --method user` hold the target behaviour only
        keep = [b for b in train.behaviours if b not in missing]
        note = (f"the holdout has no {', '.join(missing)} interactions, so every set is compared on "
                f"{', '.join(keep)} only (profiles over behaviours the holdout lacks would make any set look "
                "closer to the training users than real newcomers)")
        train, holdout = _restrict(train, keep), _restrict(holdout, keep)
        synthetic = {k: _restrict(v, keep) for k, v in synthetic.items()}
    yard, fresh = split_holdout(holdout, seed)
    cands = dict(synthetic)
    if references:
        cands[FRESH] = fresh
        cands[COPY] = train
    say = log or (lambda _msg: None)
    say(f"fidelity of {len(cands)} sets")
    fid = fidelity_section(train, cands, seed)
    say(f"utility of {len(synthetic)} synthetic sets (train on synthetic, test on the holdout)")
    util = tstr(train, holdout, synthetic, utility_models, seed=seed)
    priv = privacy_section(train, yard, cands, seed, canaries, decoys, reference=fresh, generators=generators,
                           shadows=shadows, n_shadows=n_shadows, privacy=privacy, log=log)
    summary = {}
    for name in cands:
        f, p = fid["by_set"][name], priv["by_set"][name]
        row = {
            "popularity_spearman": f["popularity_spearman"], "popularity_similarity": f["popularity_similarity"],
            "longtail_coverage": f["longtail_coverage"], "activity_ks_similarity": f["activity_ks_similarity"],
            "cooccurrence_correlation": f["cooccurrence_correlation"],
            "cooccurrence_lift_correlation": f["cooccurrence_lift_correlation"], "detection_auc": f["detection_auc"],
            "exact_copy_rate": p["exact_copy_rate"], "dcr_p": p["dcr_p"], "mia_auc": p["mia_auc"],
        }
        if name in synthetic:
            for m, r in util.items():
                row[f"utility_{m}_ratio"] = r[f"{name}_ratio"]
        for k in ("canaries_reproduced", "decoys_reproduced"):
            if k in p:
                row[k] = p[k]
        for setting in ("synthetic", "generator"):
            if setting in p.get("lira", {}):
                lk = "lira" if setting == "synthetic" else "lira_generator"
                row[f"{lk}_auc"] = p["lira"][setting]["auc"]
                row[f"{lk}_tpr_at_1pct_fpr"] = p["lira"][setting]["tpr_at_1pct_fpr"]
        row["attribute_advantage"] = p["attribute"]["advantage"]
        stmt = (privacy or {}).get(name) or {}
        row["epsilon_spent"] = stmt.get("epsilon") if stmt.get("dp") else None
        lbs = [p["lira"][st]["epsilon_lb"] for st in ("synthetic", "generator") if st in p.get("lira", {})]
        if "epsilon_lb" in p.get("canary_audit", {}):
            lbs.append(p["canary_audit"]["epsilon_lb"])
        if lbs:
            row["epsilon_lb"] = max(lbs)
        if name in synthetic:
            row["targets_met"] = {k: _meets(row.get(k), op, v) for k, (op, v) in TARGETS.items() if k in row}
        summary[name] = row
    report = {
        "meta": {**(meta or {}), "seed": seed, "train_users": train.n_users, "holdout_users": holdout.n_users,
                 "items": train.n_items, "behaviours": train.behaviours, "target": train.target,
                 "seconds": None, **({"note": note} if note else {})},
        "privacy_statement": privacy or {},
        "summary": summary, "fidelity": fid, "utility": util,
        "privacy": {k: v for k, v in priv.items() if not k.startswith("_")},
        "_plots": {"dcr": priv["_dcr"], "roc": priv["_roc"], "lira": priv["_lira"], "train": train, "cands": cands},
    }
    verdict = dp_verdict(summary, privacy or {})
    if verdict:
        report["meta"]["dp_verdict"] = verdict
    report["meta"]["seconds"] = round(time.perf_counter() - t0, 2)
    return report


DP_CONTROL = "randomised-response"
"""Name prefix of the non-GAN DP control's row (:mod:`recgan.synth.randomised_response`)."""


def dp_verdict(summary: dict[str, dict], privacy: dict[str, dict]) -> str | None:
    """One sentence: does each DP release beat the randomised-response control *at its epsilon* on EASE utility
    (None when the report holds no DP release with a control at the same epsilon beside it)."""

    def eps(stmt: dict) -> float | None:
        e = stmt.get("target_epsilon", stmt.get("epsilon")) if stmt.get("dp") else None
        return None if e is None else float(e)

    controls = {k: v for k, v in summary.items() if k.startswith(DP_CONTROL) and "utility_ease_ratio" in v
                and eps(privacy.get(k) or {}) is not None}
    parts = []
    for name, row in summary.items():
        e = eps(privacy.get(name) or {})
        if name.startswith(DP_CONTROL) or e is None or "utility_ease_ratio" not in row:
            continue
        same = [k for k in controls if abs(eps(privacy[k]) - e) <= 1e-6 * max(1.0, e)]
        if not same:
            continue
        u, c = row["utility_ease_ratio"], summary[same[0]]["utility_ease_ratio"]
        word = "earns its place" if u > c else "does not earn its place"
        parts.append(f"{name} (utility {u:.3f}) {word} against {same[0]} (utility {c:.3f}) at epsilon {e:g}")
    return "; ".join(parts) or None


def _restrict(data: Interactions, behaviours: list[str]) -> Interactions:
    """``data`` with only ``behaviours`` (those it has), timestamps included."""
    ts = {b: t for b, t in data.timestamps.items() if b in behaviours} if data.timestamps else None
    return data.replace({b: m for b, m in data.matrices.items() if b in behaviours}, ts)


def _meets(v: Any, op: str, target: float) -> bool | None:
    if v is None:
        return None
    return bool(v >= target) if op == ">=" else bool(v <= target)


# ------------------------------------------------------------------------------------------ output
def _plots(report: dict) -> dict[str, str]:
    import matplotlib.pyplot as plt

    data = report["_plots"]
    train: Interactions = data["train"]
    cands: dict[str, Interactions] = data["cands"]
    out = {}
    palette = plt.get_cmap("tab10").colors
    color = {name: palette[j % len(palette)] for j, name in enumerate(cands)}
    color[FRESH + " (yardstick)"] = "k"
    real = np.asarray(train.X.sum(0)).ravel()
    order = np.argsort(-real, kind="stable")
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ax[0].plot(np.arange(1, len(order) + 1), real[order] / max(real.sum(), 1), "k-", lw=2, label="real train")
    for name, c in cands.items():
        if name == COPY:
            continue
        v = np.asarray(c.X.sum(0)).ravel()
        ax[0].plot(np.arange(1, len(order) + 1), v[order] / max(v.sum(), 1), lw=1, alpha=.8, label=name,
                   color=color[name])
    ax[0].set(xscale="log", yscale="log", xlabel="item rank in real data", ylabel="share of interactions",
              title="item popularity")
    ax[0].legend(fontsize=7)
    sizes = np.sort(np.diff(train.X.indptr))
    ax[1].plot(sizes, np.linspace(0, 1, len(sizes)), "k-", lw=2, label="real train")
    for name, c in cands.items():
        if name == COPY:
            continue
        s = np.sort(np.diff(c.X.indptr))
        ax[1].plot(s, np.linspace(0, 1, len(s)), lw=1, label=name, color=color[name])
    ax[1].set(xscale="symlog", xlabel="items per user", ylabel="CDF", title="user activity")
    ax[1].legend(fontsize=7)
    out["fidelity"] = H.figure_png(fig)
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    bins = np.linspace(0, 1, 41)
    for name, d in data["dcr"].items():
        ax[0].hist(d, bins=bins, histtype="step", density=True, label=name, color=color[name],
                   lw=1.5 if "yardstick" in name else 1)
    ax[0].set(xlabel="Jaccard distance to the closest training user", ylabel="density", title="DCR")
    ax[0].legend(fontsize=7)
    for name, (sm, sn) in data["roc"].items():
        thr = np.unique(np.concatenate([sm, sn]))[::-1]
        tpr = 1 - np.searchsorted(np.sort(sm), thr, side="left") / len(sm)
        fpr = 1 - np.searchsorted(np.sort(sn), thr, side="left") / len(sn)
        ax[1].plot([0, *fpr, 1], [0, *tpr, 1], lw=1, label=name, color=color[name])
    ax[1].plot([0, 1], [0, 1], "k:", lw=1)
    ax[1].set(xlabel="false-positive rate", ylabel="true-positive rate", title="membership inference (distance)")
    ax[1].legend(fontsize=7)
    out["privacy"] = H.figure_png(fig)
    lira = data.get("lira") or {}
    settings = [st for st in ("synthetic", "generator") if any(st in v for v in lira.values())]
    if settings:
        fig, ax = plt.subplots(1, len(settings), figsize=(6 * len(settings), 4.2), squeeze=False)
        for j, st in enumerate(settings):
            a = ax[0, j]
            for name, sc in lira.items():
                if st in sc:
                    fpr, tpr = AT.roc_curve(*sc[st])
                    a.plot(fpr, tpr, lw=1.2, label=name, color=color[name])
            grid = np.logspace(-3, 0, 50)
            a.plot(grid, grid, "k:", lw=1, label="chance")
            a.set(xscale="log", yscale="log", xlim=(1e-3, 1), ylim=(1e-3, 1.05), xlabel="false-positive rate",
                  ylabel="true-positive rate",
                  title=f"membership, shadow LiRA ({'synthetic users' if st == 'synthetic' else 'generator'} released)")
            a.legend(fontsize=7)
        out["lira"] = H.figure_png(fig)
    return out


def render_html(report: dict) -> str:
    plots = _plots(report) if "_plots" in report else {}
    meta = report["meta"]
    secs: list[tuple[str, str]] = []
    intro = (f"<p>Training users: {meta['train_users']}, holdout users: {meta['holdout_users']}, items: "
             f"{meta['items']}, behaviours: {', '.join(meta['behaviours'])} (target {meta['target']}). "
             f"Reference rows: <b>{COPY}</b> (releasing the real users: the privacy worst case) and "
             f"<b>{FRESH}</b> (fresh real users: the best case). Every metric should land between them.</p>")
    if meta.get("note"):
        intro += f"<p class='note'>Note: {html.escape(meta['note'])}.</p>"
    if meta.get("dp_verdict"):
        intro += f"<p><b>DP control:</b> {html.escape(meta['dp_verdict'])}.</p>"
    stmt = report.get("privacy_statement") or {}
    dp_rows = [{"set": k, **{kk: vv for kk, vv in v.items() if kk in (
        "dp", "epsilon", "delta", "noise_multiplier", "sample_rate", "steps", "max_grad_norm")},
        **({"releases (noise multiplier, sensitivity 1)": "; ".join(
            f"{r['release']}: {r['noise_multiplier']:.3g}" for r in v["releases"])} if v.get("releases") else {})}
        for k, v in stmt.items()]
    secs.append(("Summary", intro + _summary_table(report["summary"])
                 + "<p class='note'>Targets (non-DP): " + ", ".join(f"{k} {op} {v}" for k, (op, v) in TARGETS.items())
                 + "; detection AUC and MIA AUC: 0.5 is ideal.</p>"))
    secs.append(("Differential privacy", H.table(dp_rows) if dp_rows else
                 "<p>No differential-privacy guarantee was declared for these sets (epsilon = infinity).</p>"))
    fid = report["fidelity"]["by_set"]
    fid_rows = [{"set": k, **{kk: vv for kk, vv in v.items() if not isinstance(vv, dict)}} for k, v in fid.items()]
    inner = H.table(fid_rows)
    funnel_rows = [{"set": k, "pair": pair, **vals} for k, v in fid.items() for pair, vals in v.get("funnel", {}).items()]
    if funnel_rows:
        real_rows = [{"set": "real train", "pair": pair, **vals} for pair, vals in report["fidelity"]["real_funnel"].items()]
        inner += "<h3>Behaviour funnel</h3>" + H.table(real_rows + funnel_rows)
    if "fidelity" in plots:
        inner += H.img(plots["fidelity"], "popularity and activity")
    secs.append(("Fidelity", inner))
    util_rows = [{"model": m, **r} for m, r in report["utility"].items()]
    secs.append(("Utility: train on synthetic, test on real", "<p class='note'>NDCG@10 of the held-out real users' "
                 "hidden 20 % after folding in their other 80 %, model fit on each set; ratio to the model fit "
                 "on the real training users.</p>" + H.table(util_rows)))
    pv = report["privacy"]
    p_rows = []
    for k, v in pv["by_set"].items():
        r = {"set": k, **{kk: vv for kk, vv in v.items() if not isinstance(vv, dict)}}
        for att in ("mia_distance", "mia_density"):
            for kk, vv in v[att].items():
                r[f"{att}_{kk}"] = vv
        p_rows.append(r)
    inner = (f"<p class='note'>Yardstick: {pv['yardstick_users']} held-out real users; their exact-copy rate "
             f"{pv['holdout_copy_rate']:.4f}, median DCR {pv['holdout_dcr_median']:.4f}. dcr_p = P[a set's user "
             f"is nearer training than a fresh real user is] (0.5 ideal, 1 = copies).</p>" + H.table(p_rows))
    if "privacy" in plots:
        inner += H.img(plots["privacy"], "DCR and membership inference")
    secs.append(("Privacy (user level)", inner))
    secs.append(("Attacks", _attacks_html(pv, plots)))
    return H.page("recgan synthetic-data report", secs)


def attack_rows(pv: dict) -> list[dict[str, Any]]:
    """One row per set: the attacks' headline figures (membership AUC and TPR at 0.1 % / 1 % FPR with their
    bootstrap intervals, attribute advantage, canaries vs decoys, spent and empirical epsilon)."""
    rows = []
    for name, v in pv["by_set"].items():
        r: dict[str, Any] = {"set": name}
        for st, lk in (("synthetic", "lira"), ("generator", "lira_generator")):
            f = v.get("lira", {}).get(st)
            if f:
                r[f"{lk} AUC"] = f"{f['auc']:.3f} [{f['auc_ci_low']:.3f}, {f['auc_ci_high']:.3f}]"
                for fp in ("0.1", "1"):
                    key = f"tpr_at_{fp}pct_fpr"
                    r[f"{lk} TPR@{fp}%FPR"] = f"{f[key]:.3f} [{f[key + '_ci_low']:.3f}, {f[key + '_ci_high']:.3f}]"
        a = v.get("attribute")
        if a:
            r["attribute advantage"] = (f"{a['advantage']:+.3f} [{a['advantage_ci_low']:+.3f}, "
                                        f"{a['advantage_ci_high']:+.3f}]")
        c = v.get("canary_audit")
        if c:
            r["canaries / decoys reproduced"] = f"{c['canaries_reproduced']} / {c.get('decoys_reproduced', '-')}"
            if "epsilon_lb" in c:
                r["canary epsilon lb [point]"] = f"{c['epsilon_lb']:.2f} [{c['epsilon_point']:.2f}]"
            r["claimed epsilon"] = "none (no DP)" if c.get("claimed_epsilon") is None else f"{c['claimed_epsilon']:.3g}"
        rows.append(r)
    return rows


def _attacks_html(pv: dict, plots: dict) -> str:
    tm = pv.get("threat_models", {})
    intro = "".join(f"<p class='note'><b>{html.escape(k)}</b>: {html.escape(t)}</p>" for k, t in tm.items())
    lira_any = next((v["lira"] for v in pv["by_set"].values() if "lira" in v), None)
    if lira_any:
        intro += (f"<p class='note'>{lira_any['n_shadows']} shadow releases per set, {lira_any['reference_users']} "
                  "reference users; brackets: bootstrap 95 % intervals. An FPR below 1 / non-members cannot be told "
                  "from 0. Ideal: AUC 0.5, TPR at x % FPR = x %, attribute advantage 0, canaries reproduced no "
                  "more than decoys.</p>")
    out = intro + H.table(attack_rows(pv))
    if "lira" in plots:
        out += H.img(plots["lira"], "membership inference ROC, log FPR")
    return out


def _summary_table(summary: dict) -> str:
    rows = []
    for name, r in summary.items():
        row = {"set": name, **{k: v for k, v in r.items() if k != "targets_met"}}
        met = r.get("targets_met")
        if met:
            row["targets met"] = f"{sum(bool(v) for v in met.values())}/{len(met)}"
        rows.append(row)
    return H.table(rows)


def json_ready(report: dict) -> dict:
    return {k: v for k, v in report.items() if not k.startswith("_")}


def write_report(report: dict, folder: str | os.PathLike[str]) -> Path:
    """``report.json`` + ``report.html`` into ``folder`` (written atomically)."""
    folder = Path(folder)
    page_html = render_html(report)
    with atomic_dir(folder) as tmp:
        write_json(tmp / "report.json", json_ready(report))
        (tmp / "report.html").write_text(page_html, encoding="utf-8")
    return folder
