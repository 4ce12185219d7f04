"""Prometheus metrics, request instrumentation and log set-up."""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from moontv import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
STORAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    """Every metric the app exports, on its own registry (one per app instance)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.build_info = Gauge("moontv_build_info", "Build information", ["version"], registry=r)
        self.build_info.labels(__version__).set(1)
        self.http_requests = Counter(
            "moontv_http_requests_total", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.http_latency = Histogram(
            "moontv_http_request_duration_seconds",
            "HTTP request latency (to the last body byte)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_in_flight = Gauge("moontv_http_requests_in_flight", "Requests being served", registry=r)
        self.upstream_latency = Histogram(
            "moontv_upstream_request_duration_seconds",
            "Upstream (Apple CMS) request latency",
            ["source", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "moontv_upstream_errors_total", "Failed upstream requests by kind", ["source", "kind"], registry=r
        )
        self.circuit_state = Gauge(
            "moontv_source_circuit_state",
            "Per-source circuit breaker: 0 closed, 1 half-open, 2 open",
            ["source"],
            registry=r,
        )
        self.search_requests = Counter(
            "moontv_search_requests_total", "Aggregated searches by mode", ["mode"], registry=r
        )
        self.search_source_failures = Counter(
            "moontv_search_source_failures_total",
            "Sources that failed inside a search",
            ["source", "reason"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "moontv_cache_lookups_total", "Result cache lookups", ["cache", "result"], registry=r
        )
        self.storage_latency = Histogram(
            "moontv_storage_operation_duration_seconds",
            "Storage backend operation latency",
            ["backend", "operation"],
            buckets=STORAGE_BUCKETS,
            registry=r,
        )
        self.storage_errors = Counter(
            "moontv_storage_errors_total",
            "Storage operations that raised",
            ["backend", "operation"],
            registry=r,
        )
        self.ready = Gauge("moontv_ready", "1 when the last readiness check passed", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- hooks used by other packages ---------------------------------------------------------
    def on_upstream(self, source_key: str, seconds: float, outcome: str) -> None:
        self.upstream_latency.labels(source_key, "ok" if outcome == "ok" else "error").observe(seconds)
        if outcome != "ok":
            self.upstream_errors.labels(source_key, outcome).inc()

    def on_request(self, source_key: str, seconds: float, outcome: str) -> None:
        """CmsClient's SourceObserver protocol."""
        self.on_upstream(source_key, seconds, outcome)

    def on_circuit(self, source_key: str, state: str) -> None:
        self.circuit_state.labels(source_key).set(CIRCUIT_STATES.get(state, 0))

    def cache_hook(self, cache: str) -> Callable[[bool], None]:
        hit = self.cache_lookups.labels(cache, "hit")
        miss = self.cache_lookups.labels(cache, "miss")
        return lambda was_hit: (hit if was_hit else miss).inc()


class InstrumentedStorage:
    """Wraps a Storage backend and times every coroutine method."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.kind = inner.kind
        for name, member in inspect.getmembers(type(inner)):
            if name.startswith("_") or not inspect.iscoroutinefunction(member):
                continue
            setattr(self, name, self._wrap(name, getattr(inner, name)))

    @property
    def inner(self) -> Any:
        return self._inner

    def _wrap(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        histogram = self._metrics.storage_latency.labels(self.kind, name)
        errors = self._metrics.storage_errors.labels(self.kind, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            except Exception:
                errors.inc()
                raise
            finally:
                histogram.observe(time.perf_counter() - start)

        timed.__name__ = name
        return timed


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request at INFO: 20 lines per search; keep them for debugging only.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
