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
from moontv.web.deps import AdminUser, OptionalUser, State, bearer_token
from moontv.web.responses import NO_STORE, json_response
from moontv.web.state import AppState

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


def render_metrics(state: AppState) -> bytes:
    for key, info in state.breakers.snapshot().items():
        state.metrics.on_circuit(key, str(info.get("state", "closed")))
    return state.metrics.render()


@router.get("/metrics")
async def metrics(request: Request, state: State, user: OptionalUser) -> Response:
    """Not anonymous: the bearer ``MOONTV_METRICS_TOKEN`` or an admin's session. Scrapers inside
    a deployment use the unpublished ``MOONTV_METRICS_PORT`` listener instead."""
    token = state.settings.metrics_token
    given = bearer_token(request)
    by_token = bool(token) and given is not None and hmac.compare_digest(given.encode(), token.encode())
    if not by_token and (user is None or not user.is_admin):
        raise ServiceError(401, "Unauthorized")
    return Response(render_metrics(state), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)


@router.get("/api/openapi.json")
async def openapi(request: Request, user: AdminUser) -> Response:
    """The API description, for admins only (it maps every route for an attacker otherwise)."""
    return json_response(request.app.openapi(), headers=NO_STORE)
