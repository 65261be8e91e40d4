"""Experiment files of ``kind: benchmark``: a results section produced by scripts of this repository.

**An experiment file of this kind is a program**: running it runs the scripts and ``recgan`` commands it names,
with your privileges, as if you typed them. Run only files you trust (the repository's examples/*.yaml), and
read ``--check``'s list of commands first::

    python -m benchmarks.harness.run examples/20-cfgan.yaml --check    # what would run, inputs checked
    python -m benchmarks.harness.run examples/20-cfgan.yaml            # run it

This runner is the repository's research harness, not part of the installed recgan: ``recgan run`` runs only
``kind: recommenders`` files (data, models, seeds; no code), and refuses this kind. Given such a file, this
runner hands it to recgan's own runner, so every examples/*.yaml runs (and ``--check``s) here.

Some tables of benchmarks/RESULTS.md are not plain "fit these recommenders on these splits" tables (speed,
serving load, synthetic users, augmentation grids ...); a script under ``benchmarks/`` (or a ``recgan``
command) writes them. An experiment file of this kind names those invocations, typed and validated like the
recommender kind (unknown keys are errors), so that running it re-runs exactly the commands behind the section
and checks that the section file was written::

    kind: benchmark
    name: CFGAN (issue 3)
    output: benchmarks/results/20-cfgan.md
    inputs: [../shared/benchmarks/splits/ml-100k-p1]
    benchmark:
      script: benchmarks/cfgan.py
      env: {OMP_NUM_THREADS: "1"}
      args: {seeds: "0,1,2", jobs: 2, tmall: true, work: /tmp/cfgan_h/work}

Limits: scripts are Python files inside *this* repository's ``benchmarks/`` folder (the one holding this
harness, wherever the experiment file lies); ``env`` sets only the variables of :data:`ENV_ALLOWED` (thread
counts and device selection; ``PYTHONPATH``, ``LD_PRELOAD`` and the like are refused); ``inputs`` must exist
before anything runs. Every invocation runs in the repository root with the Python interpreter running this
harness (``sys.executable``), its output streamed to this process's stdout / stderr. Every default is
documented on its field below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recgan.errors import RecganError

from .cli import repository_root

Scalar = str | int | float | bool
"""A YAML scalar usable as a command-line argument."""

ENV_ALLOWED = frozenset({
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
    "TORCH_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG", "CUDA_VISIBLE_DEVICES", "PYTORCH_CUDA_ALLOC_CONF",
})
"""The environment variables an experiment file may set: thread counts and GPU selection / determinism.
Anything else (``PYTHONPATH``, ``LD_PRELOAD``, ``PATH`` ...) could make a command run other code; refused."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Invocation(_Strict):
    """One command of a benchmark: a script under ``benchmarks/`` or a ``recgan`` sub-command."""

    script: str | None = None
    """Python script to run, relative to the repository root, e.g. ``benchmarks/cfgan.py``; must be a file
    inside the repository's ``benchmarks/`` folder (no ``..`` escapes, no absolute paths elsewhere)."""
    recgan: str | None = Field(default=None, pattern=r"^[a-z][a-z-]*$")
    """Instead of ``script``: a recgan sub-command (``train``, ``augment``, ``data`` ...), run as
    ``python -m recgan <recgan> <args>`` (``recgan run --check`` checks that the command exists)."""
    args: list[Scalar] | dict[str, Scalar | list[Scalar] | None] = Field(default_factory=list)
    """Arguments. A list is used verbatim (each item turned into a string): use it for repeated flags
    (``--model a=X --model b=Y``) and positional arguments. A mapping ``{name: value}`` becomes
    ``--name value`` in the order given (underscores kept as written): ``true`` gives the bare flag
    ``--name``, ``false`` / ``null`` omit it, a list gives ``--name v1 v2 ...`` (argparse ``nargs``).
    Default: no arguments."""
    env: dict[str, Scalar] = Field(default_factory=dict)
    """Environment variables set for this command on top of the current environment, e.g.
    ``{OMP_NUM_THREADS: 1}``; only the names in :data:`ENV_ALLOWED`. Default: none."""
    nice: int = Field(default=0, ge=0, le=19)
    """Niceness increment of the command (``nice -n``), 0-19. Default 0 (as the caller)."""

    @field_validator("env")
    @classmethod
    def _allowed_env(cls, v: dict[str, Scalar]) -> dict[str, Scalar]:
        bad = sorted(k for k in v if k not in ENV_ALLOWED)
        if bad:
            raise ValueError(f"{', '.join(bad)} may not be set by an experiment file "
                             f"(allowed: {', '.join(sorted(ENV_ALLOWED))})")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> Invocation:
        if (self.script is None) == (self.recgan is None):
            raise ValueError("give exactly one of script (a file under benchmarks/) or recgan (a sub-command)")
        return self

    def argv(self) -> list[str]:
        """The arguments after the script / sub-command, as strings."""
        if isinstance(self.args, list):
            return [_text(a) for a in self.args]
        out: list[str] = []
        for name, value in self.args.items():
            flag = name if name.startswith("-") else f"--{name}"
            if value is None or value is False:
                continue
            if value is True:
                out.append(flag)
            elif isinstance(value, list):
                out += [flag, *(_text(v) for v in value)]
            else:
                out += [flag, _text(value)]
        return out

    def display(self) -> str:
        """The command as a shell line (for logs and errors)."""
        head = [f"{k}={v}" for k, v in self.env.items()] + ([f"nice -n {self.nice}"] if self.nice else [])
        cmd = ["python", self.script] if self.script else ["recgan", self.recgan or ""]
        return " ".join([*head, *(shlex.quote(a) for a in cmd + self.argv())])


def _niceness(n: int) -> Callable[[], None] | None:
    """``preexec_fn`` raising the child's niceness by ``n`` (POSIX only; None when there is nothing to do)."""
    if not n or not hasattr(os, "nice"):
        return None

    def apply() -> None:
        os.nice(n)

    return apply


def _text(v: Scalar) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


class BenchmarkExperiment(_Strict):
    """An experiment file of ``kind: benchmark``."""

    kind: Literal["benchmark"]
    """Selects this format (the default kind, ``recommenders``, is :class:`recgan.reports.experiment.Experiment`,
    run by ``recgan run``)."""
    name: str
    """Experiment name (for logs; the section's title is written by the script)."""
    description: str = ""
    """Free text: what the section shows, anything about the run that the arguments do not say."""
    benchmark: list[Invocation] = Field(min_length=1)
    """The command (a mapping), or a list of commands run in order (e.g. parts or seeds run separately, a
    report step last). A failing command stops the run."""
    output: str
    """The section file the commands write, relative to the repository root, e.g.
    ``benchmarks/results/20-cfgan.md``; it must exist and be newer than the start of the run afterwards."""
    inputs: list[str] = Field(default_factory=list)
    """Files or folders the commands read (data sets, splits), relative to the repository root (``../shared/...``)
    or absolute; ``--check`` and the run verify that each exists before anything runs. Default: none (the
    ``--train`` / ``--test`` files of ``recgan`` commands are checked in any case)."""

    @field_validator("benchmark", mode="before")
    @classmethod
    def _as_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


INPUT_FLAGS = ("--train", "--test", "--source")
"""Options of ``recgan`` commands whose value is an input file (checked to exist before the run)."""


def check_benchmark(exp: BenchmarkExperiment, root: Path, where: str) -> None:
    """Check every script path and the output path against the repository at ``root``; raise
    :class:`RecganError` naming the file and field."""
    bench = (root / "benchmarks").resolve()
    for i, inv in enumerate(exp.benchmark):
        field = f"benchmark.{i}"
        if inv.script is not None:
            p = Path(inv.script)
            resolved = (p if p.is_absolute() else root / p).resolve()
            if not resolved.is_relative_to(bench):
                raise RecganError(f"{where}: field '{field}.script': {inv.script!r} is not inside the "
                                  f"repository's benchmarks/ folder ({bench})")
            if not resolved.is_file():
                raise RecganError(f"{where}: field '{field}.script': no such script {resolved}")
            if resolved.suffix != ".py":
                raise RecganError(f"{where}: field '{field}.script': {inv.script!r} is not a Python file")
    out = (root / exp.output).resolve()
    if Path(exp.output).is_absolute() or not out.is_relative_to(root.resolve()):
        raise RecganError(f"{where}: field 'output': {exp.output!r} must be a path inside the repository")


def missing_inputs(exp: BenchmarkExperiment, root: Path) -> list[tuple[str, Path]]:
    """(field, resolved path) of every input that does not exist: the ``inputs`` list and the
    :data:`INPUT_FLAGS` values of ``recgan`` commands, relative paths taken from the repository root."""
    found: list[tuple[str, str]] = [(f"inputs.{i}", p) for i, p in enumerate(exp.inputs)]
    for i, inv in enumerate(exp.benchmark):
        if inv.recgan is None:
            continue
        argv = inv.argv()
        found += [(f"benchmark.{i}.args", argv[k + 1]) for k, a in enumerate(argv[:-1]) if a in INPUT_FLAGS]
    out = []
    for field, p in found:
        q = Path(os.path.expandvars(p)).expanduser()
        q = q if q.is_absolute() else root / q
        if not q.exists():
            out.append((field, q.resolve()))
    return out


def check_inputs(exp: BenchmarkExperiment, root: Path, where: str) -> None:
    """Raise one :class:`RecganError` naming the first missing input (and how many more are missing)."""
    missing = missing_inputs(exp, root)
    if missing:
        field, path = missing[0]
        more = f" (and {len(missing) - 1} more missing input(s))" if len(missing) > 1 else ""
        raise RecganError(f"{where}: field '{field}': input {path} does not exist{more}; the data sets come from "
                          f"../shared beside the repository (../shared/README.md)")


def plan(exp: BenchmarkExperiment, root: Path) -> list[str]:
    """What running ``exp`` would do, one line each: the commands in order (as shell lines, run in ``root``),
    the inputs they read and the section they must write."""
    lines = [f"runs {len(exp.benchmark)} command(s) in {root}, in this order:"]
    lines += [f"  {i}. {inv.display()}" for i, inv in enumerate(exp.benchmark, 1)]
    if exp.inputs:
        lines.append("reads: " + ", ".join(exp.inputs))
    lines.append(f"writes: {exp.output}")
    return lines


def command_argv(inv: Invocation, root: Path) -> list[str]:
    """Full argv of ``inv``: the current interpreter, then the script (absolute) or ``-m recgan CMD``."""
    head = [sys.executable, str((root / inv.script).resolve())] if inv.script else [sys.executable, "-m", "recgan",
                                                                                     inv.recgan or ""]
    return head + inv.argv()


def run_benchmark(exp: BenchmarkExperiment, root: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every invocation in order from ``root``; return ``{"output": path, "seconds": [...]}``.

    Raises :class:`RecganError` if an input is missing (before anything runs), if a command exits non-zero or if
    the output file is not (re)written."""
    check_benchmark(exp, root, exp.name)
    check_inputs(exp, root, exp.name)
    output = (root / exp.output).resolve()
    start = time.time()
    seconds = []
    for i, inv in enumerate(exp.benchmark, 1):
        log(f"[{i}/{len(exp.benchmark)}] {inv.display()}")
        env = {**os.environ, **{k: _text(v) for k, v in inv.env.items()}}
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(command_argv(inv, root), cwd=root, env=env, check=False,
                                preexec_fn=_niceness(inv.nice),
                                ).returncode
        except OSError as e:
            raise RecganError(f"{exp.name}: could not start `{inv.display()}`: {e}") from None
        seconds.append(round(time.perf_counter() - t0, 1))
        if rc != 0:
            raise RecganError(f"{exp.name}: command {i} of {len(exp.benchmark)} `{inv.display()}` failed with "
                              f"exit status {rc}")
    if not output.is_file() or output.stat().st_mtime < start - 1:
        raise RecganError(f"{exp.name}: the commands finished but did not write the output file {exp.output} "
                          f"(field 'output')")
    log(f"wrote {exp.output}")
    return {"output": str(output), "seconds": seconds}


def split_command(line: str) -> tuple[dict[str, str], int, list[str]]:
    """(environment, niceness, argv) of a shell command line such as
    ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/x.py --a 1``; ``chrt -r N`` (real-time priority, needs
    privileges, not reproduced by an experiment file) is dropped."""
    words = shlex.split(line)
    env: dict[str, str] = {}
    nice = 0
    while words:
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
            k, v = words.pop(0).split("=", 1)
            env[k] = v
        elif words[0] in ("nice", "chrt") and len(words) > 2:
            nice = int(words[2]) if words[0] == "nice" else nice
            del words[:3]
        else:
            break
    return env, nice, words


def section_commands(text: str) -> list[str]:
    """The concrete commands quoted on a section's ``Command:`` / ``Commands ...:`` / ``Report command:`` line:
    quoted shell lines that run ``python benchmarks/...`` or a ``recgan`` command with options; templates
    (``[...]``, ``...``, a placeholder ``N``) and ``recgan run`` itself are left out."""
    line = next((ln for ln in text.splitlines() if re.match(r"(Report )?[Cc]ommands?\b[^:]*:", ln)), "")
    return [c for c in re.findall(r"`([^`]+)`", line)
            if re.search(r"python benchmarks/|^(\S+=\S+ |nice -n \d+ |chrt -r \d+ )*recgan \w", c) and " --" in c
            and not re.search(r"\[|\.\.\.|\bN\b|recgan run ", c)]


def commands_not_run(exp: BenchmarkExperiment, section_text: str) -> list[str]:
    """The concrete commands a section quotes (:func:`section_commands`) that ``exp`` does not run: an
    experiment file out of date with its section."""
    ran = [split_command(inv.display()) for inv in exp.benchmark]
    return [c for c in section_commands(section_text) if split_command(c) not in ran]


def load_benchmark(path: str | os.PathLike[str], root: Path | None = None) -> BenchmarkExperiment:
    """Read and validate a ``kind: benchmark`` file; scripts are checked against the repository at ``root``
    (default: this harness's repository). Bad files raise :class:`RecganError` naming the file and field."""
    from recgan.reports.experiment import field_error, read_experiment_file

    p = Path(path)
    raw = read_experiment_file(p)
    if raw.get("kind", "recommenders") != "benchmark":
        raise RecganError(f"{p}: field 'kind': {raw.get('kind', 'recommenders')!r} is not 'benchmark'")
    try:
        exp = BenchmarkExperiment.model_validate(raw)
    except ValidationError as e:
        raise RecganError(field_error(p, e)) from None
    check_benchmark(exp, root or repository_root(), str(p))
    return exp


def is_benchmark_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an experiment file of ``kind: benchmark`` (False for anything else, even unreadable)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and raw.get("kind") == "benchmark"


def check_subcommands(exp: BenchmarkExperiment, where: str) -> None:
    """Every ``recgan:`` command of a benchmark file must be a recgan sub-command whose parser accepts its
    arguments (checked without running it); raise :class:`RecganError` naming the field otherwise."""
    import argparse
    import contextlib
    import io

    from recgan.cli.main import build_parser

    parser = build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    for i, inv in enumerate(exp.benchmark):
        if inv.recgan is None:
            continue
        if inv.recgan not in choices:
            raise RecganError(f"{where}: field 'benchmark.{i}.recgan': unknown recgan command {inv.recgan!r}")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                _, unknown = choices[inv.recgan].parse_known_args(inv.argv())
        except SystemExit:
            msg = err.getvalue().strip().splitlines()
            raise RecganError(f"{where}: field 'benchmark.{i}.args': `recgan {inv.recgan}` rejects them: "
                              f"{msg[-1] if msg else 'bad arguments'}") from None
        if unknown:
            raise RecganError(f"{where}: field 'benchmark.{i}.args': `recgan {inv.recgan}` does not accept "
                              f"{' '.join(unknown)}")


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.harness.run FILE ... [--check]`` (from the repository root)."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.harness.run",
        description="Run experiment files of this repository (examples/*.yaml). A file of kind benchmark IS A "
                    "PROGRAM: it runs the scripts under this repository's benchmarks/ folder and the recgan "
                    "commands it names, with your privileges; run only files you trust and read --check's list "
                    "first. Scripts must lie in this repository's benchmarks/ folder, env may set only thread "
                    "counts and GPU selection, and every input must exist before anything runs. A file of kind "
                    "recommenders (data, models, seeds) is handed to `recgan run`.")
    ap.add_argument("experiments", nargs="+", metavar="FILE", help="experiment file(s), run in the order given")
    ap.add_argument("--check", action="store_true",
                    help="validate each file, check that its inputs exist and list exactly what would run; run nothing")
    args = ap.parse_args(argv)
    root = repository_root()
    for f in args.experiments:
        if not is_benchmark_file(f):
            from recgan.cli.main import main as recgan_main

            rc = recgan_main(["run", f, *(["--check"] if args.check else [])])
            if rc:
                return rc
            continue
        exp = load_benchmark(f)
        check_subcommands(exp, f)
        check_inputs(exp, root, f)
        if args.check:
            print(f"{f}: valid (kind benchmark, a program: {len(exp.benchmark)} command(s)); inputs present")
            print("\n".join("  " + line for line in plan(exp, root)))
            continue
        run_benchmark(exp, root, log=lambda m: print(f"harness run: {m}", file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    from .cli import run_main

    run_main(main, "python -m benchmarks.harness.run")
