"""Load benchmark of `recgan serve`: throughput and p50 / p95 / p99 latency on loopback, and reloads under load.

For each model folder given, a real server process (``python -m recgan serve``, optionally pinned to CPUs with
taskset) answers GET /v1/users/{id}/recommendations?k=10 for random training users from C concurrent
keep-alive connections (C = 1, 16, 64), with micro-batching on (the default) and off. Then, at C = 16,
the served folder is swapped every 2 s through POST /v1/admin/reload, alternating between the model folders,
and every failed request is counted.

The load generator is a minimal asyncio HTTP/1.1 keep-alive client (a request line out, a Content-Length body
in) so that it spends little of the CPUs it shares with the server; a full client such as httpx costs
several times more per request. Traffic goes to 127.0.0.1 only, and every run is bounded in time and in
request count.

    python benchmarks/serve_load.py --model cfgan=/tmp/cfgan-ml1m --model ease=/tmp/ease-ml1m \\
        --server-cpus 0,1 --out benchmarks/results/50-serving.md

Model folders (ml-1m-p1 split of ../shared):
    recgan train --train ../shared/benchmarks/splits/ml-1m-p1/train.tsv --model cfgan --epochs 3 \\
        --no-early-stopping --out /tmp/cfgan-ml1m
    recgan train --train ../shared/benchmarks/splits/ml-1m-p1/train.tsv --model ease --param l2=1000 \\
        --out /tmp/ease-ml1m
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 10.0


@dataclass
class RunResult:
    label: str
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def row(self) -> dict:
        lat = np.asarray(self.latencies) * 1000 if self.latencies else np.asarray([np.nan])
        return {
            "label": self.label, "concurrency": self.concurrency, "seconds": round(self.seconds, 1),
            "requests": self.ok + self.errors, "errors": self.errors,
            "throughput": self.ok / self.seconds if self.seconds else 0.0,
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)), "max": float(lat.max()),
            "server_cpu_ms": 1000 * self.server_cpu_s / max(self.ok + self.errors, 1),
            "client_cpu_ms": 1000 * self.client_cpu_s / max(self.ok + self.errors, 1),
        }


# ---------------------------------------------------------------- the load generator
async def _request(reader, writer, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(port: int, paths, key: str, result: RunResult, t_start: float, t_end: float,
                      budget: list[int]) -> None:
    reader = writer = None
    try:
        while True:
            now = time.perf_counter()
            if now >= t_end or budget[0] <= 0:
                return
            budget[0] -= 1
            raw = (f"GET {next(paths)} HTTP/1.1\r\nHost: {HOST}\r\nX-API-Key: {key}\r\n\r\n").encode()
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                status, body = await asyncio.wait_for(_request(reader, writer, raw), REQUEST_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                if t0 >= t_start:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(repr(e))
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            dt = time.perf_counter() - t0
            if t0 < t_start:  # warm-up
                continue
            if status == 200:
                result.latencies.append(dt)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{status} {body[:200]!r}")
    finally:
        if writer is not None:
            writer.close()


def _paths(user_ids: list, k: int, seed: int):
    rng = random.Random(seed)
    while True:
        yield f"/v1/users/{rng.choice(user_ids)}/recommendations?k={k}"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (worker processes), from Linux /proc;
    NaN elsewhere."""
    total, todo = 0.0, [pid]
    try:
        while todo:
            p = todo.pop()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return float("nan")
    return total


async def run_load(port: int, key: str, user_ids: list, concurrency: int, seconds: float, warmup: float,
                   max_requests: int, label: str, k: int = 10, seed: int = 0, server_pid: int | None = None
                   ) -> RunResult:
    result = RunResult(label, concurrency, seconds)
    t_start = time.perf_counter() + warmup
    t_end = t_start + seconds
    budget = [max_requests]
    paths = _paths(user_ids, k, seed)

    async def measure() -> None:  # CPU over the measured window only
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
        cpu0, own0 = process_cpu_s(server_pid or 0), time.process_time()
        await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
        result.server_cpu_s = process_cpu_s(server_pid or 0) - cpu0
        result.client_cpu_s = time.process_time() - own0

    await asyncio.gather(measure(), *(_connection(port, paths, key, result, t_start, t_end, budget)
                                      for _ in range(concurrency)))
    result.seconds = min(seconds, time.perf_counter() - t_start)
    return result


# ---------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model: Path, root: Path, key_file: Path, cpus: str | None, extra: list[str], log: Path):
        self.port = free_port()
        cmd = [sys.executable, "-m", "recgan", "serve", "--model", str(model), "--model-root", str(root),
               "--host", HOST, "--port", str(self.port), "--api-key-file", str(key_file),
               "--log-level", "warning", *extra]
        if cpus:
            cmd = ["taskset", "-c", cpus, *cmd]
        self.cmd = cmd
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        self.info = json.loads(r.read())["model"]
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"server not ready after 180 s; see {log}")
            time.sleep(0.2)

    def reload(self, key: str, model_dir: str) -> tuple[int, float]:
        req = urllib.request.Request(f"http://{HOST}:{self.port}/v1/admin/reload", method="POST",
                                     data=json.dumps({"model_dir": model_dir}).encode(),
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, time.perf_counter() - t0
        except urllib.error.HTTPError as e:
            return e.code, time.perf_counter() - t0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def user_ids(model: Path, n: int = 2000, seed: int = 0) -> list:
    ids = json.loads((model / "ids.json").read_text())["users"]
    rng = random.Random(seed)
    return [str(u) for u in rng.sample(ids, min(n, len(ids)))]


async def reload_under_load(server: Server, key: str, users: list, folders: list[str], seconds: float,
                            every: float, max_requests: int) -> tuple[RunResult, list[tuple[int, float]]]:
    reloads: list[tuple[int, float]] = []

    async def reloader() -> None:
        await asyncio.sleep(every)
        n = 0
        t_end = time.perf_counter() + seconds - every
        while time.perf_counter() < t_end:
            target = folders[n % len(folders)]
            reloads.append(await asyncio.to_thread(server.reload, key, target))
            n += 1
            await asyncio.sleep(every)

    load = run_load(server.port, key, users, 16, seconds, 0.5, max_requests, "reload-under-load",
                    server_pid=server.proc.pid)
    result, _ = await asyncio.gather(load, reloader())
    return result, reloads


# ---------------------------------------------------------------- report
def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} logical CPUs ({cpu}), Python {platform.python_version()}"


def scheduling() -> str:
    """How this process (and the server it starts) is scheduled, e.g. SCHED_RR 10 under `chrt -r 10`."""
    try:
        policy = os.sched_getscheduler(0)
        names = {os.SCHED_OTHER: "SCHED_OTHER (normal)", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
        prio = os.sched_getparam(0).sched_priority
        return f"{names.get(policy, policy)}" + (f" priority {prio}" if prio else f", nice {os.nice(0)}")
    except (AttributeError, OSError):
        return "unknown"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def table(rows: list[dict]) -> str:
    out = ["| model | micro-batching | concurrency | seconds | requests | errors | req/s | p50 ms | p95 ms | "
           "p99 ms | max ms | server CPU ms / req |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['batching']} | {r['concurrency']} | {r['seconds']:.0f} | {r['requests']} | "
                   f"{r['errors']} | {r['throughput']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | "
                   f"{r['max']:.1f} | {r['server_cpu_ms']:.2f} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR",
                   help="model folder to serve (repeatable); the first two also serve the reload test")
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run (default 20)")
    p.add_argument("--long", default="cfgan:16:60", metavar="NAME:C:S",
                   help="runs measured longer, comma-separated (default cfgan:16:60, the issue's 60 s)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--max-requests", type=int, default=1_000_000, help="hard cap per run")
    p.add_argument("--compare-no-batching", default="16,64",
                   help="concurrencies also measured with --no-micro-batch ('' for none)")
    p.add_argument("--reload-seconds", type=float, default=30.0)
    p.add_argument("--server-cpus", default=None, help="taskset CPU list for the server, e.g. 0,1")
    p.add_argument("--server-args", default="", help="extra `recgan serve` options, e.g. '--workers 2'")
    p.add_argument("--out", default=None, help="markdown section to write (default: print only)")
    args = p.parse_args()

    models = {}
    for spec in args.model:
        name, _, folder = spec.partition("=")
        models[name] = Path(folder).resolve()
        if not (models[name] / "config.json").is_file():
            raise SystemExit(f"{folder}: not a model folder")
    root = Path(os.path.commonpath([str(m.parent) for m in models.values()]))
    longs = {}
    for spec in filter(None, args.long.split(",")):
        n, c, s = spec.split(":")
        longs[(n, int(c))] = float(s)
    conc = [int(c) for c in args.concurrency.split(",")]
    compare = [int(c) for c in args.compare_no_batching.split(",") if c]

    tmp = Path(tempfile.mkdtemp(prefix="recgan-bench-"))
    key = secrets.token_hex(16)
    key_file = tmp / "key"
    key_file.write_text(key)
    log = tmp / "server.log"
    rows, notes = [], []
    load_before = load_average()
    t_begin = time.time()
    try:
        for name, folder in models.items():
            users = user_ids(folder)
            for batching in (True, False):
                wanted = conc if batching else compare
                if not wanted:
                    continue
                extra = shlex.split(args.server_args) + ([] if batching else ["--no-micro-batch"])
                srv = Server(folder, root, key_file, args.server_cpus, extra, log)
                try:
                    for c in wanted:
                        secs = longs.get((name, c), args.seconds) if batching else args.seconds
                        res = asyncio.run(run_load(srv.port, key, users, c, secs, args.warmup, args.max_requests,
                                                   name, server_pid=srv.proc.pid))
                        row = {**res.row(), "model": name, "batching": "on" if batching else "off"}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                        if res.error_samples:
                            notes.append(f"{name} c={c}: {res.error_samples}")
                finally:
                    srv.close()
        names = list(models)
        srv = Server(models[names[0]], root, key_file, args.server_cpus, shlex.split(args.server_args), log)
        try:
            folders = [str(models[n]) for n in (names[1:2] + names[:1])] if len(names) > 1 else [str(models[names[0]])]
            res, reloads = asyncio.run(reload_under_load(srv, key, user_ids(models[names[0]]), folders,
                                                         args.reload_seconds, 2.0, args.max_requests))
        finally:
            srv.close()
        rel = {**res.row(), "reloads": len(reloads), "reload_ok": sum(s == 200 for s, _ in reloads),
               "reload_s": [round(t, 2) for _, t in reloads]}
        print(json.dumps(rel), flush=True)
        if res.error_samples:
            notes.append(f"reload: {res.error_samples}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    cmd = "python benchmarks/serve_load.py " + " ".join(a if " " not in a else repr(a) for a in sys.argv[1:])
    if os.sched_getscheduler(0) in (os.SCHED_RR, os.SCHED_FIFO):
        flag = "-r" if os.sched_getscheduler(0) == os.SCHED_RR else "-f"
        cmd = f"chrt {flag} {os.sched_getparam(0).sched_priority} {cmd}"
    cpus = f"pinned to CPUs {args.server_cpus}" if args.server_cpus else f"on all {os.cpu_count()} CPUs"
    text = f"""## Serving: `recgan serve` under load (issue 7)

Command: `{cmd}`
Machine: {machine()}. The server runs {cpus}; the load generator runs on the same machine and CPUs.
Scheduling of the server and the load generator: {scheduling()}. Load average (1, 5, 15 min) before
({load_before}), after ({load_average()}); above the core count, other jobs on the machine compete for the CPUs.
Ran {time.strftime('%Y-%m-%d %H:%M', time.localtime(t_begin))}, {(time.time() - t_begin) / 60:.1f} min.
Request: GET /v1/users/{{random training user}}/recommendations?k=10 over keep-alive connections; latency from
request sent to response body read; {args.warmup:.0f} s warm-up excluded; an error is any non-200 or transport failure.
Models: {', '.join(f'{n} = `{m}`' for n, m in models.items())}, trained on ml-1m-p1 by the commands in the
docstring of benchmarks/serve_load.py (CFGAN 3 epochs: a latency benchmark, not an accuracy one).

{table(rows)}

Reload under load: {rel['requests']} requests at concurrency 16 over {rel['seconds']:.0f} s while the served folder
was swapped {rel['reloads']} times ({rel['reload_ok']} answered 200; each reload took {min(rel['reload_s'], default=0):.2f}-{max(rel['reload_s'], default=0):.2f} s):
**{rel['errors']} failed requests**; p50 / p95 / p99 {rel['p50']:.2f} / {rel['p95']:.2f} / {rel['p99']:.2f} ms.
"""
    if notes:
        text += "\nError samples: " + "; ".join(notes) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_suffix(".md.tmp")
        tmp_out.write_text(text)
        tmp_out.replace(out)


if __name__ == "__main__":
    main()
