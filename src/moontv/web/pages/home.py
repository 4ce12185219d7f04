"""The home page (history, favorites, hot lists) and the search page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.config.admin import available_sites
from moontv.web.deps import PageUser, State
from moontv.web.pages.cards import card, sorted_items
from moontv.web.rendering import render

router = APIRouter()


@router.get("/")
async def home(request: Request, state: State, user: PageUser) -> Response:
    records: dict[str, dict[str, Any]] = {}
    favorites: dict[str, dict[str, Any]] = {}
    if not user.banned:
        records = await state.storage.get_all_play_records(user.username)
        favorites = await state.storage.get_all_favorites(user.username)
    snapshot = await state.config.get()
    site = snapshot.config.get("SiteConfig", {})
    proxy = {"type": site.get("DoubanImageProxyType") or "server", "url": site.get("DoubanImageProxy") or ""}
    announcement = str(snapshot.config.get("SiteConfig", {}).get("Announcement") or "")
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    query = request.query_params
    tab = query.get("tab", "home")
    if tab not in ("home", "history", "favorites"):
        tab = "home"
    raw_page = query.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and 0 < len(raw_page) <= 6 else 1
    sorted_records = sorted_items(records)
    sorted_favorites = sorted_items(favorites)
    # Cards are built only for what the page shows: a shelf of SHELF_SIZE on the home tab and
    # one GRID_PAGE page in the history/favourites grids (with links to the other pages).
    history_page = _paged(sorted_records, page if tab == "history" else 1)
    favorites_page = _paged(sorted_favorites, page if tab == "favorites" else 1)

    def record_card(item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        return card(item[0], item[1], "record", proxy=proxy)

    def favorite_card(item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        return card(item[0], item[1], "favorite", records.get(item[0]), proxy)

    return await render(
        request,
        "home.html",
        nav="home",
        boot={"announcement": announcement, "favoriteKeys": list(favorites)},
        records=[record_card(i) for i in sorted_records[:SHELF_SIZE]],
        favorites=[favorite_card(i) for i in sorted_favorites[:SHELF_SIZE]],
        history_cards=[record_card(i) for i in history_page.items],
        favorite_cards=[favorite_card(i) for i in favorites_page.items],
        history_pager=history_page,
        favorites_pager=favorites_page,
        tab=tab,
        banned=user.banned,
    )


SHELF_SIZE = 20
GRID_PAGE = 60


@dataclass(frozen=True, slots=True)
class _Pager:
    items: list[tuple[str, dict[str, Any]]]
    page: int
    pages: int


def _paged(items: list[tuple[str, dict[str, Any]]], page: int) -> _Pager:
    pages = max(1, -(-len(items) // GRID_PAGE))
    page = min(max(page, 1), pages)
    return _Pager(items[(page - 1) * GRID_PAGE : page * GRID_PAGE], page, pages)


@router.get("/search")
async def search_page(request: Request, state: State, user: PageUser) -> Response:
    # Raw on purpose: a page's query only seeds its script; bad values fall back, never a 400.
    query = request.query_params
    q = (query.get("q") or "").strip()[:100]
    snapshot = await state.config.get()
    sources = [{"key": s.key, "name": s.name} for s in available_sites(snapshot.config, user.username)]
    history = [] if user.banned else (await state.storage.get_search_history(user.username))[:20]
    params = {
        name: query.get(name, "")
        for name in ("sources", "filter_sources", "titles", "years", "sort", "order")
    }
    return await render(
        request,
        "search.html",
        nav="search",
        boot={"q": q, "sources": sources, "history": history, "params": params},
        q=q,
        history=history,
        sources=sources,
        no_sources=not sources,
        can_add_sources=user.is_admin,
    )
