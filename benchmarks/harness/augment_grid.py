"""The augmentation grid: dataset x scarcity setting x seed x strategy x downstream model.

One *unit* = (dataset, setting, seed): make the sparse real train, carve a validation set from it, tune
EASE's l2 and train CFGAN on the carve, choose (m, W) for CFGAN densification on the carve, then build every
strategy at that same volume and weight (the controls: MostPopular / ItemKNN / EASE top unseen items; optionally
the synthesizer's added users and the independent-sampler control at equal n and W), fit every downstream
model on each augmented log and evaluate on the untouched real test set, excluding only real training items.
Each unit is written to ``DIR/units/<dataset>__<setting>__s<seed>.json`` as soon as it ends (a rerun skips
finished units; with ``--auto``, an unfinished unit resumes from the steps its automatic choice kept in
``DIR/checkpoints/``), so the report can be built from whatever has finished. A unit written before a control
existed (``ease-top`` was added after the first grids) gets that control's runs added on the next run of
the grid, at the unit's own (m, W) and l2, without redoing anything else.

Research harness of this repository (not part of the installed recgan): the data sets are named by their
paths under the shared data root (``--data-root``, the repository's ../shared). Command line:
``python benchmarks/augment_grid.py --help``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recgan.augment.core import (
    CONTROL_SCORERS,
    add_users,
    carve,
    densify,
    fit_baseline_densifier,
    fit_densifier,
    fit_synthesizer,
    no_augmentation,
    scarcity,
    select_add_users,
    select_densify,
    sparse_users,
    top_unseen,
)
from recgan.augment.downstream import DOWNSTREAM, FIXED_EPOCHS, downstream_model
from recgan.augment.pipeline import tune_ease
from recgan.data.interactions import Interactions
from recgan.data.loaders import load_interactions
from recgan.data.splits import load_heldout
from recgan.errors import RecganError
from recgan.evaluation import evaluate
from recgan.io import atomic_path

DATASETS = {
    "ml-100k-p1": ("benchmarks/splits/ml-100k-p1/train.tsv", "benchmarks/splits/ml-100k-p1/test.tsv"),
    "ml-1m": ("benchmarks/splits/ml-1m-p1/train.tsv", "benchmarks/splits/ml-1m-p1/test.tsv"),
    "tmall": ("datasets/tmall-mbgcn/buy.txt", "datasets/tmall-mbgcn/test.txt"),
}
"""Dataset name -> (train, test) paths under the shared data root (Tmall: the buy target)."""

__all__ = ["BUCKETS", "CONTROLS", "DATASETS", "DOWNSTREAM", "FIXED_EPOCHS", "METRICS", "GridSpec", "bucket_of",
           "complete_unit", "load_dataset", "run_grid", "run_unit"]

CONTROLS = ("pop", "itemknn", "ease-top")
"""Densifiers that are not GANs, at the GAN's volume and weight: MostPopular, ItemKNN and EASE (the
downstream EASE's own l2) top unseen items. ``ease-top`` (EASE densifying its own data) was the strongest
densifier found during development (docs/augmentation.md)."""
METRICS = ("ndcg@10", "recall@20")
BUCKETS = (0, 5, 10, 20, 50, 100, 10**9)
"""Edges of the user-activity buckets (real training interactions): (0,5], (5,10], ..., (100, inf)."""


@dataclass
class GridSpec:
    datasets: list[str] = field(default_factory=lambda: ["ml-100k-p1"])
    settings: list[str] = field(default_factory=lambda: ["full", "n2", "n5", "n10", "cold"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    models: list[str] = field(default_factory=lambda: list(DOWNSTREAM))
    synth: bool = False
    """Also run the synthesizer strategies (synth add-users, both) and the independent-sampler control."""
    max_user_items: int | None = 20
    """Densify only users with at most this many real training interactions (all users in the nN settings)."""
    device: str = "cpu"
    cfgan_params: dict[str, Any] = field(default_factory=dict)
    """Overrides of :data:`recgan.augment.core.CFGAN_AUGMENT_PARAMS` (e.g. a smaller epoch budget)."""
    synth_params: dict[str, Any] = field(default_factory=dict)
    auto: bool = False
    """Also run the product's automatic choice (``augment_log(generator="auto")``, downstream EASE) as the
    strategy ``auto``; its CFGAN (same carve, seed and parameters) is the grid's, not refitted."""
    strategies: list[str] | None = None
    """Controls to build (default :data:`CONTROLS`); ``none`` and ``cfgan`` are always built."""


def load_dataset(name: str, root: str | Path) -> tuple[Interactions, Interactions]:
    """(train, test) of a grid dataset, test indexed in train's id space."""
    if name not in DATASETS:
        raise RecganError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    tr_p, te_p = (Path(root) / p for p in DATASETS[name])
    if not tr_p.exists():
        raise RecganError(f"{tr_p}: no such file (give the shared data root with --data-root)")
    kw = {"behaviour": "buy", "target": "buy"} if name == "tmall" else {}
    train = load_interactions(tr_p, **kw)
    return train, load_heldout(te_p, train)


def bucket_of(n: np.ndarray) -> np.ndarray:
    """Bucket label per user from its number of real training interactions."""
    idx = np.clip(np.searchsorted(BUCKETS, n, side="left"), 1, len(BUCKETS) - 1)
    labels = np.array([f"{BUCKETS[i - 1] + 1}-{BUCKETS[i]}" if BUCKETS[i] < 10**9 else f">{BUCKETS[i - 1]}"
                       for i in range(1, len(BUCKETS))], dtype=object)
    return labels[idx - 1]


def _control(name: str, real: Interactions, l2: float, m: int, w: float, maxu: int | None,
             users: np.ndarray):
    """A control strategy: densify ``real`` with a non-GAN model's top ``m`` unseen items at weight ``w``."""
    gen = fit_baseline_densifier(CONTROL_SCORERS[name], real, l2)
    return densify(real, gen, m, w, max_user_items=maxu, label=name, _top=top_unseen(gen, real.X, users, m))


def _run(mname: str, sname: str, aug, real: Interactions, test: Interactions, l2: float, seed: int,
         device: str, log=print) -> dict[str, Any]:
    """Fit downstream model ``mname`` on an augmented log, evaluate on the real test set (real training items
    excluded); per-user NDCG@10 / Recall@20 with each user's real training size."""
    t1 = time.perf_counter()
    model = downstream_model(mname, l2, seed, device).fit(aug.data)
    rep = evaluate(model, test, exclude=aug.exclude())
    n_real = np.diff(real.X.indptr)
    uidx = real.users.lookup(rep.users)
    log(f"    {mname:8s} {sname:8s} ndcg@10 {rep.metrics['ndcg@10']:.4f} recall@20 {rep.metrics['recall@20']:.4f}")
    return {
        "metrics": {k: rep.metrics[k] for k in (*METRICS, "precision@20", "ndcg@20", "coverage@10")},
        "users": [str(u) for u in rep.users],
        "n_train": [int(n_real[i]) if i >= 0 else 0 for i in uidx],
        **{k: np.round(rep.per_user[k], 5).tolist() for k in METRICS},
        "seconds": round(time.perf_counter() - t1, 2),
        "generated": int(aug.generated.nnz),
    }


def complete_unit(unit: dict[str, Any], train_full: Interactions, test: Interactions, spec: GridSpec,
                  log=print) -> bool:
    """Add the runs of controls missing from a unit written before they existed (same real data, l2, m, W
    and downstream models as the unit). Returns whether anything was added."""
    setting, seed, sel = unit["setting"], unit["seed"], unit["selection"]
    models = unit.get("spec", {}).get("models", spec.models)
    missing = [c for c in CONTROLS if any(f"{mn}|none" in unit["runs"] and f"{mn}|{c}" not in unit["runs"]
                                          for mn in models)]
    if not missing:
        return False
    real = scarcity(train_full, setting, seed)
    maxu = None if setting.startswith("n") else unit.get("spec", {}).get("max_user_items", spec.max_user_items)
    users = sparse_users(real, maxu)
    for name in missing:
        aug = _control(name, real, sel["ease_l2"], sel["m"], sel["weight"], maxu, users)
        for mn in models:
            if f"{mn}|none" in unit["runs"]:
                unit["runs"][f"{mn}|{name}"] = _run(mn, name, aug, real, test, sel["ease_l2"], seed, spec.device, log)
    return True


def _auto(real: Interactions, seed: int, maxu: int | None, spec: GridSpec, log=print,
          checkpoint: Path | None = None) -> dict[str, Any]:
    """The product's automatic choice on a unit's sparse train: :func:`recgan.augment.augment_log` with
    ``generator="auto"`` and downstream EASE (the code path of ``recgan augment --generator auto``), same
    seed, carve, CFGAN and synthesizer parameters as the grid. Returns its augmented log, its record
    (``selection["auto"]``: every candidate's carve score, the choice and why), the tuned EASE l2 and the
    carve-fitted CFGAN / synthesizer candidates (reused by the grid's own strategies). ``checkpoint``: the
    unit's augment checkpoint folder (a unit killed midway resumes from its finished steps)."""
    from recgan.augment.pipeline import augment_log

    t0 = time.perf_counter()
    res = augment_log(real, generator="auto", seed=seed, max_user_items=maxu, downstream="ease",
                      generator_params=spec.cfgan_params or None, synth_params=spec.synth_params or None,
                      device=spec.device, keep_candidates=True, checkpoint=checkpoint, log=log)
    record = {**res.selection["auto"], "chosen": res.chosen, "seconds": round(time.perf_counter() - t0, 1),
              "resumed": res.selection.get("checkpoint", {}).get("loaded", []),
              **{k: res.selection[k] for k in ("densify", "add_users") if k in res.selection}}
    for c in record["candidates"]:
        c.pop("table", None)
    out = {"augmented": res.augmented, "record": record, "l2": float(res.selection["ease_l2"]["chosen"]),
           "cfgan": res.candidates["cfgan"]}
    if "synth" in res.candidates:
        out["synth"] = res.candidates["synth"]
    log(f"    auto chose {res.chosen} in {record['seconds']:.0f} s: {record['why']}")
    return out


def run_unit(dataset: str, setting: str, seed: int, train_full: Interactions, test: Interactions,
             spec: GridSpec, log=print, checkpoint: Path | None = None) -> dict[str, Any]:
    """One (dataset, setting, seed) unit; returns its JSON-able result. ``checkpoint``: folder where the
    auto strategy keeps its finished steps (with ``spec.auto``), so an interrupted unit resumes."""
    t0 = time.perf_counter()
    real = scarcity(train_full, setting, seed)
    maxu = None if setting.startswith("n") else spec.max_user_items
    ctr, cva = carve(real, seed)
    auto = _auto(real, seed, maxu, spec, log, checkpoint) if spec.auto else None
    if auto is None:
        l2, _ = tune_ease(ctr, cva, log)
        cf = fit_densifier("cfgan", ctr, seed, params=spec.cfgan_params, valid=cva, device=spec.device)
        m, w, table = select_densify(ctr, cva, cf, params={"l2": l2}, max_user_items=maxu, log=log)
    else:  # auto's carve, EASE tuning and CFGAN candidate are the grid's own: reuse them
        l2 = auto["l2"]
        cf, cs = auto["cfgan"].generator, auto["cfgan"].selection
        m, w, table = cs.setting["m"], cs.setting["weight"], cs.table
    log(f"    chosen m={m} W={w}; CFGAN {cf.info.get('training', {}).get('best_epoch')} epochs")
    base = no_augmentation(real)
    users = sparse_users(real, maxu)
    strategies = {"none": base}
    for name in CONTROLS if spec.strategies is None else [c for c in CONTROLS if c in spec.strategies]:
        strategies[name] = _control(name, real, l2, m, w, maxu, users)
    strategies["cfgan"] = densify(real, cf, m, w, max_user_items=maxu, label="cfgan",
                                  _top=top_unseen(cf, real.X, users, m))
    sel: dict[str, Any] = {"ease_l2": l2, "m": m, "weight": w, "table": table,
                           "cfgan_training": cf.info.get("training")}
    if auto is not None:
        sel["auto"] = auto["record"]
        if "synth" in auto:  # auto's synthesizer candidate at its own (n, W), as the grid's synth strategy
            syn, ss = auto["synth"].generator, auto["synth"].selection
            n = max(1, round(ss.setting["n"] / max(ctr.n_users, 1) * real.n_users))
            strategies["synth"] = add_users(base, syn, n, ss.setting["weight"], seed)
            sel.update({"n_users": n, "users_weight": ss.setting["weight"], "users_table": ss.table})
        strategies["auto"] = auto["augmented"]
    if spec.synth:
        if auto is not None and "synth" in auto:
            n, wn = sel["n_users"], sel["users_weight"]
        else:
            syn = fit_synthesizer(ctr, seed, spec.synth_params)
            n, wn, t2 = select_add_users(ctr, cva, syn, seed, params={"l2": l2}, log=log)
            n = max(1, round(n / max(ctr.n_users, 1) * real.n_users))
            sel.update({"n_users": n, "users_weight": wn, "users_table": t2})
        from recgan.synth import make_synthesizer

        ind = make_synthesizer("independent", seed=seed).fit(real)
        strategies["indep"] = add_users(base, ind, n, wn, seed)
        strategies["synth"] = add_users(base, syn, n, wn, seed)
        strategies["both"] = add_users(strategies["cfgan"], syn, n, wn, seed)
    runs: dict[str, Any] = {}
    for mname in spec.models:
        for sname, aug in strategies.items():
            runs[f"{mname}|{sname}"] = _run(mname, sname, aug, real, test, l2, seed, spec.device, log)
    return {"dataset": dataset, "setting": setting, "seed": seed, "selection": sel, "runs": runs,
            "real_nnz": int(real.nnz), "n_users": real.n_users, "n_items": real.n_items,
            "seconds": round(time.perf_counter() - t0, 1)}


def run_grid(spec: GridSpec, out: str | Path, data_root: str | Path, log=print) -> Path:
    """Run every unit of ``spec`` not yet in ``out/units`` and return ``out``."""
    import torch

    torch.set_num_threads(1)  # the grid runs beside other jobs: one thread avoids spin contention
    out = Path(out)
    (out / "units").mkdir(parents=True, exist_ok=True)
    for ds in spec.datasets:
        train, test = load_dataset(ds, data_root)
        for setting in spec.settings:
            for seed in spec.seeds:
                path = out / "units" / f"{ds}__{setting}__s{seed}.json"
                if path.exists():
                    unit = json.loads(path.read_text())
                    if complete_unit(unit, train, test, spec, log):
                        with atomic_path(path) as tmp:
                            Path(tmp).write_text(json.dumps(unit))
                        log(f"[{ds} {setting} seed {seed}] done before; missing controls added")
                    else:
                        log(f"[{ds} {setting} seed {seed}] done before, skipped")
                    continue
                log(f"[{ds} {setting} seed {seed}]")
                ckpt = out / "checkpoints" / path.stem
                res = run_unit(ds, setting, seed, train, test, spec, log, ckpt)
                res["spec"] = {"models": spec.models, "synth": spec.synth, "max_user_items": spec.max_user_items,
                               "auto": spec.auto, "strategies": spec.strategies}
                with atomic_path(path) as tmp:
                    Path(tmp).write_text(json.dumps(res))
                shutil.rmtree(ckpt, ignore_errors=True)  # the unit is kept: its steps are no longer needed
                log(f"  unit took {res['seconds']} s")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/augment_grid.py``: run the grid units not yet in ``--out`` (then DIR/report.md)."""
    import argparse

    from recgan.cli.common import parse_params

    from .augment_report import section_header, write_report
    from .cli import command_line, repository_root

    ap = argparse.ArgumentParser(
        prog="augment_grid.py",
        description="The augmentation grid (datasets x scarcity settings x seeds x strategies x downstream "
                    "models, with controls); each finished unit is written to DIR/units/ at once and a rerun "
                    "skips it; DIR/report.md is rebuilt at the end (benchmarks/augment_report.py writes the "
                    "report elsewhere, e.g. the results section).")
    ap.add_argument("--out", required=True, metavar="DIR", help="grid folder (units/ and report.md)")
    ap.add_argument("--data-root", default=str(repository_root().parent / "shared"),
                    help="shared data root holding benchmarks/splits and datasets (default: the repository's ../shared)")
    ap.add_argument("--datasets", default="ml-100k-p1", help=f"comma list of {', '.join(DATASETS)}")
    ap.add_argument("--settings", default="full,n2,n5,n10,cold", help="comma list of full, cold, nN")
    ap.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    ap.add_argument("--models", default=",".join(DOWNSTREAM), help="downstream models, comma list")
    ap.add_argument("--synth", action="store_true", help="also run the synthesizer strategies")
    ap.add_argument("--max-user-items", type=int, default=20, metavar="K",
                    help="densify only users with at most K real training interactions outside the nN settings "
                         "(default 20; 0 = all)")
    ap.add_argument("--auto", action="store_true",
                    help="also run the product's automatic choice (augment_log(generator='auto'), downstream EASE) "
                         "as strategy 'auto', reusing its carve, EASE l2, CFGAN and synthesizer for the grid's own")
    ap.add_argument("--controls", default=None, metavar="LIST",
                    help=f"controls to build, comma list of {', '.join(CONTROLS)} (default all)")
    ap.add_argument("--device", default="cpu", help="torch device for the generators and torch downstream models")
    ap.add_argument("--generator-param", action="append", default=[], metavar="KEY=VALUE",
                    help="CFGAN parameter override (repeatable)")
    ap.add_argument("--synth-param", action="append", default=[], metavar="KEY=VALUE",
                    help="behaviour-synthesizer parameter override (repeatable)")
    args = ap.parse_args(argv)

    def items(text: str) -> list[str]:
        return [s.strip() for s in text.split(",") if s.strip()]

    try:
        seeds = [int(s) for s in items(args.seeds)]
    except ValueError:
        raise RecganError(f"--seeds {args.seeds!r}: not a comma list of integers") from None
    spec = GridSpec(datasets=items(args.datasets), settings=items(args.settings), seeds=seeds,
                    models=items(args.models), synth=args.synth, max_user_items=args.max_user_items or None,
                    device=args.device, cfgan_params=parse_params(args.generator_param),
                    synth_params=parse_params(args.synth_param), auto=args.auto,
                    strategies=None if args.controls is None else items(args.controls))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    run_grid(spec, args.out, args.data_root, log=log)
    command = command_line("python benchmarks/augment_grid.py", argv)
    results = Path(args.out) / "report.md"
    write_report(args.out, results, command, header=section_header(command))
    print(f"wrote {results}")
    return 0
