"""Experiment files of ``kind: benchmark``: a results section produced by a script under ``benchmarks/``.

Some tables of benchmarks/RESULTS.md are not plain "fit these recommenders on these splits" tables (speed,
serving load, synthetic users, augmentation grids ...); a script under ``benchmarks/`` (or a ``recgan``
command) writes them. An experiment file of this kind names those invocations, typed and validated like the
recommender kind (unknown keys are errors), so that ``recgan run examples/NN-topic.yaml`` re-runs exactly the
commands behind the section and checks that the section file was written::

    kind: benchmark
    name: CFGAN (issue 3)
    output: benchmarks/results/20-cfgan.md
    benchmark:
      script: benchmarks/cfgan.py
      env: {OMP_NUM_THREADS: "1"}
      args: {seeds: "0,1,2", jobs: 2, tmall: true, work: /tmp/cfgan_h/work}

The repository root is the folder above the experiment file's folder (``examples/`` sits at the root);
every invocation runs there, with the Python interpreter running recgan (``sys.executable``), its output
streamed to this process's stdout / stderr. Every default is documented on its field below.
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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recgan.errors import RecganError

Scalar = str | int | float | bool
"""A YAML scalar usable as a command-line argument."""


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
    ``{OMP_NUM_THREADS: 1}``. Default: none."""
    nice: int = Field(default=0, ge=0, le=19)
    """Niceness increment of the command (``nice -n``), 0-19. Default 0 (as the caller)."""

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
    """Selects this format (the default kind, ``recommenders``, is :class:`recgan.reports.experiment.Experiment`)."""
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

    @field_validator("benchmark", mode="before")
    @classmethod
    def _as_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


def repo_root(experiment_file: str | os.PathLike[str]) -> Path:
    """The repository root of an experiment file: the folder above its folder (``examples/`` sits at the root)."""
    return Path(experiment_file).resolve().parent.parent


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


def command_argv(inv: Invocation, root: Path) -> list[str]:
    """Full argv of ``inv``: the current interpreter, then the script (absolute) or ``-m recgan CMD``."""
    head = [sys.executable, str((root / inv.script).resolve())] if inv.script else [sys.executable, "-m", "recgan",
                                                                                     inv.recgan or ""]
    return head + inv.argv()


def run_benchmark(exp: BenchmarkExperiment, root: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every invocation in order from ``root``; return ``{"output": path, "seconds": [...]}``.

    Raises :class:`RecganError` if a command exits non-zero or the output file is not (re)written."""
    check_benchmark(exp, root, exp.name)
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
