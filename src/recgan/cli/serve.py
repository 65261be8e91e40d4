"""``recgan serve``: the HTTP service (FastAPI + uvicorn) for one model folder."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import tempfile
from pathlib import Path

from recgan.cli.common import positive_int
from recgan.errors import RecganError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve a model folder over HTTP",
        description="Serve recommendations from a model folder over HTTP (OpenAPI docs at /docs). "
                    "Loading never executes code; every model path must lie inside --model-root.")
    p.add_argument("--model", required=True, metavar="DIR", help="model folder written by `recgan train`")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="worker processes, each with its own copy of the model (default 1)")
    p.add_argument("--api-key-file", default=None, metavar="F",
                   help="file holding the API key required on every route but /healthz and /readyz "
                        "(header X-API-Key or Authorization: Bearer); also enables /v1/admin/reload. If F does "
                        "not exist, a new random key is written there (readable by you only, mode 0600) and the "
                        "path is printed; surrounding whitespace in the file is ignored")
    p.add_argument("--model-root", default=None, metavar="DIR",
                   help="folder every served model must lie in, reloads included (default: the parent of --model)")
    p.add_argument("--max-history", type=positive_int, default=1000, help="longest fold-in history (default 1000)")
    p.add_argument("--max-batch-users", type=positive_int, default=1000,
                   help="most user ids per batch request (default 1000)")
    p.add_argument("--max-synthetic-users", type=positive_int, default=1000,
                   help="largest n of POST /v1/synthetic-users (default 1000)")
    p.add_argument("--max-body-bytes", type=positive_int, default=1 << 20,
                   help="largest request body in bytes (default 1 MiB)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow this browser origin (repeatable); CORS is off without it")
    p.add_argument("--no-micro-batch", action="store_true",
                   help="score each single-user request on its own instead of coalescing concurrent ones")
    p.add_argument("--batch-max-size", type=positive_int, default=64, help="most users per micro-batch (default 64)")
    p.add_argument("--batch-wait-ms", type=float, default=0.0,
                   help="hold a partial micro-batch this long (default 0: batches form under load by themselves)")
    p.add_argument("--compute-threads", type=positive_int, default=2,
                   help="threads running model arithmetic per worker (default 2)")
    p.add_argument("--torch-threads", type=positive_int, default=1,
                   help="torch intra-op threads per worker (default 1; micro-batches use the cores better)")
    p.add_argument("--device", default=None, help="torch device for torch models: cpu, cuda, cuda:N or auto (default auto: CUDA when present; a folder trained on a GPU serves on CPUs)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="server log level (default info)")
    p.add_argument("--access-log", action="store_true", help="log every request (costs throughput)")
    p.set_defaults(func=cmd_serve)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _api_key(path: str, read, create) -> str:
    """The key in ``path``; a new key written there (0600) when the file does not exist yet."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        create(p)
        print(f"recgan: created a new API key in {p} (readable by you only); clients send it as the header "
              f"'X-API-Key: <the key>' or 'Authorization: Bearer <the key>'", file=sys.stderr)
    elif p.is_file() and os.name == "posix" and p.stat().st_mode & 0o077:
        print(f"recgan: warning: the API key file {p} is readable by other users (chmod 600 {p})", file=sys.stderr)
    return read(p)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from recgan.serving.app import (
            ENV_CONFIG,
            ServeSettings,
            create_api_key_file,
            create_app,
            read_api_key_file,
            settings_to_env,
        )
        from recgan.serving.holder import load_model_folder, resolve_inside
    except ImportError as e:
        raise RecganError(f"recgan serve needs the serve extra ({e.name} is missing): "
                          "pip install 'recgan[serve]'") from None

    model = Path(args.model)
    if not (model / "config.json").is_file():
        raise RecganError(f"{model}: not a recgan model folder (no config.json)")
    root = Path(args.model_root) if args.model_root else model.resolve().parent
    if not root.is_dir():
        raise RecganError(f"--model-root {root}: not a folder")
    model = resolve_inside(root, model.resolve())
    if not 0 <= args.port <= 65535:
        raise RecganError(f"--port {args.port}: expected 0..65535")
    if args.batch_wait_ms < 0:
        raise RecganError(f"--batch-wait-ms {args.batch_wait_ms}: must be >= 0")
    key = _api_key(args.api_key_file, read_api_key_file, create_api_key_file) if args.api_key_file else None
    if key is None and not _is_loopback(args.host):
        print(f"recgan: warning: serving on {args.host} without --api-key-file: anyone who can reach it "
              "can query the model", file=sys.stderr)
    settings = ServeSettings(
        api_key=key, model_root=str(root.resolve()), max_history=args.max_history,
        max_batch_users=args.max_batch_users, max_synthetic_users=args.max_synthetic_users,
        max_body_bytes=args.max_body_bytes, cors_origins=tuple(args.cors_origin),
        micro_batch=not args.no_micro_batch, batch_max_size=args.batch_max_size,
        batch_wait_ms=args.batch_wait_ms, compute_threads=args.compute_threads, device=args.device,
        torch_threads=args.torch_threads,
    )
    from recgan.serving.transport import PROTOCOL

    common = dict(host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log,
                  server_header=False, http=PROTOCOL)
    if args.workers == 1:
        app = create_app(model, settings)  # a bad folder fails here, before the port is bound
        uvicorn.run(app, **common)
        return 0

    load_model_folder(model, args.device)  # fail fast in the parent; each worker loads its own copy
    with tempfile.TemporaryDirectory(prefix="recgan-serve-") as tmp:
        # workers share reloads through control/ and Prometheus values through metrics/
        (Path(tmp) / "control").mkdir()
        (Path(tmp) / "metrics").mkdir()
        settings.control_dir = str(Path(tmp) / "control")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Path(tmp) / "metrics")
        os.environ[ENV_CONFIG] = settings_to_env(
            str(model), settings, str(Path(args.api_key_file).resolve()) if args.api_key_file else None)
        uvicorn.run("recgan.serving.app:app_from_environment", factory=True, workers=args.workers, **common)
    return 0
