"""Experiment files of ``kind: benchmark`` (the harness, benchmarks/harness/run.py) and the examples/ folder
behind benchmarks/RESULTS.md."""

from __future__ import annotations

import ast
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.harness import cli as harness_cli
from benchmarks.harness import run as harness_run
from benchmarks.harness.run import (
    BenchmarkExperiment,
    Invocation,
    check_subcommands,
    commands_not_run,
    is_benchmark_file,
    load_benchmark,
    run_benchmark,
    section_commands,
    split_command,
)
from recgan.errors import RecganError
from recgan.reports.experiment import Experiment, load_experiment

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SECTIONS = sorted((ROOT / "benchmarks" / "results").glob("*.md"))


# ------------------------------------------------------------------ the repository's examples


def _load(path: Path) -> Experiment | BenchmarkExperiment:
    return load_benchmark(path) if is_benchmark_file(path) else load_experiment(path)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads_and_validates(path):
    exp = _load(path)
    assert exp.output, f"{path.name} names no output section"
    if isinstance(exp, BenchmarkExperiment):
        check_subcommands(exp, str(path))


def test_every_section_has_exactly_one_example():
    outputs: dict[Path, list[str]] = {}
    for path in EXAMPLES:
        exp = _load(path)
        outputs.setdefault((ROOT / exp.output).resolve(), []).append(path.name)
    for section in SECTIONS:
        assert len(outputs.get(section.resolve(), [])) == 1, (section.name, outputs.get(section.resolve()))


def _script_flags(script: Path) -> set[str]:
    """Option strings of every ``add_argument`` call in ``script`` (read from its source, nothing imported)."""
    flags: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            flags |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return flags


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_benchmark_arguments_are_options_of_their_script(path):
    exp = _load(path)
    if not isinstance(exp, BenchmarkExperiment):
        pytest.skip("kind recommenders")
    for inv in exp.benchmark:
        if inv.script is None:
            continue
        script = ROOT / inv.script
        known = _script_flags(script)
        if "run_main(main" in script.read_text():  # a thin entry script: its options live in the harness module
            known |= _script_flags(ROOT / "benchmarks" / "harness" / script.name)
        given = {a.split("=")[0] for a in inv.argv() if a.startswith("--")}
        assert given <= known, (inv.script, sorted(given - known))


def test_section_commands_are_compared_with_the_example():
    text = ("## T\n\nCommands (cached; each row gives its own `recgan train` line): "
            "`OMP_NUM_THREADS=1 nice -n 10 python benchmarks/x.py --a 1 --b`, `chrt -r 10 recgan train --out m`, "
            "`python benchmarks/x.py --part [P] ...`, `recgan run examples/x.yaml --check`\n")
    assert section_commands(text) == ["OMP_NUM_THREADS=1 nice -n 10 python benchmarks/x.py --a 1 --b",
                                      "chrt -r 10 recgan train --out m"]
    assert split_command("A=1 nice -n 5 python s.py --x 'a b'") == ({"A": "1"}, 5, ["python", "s.py", "--x", "a b"])
    exp = BenchmarkExperiment(kind="benchmark", name="x", output="o.md", benchmark=[
        {"script": "benchmarks/x.py", "env": {"OMP_NUM_THREADS": 1}, "nice": 10, "args": {"a": 1, "b": True}}])
    assert commands_not_run(exp, text) == ["chrt -r 10 recgan train --out m"]
    exp.benchmark.append(Invocation(recgan="train", args={"out": "m"}))
    assert commands_not_run(exp, text) == []


def test_recgan_subcommand_arguments_are_checked(tmp_path):
    exp = BenchmarkExperiment(kind="benchmark", name="x", output="out.md",
                              benchmark=[{"recgan": "train", "args": {"train": "t.tsv", "model": "ease", "out": "m",
                                                                   "no-such-flag": 1}}])
    with pytest.raises(RecganError, match=r"benchmark\.0\.args.*--no-such-flag"):
        check_subcommands(exp, "x.yaml")
    exp = BenchmarkExperiment(kind="benchmark", name="x", output="out.md", benchmark=[{"recgan": "train"}])
    with pytest.raises(RecganError, match=r"benchmark\.0\.args.*required: --train"):
        check_subcommands(exp, "x.yaml")
    exp = BenchmarkExperiment(kind="benchmark", name="x", output="out.md", benchmark=[{"recgan": "nosuch"}])
    with pytest.raises(RecganError, match=r"benchmark\.0\.recgan.*nosuch"):
        check_subcommands(exp, "x.yaml")


def test_baselines_example_is_still_the_recommenders_kind():
    exp = load_experiment(ROOT / "examples" / "baselines.yaml")
    assert isinstance(exp, Experiment) and exp.kind == "recommenders" and exp.reference == "EASE"


# ------------------------------------------------------------------ argv


def test_mapping_arguments_become_argv():
    inv = Invocation(script="benchmarks/x.py", args={"seeds": [0, 1], "jobs": 2, "tmall": True, "off": False,
                                                       "none": None, "report-only": True, "--raw": "a b"})
    assert inv.argv() == ["--seeds", "0", "1", "--jobs", "2", "--tmall", "--report-only", "--raw", "a b"]
    assert Invocation(recgan="train", args=["--param", "l2=1", 3, True]).argv() == ["--param", "l2=1", "3", "true"]
    assert Invocation(script="benchmarks/x.py", env={"OMP_NUM_THREADS": 1}, nice=10,
                      args={"a": "x y"}).display() == "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/x.py --a 'x y'"


# ------------------------------------------------------------------ a tiny repository layout


FAKE = """
import argparse, pathlib, sys
ap = argparse.ArgumentParser()
ap.add_argument("--value", default="0")
ap.add_argument("--fail", action="store_true")
ap.add_argument("--no-write", action="store_true")
a = ap.parse_args()
print("fake benchmark running", a.value, flush=True)
if a.fail:
    sys.exit(1)
if not a.no_write:
    out = pathlib.Path("benchmarks/results/99-x.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("## Fake\\n\\nvalue " + a.value + "\\n")
"""


def _repo(tmp_path: Path, body: str) -> Path:
    (tmp_path / "benchmarks").mkdir(exist_ok=True)
    (tmp_path / "examples").mkdir(exist_ok=True)
    (tmp_path / "benchmarks" / "fake.py").write_text(FAKE)
    (tmp_path / "outside.py").write_text("print('outside')\n")
    f = tmp_path / "examples" / "99-x.yaml"
    f.write_text(textwrap.dedent(body))
    return f


GOOD = """
kind: benchmark
name: fake
output: benchmarks/results/99-x.md
benchmark:
  - script: benchmarks/fake.py
    args: {value: 7}
    env: {OMP_NUM_THREADS: 1}
    nice: 1
"""


def test_benchmark_run_end_to_end(tmp_path, capfd):
    f = _repo(tmp_path, GOOD)
    exp = load_benchmark(f, root=tmp_path)
    res = run_benchmark(exp, tmp_path, log=lambda m: None)
    assert (tmp_path / "benchmarks" / "results" / "99-x.md").read_text().endswith("value 7\n")
    assert len(res["seconds"]) == 1
    assert "fake benchmark running 7" in capfd.readouterr().out  # streamed, not swallowed


def test_benchmark_run_through_the_harness_cli(tmp_path, capfd, monkeypatch):
    f = _repo(tmp_path, GOOD.replace("{value: 7}", "{value: 8}"))
    monkeypatch.setattr(harness_run, "repository_root", lambda: tmp_path)
    assert harness_run.main([str(f), "--check"]) == 0
    out = capfd.readouterr().out
    assert "valid (kind benchmark, a program: 1 command(s))" in out
    assert "1. OMP_NUM_THREADS=1 nice -n 1 python benchmarks/fake.py --value 8" in out
    assert "writes: benchmarks/results/99-x.md" in out
    assert not (tmp_path / "benchmarks" / "results" / "99-x.md").exists()  # --check ran nothing
    assert harness_run.main([str(f)]) == 0
    assert (tmp_path / "benchmarks" / "results" / "99-x.md").read_text().endswith("value 8\n")


@pytest.mark.parametrize("args, message", [
    ("{fail: true}", r"command 1 of 1 .*fake\.py --fail.* failed with exit status 1"),
    ("{no-write: true}", r"did not write the output file benchmarks/results/99-x\.md"),
])
def test_benchmark_run_failures_are_clear(tmp_path, args, message):
    f = _repo(tmp_path, GOOD.replace("{value: 7}", args))
    with pytest.raises(RecganError, match=message):
        run_benchmark(load_benchmark(f, root=tmp_path), tmp_path, log=lambda m: None)


def test_a_stale_output_file_is_not_accepted(tmp_path):
    f = _repo(tmp_path, GOOD.replace("{value: 7}", "{no-write: true}"))
    stale = tmp_path / "benchmarks" / "results" / "99-x.md"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    import os

    os.utime(stale, (1_000_000, 1_000_000))
    with pytest.raises(RecganError, match="did not write the output file"):
        run_benchmark(load_benchmark(f, root=tmp_path), tmp_path, log=lambda m: None)


@pytest.mark.parametrize("edit, field", [
    (("    nice: 1\n", "    nice: 1\n    colour: red\n"), "benchmark.0.colour"),
    (("name: fake\n", "name: fake\nextra: 1\n"), "'extra'"),
    (("benchmarks/fake.py", "benchmarks/missing.py"), "benchmark.0.script"),
    (("benchmarks/fake.py", "benchmarks/../outside.py"), "benchmark.0.script"),
    (("benchmarks/fake.py", "/usr/bin/env"), "benchmark.0.script"),
    (("  - script: benchmarks/fake.py\n", "  - script: benchmarks/fake.py\n    recgan: train\n"), "benchmark.0"),
    (("output: benchmarks/results/99-x.md", "output: ../../elsewhere.md"), "'output'"),
    (("kind: benchmark", "kind: nonsense"), "'kind'"),
    (("nice: 1", "nice: 40"), "benchmark.0.nice"),
])
def test_bad_benchmark_files_name_the_field(tmp_path, edit, field):
    f = _repo(tmp_path, GOOD.replace(*edit))
    with pytest.raises(RecganError) as e:
        load_benchmark(f, root=tmp_path)
    assert field in str(e.value) and "99-x.yaml" in str(e.value)


def test_a_single_mapping_is_one_command(tmp_path):
    f = _repo(tmp_path, "kind: benchmark\nname: one\noutput: benchmarks/results/99-x.md\n"
                        "benchmark: {script: benchmarks/fake.py}\n")
    exp = load_benchmark(f, root=tmp_path)
    assert len(exp.benchmark) == 1 and exp.benchmark[0].script == "benchmarks/fake.py"


# ------------------------------------------------------------------ benchmarks/collect.py


def _collect_module():
    if str(ROOT / "benchmarks") not in sys.path:  # as when run as a script: benchmarks/ holds `harness`
        sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("collect_under_test", ROOT / "benchmarks" / "collect.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("collect_under_test", None)
    spec.loader.exec_module(mod)
    return mod


def test_collect_names_the_example_under_each_heading(tmp_path):
    collect = _collect_module()
    f = _repo(tmp_path, GOOD)
    found = collect.examples_by_output(tmp_path)
    assert list(found) == [(tmp_path / "benchmarks" / "results" / "99-x.md").resolve()]
    assert [p for p, _ in found[(tmp_path / "benchmarks" / "results" / "99-x.md").resolve()]] == [f]
    text = collect.with_reproduce_line("## Title\n\nCommand: `x`\n", "examples/99-x.yaml")
    assert text == "## Title\n\nReproduce: `recgan run examples/99-x.yaml`\n\nCommand: `x`"
    assert collect.with_reproduce_line("## T\nbody", "e.yaml").split("\n") == [
        "## T", "", "Reproduce: `recgan run e.yaml`", "", "body"]
    assert collect.with_reproduce_line("## T\nbody", "e.yaml", benchmark=True).split("\n")[2] == \
        "Reproduce: `python -m benchmarks.harness.run e.yaml`"


# ------------------------------------------------------------------ the harness's limits (issue 22)


def _harness(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """Run the harness's command line as ``python -m benchmarks.harness.run`` does: (exit status, out, err)."""
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    with pytest.raises(SystemExit) as e:
        harness_cli.run_main(harness_run.main, "python -m benchmarks.harness.run")
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m benchmarks.harness.run: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _file(tmp_path: Path, benchmark: str, extra: str = "") -> Path:
    f = tmp_path / "examples" / "x.yaml"
    f.parent.mkdir(exist_ok=True)
    f.write_text(f"kind: benchmark\nname: x\noutput: benchmarks/results/99-x.md\n{extra}benchmark:\n{benchmark}")
    return f


@pytest.mark.parametrize("var", ["PYTHONPATH", "LD_PRELOAD", "PATH"])
def test_env_outside_the_allow_list_is_refused(tmp_path, capsys, monkeypatch, var):
    f = _file(tmp_path, f"  - script: benchmarks/collect.py\n    env: {{{var}: /tmp/evil}}\n")
    rc, out, err = _harness([str(f), "--check"], capsys, monkeypatch)
    line = _one_line(err)
    assert rc == 2 and "field 'benchmark.0.env'" in line and f"{var} may not be set" in line and out == ""


def test_thread_counts_are_allowed(tmp_path, capsys, monkeypatch):
    f = _file(tmp_path, "  - script: benchmarks/collect.py\n"
                        "    env: {OMP_NUM_THREADS: 1, MKL_NUM_THREADS: 1, CUDA_VISIBLE_DEVICES: '0'}\n")
    rc, out, _ = _harness([str(f), "--check"], capsys, monkeypatch)
    assert rc == 0
    assert "1. OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 CUDA_VISIBLE_DEVICES=0 python benchmarks/collect.py" in out


@pytest.mark.parametrize("script, why", [
    ("benchmarks/fake.py", "no such script"),  # a script beside the file, not in this repository's benchmarks/
    ("../outside.py", "is not inside the repository's benchmarks/ folder"),
    ("/usr/bin/env", "is not inside the repository's benchmarks/ folder"),
    ("benchmarks/results/10-baselines.md", "is not a Python file"),
])
def test_scripts_come_only_from_this_repositorys_benchmarks(tmp_path, capsys, monkeypatch, script, why):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "fake.py").write_text(FAKE)
    f = _file(tmp_path, f"  - script: {script}\n")
    rc, _, err = _harness([str(f), "--check"], capsys, monkeypatch)
    assert rc == 2 and "field 'benchmark.0.script'" in _one_line(err) and why in err


def test_missing_inputs_are_named_before_anything_runs(tmp_path, capsys, monkeypatch):
    f = _file(tmp_path, "  - script: benchmarks/collect.py\n", extra=f"inputs: [{tmp_path / 'no-such-data'}]\n")
    rc, _, err = _harness([str(f), "--check"], capsys, monkeypatch)
    assert rc == 2 and f"field 'inputs.0': input {tmp_path / 'no-such-data'} does not exist" in _one_line(err)
    f = _file(tmp_path, f"  - recgan: train\n    args: {{train: {tmp_path / 'gone.tsv'}, model: pop, out: m}}\n")
    rc, _, err = _harness([str(f)], capsys, monkeypatch)
    assert rc == 2 and f"field 'benchmark.0.args': input {tmp_path / 'gone.tsv'} does not exist" in _one_line(err)


def test_a_recommenders_file_is_handed_to_recgan_run(tmp_path, capsys, monkeypatch):
    f = tmp_path / "exp.yaml"
    f.write_text("name: x\ndatasets: [{name: d, train: gone.tsv, test: gone2.tsv}]\nmodels: [{name: pop}]\n")
    rc, _, err = _harness([str(f), "--check"], capsys, monkeypatch)
    assert rc == 2 and "recgan: error:" in err and "gone.tsv does not exist" in err


def test_check_of_a_repository_example_lists_its_commands(capsys, monkeypatch):
    f = ROOT / "examples" / "60-augmentation.yaml"
    if not (ROOT.parent / "shared" / "datasets" / "tmall-mbgcn").exists():
        rc, _, err = _harness([str(f), "--check"], capsys, monkeypatch)
        assert rc == 2 and "does not exist" in _one_line(err)
        return
    rc, out, _ = _harness([str(f), "--check"], capsys, monkeypatch)
    assert rc == 0 and "a program: 10 command(s)" in out
    assert "1. OMP_NUM_THREADS=1 nice -n 10 python benchmarks/augment_grid.py --out /work/aug-grid/out2" in out
    assert "10. python benchmarks/augment_report.py --grid /work/aug-grid/out2" in out
