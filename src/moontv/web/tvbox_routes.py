"""TVBox endpoints, gated by a per-user revocable token (never the site password).

- ``GET /api/tvbox/token``, ``POST /api/tvbox/token {"action": "rotate"|"revoke"}`` — a signed-in user's
  own token (admins manage everyone's through ``/api/admin/tvbox``).
- ``GET /api/tvbox/config?token=…[&filter=adult,ads][&format=base64]`` — the TVBox JSON.
- ``GET /api/tvbox/s/{token}/categories[/{filters}]`` (and ``/api/tvbox/categories?token=…``) — Douban
  façade: classes, category pages (``t``/``pg``, any ``ac``) and detail (``ids``).
- ``GET /api/tvbox/s/{token}/cms/{filters}/{key}`` — the user's source through a filtering proxy.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from moontv.auth.service import Principal
from moontv.config.admin import available_sites, cache_time
from moontv.douban.client import DoubanError, DoubanProxy
from moontv.errors import ServiceError
from moontv.live.access import available_lives
from moontv.live.export import tvbox_lives
from moontv.search.service import SearchOptions
from moontv.streams.playlist import PLAYLIST
from moontv.streams.service import source_options
from moontv.tvbox import douban_site
from moontv.tvbox import service as tvbox
from moontv.web.admin_requests import TvboxRequest, only_known_fields
from moontv.web.common import expected_version, find_site
from moontv.web.deps import CurrentUser, OptionalUser, State
from moontv.web.forwarded import origin
from moontv.web.playlists import render_playlist
from moontv.web.responses import NO_STORE, json_response, private_cache, read_json_object
from moontv.web.state import AppState
from moontv.web.tvbox_access import token_status, tvbox_holder, tvbox_url

router = APIRouter()

# Checks stay in the routes (after the token check), so a bad token is answered before bad parameters.
Token = Annotated[str, Query(description="the user's TVBox token")]
FilterList = Annotated[str, Query(alias="filter", description="comma-separated: adult, ads")]
TvboxFormat = Annotated[str, Query(alias="format", description='"base64": the JSON base64-encoded')]
Base64Flag = Annotated[str, Query(alias="base64", description='"1": same as format=base64')]


@dataclass(frozen=True, slots=True)
class CategoryQuery:
    """TVBox's CMS-style paging and lookup parameters (the façade answers what a CMS would)."""

    t: str
    wd: str
    ids: str
    pg: str
    pagesize: str


def category_query(
    t: Annotated[str, Query(description="category index, 1-based")] = "",
    wd: Annotated[str, Query(description="keyword")] = "",
    ids: Annotated[str, Query(description="Douban ids (detail)")] = "",
    pg: Annotated[str, Query(description="page, 1-based")] = "",
    pagesize: Annotated[str, Query(description="items per page, 1-50")] = "",
) -> CategoryQuery:
    return CategoryQuery(t, wd, ids, pg, pagesize)


CategoryParams = Annotated[CategoryQuery, Depends(category_query)]


@router.get("/api/tvbox/token")
async def get_own_token(request: Request, state: State, user: CurrentUser) -> Response:
    return json_response(await token_status(request, state, user.username), headers=NO_STORE)


@router.post("/api/tvbox/token")
async def post_own_token(request: Request, state: State, user: CurrentUser) -> Response:
    """Rotate or revoke the caller's own token (banned users cannot)."""
    body = only_known_fields(TvboxRequest, await read_json_object(request))
    version = expected_version(request, body)
    action = body.get("action")
    if action not in ("rotate", "revoke") or body.get("username") not in (None, "", user.username):
        raise ServiceError(400, "参数格式错误")
    if user.banned:
        raise ServiceError(403, "用户已被封禁")
    if action == "revoke":
        new_version = await state.tvbox.revoke(user.username, expected_version=version)
        return json_response(
            {"ok": True, "username": user.username, "version": new_version}, headers=NO_STORE
        )
    token, new_version = await state.tvbox.issue(user.username, expected_version=version)
    return json_response(
        {
            "ok": True,
            "username": user.username,
            "token": token,
            "url": tvbox_url(request, state.settings, token),
            "version": new_version,
        },
        headers=NO_STORE,
    )


def _with_query(base: str, query: str) -> str:
    if base.endswith(("?", "&")):
        return base + query
    return f"{base}{'&' if '?' in base else '?'}{query}"


@router.get("/api/tvbox/config")
async def tvbox_config(
    request: Request,
    state: State,
    token: Token = "",
    filter_list: FilterList = "",
    answer_format: TvboxFormat = "",
    base64_flag: Base64Flag = "",
) -> Response:
    username, config = await tvbox_holder(state, token)
    filters = _filters(filter_list)
    body = tvbox.build_config(
        origin(request, state.settings), token, available_sites(config, username), filters=filters
    )
    body["lives"] = tvbox_lives(origin(request, state.settings), token, available_lives(config, username))
    headers = {**private_cache(cache_time(config)), "Referrer-Policy": "no-referrer"}
    if answer_format == "base64" or base64_flag == "1":
        return Response(
            base64.b64encode(orjson.dumps(body)), media_type="text/plain; charset=utf-8", headers=headers
        )
    return json_response(body, headers=headers)


def _playlist_rewriter(request: Request, state: AppState, token: str) -> Callable[[str, str], str]:
    """TVBox players send no cookie: ad-filtered playlists go through the token-gated route."""
    base = f"{origin(request, state.settings)}/api/tvbox/s/{quote(token, safe='')}/m3u8"

    def rewrite(key: str, url: str) -> str:
        if ".m3u8" not in url:
            return url
        return f"{base}/{quote(key, safe='')}?url={quote(url, safe='')}"

    return rewrite


async def _facade_detail(
    request: Request,
    state: AppState,
    token: str | None,
    username: str,
    config: dict[str, Any],
    wanted: tuple[str, ...],
    ids: str,
) -> Response:
    refs = douban_site.decode_ids(ids)
    site = config["SiteConfig"]
    opts = SearchOptions(
        timeout=state.settings.upstream_timeout,
        max_page=1,
        filter_adult="adult" in wanted or not site.get("DisableYellowFilter", False),
        cache_ttl=cache_time(config) if state.settings.search_cache else 0,
    )
    resolved = await douban_site.resolve(state.search, available_sites(config, username), refs, opts)
    rewrite = _playlist_rewriter(request, state, token) if token and "ads" in wanted else None
    items = [douban_site.detail_vod(ref, matches, rewrite) for ref, matches in resolved]
    found = any("vod_play_url" in item for item in items)
    return json_response(
        {
            "code": 1,
            "msg": "success",
            "page": 1,
            "pagecount": 1,
            "limit": len(items),
            "total": len(items),
            "list": items,
        },
        headers=private_cache(cache_time(config)) if found else NO_STORE,
    )


def _filters(raw: str) -> tuple[str, ...]:
    try:
        return tvbox.parse_filters(raw)
    except ValueError as exc:
        raise ServiceError(400, f"未知的过滤类型: {exc}") from None


async def _categories(
    request: Request,
    state: AppState,
    token: str | None,
    session: Principal | None,
    query: CategoryQuery,
    filters: str = "none",
) -> Response:
    username, config = await tvbox_holder(state, token, session)
    wanted = _filters(filters)
    cats = tvbox.categories(config.get("CustomCategories") or [])
    t, wd = query.t, query.wd.strip()[:50]
    if query.ids:
        return await _facade_detail(request, state, token, username, config, wanted, query.ids)
    if not t and not wd:
        return json_response({"code": 1, "msg": "success", "class": tvbox.class_list(cats), "list": []})
    try:
        page = max(1, int(query.pg or 1))
        size = min(50, max(1, int(query.pagesize or 20)))
        index = int(t) if t else 1
    except ValueError:
        raise ServiceError(400, "参数格式错误") from None
    if not 1 <= index <= len(cats):
        raise ServiceError(404, "分类不存在")
    cat = cats[index - 1]
    kwargs = tvbox.recommend_params(cat, wd or None)
    if "category" not in kwargs:
        kwargs["category"] = ""
    proxy = DoubanProxy.from_site(config["SiteConfig"])
    try:
        cards = await state.douban.recommend(
            cat.kind,
            proxy,
            limit=size,
            start=(page - 1) * size,
            category=kwargs.get("category"),
            region=kwargs.get("region"),
            year=kwargs.get("year"),
            label=kwargs.get("label"),
            sort=kwargs.get("sort"),
        )
    except DoubanError:
        return json_response({"code": 0, "msg": "error", "class": [], "list": []}, 502)
    return json_response(
        {
            "code": 1,
            "msg": "success",
            "page": page,
            "pagecount": 999,
            "limit": size,
            "total": 0,
            "list": tvbox.vod_list(cards),
        },
        headers=private_cache(cache_time(config)),
    )


@router.get("/api/tvbox/categories")
async def tvbox_categories(
    request: Request,
    state: State,
    user: OptionalUser,
    query: CategoryParams,
    token: Annotated[str | None, Query(description="the user's TVBox token")] = None,
) -> Response:
    return await _categories(request, state, token, user, query)


@router.get("/api/tvbox/s/{token}/categories")
async def tvbox_token_categories(
    token: str, request: Request, state: State, user: OptionalUser, query: CategoryParams
) -> Response:
    return await _categories(request, state, token, user, query)


@router.get("/api/tvbox/s/{token}/categories/{filters}")
async def tvbox_filtered_categories(
    token: str, filters: str, request: Request, state: State, user: OptionalUser, query: CategoryParams
) -> Response:
    return await _categories(request, state, token, user, query, filters)


@router.get("/api/tvbox/s/{token}/cms/{filters}/{key}")
async def tvbox_cms(token: str, filters: str, key: str, request: Request, state: State) -> Response:
    username, config = await tvbox_holder(state, token)
    wanted = _filters(filters)
    site = find_site(config, username, key, message="未找到指定的视频源")
    # Read raw on purpose: a pass-through of whichever CMS parameters (ac, t, pg, wd, ids, ...) TVBox sent.
    forwarded = [(k, v[:200]) for k, v in request.query_params.multi_items() if k in tvbox.CMS_QUERY_PARAMS]
    url = _with_query(site.api, urlencode(forwarded)) if forwarded else site.api
    envelope = await state.cms.fetch_json(url, timeout=state.settings.upstream_timeout, source_key=site.key)
    rewrite = None
    if "ads" in wanted:
        reroute = _playlist_rewriter(request, state, token)

        def rewrite(url: str) -> str:
            return reroute(key, url)

    return json_response(tvbox.filter_envelope(envelope, wanted, rewrite), headers=private_cache(60))


@router.get("/api/tvbox/s/{token}/m3u8/{key}")
async def tvbox_playlist(
    token: str, key: str, state: State, url: Annotated[str, Query(description="the playlist URL")] = ""
) -> Response:
    """A source's playlist with ad blocks removed, for TVBox players (token instead of cookie).
    Variant playlists come back through this route; segments and keys stay upstream URLs."""
    username, config = await tvbox_holder(state, token)
    find_site(config, username, key, message="未找到指定的视频源")
    url = url.strip()
    if not url or len(url) > 4096:
        raise ServiceError(400, "缺少 url 参数")
    opts = source_options(config, key, ad_default=state.settings.ad_filter)

    def mapper(kind: str, target: str) -> str:
        if kind == PLAYLIST and target.lower().startswith(("http://", "https://")):
            return f"{quote(key, safe='')}?url={quote(target, safe='')}"
        return target

    return await render_playlist(state, url, opts, mapper)
