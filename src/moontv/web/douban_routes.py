"""Douban lists and the Bangumi calendar (the ``/douban`` page is in ``web/pages/douban.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.bangumi.client import BangumiError
from moontv.config.admin import cache_time
from moontv.douban.client import DoubanError, DoubanProxy
from moontv.web.admin_routes import services
from moontv.web.deps import CurrentUser, State, optional_user
from moontv.web.responses import ApiError, json_response, private_cache

router = APIRouter()
MAX_PARAM = 50


def _int(request: Request, name: str, default: int, low: int, high: int | None, message: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, message) from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, message)
    return value


def _param(request: Request, name: str) -> str:
    value = (request.query_params.get(name) or "").strip()
    if len(value) > MAX_PARAM:
        raise ApiError(400, f"{name} 参数过长")
    return value


async def _answer(state: Any, coro: Any, failure: str) -> Response:
    snapshot = await state.config.get()
    try:
        items = await coro
    except DoubanError as exc:
        raise ApiError(502, failure, details=exc.detail) from None
    return json_response(
        {"code": 200, "message": "获取成功", "list": items},
        headers=private_cache(cache_time(snapshot.config)),
    )


async def _proxy(state: Any) -> DoubanProxy:
    return DoubanProxy.from_site((await state.config.get()).config["SiteConfig"])


@router.get("/api/douban")
async def douban_list(request: Request, state: State, user: CurrentUser) -> Response:
    type_ = _param(request, "type")
    tag = _param(request, "tag")
    if not type_ or not tag:
        raise ApiError(400, "缺少必要参数: type 或 tag")
    if type_ not in ("tv", "movie"):
        raise ApiError(400, "type 参数必须是 tv 或 movie")
    size = _int(request, "pageSize", 16, 1, 100, "pageSize 必须在 1-100 之间")
    start = _int(request, "pageStart", 0, 0, None, "pageStart 不能小于 0")
    failure = "获取豆瓣 Top250 数据失败" if tag == "top250" else "获取豆瓣数据失败"
    client = services(state).douban
    return await _answer(state, client.subjects(type_, tag, size, start, await _proxy(state)), failure)


@router.get("/api/douban/categories")
async def douban_categories(request: Request, state: State, user: CurrentUser) -> Response:
    kind = _param(request, "kind") or "movie"
    if kind not in ("tv", "movie"):
        raise ApiError(400, "kind 参数必须是 tv 或 movie")
    category = _param(request, "category")
    type_ = _param(request, "type")
    if not category or not type_:
        raise ApiError(400, "缺少必要参数: category 或 type")
    limit = _int(request, "limit", 20, 1, 100, "limit 必须在 1-100 之间")
    start = _int(request, "start", 0, 0, None, "start 不能小于 0")
    client = services(state).douban
    return await _answer(
        state, client.recent_hot(kind, category, type_, limit, start, await _proxy(state)), "获取豆瓣数据失败"
    )


async def recommend_allowed(request: Request, state: Any) -> bool:
    """Signed-in users, or a TVBox client holding a valid token while TVBox is enabled."""
    principal = await optional_user(request, state)
    if principal is not None and not principal.banned:
        return True
    token = request.query_params.get("token")
    if token and (await state.config.get()).config["SiteConfig"].get("TVBoxEnabled") is True:
        return await services(state).tvbox.resolve(token) is not None
    return False


@router.get("/api/douban/recommends")
async def douban_recommends(request: Request, state: State) -> Response:
    if not await recommend_allowed(request, state):
        if await optional_user(request, state) is None and not request.query_params.get("token"):
            raise ApiError(401, "Unauthorized")
        raise ApiError(403, "Forbidden")
    kind = _param(request, "kind")
    if not kind:
        raise ApiError(400, "缺少必要参数: kind")
    if kind not in ("tv", "movie"):
        raise ApiError(400, "kind 参数必须是 tv 或 movie")
    limit = _int(request, "limit", 20, 1, 100, "limit 必须在 1-100 之间")
    start = _int(request, "start", 0, 0, None, "start 不能小于 0")
    params = {
        name: _param(request, name) for name in ("category", "region", "year", "platform", "label", "sort")
    }
    params["format_"] = _param(request, "format")
    client = services(state).douban
    return await _answer(
        state,
        client.recommend(kind, await _proxy(state), limit=limit, start=start, **params),
        "获取豆瓣数据失败",
    )


@router.get("/api/bangumi/calendar")
async def bangumi_calendar(state: State, user: CurrentUser) -> Response:
    try:
        days = await services(state).bangumi.calendar()
    except BangumiError as exc:
        raise ApiError(502, "获取番剧日历失败", details=exc.detail) from None
    return json_response(days, headers=private_cache(3600))
