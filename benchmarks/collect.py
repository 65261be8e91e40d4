"""Assemble benchmarks/RESULTS.md from the section files in benchmarks/results/*.md (sorted by name).

Each benchmark script writes its own section file (figures plus the exact command that produced them);
this script only concatenates, so sections written by different benchmarks never overwrite each other.
Under each section's first heading it adds the line ``Reproduce: `...` `` naming the experiment file
(examples/*.yaml) whose ``output`` is that section and how to run it: ``recgan run examples/<file>.yaml`` for a
``kind: recommenders`` file, ``python -m benchmarks.harness.run examples/<file>.yaml`` for a ``kind: benchmark``
file (scripts: the harness runs those). It warns about a section without one,
an example that does not validate, and a section whose Command line quotes a command its example does not run
(update the example then).

    python benchmarks/collect.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.run import BenchmarkExperiment, commands_not_run, is_benchmark_file, load_benchmark

from recgan.errors import RecganError
from recgan.io import write_text
from recgan.reports.experiment import Experiment, load_experiment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEADER = """# recgan benchmark results

Every figure below was produced by the command written next to it, on the machine named in its section
(2-core CPU unless said otherwise), following ../shared/benchmarks/PROTOCOL.md: hyper-parameters and epochs
chosen on a validation carve of train, test read once. Anchors from ../shared/benchmarks/ANCHORS.md are
quoted where relevant. Regenerate this file with `python benchmarks/collect.py`.

"""


def examples_by_output(root: Path = ROOT) -> dict[Path, list[tuple[Path, Experiment | BenchmarkExperiment]]]:
    """{resolved section path: [(experiment file, its experiment) whose ``output`` is it]} over
    ``root/examples/*.yaml``; a file that does not validate is reported and left out."""
    found: dict[Path, list[tuple[Path, Experiment | BenchmarkExperiment]]] = {}
    for ex in sorted((root / "examples").glob("*.yaml")):
        try:
            exp = load_benchmark(ex, root=root) if is_benchmark_file(ex) else load_experiment(ex)
        except RecganError as e:
            warn(f"{e} (left out)")
            continue
        if exp.output:
            found.setdefault((root / exp.output).resolve(), []).append((ex, exp))
    return found


def warn(message: str) -> None:
    print(f"collect: warning: {message}", file=sys.stderr)


def reproduce_command(example: str, benchmark: bool = False) -> str:
    """The command that runs an experiment file: the harness for ``kind: benchmark``, else ``recgan run``."""
    return f"python -m benchmarks.harness.run {example}" if benchmark else f"recgan run {example}"


def with_reproduce_line(text: str, example: str, benchmark: bool = False) -> str:
    """``text`` with ``Reproduce: `COMMAND` `` (:func:`reproduce_command`) inserted after its first heading line."""
    lines = text.rstrip().split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith("#")), -1)
    rest = lines[at + 1 :]
    gap = [""] if rest and rest[0].strip() else []
    return "\n".join([*lines[: at + 1], "", f"Reproduce: `{reproduce_command(example, benchmark)}`", *gap, *rest])


def main() -> None:
    parts = [HEADER]
    examples = examples_by_output()
    for f in sorted((HERE / "results").glob("*.md")):
        text = f.read_text()
        found = examples.get(f.resolve(), [])
        section = f.relative_to(ROOT)
        if not found:
            warn(f"no examples/*.yaml has output {section}")
        else:
            if len(found) > 1:
                warn(f"several examples write {section}: {', '.join(str(p.relative_to(ROOT)) for p, _ in found)}")
            path, exp = found[0]
            if isinstance(exp, BenchmarkExperiment):
                for command in commands_not_run(exp, text):
                    warn(f"{section} quotes `{command}`, which {path.relative_to(ROOT)} does not run")
            text = with_reproduce_line(text, path.relative_to(ROOT).as_posix(), isinstance(exp, BenchmarkExperiment))
        parts.append(text.rstrip() + "\n\n")
    out = HERE / "RESULTS.md"
    write_text(out, "".join(parts))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
