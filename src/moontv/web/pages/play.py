"""The play page: player, episodes, source switching (the data comes from the API at run time)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.web.deps import PageUser, State
from moontv.web.rendering import asset, render

router = APIRouter()


@router.get("/play")
async def play_page(request: Request, state: State, user: PageUser) -> Response:
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    qp = request.query_params
    params = {
        name: (qp.get(name) or "").strip()[:200]
        for name in ("source", "id", "title", "year", "stitle", "stype")
    }
    key = f"{params['source']}+{params['id']}" if params["source"] and params["id"] else ""
    record = skip = favorite = None
    if key and not user.banned:
        record = await state.storage.get_play_record(user.username, key)
        skip = await state.storage.get_skip_config(user.username, key)
        favorite = await state.storage.get_favorite(user.username, key)
    heading = params["title"] or params["stitle"]
    return await render(
        request,
        "play.html",
        boot={
            "params": params,
            "record": record,
            "skip": skip,
            "favorite": favorite is not None,
            "hlsWorker": asset("vendor/hls.worker.js"),
        },
        heading=heading,
        params=params,
    )
