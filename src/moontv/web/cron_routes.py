"""``/api/cron``: trigger the refresh run from outside (owner/admin session or ``MOONTV_CRON_TOKEN``)."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.web.admin_routes import services
from moontv.web.deps import State, optional_user
from moontv.web.responses import NO_STORE, ApiError, json_response

router = APIRouter()


async def _authorize(request: Request, state: State) -> None:
    configured = state.settings.cron_token
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if configured and bearer and hmac.compare_digest(bearer.encode(), configured.encode()):
        return
    principal = await optional_user(request, state)
    if principal is None:
        raise ApiError(401, "Unauthorized")
    if not principal.is_admin:
        raise ApiError(403, "权限不足")


@router.get("/api/cron")
@router.post("/api/cron")
async def cron(request: Request, state: State) -> Response:
    await _authorize(request, state)
    scheduler = services(state).scheduler
    if request.query_params.get("wait") in ("1", "true"):
        summary = await scheduler.run_once("cron")
        if summary is None:
            raise ApiError(409, "已有刷新任务在运行", running=True)
        return json_response(
            {"success": summary.status != "failed", "summary": summary.as_json()}, headers=NO_STORE
        )
    started = scheduler.trigger("cron")
    return json_response(
        {
            "success": True,
            "message": "Cron job executed successfully" if started else "Cron job already running",
            "started": started,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        headers=NO_STORE,
    )


@router.get("/api/cron/status")
async def cron_status(request: Request, state: State) -> Response:
    await _authorize(request, state)
    scheduler = services(state).scheduler
    return json_response(
        {
            "running": scheduler.running,
            "interval": scheduler.interval,
            "leader": scheduler.leader,  # this replica held the refresh lease at its last tick
            "current": scheduler.current.as_json() if scheduler.current else None,
            "last": scheduler.last.as_json() if scheduler.last else None,
        },
        headers=NO_STORE,
    )
