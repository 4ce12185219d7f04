"""TVBox endpoints, gated by a per-user revocable token (never the site password).

- ``GET /api/tvbox/config?token=…[&filter=adult,ads][&format=base64]`` — the TVBox JSON.
- ``GET /api/tvbox/s/{token}/categories[/{filters}]`` (and ``/api/tvbox/categories?token=…``) — Douban
  façade: classes, category pages (``t``/``pg``, any ``ac``) and detail (``ids``).
- ``GET /api/tvbox/s/{token}/cms/{filters}/{key}`` — the user's source through a filtering proxy.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.config.admin import available_sites, cache_time
from moontv.douban.client import DoubanError, DoubanProxy
from moontv.live.access import available_lives
from moontv.live.export import tvbox_lives
from moontv.search.service import SearchOptions
from moontv.sources.models import SourceError
from moontv.streams.playlist import PLAYLIST
from moontv.tvbox import douban_site
from moontv.tvbox import service as tvbox
from moontv.web.admin_routes import origin, services
from moontv.web.deps import State, optional_user
from moontv.web.responses import NO_STORE, ApiError, json_response, private_cache
from moontv.web.stream_routes import render_playlist, source_options_for

router = APIRouter()


async def _holder(
    request: Request, state: Any, token: str | None, *, allow_session: bool = False
) -> tuple[str, dict[str, Any]]:
    """The user a request acts for, after the enabled/token/ban checks; plus the config."""
    config = (await state.config.get()).config
    if config["SiteConfig"].get("TVBoxEnabled") is not True:
        raise ApiError(403, "TVBox 接口未开启")
    username = await services(state).tvbox.resolve(token) if token else None
    if username is None and allow_session and not token:
        principal = await optional_user(request, state)
        username = principal.username if principal is not None else None
    if username is None:
        raise ApiError(401, "令牌无效或已撤销" if token else "缺少 TVBox 令牌")
    principal = await state.auth.principal_for(username)
    if principal is None:
        raise ApiError(401, "令牌无效或已撤销")
    if principal.banned:
        raise ApiError(403, "用户已被封禁")
    return username, config


def _with_query(base: str, query: str) -> str:
    if base.endswith(("?", "&")):
        return base + query
    return f"{base}{'&' if '?' in base else '?'}{query}"


@router.get("/api/tvbox/config")
async def tvbox_config(request: Request, state: State) -> Response:
    token = request.query_params.get("token") or ""
    username, config = await _holder(request, state, token)
    filters = _filters(request.query_params.get("filter") or "")
    body = tvbox.build_config(
        origin(request, state), token, available_sites(config, username), filters=filters
    )
    body["lives"] = tvbox_lives(origin(request, state), token, available_lives(config, username))
    headers = {**private_cache(cache_time(config)), "Referrer-Policy": "no-referrer"}
    if request.query_params.get("format") == "base64" or request.query_params.get("base64") == "1":
        return Response(
            base64.b64encode(orjson.dumps(body)), media_type="text/plain; charset=utf-8", headers=headers
        )
    return json_response(body, headers=headers)


def _playlist_rewriter(request: Request, state: Any, token: str) -> Callable[[str, str], str]:
    """TVBox players send no cookie: ad-filtered playlists go through the token-gated route."""
    base = f"{origin(request, state)}/api/tvbox/s/{quote(token, safe='')}/m3u8"

    def rewrite(key: str, url: str) -> str:
        if ".m3u8" not in url:
            return url
        return f"{base}/{quote(key, safe='')}?url={quote(url, safe='')}"

    return rewrite


async def _facade_detail(
    request: Request,
    state: Any,
    token: str | None,
    username: str,
    config: dict[str, Any],
    wanted: tuple[str, ...],
) -> Response:
    refs = douban_site.decode_ids(request.query_params.get("ids") or "")
    site = config["SiteConfig"]
    opts = SearchOptions(
        timeout=state.settings.upstream_timeout,
        max_page=1,
        filter_adult="adult" in wanted or not site.get("DisableYellowFilter", False),
        cache_ttl=cache_time(config) if state.settings.search_cache else 0,
    )
    resolved = await douban_site.resolve(state.search, available_sites(config, username), refs, opts)
    rewrite = (
        _playlist_rewriter(request, state, token)
        if token and "ads" in wanted and state.streams is not None
        else None
    )
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
        raise ApiError(400, f"未知的过滤类型: {exc}") from None


async def _categories(request: Request, state: Any, token: str | None, filters: str = "none") -> Response:
    username, config = await _holder(request, state, token, allow_session=True)
    wanted = _filters(filters)
    cats = tvbox.categories(config.get("CustomCategories") or [])
    params = request.query_params
    t, wd = params.get("t") or "", (params.get("wd") or "").strip()[:50]
    if params.get("ids"):
        return await _facade_detail(request, state, token, username, config, wanted)
    if not t and not wd:
        return json_response({"code": 1, "msg": "success", "class": tvbox.class_list(cats), "list": []})
    try:
        page = max(1, int(params.get("pg") or 1))
        size = min(50, max(1, int(params.get("pagesize") or 20)))
        index = int(t) if t else 1
    except ValueError:
        raise ApiError(400, "参数格式错误") from None
    if not 1 <= index <= len(cats):
        raise ApiError(404, "分类不存在")
    cat = cats[index - 1]
    kwargs = tvbox.recommend_params(cat, wd or None)
    if "category" not in kwargs:
        kwargs["category"] = ""
    proxy = DoubanProxy.from_site(config["SiteConfig"])
    try:
        cards = await services(state).douban.recommend(
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
async def tvbox_categories(request: Request, state: State) -> Response:
    return await _categories(request, state, request.query_params.get("token"))


@router.get("/api/tvbox/s/{token}/categories")
async def tvbox_token_categories(token: str, request: Request, state: State) -> Response:
    return await _categories(request, state, token)


@router.get("/api/tvbox/s/{token}/categories/{filters}")
async def tvbox_filtered_categories(token: str, filters: str, request: Request, state: State) -> Response:
    return await _categories(request, state, token, filters)


@router.get("/api/tvbox/s/{token}/cms/{filters}/{key}")
async def tvbox_cms(token: str, filters: str, key: str, request: Request, state: State) -> Response:
    username, config = await _holder(request, state, token)
    wanted = _filters(filters)
    site = next((s for s in available_sites(config, username) if s.key == key), None)
    if site is None:
        raise ApiError(404, "未找到指定的视频源")
    forwarded = [(k, v[:200]) for k, v in request.query_params.multi_items() if k in tvbox.CMS_QUERY_PARAMS]
    url = _with_query(site.api, urlencode(forwarded)) if forwarded else site.api
    try:
        envelope = await state.cms.fetch_json(
            url, timeout=state.settings.upstream_timeout, source_key=site.key
        )
    except SourceError as exc:
        raise ApiError(502, exc.user_message) from None
    rewrite = None
    if "ads" in wanted and state.streams is not None:
        reroute = _playlist_rewriter(request, state, token)

        def rewrite(url: str) -> str:
            return str(reroute(key, url))

    return json_response(tvbox.filter_envelope(envelope, wanted, rewrite), headers=private_cache(60))


@router.get("/api/tvbox/s/{token}/m3u8/{key}")
async def tvbox_playlist(token: str, key: str, request: Request, state: State) -> Response:
    """A source's playlist with ad blocks removed, for TVBox players (token instead of cookie).
    Variant playlists come back through this route; segments and keys stay upstream URLs."""
    username, config = await _holder(request, state, token)
    if not any(s.key == key for s in available_sites(config, username)):
        raise ApiError(404, "未找到指定的视频源")
    url = (request.query_params.get("url") or "").strip()
    if not url or len(url) > 4096:
        raise ApiError(400, "缺少 url 参数")
    opts = await source_options_for(state, key)

    def mapper(kind: str, target: str) -> str:
        if kind == PLAYLIST and target.lower().startswith(("http://", "https://")):
            return f"{quote(key, safe='')}?url={quote(target, safe='')}"
        return target

    return await render_playlist(state, url, opts, mapper)
