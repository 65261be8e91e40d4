"""Config-driven experiments: ``recgan run EXPERIMENT.yaml``.

An experiment file is typed and validated (pydantic, unknown keys are errors). It names data sets (a ready
train/test pair, or a source log plus a split), models (registry names, parameters, tuning), seeds and
metrics; the runner follows PROTOCOL.md through :func:`recgan.training.fit_model` and
:func:`recgan.evaluation.evaluate`, and writes a Markdown table (mean +- std over seeds, paired Wilcoxon
test against a reference model, fit seconds) with the command that reproduces it, plus a JSON of every run.
Mean ± std over seeds uses the sample std (ddof 1); the paired test runs on per-user values averaged over
seeds (:func:`recgan.evaluation.paired_test`).

Every default is documented on its field below, in one place. Such a file runs no code of its own: it names
data files, registry models and seeds. Files of ``kind: benchmark`` (scripts that write a results section:
programs) belong to the recgan repository's research harness (``python -m benchmarks.harness.run FILE``);
:func:`load_experiment` refuses them with one line saying so.
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
from recgan.training.fitting import QUIET, fit_model


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
    augment: str | None = None
    """Augment the training log before any model is fitted, as ``recgan augment --generator NAME`` does
    (:func:`recgan.augment.augment_log` with that command's defaults: downstream EASE, users with at most 20
    real training interactions densified; seed = the experiment's first seed): ``auto`` (the automatic choice
    between every densifier and no augmentation on a validation carve of train) or a densifier name
    (``recgan models --kind densifier``). The models then see the target behaviour only, with generated
    interactions weighted; test is untouched and evaluation excludes only the real training items. A carve of an augmented log would put generated interactions into validation, so models
    of an augmented data set take fixed settings: ``tune: false``, and ``early_stopping: false`` for
    iterative models. Default: no augmentation."""

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.train is None) == (self.source is None):
            raise ValueError("give either train (+ test) or source (+ split)")
        if self.train is not None and self.test is None:
            raise ValueError("train needs a test file")
        if self.augment is not None:
            from recgan.augment.pipeline import generator_choices

            if self.augment not in generator_choices():
                raise ValueError(f"augment must be one of {', '.join(generator_choices())}, got {self.augment!r}")
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
    """Experiment kind: ``recommenders``, the only kind ``recgan run`` runs (the default). ``kind: benchmark``
    files run scripts and belong to the recgan repository's harness (``python -m benchmarks.harness.run``)."""
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


def read_experiment_file(p: Path) -> dict[str, Any]:
    """The YAML mapping of an experiment file; :class:`RecganError` naming the file when it is not one."""
    if not p.is_file():
        raise RecganError(f"{p}: no such experiment file")
    try:
        raw = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise RecganError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(raw, dict):
        raise RecganError(f"{p}: an experiment file is a mapping of fields (name, datasets, models, ...)")
    return raw


def field_error(p: Path, e: ValidationError) -> str:
    """One line naming the file and the first invalid field of a validation error."""
    first = e.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return f"{p}: field {loc!r}: {first['msg'].removeprefix('Value error, ')}"


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Read and validate an experiment file of kind ``recommenders``; bad files, and files of kind
    ``benchmark`` (which run scripts), raise :class:`RecganError` naming the file and field."""
    p = Path(path)
    raw = read_experiment_file(p)
    kind = raw.get("kind", "recommenders")
    if kind == "benchmark":
        raise RecganError(f"{p}: kind 'benchmark' runs scripts (it is a program) and recgan run does not run "
                          f"scripts; in a recgan repository checkout run it with `python -m benchmarks.harness.run "
                          f"{p}` (add --check first to see what it would run)")
    if kind != "recommenders":
        raise RecganError(f"{p}: field 'kind': {kind!r} is not 'recommenders'")
    try:
        exp = Experiment.model_validate(raw)
    except ValidationError as e:
        raise RecganError(field_error(p, e)) from None
    for m in exp.models:
        get_model_class(m.name)
    return exp


def input_files(exp: Experiment, base: Path) -> list[tuple[str, Path]]:
    """(field, path) of every data file ``exp`` reads, relative paths resolved from ``base`` (the experiment
    file's folder)."""
    out: list[tuple[str, Path]] = []
    for i, ds in enumerate(exp.datasets):
        for key in ("train", "test", "source"):
            f = getattr(ds, key)
            if f is not None:
                out.append((f"datasets.{i}.{key}", _resolve(base, f)))
        out += [(f"datasets.{i}.aux.{b}", _resolve(base, f)) for b, f in ds.aux.items()]
    return out


def check_inputs(exp: Experiment, base: Path, where: str) -> None:
    """Raise one :class:`RecganError` naming the first data file of ``exp`` that does not exist (and how many
    more are missing)."""
    missing = [(field, p) for field, p in input_files(exp, base) if not p.is_file()]
    if missing:
        field, p = missing[0]
        more = f" (and {len(missing) - 1} more missing file(s))" if len(missing) > 1 else ""
        raise RecganError(f"{where}: field '{field}': data file {p.resolve()} does not exist{more}")


def plan(exp: Experiment, base: Path) -> list[str]:
    """What ``recgan run`` would do with ``exp``, one line each: data files, models, seeds, output."""
    lines = []
    for ds in exp.datasets:
        files = ", ".join(str(_resolve(base, f).resolve()) for f in (ds.train, ds.test, ds.source, *ds.aux.values())
                          if f is not None)
        lines.append(f"data set {ds.name}: {files}" + (f" (split: {ds.split.method})" if ds.source else "")
                     + (f" (train augmented: generator {ds.augment}, seed {exp.seeds[0]})" if ds.augment else ""))
    for m in exp.models:
        how = "tuned on a validation carve" if m.tune else ("preset " + m.preset if m.preset else "fixed parameters")
        lines.append(f"model {m.label or m.name}: {m.name}, {how}" + (f", {m.params}" if m.params else ""))
    lines.append(f"seeds {', '.join(map(str, exp.seeds))} (deterministic models: the first only)")
    lines.append(f"writes: {exp.output}" if exp.output else "writes: nothing (prints the table)")
    return lines


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
    """Run every (dataset, model, seed); return results and write the Markdown section if asked (its
    results beside it as ``.json``)."""
    check_augmented(exp)
    if exp.output and Path(exp.output).suffix.lower() == ".json":
        raise RecganError(f"output {exp.output}: the Markdown section's path; the results are written beside it "
                          "with the suffix .json, which would overwrite it (give a .md path)")
    results: dict[str, Any] = {"name": exp.name, "command": command, "datasets": {}}
    lines = [f"## {exp.name}", "", f"Command: `{command}`", ""]
    if exp.description:
        lines += [exp.description.strip(), ""]
    for ds in exp.datasets:
        t0 = time.perf_counter()
        train, test = load_dataset(ds, base)
        log(f"[{ds.name}] {train}  (test {test.nnz} interactions, {time.perf_counter() - t0:.1f}s)")
        exclude, note = None, []
        if ds.augment is not None:
            train, exclude, summary = augment_train(train, ds.augment, exp.seeds[0], log)
            results.setdefault("augmented", {})[ds.name] = summary
            note = [f"Train augmented before fitting (generator {ds.augment}, seed {exp.seeds[0]}): "
                    f"{summary['chosen']}, {summary['generated']:,} generated interactions"
                    + (f" ({summary['why']})" if summary.get("why") else "") + ".", ""]
        rows, reports = [], {}
        for ms in exp.models:
            label = ms.label or ms.name
            cls = get_model_class(ms.name)
            seeds = exp.seeds if cls.stochastic else exp.seeds[:1]
            params: dict[str, Any] = {}
            fit_opts = {"early_stopping": ms.early_stopping}
            if ms.preset:
                preset = cls.preset(ms.preset)
                params.update(preset.params)
                fit_opts.update({k: v for k, v in preset.fit.model_dump().items() if k in fit_opts and not v})
            params.update(ms.params)
            runs = []
            for seed in seeds:
                res = fit_model(ms.name, train, {**params, "seed": seed}, tune=ms.tune, grid=ms.grid,
                                options=QUIET, log=lambda m: log("   " + m), **fit_opts)
                rep = evaluate(res.model, test, exclude=exclude)
                runs.append({"seed": seed, "metrics": rep.to_dict(), "fit_seconds": round(res.seconds, 2),
                             "params": {k: v for k, v in res.params.items()}})
                reports.setdefault(label, []).append(rep)
                log(f"  {label} seed {seed}: ndcg@20 {rep['ndcg@20']:.4f}  ({res.seconds:.1f}s)")
            rows.append((label, runs))
        results["datasets"][ds.name] = {label: runs for label, runs in rows}
        table = _table(ds.name, rows, reports, exp)
        lines += [*table[:2], *note, *table[2:]]
    text = "\n".join(lines) + "\n"
    results["markdown"] = text
    if exp.output:  # the old JSON is removed first: a section never sits beside another run's results
        sidecar = Path(exp.output).with_suffix(".json")
        sidecar.unlink(missing_ok=True)
        write_text(exp.output, text)
        write_json(sidecar, {k: v for k, v in results.items() if k != "markdown"})
    return results


AUGMENT_MAX_USER_ITEMS = 20
"""``augment:`` densifies users with at most this many real training interactions (``recgan augment``'s
``--max-user-items`` default)."""


def check_augmented(exp: Experiment) -> None:
    """One-line error when a model of an augmented data set would carve its (augmented) train: tuning, or
    early stopping of an iterative model."""
    if not any(ds.augment for ds in exp.datasets):
        return
    from recgan.models.torch_base import TorchRecommender

    for ms in exp.models:
        iterative = issubclass(get_model_class(ms.name), TorchRecommender)
        if ms.tune or (iterative and ms.early_stopping):
            what = "tune: true" if ms.tune else "early_stopping: true (iterative model)"
            raise RecganError(f"model {ms.label or ms.name}: {what} on an augmented data set would carve generated "
                              f"interactions into validation; give fixed settings (tune: false, early_stopping: false)")


def augment_train(train: Interactions, generator: str, seed: int, log=print) -> tuple[Interactions, Any, dict[str, Any]]:
    """(augmented train, real training matrix to exclude at evaluation, summary) of ``generator`` on ``train``
    (:func:`recgan.augment.augment_log`, downstream EASE). The summary: the generator that augmented
    (``none`` when auto kept the log), generated interaction count, and auto's reason."""
    from recgan.augment.pipeline import augment_log

    t0 = time.perf_counter()
    res = augment_log(train, generator=generator, seed=seed, max_user_items=AUGMENT_MAX_USER_ITEMS,
                      log=lambda m: log("   " + m))
    aug = res.augmented
    summary = {"generator": generator, "chosen": res.chosen, "generated": int(aug.generated.nnz),
               "why": aug.info.get("auto_reason", ""), "seconds": round(time.perf_counter() - t0, 1),
               **{k: res.selection[k] for k in ("densify", "add_users") if k in res.selection}}
    for v in summary.values():
        if isinstance(v, dict):
            v.pop("table", None)
    log(f"  train augmented by {res.chosen} ({summary['generated']} generated interactions, {summary['seconds']} s)")
    return aug.data, aug.exclude(), summary


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
            cells.append(f"{vals.mean():.4f}" + (f" ± {vals.std(ddof=1):.4f}" if len(vals) > 1 else ""))
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
