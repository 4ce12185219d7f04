"""The ``/douban`` browse page (movies, series, shows, anime, the site's custom categories)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.web.deps import PageUser, State
from moontv.web.rendering import render

router = APIRouter()
PAGE_TYPES = ("movie", "tv", "show", "anime", "custom")
PAGE_TITLES = {"movie": "电影", "tv": "剧集", "show": "综艺", "anime": "动漫", "custom": "自定义"}


@router.get("/douban")
async def douban_page(request: Request, state: State, user: PageUser) -> Response:
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    page_type = request.query_params.get("type") or "movie"
    if page_type not in PAGE_TYPES:
        page_type = "movie"
    snapshot = await state.config.get()
    custom = [
        {"name": c.get("name") or c.get("query"), "type": c.get("type"), "query": c.get("query")}
        for c in snapshot.config.get("CustomCategories") or []
        if not c.get("disabled") and c.get("query")
    ]
    return await render(
        request,
        "douban.html",
        boot={"type": page_type, "custom": custom},
        nav=f"douban-{page_type}",
        page_type=page_type,
        heading=PAGE_TITLES[page_type],
    )
