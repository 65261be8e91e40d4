"""Config-driven experiments: ``recgan run EXPERIMENT.yaml``.

An experiment file is typed and validated (pydantic, unknown keys are errors). It names data sets (a ready
train/test pair, or a source log plus a split), models (registry names, parameters, tuning), seeds and
metrics; the runner follows PROTOCOL.md through :func:`recgan.training.fit_model` and
:func:`recgan.evaluation.evaluate`, and writes a Markdown table (mean +- std over seeds, paired Wilcoxon
test against a reference model, fit seconds) with the command that reproduces it, plus a JSON of every run.

Every default is documented on its field below, in one place. A file with ``kind: benchmark`` instead names
the script(s) under ``benchmarks/`` that write a section (see :mod:`recgan.reports.benchmark_run`);
:func:`load_experiment` reads either kind.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from recgan.data.interactions import Interactions
from recgan.data.loaders import load_interactions, load_multi_behaviour
from recgan.data.splits import LeaveOneOut, RandomHoldout, TemporalGlobal, load_heldout
from recgan.errors import RecganError
from recgan.evaluation.evaluator import Report, evaluate, paired_test
from recgan.io import write_json, write_text
from recgan.models.base import get_model_class
from recgan.reports.benchmark_run import BenchmarkExperiment, check_benchmark, repo_root
from recgan.training.fitting import fit_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitSpec(_Strict):
    method: Literal["random", "loo", "temporal"] = "random"
    """random: per-user holdout (PROTOCOL.md rule); loo: leave-one-out by time; temporal: global time cut."""
    fraction: float = 0.2
    """Test share per user (random) or of all interactions (temporal)."""
    seed: int = 0
    """Split seed."""


class DatasetSpec(_Strict):
    name: str
    """Label used in tables."""
    train: str | None = None
    """Ready training file (relative paths are resolved from the experiment file's folder)."""
    test: str | None = None
    """Ready test file, read once at the end."""
    source: str | None = None
    """A whole log to split (instead of train/test)."""
    split: SplitSpec | None = None
    """How to split ``source`` (default: random per-user 20 %, seed 0)."""
    aux: dict[str, str] = Field(default_factory=dict)
    """Extra behaviours from their own files: {behaviour: file}."""
    target: str | None = None
    """Target behaviour (default: buy if present, else the only one)."""
    rating_threshold: float | None = None
    """Keep only ratings >= this as positives."""

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.train is None) == (self.source is None):
            raise ValueError("give either train (+ test) or source (+ split)")
        if self.train is not None and self.test is None:
            raise ValueError("train needs a test file")
        return self


class ModelSpec(_Strict):
    name: str
    """Registry name (ease, itemknn, rp3beta, pop, cfgan, bpr, apr, irgan, multvae, ...)."""
    label: str | None = None
    """Row label in tables (default: the name)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters (fixed)."""
    preset: str | None = None
    """A named preset of the model."""
    tune: bool = False
    """Grid-search on a validation carve of train (the model's tune_grid, or ``grid``)."""
    grid: dict[str, list[Any]] | None = None
    """Search ranges for tuning."""
    early_stopping: bool = True
    """Iterative models: early-stop on the validation carve (then refit on all of train)."""


class Experiment(_Strict):
    kind: Literal["recommenders"] = "recommenders"
    """Experiment kind: ``recommenders`` (this format, the default) or ``benchmark``
    (:class:`recgan.reports.benchmark_run.BenchmarkExperiment`: a script under benchmarks/ writes the section)."""
    name: str
    """Experiment name (section title)."""
    description: str = ""
    """Free text printed above the table."""
    datasets: list[DatasetSpec]
    models: list[ModelSpec]
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    """Seeds for stochastic models (deterministic models run once, with the first seed)."""
    metrics: list[str] = Field(default_factory=lambda: ["precision@20", "recall@20", "ndcg@10", "ndcg@20",
                                                          "coverage@10"])
    """Columns of the table (any metric the evaluator reports)."""
    reference: str | None = None
    """Label of the model every other model is tested against (paired Wilcoxon on ndcg@20)."""
    test_metric: str = "ndcg@20"
    """Metric of the paired test."""
    output: str | None = None
    """Markdown section to write (relative to the current folder), e.g. benchmarks/results/10-baselines.md."""


def load_experiment(path: str | os.PathLike[str]) -> Experiment | BenchmarkExperiment:
    """Read and validate an experiment file of either kind; bad files raise :class:`RecganError` naming the
    file and field. A benchmark file's scripts are checked against the repository above its folder."""
    p = Path(path)
    if not p.is_file():
        raise RecganError(f"{p}: no such experiment file")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise RecganError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise RecganError(f"{p}: an experiment file is a mapping of fields (name, datasets, models, ...)")
    kind = raw.get("kind", "recommenders")
    if not isinstance(kind, str) or kind not in KINDS:
        raise RecganError(f"{p}: field 'kind': {kind!r} is not one of {sorted(KINDS)}")
    try:
        exp = KINDS[kind].model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise RecganError(f"{p}: field {loc!r}: {first['msg']}") from None
    if isinstance(exp, BenchmarkExperiment):
        check_benchmark(exp, repo_root(p), str(p))
        return exp
    for m in exp.models:
        get_model_class(m.name)
    return exp


KINDS: dict[str, type[Experiment] | type[BenchmarkExperiment]] = {"recommenders": Experiment,
                                                                   "benchmark": BenchmarkExperiment}
"""Experiment kinds by their ``kind:`` value."""


def _resolve(base: Path, f: str) -> Path:
    q = Path(os.path.expandvars(f)).expanduser()
    return q if q.is_absolute() else (base / q)


def load_dataset(spec: DatasetSpec, base: Path) -> tuple[Interactions, Interactions]:
    """(train, test) with test in train's id space."""
    if spec.train:
        tr_path = _resolve(base, spec.train)
        if spec.aux:
            files = {spec.target or "buy": tr_path, **{b: _resolve(base, f) for b, f in spec.aux.items()}}
            train = load_multi_behaviour(files, target=spec.target or "buy", rating_threshold=spec.rating_threshold)
        else:
            train = load_interactions(tr_path, target=spec.target, rating_threshold=spec.rating_threshold)
        test = load_heldout(_resolve(base, spec.test), train)
        return train, test
    data = load_interactions(_resolve(base, spec.source), target=spec.target, rating_threshold=spec.rating_threshold)
    sp = spec.split or SplitSpec()
    splitter = {"random": lambda: RandomHoldout(sp.fraction, sp.seed), "loo": lambda: LeaveOneOut("time", sp.seed),
                "temporal": lambda: TemporalGlobal(sp.fraction)}[sp.method]()
    s = splitter.split(data)
    return s.train, s.test


def run_experiment(exp: Experiment, base: Path, command: str, log=print) -> dict[str, Any]:
    """Run every (dataset, model, seed); return results and write the Markdown section if asked."""
    results: dict[str, Any] = {"name": exp.name, "command": command, "datasets": {}}
    lines = [f"## {exp.name}", "", f"Command: `{command}`", ""]
    if exp.description:
        lines += [exp.description.strip(), ""]
    for ds in exp.datasets:
        t0 = time.perf_counter()
        train, test = load_dataset(ds, base)
        log(f"[{ds.name}] {train}  (test {test.nnz} interactions, {time.perf_counter() - t0:.1f}s)")
        rows, reports = [], {}
        for ms in exp.models:
            label = ms.label or ms.name
            cls = get_model_class(ms.name)
            seeds = exp.seeds if cls.stochastic else exp.seeds[:1]
            params: dict[str, Any] = {}
            fit_opts = {"early_stopping": ms.early_stopping}
            if ms.preset:
                for k, v in cls.presets[ms.preset].items():  # type: ignore[attr-defined]
                    (fit_opts.__setitem__(k[1:], v) if k.startswith("_") else params.__setitem__(k, v))
            params.update(ms.params)
            runs = []
            for seed in seeds:
                res = fit_model(ms.name, train, {**params, "seed": seed}, tune=ms.tune, grid=ms.grid,
                                driver_options={"progress": False}, log=lambda m: log("   " + m), **fit_opts)
                rep = evaluate(res.model, test)
                runs.append({"seed": seed, "metrics": rep.to_dict(), "fit_seconds": round(res.seconds, 2),
                             "params": {k: v for k, v in res.params.items()}})
                reports.setdefault(label, []).append(rep)
                log(f"  {label} seed {seed}: ndcg@20 {rep['ndcg@20']:.4f}  ({res.seconds:.1f}s)")
            rows.append((label, runs))
        results["datasets"][ds.name] = {label: runs for label, runs in rows}
        lines += _table(ds.name, rows, reports, exp)
    text = "\n".join(lines) + "\n"
    results["markdown"] = text
    if exp.output:
        write_text(exp.output, text)
        write_json(Path(exp.output).with_suffix(".json"), {k: v for k, v in results.items() if k != "markdown"})
    return results


def _mean_report(reps: list[Report]) -> Report:
    if len(reps) == 1:
        return reps[0]
    per = {k: np.mean([r.per_user[k] for r in reps], axis=0) for k in reps[0].per_user}
    return Report(reps[0].metrics, per, reps[0].users)


def _table(name: str, rows, reports, exp: Experiment) -> list[str]:
    head = ["model", *exp.metrics, "fit s", "seeds"]
    if exp.reference:
        head.append(f"p vs {exp.reference} ({exp.test_metric})")
    out = [f"### {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ref = _mean_report(reports[exp.reference]) if exp.reference in reports else None
    for label, runs in rows:
        cells = [label]
        for m in exp.metrics:
            vals = np.array([r["metrics"].get(m, np.nan) for r in runs])
            cells.append(f"{vals.mean():.4f}" + (f" ± {vals.std():.4f}" if len(vals) > 1 else ""))
        cells.append(f"{np.mean([r['fit_seconds'] for r in runs]):.2f}")
        cells.append(str(len(runs)))
        if exp.reference:
            if ref is None or label == exp.reference:
                cells.append("-")
            else:
                t = paired_test(_mean_report(reports[label]), ref, exp.test_metric)
                cells.append(f"{t['p_value']:.2g} ({'+' if t['diff'] > 0 else ''}{t['diff']:.4f})")
        out.append("| " + " | ".join(cells) + " |")
    return out + [""]


def command_line(argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return "recgan " + " ".join(shlex.quote(a) for a in args)
