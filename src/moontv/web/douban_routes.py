"""Douban lists and the Bangumi calendar (the ``/douban`` page is in ``web/pages/douban.py``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BeforeValidator
from starlette.responses import Response

from moontv.bangumi.client import BangumiError
from moontv.douban.client import DoubanError, DoubanProxy
from moontv.errors import ServiceError
from moontv.web.deps import CurrentUser, OptionalUser, State
from moontv.web.params import max_length
from moontv.web.responses import json_response, private_cache
from moontv.web.state import AppState
from moontv.web.tvbox_access import token_principal

router = APIRouter()
MAX_PARAM = 50


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _short(name: str) -> AfterValidator:
    return AfterValidator(max_length(MAX_PARAM, f"{name} 参数过长"))


def _bounded_int(low: int, high: int | None, message: str) -> BeforeValidator:
    def check(value: object) -> int | None:
        if value is None or value == "":
            return None
        try:
            number = int(str(value))
        except ValueError:
            raise ValueError(message) from None
        if number < low or (high is not None and number > high):
            raise ValueError(message)
        return number

    return BeforeValidator(check)


Stripped = BeforeValidator(_strip)
TypeParam = Annotated[str, Query(alias="type"), Stripped, _short("type")]
Tag = Annotated[str, Query(), Stripped, _short("tag")]
Kind = Annotated[str, Query(), Stripped, _short("kind")]
Category = Annotated[str, Query(), Stripped, _short("category")]
Region = Annotated[str, Query(), Stripped, _short("region")]
Year = Annotated[str, Query(), Stripped, _short("year")]
Platform = Annotated[str, Query(), Stripped, _short("platform")]
Label = Annotated[str, Query(), Stripped, _short("label")]
Sort = Annotated[str, Query(), Stripped, _short("sort")]
Format = Annotated[str, Query(alias="format"), Stripped, _short("format")]
PageSize = Annotated[int | None, Query(alias="pageSize"), _bounded_int(1, 100, "pageSize 必须在 1-100 之间")]
PageStart = Annotated[int | None, Query(alias="pageStart"), _bounded_int(0, None, "pageStart 不能小于 0")]
Limit = Annotated[int | None, Query(), _bounded_int(1, 100, "limit 必须在 1-100 之间")]
Start = Annotated[int | None, Query(), _bounded_int(0, None, "start 不能小于 0")]


async def _answer(state: AppState, items: Awaitable[list[dict[str, Any]]], failure: str) -> Response:
    view = await state.config.view()
    try:
        found = await items
    except DoubanError as exc:
        raise ServiceError(502, failure, details=exc.detail) from None
    return json_response(
        {"code": 200, "message": "获取成功", "list": found},
        headers=private_cache(view.site.cache_time),
    )


async def _proxy(state: AppState) -> DoubanProxy:
    return DoubanProxy.from_site((await state.config.view()).site)


@router.get("/api/douban")
async def douban_list(
    state: State,
    user: CurrentUser,
    type_: TypeParam = "",
    tag: Tag = "",
    page_size: PageSize = None,
    page_start: PageStart = None,
) -> Response:
    if not type_ or not tag:
        raise ServiceError(400, "缺少必要参数: type 或 tag")
    if type_ not in ("tv", "movie"):
        raise ServiceError(400, "type 参数必须是 tv 或 movie")
    failure = "获取豆瓣 Top250 数据失败" if tag == "top250" else "获取豆瓣数据失败"
    items = state.douban.subjects(type_, tag, _or(page_size, 16), _or(page_start, 0), await _proxy(state))
    return await _answer(state, items, failure)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


@router.get("/api/douban/categories")
async def douban_categories(
    state: State,
    user: CurrentUser,
    kind: Kind = "",
    category: Category = "",
    type_: TypeParam = "",
    limit: Limit = None,
    start: Start = None,
) -> Response:
    kind = kind or "movie"
    if kind not in ("tv", "movie"):
        raise ServiceError(400, "kind 参数必须是 tv 或 movie")
    if not category or not type_:
        raise ServiceError(400, "缺少必要参数: category 或 type")
    items = state.douban.recent_hot(kind, category, type_, _or(limit, 20), _or(start, 0), await _proxy(state))
    return await _answer(state, items, "获取豆瓣数据失败")


async def _recommend_allowed(state: AppState, user: OptionalUser, token: str) -> None:
    """Signed-in users who are not banned, or a TVBox client holding a valid token of a user who is
    not banned, while TVBox is enabled."""
    if user is not None and not user.banned:
        return
    tvbox_enabled = (await state.config.view()).site.tvbox_enabled
    if token and tvbox_enabled and await token_principal(state, token) is not None:
        return
    if user is None and not token:
        raise ServiceError(401, "Unauthorized")
    raise ServiceError(403, "Forbidden")


@router.get("/api/douban/recommends")
async def douban_recommends(
    state: State,
    user: OptionalUser,
    token: Annotated[str, Query(description="a TVBox token (instead of a session)")] = "",
    kind: Kind = "",
    limit: Limit = None,
    start: Start = None,
    category: Category = "",
    region: Region = "",
    year: Year = "",
    platform: Platform = "",
    label: Label = "",
    sort: Sort = "",
    format_: Format = "",
) -> Response:
    await _recommend_allowed(state, user, token)
    if not kind:
        raise ServiceError(400, "缺少必要参数: kind")
    if kind not in ("tv", "movie"):
        raise ServiceError(400, "kind 参数必须是 tv 或 movie")
    items = state.douban.recommend(
        kind,
        await _proxy(state),
        limit=_or(limit, 20),
        start=_or(start, 0),
        category=category,
        region=region,
        year=year,
        platform=platform,
        label=label,
        sort=sort,
        format_=format_,
    )
    return await _answer(state, items, "获取豆瓣数据失败")


@router.get("/api/bangumi/calendar")
async def bangumi_calendar(state: State, user: CurrentUser) -> Response:
    try:
        days = await state.bangumi.calendar()
    except BangumiError as exc:
        raise ServiceError(502, "获取番剧日历失败", details=exc.detail) from None
    return json_response(days, headers=private_cache(3600))
