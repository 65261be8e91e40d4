"""Prometheus metrics of one app: request counts, latency histograms, model version, reloads, batch sizes.

Each app owns a :class:`~prometheus_client.CollectorRegistry` (two apps in one process never mix counts).
With ``--workers N`` the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start; ``/metrics`` then
aggregates every worker's values from that folder, so a scrape sees the whole server, not one worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05,
                   0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServingMetrics:
    """The metrics of one app, registered on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("recgan_http_requests_total", "HTTP requests answered, by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("recgan_http_request_duration_seconds",
                                 "Time from request start to the end of the response body",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("recgan_http_requests_in_flight", "Requests being answered",
                               registry=r, multiprocess_mode="livesum")
        self.model_info = Gauge("recgan_model_info", "The model being served (value 1)",
                                ["model", "version"], registry=r, multiprocess_mode="livemax")
        self.model_loaded = Gauge("recgan_model_loaded_timestamp_seconds", "Unix time the served model was loaded",
                                  registry=r, multiprocess_mode="livemax")
        self.reloads = Counter("recgan_model_reloads_total", "Model reloads by outcome", ["result"], registry=r)
        self.batch_size = Histogram("recgan_batch_users", "Users scored together by one model call (micro-batch)",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.unknown_ids = Counter("recgan_unknown_ids_total", "Ids in requests the model does not know",
                                   ["kind"], registry=r)
        self._version: tuple[str, str] | None = None

    def set_model(self, name: str, version: str, loaded_at: float) -> None:
        if self._version is not None and self._version != (name, version):
            if _multiprocess_dir() is None:
                self.model_info.remove(*self._version)
            else:  # multiprocess values cannot be removed; "livemax" over workers shows 0 once none serves it
                self.model_info.labels(*self._version).set(0)
        self._version = (name, version)
        self.model_info.labels(name, version).set(1)
        self.model_loaded.set(loaded_at)

    def exposition(self) -> tuple[bytes, str]:
        folder = _multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        return generate_latest(registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware: count and time every HTTP request by its route template (not its raw path,
    which would make one series per user id)."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        m = self.metrics
        m.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m.in_flight.dec()
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            m.requests.labels(method, name, str(status[0])).inc()
            m.latency.labels(method, name).observe(time.perf_counter() - start)
