"""The ``/live`` page: live TV channels, guide and player (templates/live.html + static/live.js)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.live.access import available_lives, web_live_enabled
from moontv.web.deps import PageUser, State
from moontv.web.i18n import strings
from moontv.web.rendering import asset, render

router = APIRouter()


@router.get("/live")
async def live_page(request: Request, state: State, user: PageUser) -> Response:
    config = (await state.config.get()).config
    if not web_live_enabled(config):
        t = strings(request)
        return await render(request, "message.html", 403, heading=t["live_title"], message=t["live_disabled"])
    sources = [{"key": s.key, "name": s.name} for s in available_lives(config, user.username)]
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    qp = request.query_params
    return await render(
        request,
        "live.html",
        nav="live",
        boot={
            "sources": sources,
            "source": (qp.get("source") or "")[:128],
            "channel": (qp.get("channel") or "")[:32],
            "hlsWorker": asset("vendor/hls.worker.js"),
        },
    )
