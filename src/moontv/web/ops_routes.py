"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import time

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from moontv import __version__
from moontv.errors import ServiceError
from moontv.web.deps import State, bearer_token
from moontv.web.responses import NO_STORE, json_response

router = APIRouter()
READY_TIMEOUT = 1.0


@router.get("/api/health")
async def health(state: State) -> Response:
    """Liveness: the process answers. Never touches storage or upstreams."""
    return json_response(
        {"status": "ok", "version": __version__, "uptime": round(time.time() - state.started_at, 1)},
        headers=NO_STORE,
    )


@router.get("/api/ready")
async def ready(state: State) -> Response:
    """Readiness: a storage round trip within one second, and not shutting down."""
    if state.shutting_down:
        state.metrics.ready.set(0)
        return json_response({"status": "shutting_down"}, 503, headers=NO_STORE)
    start = time.perf_counter()
    try:
        await asyncio.wait_for(state.storage.ping(), READY_TIMEOUT)
    except Exception as exc:
        state.metrics.ready.set(0)
        reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        return json_response(
            {"status": "unavailable", "storage": state.storage.kind, "reason": reason}, 503, headers=NO_STORE
        )
    state.metrics.ready.set(1)
    elapsed = round((time.perf_counter() - start) * 1000, 2)
    return json_response(
        {"status": "ready", "storage": state.storage.kind, "storage_ms": elapsed}, headers=NO_STORE
    )


@router.get("/metrics")
async def metrics(request: Request, state: State) -> Response:
    token = state.settings.metrics_token
    if token:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ServiceError(401, "Unauthorized")
    snapshot = state.breakers.snapshot()
    for key, info in snapshot.items():
        state.metrics.on_circuit(key, str(info.get("state", "closed")))
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
