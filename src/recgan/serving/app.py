"""The recgan HTTP service: ``create_app(model_dir, settings)`` returns a FastAPI app serving one model folder.

Routes (see docs/serving.md):
  GET  /v1/users/{user_id}/recommendations?k=10&exclude_seen=true
  POST /v1/recommendations                 fold-in for a new user from a history
  POST /v1/recommendations/batch           several training users at once
  GET  /v1/items/{item_id}/similar?k=10    where the model has item similarities
  POST /v1/synthetic-users                 where the model folder holds a synthesizer (synth/)
  POST /v1/admin/reload                    load another folder and swap it in (needs the API key)
  GET  /healthz, /readyz (never need the key), GET /metrics (Prometheus)

Every error is a JSON body ``{"error": {"code": ..., "message": ..., "details": ...}}``.
Model arithmetic runs in a small thread pool (``compute_threads``), never on the event loop; concurrent
single-user requests are micro-batched (:mod:`recgan.serving.batcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import numpy as np
import scipy.sparse as sp
from fastapi import Body, FastAPI, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from recgan import __version__
from recgan.data.ids import IdMap
from recgan.errors import FoldInNotSupported, RecganError, UnknownIdError
from recgan.io import write_json
from recgan.serving import schemas as S
from recgan.serving.batcher import MicroBatcher
from recgan.serving.holder import LoadedModel, ModelHolder, ModelNotReady, PathNotAllowed
from recgan.serving.metrics import MetricsMiddleware, ServingMetrics

log = logging.getLogger("recgan.serving")

API_KEY_HEADER = "X-API-Key"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
"""Routes that never need the API key (liveness and readiness probes)."""
CONTROL_FILE = "current.json"

UserId = Annotated[str, PathParam(max_length=S.MAX_ID_LENGTH, description="a training user's id")]
ItemId = Annotated[str, PathParam(max_length=S.MAX_ID_LENGTH, description="an item id")]
K = Annotated[int, Query(ge=1, le=S.MAX_K, description="list length")]


@dataclass
class ServeSettings:
    """Everything the service can be told besides the model folder. Defaults are the safe ones."""

    api_key: str | None = None
    """Required on every route but /healthz and /readyz (header X-API-Key or Authorization: Bearer).
    Without a key the API is open and /v1/admin/reload is disabled."""
    model_root: str | None = None
    """Folder that every model path (initial and reloads) must resolve inside; default: the parent of the
    initial model folder."""
    max_history: int = 1000
    """Longest fold-in history accepted (longer: 422)."""
    max_batch_users: int = 1000
    """Most user ids in one batch request (more: 422)."""
    max_synthetic_users: int = 1000
    """Largest ``n`` of POST /v1/synthetic-users (larger: 422)."""
    max_body_bytes: int = 1 << 20
    """Largest request body (larger: 413)."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; empty = CORS off (no CORS headers at all)."""
    micro_batch: bool = True
    """Coalesce concurrent single-user requests into one model call."""
    batch_max_size: int = 64
    """Most users scored by one micro-batched call."""
    batch_wait_ms: float = 0.0
    """Hold a partial micro-batch this long for more requests (0: never wait; batches form under load)."""
    compute_threads: int = 2
    """Threads running model arithmetic."""
    device: str | None = None
    """Torch device for torch models (default: auto, CUDA when present; the device a folder was trained on is never saved)."""
    torch_threads: int | None = None
    """Set torch's intra-op threads (process-wide) when the app is created; None leaves torch's default.
    ``recgan serve`` sets 1: on a few cores, torch's own threads fight the event loop and each other, and
    micro-batches already amortise the weight reads (CFGAN on 2 cores: 2 threads cost 8x more CPU per user)."""
    control_dir: str | None = None
    """Shared folder through which workers of one server (``--workers N``) pass reloads to each other."""
    control_poll_s: float = 0.5
    """How often a worker looks for a reload made by another worker."""

    def __post_init__(self) -> None:
        for name in ("max_history", "max_batch_users", "max_synthetic_users", "max_body_bytes",
                     "batch_max_size", "compute_threads", "torch_threads"):
            if name == "torch_threads" and self.torch_threads is None:
                continue
            if int(getattr(self, name)) < 1:
                raise RecganError(f"serve setting {name} must be >= 1, got {getattr(self, name)}")
        if self.batch_wait_ms < 0:
            raise RecganError(f"serve setting batch_wait_ms must be >= 0, got {self.batch_wait_ms}")
        if self.api_key is not None and not self.api_key:
            raise RecganError("the API key is empty")
        self.cors_origins = tuple(self.cors_origins)


class ApiError(Exception):
    """An answer other than 200, with a JSON error body."""

    def __init__(self, status: int, code: str, message: str, details: list | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers


def error_response(status: int, code: str, message: str, details: list | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


# ---------------------------------------------------------------- ASGI middleware
class ApiKeyMiddleware:
    """Reject requests without the API key (before routing: unknown paths are not revealed either)."""

    def __init__(self, app, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                given = value.strip()
                break
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if not hmac.compare_digest(given, self.key):
            resp = error_response(401, "unauthorized", f"missing or wrong API key (send header {API_KEY_HEADER})",
                                  headers={"WWW-Authenticate": "Bearer"})
            await resp(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with 413 (declared length or counted while reading)."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    n = -1
                if n > self.limit or n < 0:
                    await self._too_large(scope, receive, send)
                    return
                has_body = n > 0
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send) -> None:
        resp = error_response(413, "body_too_large", f"request body over {self.limit} bytes",
                              headers={"Connection": "close"})
        await resp(scope, receive, send)


# ---------------------------------------------------------------- helpers
def _scored(ids: IdMap, items: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    valid = items >= 0  # padding (-1 / -inf) is always at the end of a list
    names = ids.original(items[valid]).tolist()
    return [{"item_id": i, "score": s, "rank": r}
            for r, (i, s) in enumerate(zip(names, scores[valid].tolist(), strict=True), 1)]


def _original(ids: IdMap, idx: int) -> Any:
    return ids.original(np.array([idx])).tolist()[0]


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()]


def read_api_key_file(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if not p.is_file():
        raise RecganError(f"{p}: API key file not found" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        key = p.read_text(encoding="utf-8").strip()  # a trailing newline or space is not part of the key
    except (OSError, UnicodeDecodeError) as e:
        raise RecganError(f"{p}: cannot read the API key file: {getattr(e, 'strerror', None) or e}") from None
    if not key:
        raise RecganError(f"{p}: API key file is empty")
    if len(key) < 16:
        raise RecganError(f"{p}: API key is shorter than 16 characters")
    if not all("!" <= c <= "~" for c in key):
        raise RecganError(f"{p}: the API key must be one line of printable ASCII without spaces "
                          "(it travels in an HTTP header)")
    return key


def create_api_key_file(path: str | os.PathLike[str]) -> str:
    """Write a new random API key (43 URL-safe characters) to a new file readable by its owner only (0600);
    return the key. Refuses an existing path."""
    p = Path(path)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RecganError(f"{p}: exists already") from None
    except OSError as e:
        raise RecganError(f"{p}: cannot create the API key file: {e.strerror or e}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


# ---------------------------------------------------------------- the app
class _State:
    """Per-app state shared by the routes (one per create_app call)."""

    def __init__(self, model_dir: str | os.PathLike[str], settings: ServeSettings) -> None:
        self.settings = settings
        root = settings.model_root if settings.model_root is not None else Path(model_dir).resolve().parent
        self.holder = ModelHolder(root, device=settings.device)
        self.metrics = ServingMetrics()
        self.executor = ThreadPoolExecutor(max_workers=settings.compute_threads, thread_name_prefix="recgan-compute")
        self.batcher: MicroBatcher | None = None
        if settings.micro_batch:
            self.batcher = MicroBatcher(self.executor, settings.batch_max_size, settings.batch_wait_ms / 1000,
                                        on_batch=self.metrics.batch_size.observe)
        self.reload_lock = asyncio.Lock()
        self.generation_seen: int | None = None
        # a restarted worker of a multi-worker server serves what the others serve now
        initial = model_dir
        ctrl = self._read_control()
        if ctrl is not None:
            initial, self.generation_seen = ctrl["path"], ctrl["generation"]
        self.serve(self.holder.load(initial))

    def serve(self, new: LoadedModel) -> LoadedModel | None:
        # the model's many long-lived objects leave the cyclic collector's view (gc.freeze), so no full
        # collection walks them in the middle of a request (tail latency); unfreezing first lets the
        # replaced model's objects be collected again once its last request is done
        gc.unfreeze()
        old = self.holder.swap(new)
        self.metrics.set_model(new.name, new.version, new.loaded_at)
        gc.freeze()
        return old

    async def compute(self, fn: Callable, *args: Any, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kw))

    async def recommend_user(self, snap: LoadedModel, user: int, k: int, exclude_seen: bool):
        if self.batcher is not None:
            return await self.batcher.recommend(snap, user, k, exclude_seen)
        items, scores = await self.compute(snap.model.recommend, np.array([user], np.int64), k,
                                           exclude_seen=exclude_seen)
        return items[0], scores[0]

    # ---- reloads across workers
    def _control_path(self) -> Path | None:
        d = self.settings.control_dir
        return Path(d) / CONTROL_FILE if d else None

    def _read_control(self) -> dict | None:
        p = self._control_path()
        if p is None or not p.is_file():
            return None
        try:
            ctrl = json.loads(p.read_text())
            return {"path": str(ctrl["path"]), "generation": int(ctrl["generation"])}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def publish(self, path: Path) -> None:
        p = self._control_path()
        if p is None:
            return
        gen = time.time_ns()
        self.generation_seen = gen
        write_json(p, {"path": str(path), "generation": gen})

    async def watch_control(self) -> None:
        """Follow reloads made by sibling workers (only with a control folder)."""
        while True:
            await asyncio.sleep(self.settings.control_poll_s)
            ctrl = self._read_control()
            if ctrl is None or ctrl["generation"] == self.generation_seen:
                continue
            async with self.reload_lock:
                self.generation_seen = ctrl["generation"]
                try:
                    new = await anyio.to_thread.run_sync(self.holder.load, ctrl["path"])
                except Exception as e:  # keep serving the old model
                    self.metrics.reloads.labels("failure").inc()
                    log.error("reload published by another worker failed: %s", e)
                    continue
                self.serve(new)
                self.metrics.reloads.labels("success").inc()


def create_app(model_dir: str | os.PathLike[str], settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app serving the model folder ``model_dir`` (loaded now: a bad folder raises RecganError)."""
    settings = settings or ServeSettings()
    state = _State(model_dir, settings)
    if settings.torch_threads is not None:  # process-wide: only once the model has loaded
        import torch

        torch.set_num_threads(settings.torch_threads)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        tasks = []
        if state.batcher is not None:
            state.batcher.start()
        if settings.control_dir:
            tasks.append(asyncio.create_task(state.watch_control(), name="recgan-reload-watch"))
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            if state.batcher is not None:
                await state.batcher.stop()
            state.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="recgan",
        version=__version__,
        description="Recommendations, fold-in for new users, similar items and synthetic users from one "
                    "recgan model folder. Errors are JSON: {\"error\": {\"code\", \"message\", \"details\"}}.",
        lifespan=lifespan,
    )
    app.state.recgan = state

    # middleware: the last added is the outermost
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=[API_KEY_HEADER, "Authorization",
                                                                         "Content-Type"])
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)

    # ---- errors: always the same JSON shape
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error_response(422, "malformed_body", "request body is not valid JSON", details)
        where = ".".join(first["loc"])
        return error_response(422, "invalid_request", f"{where}: {first['msg']}" if where else first["msg"], details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):  # e.g. bytes that are no UTF-8
            return error_response(422, "malformed_body", "request body is not valid JSON (UTF-8 text)")
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(ModelNotReady)
    async def _not_ready(request: Request, exc: ModelNotReady) -> JSONResponse:
        return error_response(503, "not_ready", str(exc))

    @app.exception_handler(UnknownIdError)
    async def _unknown(request: Request, exc: UnknownIdError) -> JSONResponse:
        return error_response(404, "unknown_id", str(exc))

    @app.exception_handler(FoldInNotSupported)
    async def _unsupported(request: Request, exc: FoldInNotSupported) -> JSONResponse:
        return error_response(501, "not_supported", str(exc))

    @app.exception_handler(RecganError)
    async def _recgan(request: Request, exc: RecganError) -> JSONResponse:
        return error_response(422, "invalid_request", str(exc))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error (see the server log)")

    err = {"model": S.ErrorResponse}
    errors = {401: err, 404: err, 413: err, 422: err, 501: err, 503: err}
    secured = [Security(APIKeyHeader(name=API_KEY_HEADER, auto_error=False))] if settings.api_key else []

    # ---- recommendations
    @app.get("/v1/users/{user_id}/recommendations", response_model=S.RecommendationsResponse,
             responses=errors, dependencies=secured, tags=["recommend"],
             summary="Top-k items for a training user")
    async def user_recommendations(user_id: UserId, k: K = 10, exclude_seen: bool = True) -> Response:
        snap = state.holder.current
        users = snap.model.data_.users
        idx = snap.users.one(user_id)
        if idx < 0:
            state.metrics.unknown_ids.labels("user").inc()
            raise ApiError(404, "unknown_user", f"unknown user id {user_id!r}")
        items, scores = await state.recommend_user(snap, idx, k, exclude_seen)
        return JSONResponse({"user_id": _original(users, idx),
                             "items": _scored(snap.model.data_.items, items, scores),
                             "model_version": snap.version})

    @app.post("/v1/recommendations", response_model=S.HistoryResponse, responses=errors, dependencies=secured,
              tags=["recommend"], summary="Top-k items for a new user from a history (fold-in)")
    async def history_recommendations(req: S.HistoryRequest) -> Response:
        snap = state.holder.current
        model = snap.model
        if not model.supports_fold_in:
            raise ApiError(501, "fold_in_not_supported",
                           f"model {model.name!r} cannot recommend from a history alone; ask for a training "
                           f"user's list (GET /v1/users/{{user_id}}/recommendations) or serve a model that "
                           f"folds in")
        if len(req.history) > settings.max_history:
            raise ApiError(422, "history_too_long",
                           f"history holds {len(req.history)} items; this server accepts at most "
                           f"{settings.max_history}")
        items_map = model.data_.items
        idx = snap.items.many(req.history)
        unknown = [h for h, j in zip(req.history, idx.tolist(), strict=True) if j < 0]
        if unknown:
            state.metrics.unknown_ids.labels("item").inc(len(unknown))
        known = np.unique(idx[idx >= 0])
        if not len(known):  # the documented rule: nothing to fold in is an error, never a made-up list
            raise ApiError(422, "no_known_items",
                           f"none of the {len(unknown)} history item id(s) is known to the model; nothing to "
                           f"recommend from (details: the unknown ids)", details=unknown)
        H = sp.csr_matrix((np.ones(len(known), np.float32), known, np.array([0, len(known)])),
                          shape=(1, model.n_items))
        items, scores = await state.compute(model.recommend_history, H, req.k, exclude_seen=req.exclude_seen)
        return JSONResponse({"items": _scored(items_map, items[0], scores[0]), "unknown_items": unknown,
                             "model_version": snap.version})

    @app.post("/v1/recommendations/batch", response_model=S.BatchResponse, responses=errors,
              dependencies=secured, tags=["recommend"], summary="Top-k items for several training users")
    async def batch_recommendations(req: S.BatchRequest) -> Response:
        if len(req.user_ids) > settings.max_batch_users:
            raise ApiError(422, "too_many_users",
                           f"{len(req.user_ids)} user ids; this server accepts at most {settings.max_batch_users}")
        snap = state.holder.current
        users_map = snap.model.data_.users
        idx = snap.users.many(req.user_ids)
        ok = idx >= 0
        unknown = [u for u, j in zip(req.user_ids, idx.tolist(), strict=True) if j < 0]
        if unknown:
            state.metrics.unknown_ids.labels("user").inc(len(unknown))
        results = []
        if ok.any():
            users = idx[ok]
            items, scores = await state.compute(snap.model.recommend, users, req.k, exclude_seen=req.exclude_seen)
            state.metrics.batch_size.observe(len(users))
            names = users_map.original(users).tolist()
            items_map = snap.model.data_.items
            results = [{"user_id": u, "items": _scored(items_map, items[r], scores[r])}
                       for r, u in enumerate(names)]
        return JSONResponse({"results": results, "unknown_users": unknown, "model_version": snap.version})

    @app.get("/v1/items/{item_id}/similar", response_model=S.SimilarItemsResponse, responses=errors,
             dependencies=secured, tags=["recommend"], summary="The k items most similar to an item")
    async def similar_items(item_id: ItemId, k: K = 10) -> Response:
        snap = state.holder.current
        model = snap.model
        if not model.has_item_similarity:
            raise ApiError(501, "similarity_not_supported", f"model {model.name!r} has no item similarities")
        items_map = model.data_.items
        idx = snap.items.one(item_id)
        if idx < 0:
            state.metrics.unknown_ids.labels("item").inc()
            raise ApiError(404, "unknown_item", f"unknown item id {item_id!r}")
        items, scores = await state.compute(model.similar_items, np.array([idx], np.int64), k)
        return JSONResponse({"item_id": _original(items_map, idx), "items": _scored(items_map, items[0], scores[0]),
                             "model_version": snap.version})

    @app.post("/v1/synthetic-users", response_model=S.SyntheticUsersResponse, responses=errors,
              dependencies=secured, tags=["synthesize"], summary="Sample synthetic users' behaviour")
    async def synthetic_users(req: S.SyntheticUsersRequest) -> Response:
        snap = state.holder.current
        if snap.synthesizer is None:
            raise ApiError(501, "synthesizer_not_available", snap.synth_unavailable or "no synthesizer")
        if req.n > settings.max_synthetic_users:
            raise ApiError(422, "too_many_users",
                           f"n = {req.n}; this server samples at most {settings.max_synthetic_users} users per request")
        seed = req.seed if req.seed is not None else secrets.randbelow(2**31)

        def sample() -> list[dict[str, Any]]:
            frame = snap.synthesizer.sample(req.n, seed)
            cols = [c for c in ("user", "item", "behaviour") if c in frame.columns]
            if cols[:2] != ["user", "item"]:
                raise RuntimeError(f"synthesizer returned columns {list(frame.columns)}, expected user, item[, behaviour]")
            values = [frame[c].tolist() for c in cols]  # numpy scalars -> JSON types
            return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]

        records = await state.compute(sample)
        return JSONResponse({"n_users": req.n, "seed": seed, "interactions": records,
                             "model_version": snap.version})

    # ---- operations
    @app.post("/v1/admin/reload", response_model=S.ReloadResponse, responses={**errors, 403: err},
              dependencies=secured, tags=["admin"],
              summary="Load a model folder and swap it in atomically (a failed load keeps the old model)")
    async def reload(req: Annotated[S.ReloadRequest | None, Body()] = None) -> Response:
        if settings.api_key is None:
            raise ApiError(403, "admin_disabled", "reload needs an API key: start the server with --api-key-file")
        req = req or S.ReloadRequest()
        async with state.reload_lock:
            old = state.holder.current
            try:
                path = state.holder.resolve(req.model_dir) if req.model_dir is not None else old.path
            except PathNotAllowed as e:
                state.metrics.reloads.labels("refused").inc()
                raise ApiError(403, "path_not_allowed", str(e)) from None
            try:
                new = await anyio.to_thread.run_sync(state.holder.load, path)
            except PathNotAllowed as e:  # a file of the folder links outside it
                state.metrics.reloads.labels("refused").inc()
                raise ApiError(403, "path_not_allowed", str(e)) from None
            except Exception as e:
                state.metrics.reloads.labels("failure").inc()
                log.warning("reload of %s failed: %s", path, e)
                msg = str(e) if isinstance(e, RecganError) else f"{type(e).__name__}: {e}"
                raise ApiError(422, "reload_failed",
                               f"could not load {path}: {msg}; still serving version {old.version}") from None
            state.serve(new)
            state.publish(path)
            state.metrics.reloads.labels("success").inc()
            log.info("serving %s version %s from %s", new.name, new.version, path)
        return JSONResponse({"status": "reloaded", "model": new.info(), "previous_version": old.version})

    @app.get("/healthz", response_model=S.Health, tags=["operations"], summary="Liveness (no API key)")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", response_model=S.Ready, responses={503: err}, tags=["operations"],
             summary="Readiness: a model is loaded (no API key)")
    async def readyz() -> Response:
        return JSONResponse({"status": "ready", "model": state.holder.current.info()})

    @app.get("/metrics", tags=["operations"], dependencies=secured, summary="Prometheus metrics",
             response_class=Response)
    async def metrics() -> Response:
        body, ctype = state.metrics.exposition()
        return Response(body, media_type=ctype)

    return app


# ---------------------------------------------------------------- multi-worker entry point
ENV_CONFIG = "RECGAN_SERVE_CONFIG"


def settings_to_env(model_dir: str, settings: ServeSettings, api_key_file: str | None) -> str:
    """JSON handed to worker processes (the key itself stays in its file; workers read it there)."""
    d = dataclasses.asdict(settings)
    d.pop("api_key")
    return json.dumps({"model_dir": str(model_dir), "api_key_file": api_key_file, "settings": d})


def app_from_environment() -> FastAPI:
    """App factory for ``uvicorn --factory`` workers: settings from the RECGAN_SERVE_CONFIG variable."""
    cfg = json.loads(os.environ[ENV_CONFIG])
    settings = ServeSettings(**cfg["settings"])
    if cfg.get("api_key_file"):
        settings.api_key = read_api_key_file(cfg["api_key_file"])
    return create_app(cfg["model_dir"], settings)
