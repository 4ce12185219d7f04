"""``POST /api/cron``: trigger the refresh run from outside (owner/admin session or ``MOONTV_CRON_TOKEN``).

A run changes stored data, so it is POST only (a GET, which browsers and link previews send freely,
gets 405); ``GET /api/cron/status`` reads the scheduler's state.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.web.deps import OptionalUser, State, bearer_token
from moontv.web.responses import NO_STORE, json_response

router = APIRouter()


async def require_cron_caller(request: Request, state: State, user: OptionalUser) -> None:
    """The cron token as a Bearer header, or an owner/admin session."""
    configured = state.settings.cron_token
    given = bearer_token(request)
    if configured and given and hmac.compare_digest(given.encode(), configured.encode()):
        return
    if user is None:
        raise ServiceError(401, "Unauthorized")
    if not user.is_admin:
        raise ServiceError(403, "权限不足")


CronCaller = Depends(require_cron_caller)


@router.post("/api/cron", dependencies=[CronCaller])
async def cron(
    state: State, wait: Annotated[str, Query(description="1: wait and answer the run summary")] = ""
) -> Response:
    scheduler = state.scheduler
    if wait in ("1", "true"):
        summary = await scheduler.run_once("cron")
        if summary is None:
            raise ServiceError(409, "已有刷新任务在运行", running=True)
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


@router.get("/api/cron/status", dependencies=[CronCaller])
async def cron_status(state: State) -> Response:
    scheduler = state.scheduler
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
