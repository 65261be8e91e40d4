"""Run the README's command-line block top to bottom, as a new user would, and time every step.

The block is the first ```bash fence under README.md's "## Command line" heading. Each line is one step,
run in order with ``bash -c`` from the root of a fresh copy of the repository (``git archive HEAD`` unpacked
into a temporary folder; ``../shared`` beside it links to this checkout's ``../shared`` when there is one), with
this repository's venv first on PATH. For each step it records the wall time and the longest silence: the
longest interval with no new output line (stdout and stderr read together as one stream, from the start to
the first line, between lines, and from the last line to the exit), which is what a user piping the
output into a log sees.

Special steps:

* ``recgan serve ...``: long-running, so it is started (on a free port instead of 8000), polled on
  ``/healthz`` until it answers, asked for one user's recommendations with the key it wrote, and stopped; the
  step's time is start-up to the answered request.
* ``torchrun ...``: run as written (the README's line already uses ``--epochs 5``); ``--skip-torchrun`` skips it.
* ``recgan run examples/baselines.yaml``: skipped when ``../shared`` is missing (its data live there).

Writes the table to benchmarks/results/90-readme-path.md and the "README path" section of
benchmarks/RESULTS.md, and exits 1 if the total exceeds ``--budget`` seconds (600) or any step is silent for
more than ``--max-silence`` seconds (30). ``--steps`` runs a subset in a kept copy (``--keep-tmp``, then
``--work``); results of a partial run are written with ``--write`` only.

    python benchmarks/readme_path.py                          # the whole block; writes the section
    python benchmarks/readme_path.py --steps 8-10 --work DIR  # some steps again, in a kept copy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION_FILE = ROOT / "benchmarks" / "results" / "90-readme-path.md"
SECTION_TITLE = "README path"
EXAMPLE = "examples/90-readme-path.yaml"


@dataclass
class Step:
    """One README line: ``command`` as written (comment removed), how it was run and what it took."""

    command: str
    comment: str = ""
    status: str = "pending"  # ok | failed (rc) | skipped (why) | timeout
    seconds: float = 0.0
    cpu: float = 0.0
    """CPU seconds (user + system) of the step's processes: on a loaded machine wall time is several times
    this; on an idle one a single-threaded step's wall time is about this."""
    silence: float = 0.0
    """Longest interval (s) without a new output line, start and exit included."""
    lines: int = 0
    rc: int | None = None
    note: str = ""
    tail: list[str] = field(default_factory=list)


def readme_block(readme: Path) -> list[Step]:
    """The steps of the first ```bash block under '## Command line' (one per non-empty line)."""
    text = readme.read_text(encoding="utf-8")
    m = re.search(r"^## Command line\s*$(.*?)^```bash\n(.*?)^```", text, re.M | re.S)
    if not m:
        raise SystemExit(f"{readme}: no ```bash block under '## Command line'")
    steps = []
    for raw in m.group(2).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"\s+#\s*", line, maxsplit=1)
        cmd, comment = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
        steps.append(Step(cmd, comment))
    return steps


def fresh_copy(dest: Path) -> Path:
    """The repository's committed files (``git archive HEAD``) under ``dest/recgan``; ``dest/shared`` links to
    this checkout's ``../shared`` when it exists. Returns the copy's root."""
    work = dest / "recgan"
    work.mkdir(parents=True)
    archive = dest / "head.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), "HEAD"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    archive.unlink()
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (dest / "shared").symlink_to(shared)
    return work


THREADS: int | None = None
"""``--threads``: OMP_NUM_THREADS / MKL_NUM_THREADS for every step (None: the caller's environment)."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if THREADS:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(THREADS)
    venv = ROOT / ".venv" / "bin"
    env["PATH"] = f"{venv}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv.parent)
    env.pop("PYTHONUNBUFFERED", None)  # measure what a user piping the output sees
    return env


def run_stream(argv: list[str], cwd: Path, timeout: float | None, echo: bool) -> tuple[int | None, float, float, list[str]]:
    """Run ``argv`` with stdout+stderr as one pipe; returns (rc or None on timeout, seconds, longest silence,
    the output lines, each prefixed with its time since the start)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    stamps = [t0]
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            stamps.append(time.perf_counter())
            text = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(f"[{stamps[-1] - t0:6.1f} s] {text}")
            if echo:
                print(f"    |{lines[-1]}", file=sys.stderr, flush=True)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        rc: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        rc = None
    th.join(5)
    end = time.perf_counter()
    stamps.append(end)
    silence = max(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    return rc, end - t0, silence, lines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_serve(step: Step, cwd: Path, timeout: float) -> None:
    """Start the server, wait for /healthz, ask for one user's list with the key it wrote, stop it."""
    port = free_port()
    argv = [*shlex.split(step.command), "--port", str(port)]
    step.note = f"started with --port {port}; /healthz, then GET /v1/users/<first user>/recommendations, stopped"
    t0 = time.perf_counter()
    log = open(cwd / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("no /healthz answer")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        key_file = re.search(r"--api-key-file\s+(\S+)", step.command)
        headers = {"X-API-Key": (cwd / key_file.group(1)).read_text().strip()} if key_file else {}
        user = (cwd / "split" / "train.tsv").read_text().split("\n", 2)[1].split("\t")[0]
        req = urllib.request.Request(f"{base}/v1/users/{user}/recommendations?k=5", headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = json.loads(r.read())
        step.seconds = time.perf_counter() - t0
        step.silence = step.seconds
        step.status, step.rc = "ok", 0
        step.tail = [json.dumps(body)[:300]]
    except Exception as e:  # noqa: BLE001 - reported in the table
        step.seconds = time.perf_counter() - t0
        step.status, step.note = "failed", f"{step.note}; {type(e).__name__}: {e}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        step.tail = (cwd / "serve.log").read_text(errors="replace").splitlines()[-8:] + step.tail
        step.lines = len(step.tail)


def load_note() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


def run_all(steps: list[Step], args: argparse.Namespace) -> Path:
    if args.work:
        work = Path(args.work).resolve()
        tmp = work.parent
    else:
        tmp = Path(tempfile.mkdtemp(prefix="recgan-readme-"))
        work = fresh_copy(tmp)
    print(f"readme_path: working in {work}", file=sys.stderr, flush=True)
    selected = parse_steps(args.steps, len(steps))
    for i, step in enumerate(steps):
        if i not in selected:
            step.status = "skipped (not selected)"
            continue
        print(f"[{i + 1}/{len(steps)}] {step.command}   ({load_note()})", file=sys.stderr, flush=True)
        cpu0 = _child_cpu()
        argv0 = shlex.split(step.command)[0]
        if shlex.split(step.command)[:2] == ["recgan", "serve"]:
            run_serve(step, work, args.step_timeout or 120)
        elif argv0 == "torchrun" and args.skip_torchrun:
            step.status = "skipped (--skip-torchrun)"
        elif "examples/baselines.yaml" in step.command and not (work.parent / "shared").is_dir():
            step.status = "skipped (../shared missing: its data)"
        else:
            rc, secs, silence, lines = run_stream(["bash", "-c", step.command], work, args.step_timeout,
                                                  echo=not args.quiet)
            step.rc, step.seconds, step.silence, step.lines = rc, secs, silence, len(lines)
            step.tail = lines[-40:]
            step.status = "ok" if rc == 0 else ("timeout" if rc is None else f"failed (rc {rc})")
        step.cpu = _child_cpu() - cpu0
        print(f"    -> {step.status}, {step.seconds:.1f} s ({step.cpu:.1f} CPU s), longest silence {step.silence:.1f} s",
              file=sys.stderr, flush=True)
        if step.status.startswith(("failed", "timeout")) and not args.keep_going:
            for later in steps[i + 1:]:
                later.status = "skipped (an earlier step failed)"
            break
    if not args.keep_tmp and not args.work:
        shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def parse_steps(spec: str | None, n: int) -> set[int]:
    """'3,5-7' -> {2, 4, 5, 6} (0-based); None -> every step."""
    if not spec:
        return set(range(n))
    out: set[int] = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a) - 1, int(b or a)))
    return {i for i in out if 0 <= i < n}


def table(steps: list[Step]) -> str:
    rows = ["| # | command | status | wall s | CPU s | longest silence s | output lines |",
            "|---|---|---|---|---|---|---|"]
    for i, s in enumerate(steps, 1):
        done = not s.status.startswith("skipped")
        cmd = s.command.replace("|", "\\|")
        rows.append(f"| {i} | `{cmd}` | {s.status} | {s.seconds:.1f} | {s.cpu:.1f} | {s.silence:.1f} | {s.lines} |"
                    if done else f"| {i} | `{cmd}` | {s.status} | - | - | - | - |")
    return "\n".join(rows)


def section(steps: list[Step], args: argparse.Namespace, started: str, load_before: str, load_after: str) -> str:
    ran = [s for s in steps if not s.status.startswith("skipped")]
    total = sum(s.seconds for s in ran)
    cpu = sum(s.cpu for s in ran)
    worst = max(ran, key=lambda s: s.silence) if ran else None
    verdict = "PASS" if ok(steps, args) else "FAIL"
    lines = [
        f"## {SECTION_TITLE}",
        "",
        f"Command: `python benchmarks/readme_path.py{f' --threads {args.threads}' if args.threads else ''}` "
        "(README.md's \"Command line\" block run top to bottom in a fresh copy of the repository; `recgan serve` "
        "started, asked once, stopped"
        + (f"; every step with OMP_NUM_THREADS={args.threads}" if args.threads else
           f"; threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}") + ")",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; run started "
        f"{started}; {load_before} at the start, {load_after} at the end (the machine is shared: compare steps by "
        "their ratios, not their absolute seconds).",
        "",
        table(steps),
        "",
        f"Total {total:.1f} s wall, {cpu:.1f} CPU s (budget {args.budget:.0f} s wall); longest silence {worst.silence:.1f} s "
        f"(step `{worst.command.split()[0]} {' '.join(worst.command.split()[1:3])}`; limit {args.max_silence:.0f} s): "
        f"**{verdict}**." if worst else "Nothing ran.",
    ]
    notes = [f"- `{s.command}`: {s.note}" for s in steps if s.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def ok(steps: list[Step], args: argparse.Namespace) -> bool:
    ran = [s for s in steps if not s.status.startswith("skipped")]
    return (all(s.status == "ok" for s in ran) and sum(s.seconds for s in ran) <= args.budget
            and all(s.silence <= args.max_silence for s in ran if not s.command.startswith("recgan serve")))


def write_results(text: str) -> None:
    """The section file, and the same section replaced (or appended) in RESULTS.md."""
    from collect import with_reproduce_line  # noqa: PLC0415 - benchmarks/ is on sys.path when run as a script

    SECTION_FILE.write_text(text)
    results = ROOT / "benchmarks" / "RESULTS.md"
    body = results.read_text()
    new = with_reproduce_line(text, EXAMPLE, benchmark=True).rstrip() + "\n"
    m = re.search(rf"^## {re.escape(SECTION_TITLE)}\n.*?(?=^## |\Z)", body, re.M | re.S)
    body = body[: m.start()] + new + ("\n" + body[m.end():] if m.end() < len(body) else "") if m \
        else body.rstrip() + "\n\n" + new
    results.write_text(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readme", default=str(ROOT / "README.md"), help="README to read (default: this repository's)")
    ap.add_argument("--budget", type=float, default=600.0, help="total seconds allowed (default 600)")
    ap.add_argument("--max-silence", type=float, default=30.0, help="longest silence allowed per step (default 30 s)")
    ap.add_argument("--step-timeout", type=float, default=None,
                    help="stop a step after this many seconds (it counts as failed); default none")
    ap.add_argument("--steps", default=None, metavar="LIST",
                    help="run only these steps, 1-based: '8,9' or '8-10' (they need the earlier steps' files: "
                         "give --work of a kept copy)")
    ap.add_argument("--work", default=None, metavar="DIR",
                    help="run in this existing copy (one kept by --keep-tmp) instead of a fresh one")
    ap.add_argument("--threads", type=int, default=None, metavar="N",
                    help="run every step with OMP_NUM_THREADS=N (on a busy machine torch's one thread per core "
                         "waits for cores other processes hold); default: the caller's environment")
    ap.add_argument("--skip-torchrun", action="store_true", help="skip the torchrun line")
    ap.add_argument("--keep-going", action="store_true", help="run later steps after a failed one")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary copy (its path is printed)")
    ap.add_argument("--quiet", action="store_true", help="do not echo the steps' output")
    ap.add_argument("--write", action="store_true", help="write the section even for a partial (--steps) run")
    ap.add_argument("--no-write", action="store_true", help="do not write the section")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the steps as JSON")
    args = ap.parse_args(argv)
    global THREADS
    THREADS = args.threads
    steps = readme_block(Path(args.readme))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = load_note()
    run_all(steps, args)
    text = section(steps, args, started, load_before, load_note())
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(s) for s in steps], indent=2) + "\n")
    if not args.no_write and (args.write or not args.steps):
        write_results(text)
        print(f"wrote {SECTION_FILE.relative_to(ROOT)} and the '{SECTION_TITLE}' section of benchmarks/RESULTS.md",
              file=sys.stderr)
    return 0 if ok(steps, args) else 1


if __name__ == "__main__":
    sys.exit(main())
