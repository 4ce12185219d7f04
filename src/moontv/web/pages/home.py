"""The home page (history, favorites, hot lists) and the search page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.config.admin import available_sites
from moontv.web.deps import OptionalUser, State
from moontv.web.pages.cards import card, sorted_items
from moontv.web.rendering import page_guard, render

router = APIRouter()


@router.get("/")
async def home(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := page_guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    records: dict[str, dict[str, Any]] = {}
    favorites: dict[str, dict[str, Any]] = {}
    if not user.banned:
        records = await state.storage.get_all_play_records(user.username)
        favorites = await state.storage.get_all_favorites(user.username)
    snapshot = await state.config.get()
    site = snapshot.config.get("SiteConfig", {})
    proxy = {"type": site.get("DoubanImageProxyType") or "server", "url": site.get("DoubanImageProxy") or ""}
    record_cards = [card(k, r, "record", proxy=proxy) for k, r in sorted_items(records)]
    favorite_cards = [card(k, f, "favorite", records.get(k), proxy) for k, f in sorted_items(favorites)]
    announcement = str(snapshot.config.get("SiteConfig", {}).get("Announcement") or "")
    tab = request.query_params.get("tab", "home")
    if tab not in ("home", "history", "favorites"):
        tab = "home"
    return await render(
        request,
        "home.html",
        nav="home",
        boot={"announcement": announcement, "favoriteKeys": list(favorites)},
        records=record_cards,
        favorites=favorite_cards,
        tab=tab,
        banned=user.banned,
    )


@router.get("/search")
async def search_page(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := page_guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    q = (request.query_params.get("q") or "").strip()[:100]
    snapshot = await state.config.get()
    sources = [{"key": s.key, "name": s.name} for s in available_sites(snapshot.config, user.username)]
    history = [] if user.banned else (await state.storage.get_search_history(user.username))[:20]
    params = {
        name: request.query_params.get(name, "")
        for name in ("sources", "filter_sources", "titles", "years", "sort", "order")
    }
    return await render(
        request,
        "search.html",
        nav="search",
        boot={"q": q, "sources": sources, "history": history, "params": params},
        q=q,
        history=history,
    )
