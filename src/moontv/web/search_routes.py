"""Search family: aggregated search (JSON, NDJSON, SSE), single source, suggestions, detail."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from moontv.auth.service import Principal
from moontv.config.admin import available_sites, cache_time, enabled_sites
from moontv.errors import ServiceError
from moontv.search.service import (
    FILTERED,
    NO_RESULTS,
    DoneEvent,
    FailEvent,
    PageEvent,
    SearchOptions,
    SourceFailed,
)
from moontv.search.suggest import scored_suggestions
from moontv.sources.models import ApiSite, SearchResult
from moontv.web.common import find_site
from moontv.web.deps import CurrentUser, State
from moontv.web.params import Timeout, clamp, required
from moontv.web.params import vod_id as vod_id_format
from moontv.web.responses import NO_STORE, json_response, private_cache
from moontv.web.state import AppState

router = APIRouter()


class FailedSource(BaseModel):
    name: str
    key: str
    error: str


class SearchAnswer(BaseModel):
    """``/api/search`` without ``stream``: every answering source's results, in source order."""

    results: list[SearchResult]
    failedSources: list[FailedSource] = []


class MatchingResults(BaseModel):
    results: list[SearchResult]


NDJSON = "application/json; charset=utf-8"
# an empty site: the search answers what to do instead of an unexplained empty list
NO_SOURCES = {
    "notice": "no_sources",
    "message": "还没有配置视频源：管理员可在 /admin 添加视频源或配置订阅，或在服务器上运行 "
    "`moontv sources add 名称 API地址`",
}
MAX_QUERY = 100


def _search_text(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_QUERY:
        raise ValueError(f"搜索关键词不能超过 {MAX_QUERY} 个字符")
    return value


Q = Annotated[str, Query(description="search keyword"), AfterValidator(_search_text)]
SourceFilter = Annotated[str, Query(description="comma-separated source keys to search (default: all)")]


async def _options(state: AppState, timeout: float | None) -> tuple[SearchOptions, dict[str, Any]]:
    snapshot = await state.config.get()
    site = snapshot.config["SiteConfig"]
    max_page = site.get("SearchDownstreamMaxPage")
    ttl = cache_time(snapshot.config)
    opts = SearchOptions(
        timeout=clamp(timeout, state.settings.upstream_timeout, 1.0, 60.0),
        max_page=max_page
        if isinstance(max_page, int) and 1 <= max_page <= 50
        else state.settings.search_max_page,
        filter_adult=not site.get("DisableYellowFilter", False),
        cache_ttl=ttl if state.settings.search_cache else 0,
    )
    return opts, snapshot.config


def _user_sites(config: dict[str, Any], user: Principal, wanted: str) -> list[ApiSite]:
    sites = available_sites(config, user.username)
    if wanted:
        keys = {k.strip() for k in wanted.split(",") if k.strip()}
        sites = [s for s in sites if s.key in keys]
    return sites


def _admit(state: AppState, user: Principal, kind: str = "search") -> None:
    """429 with Retry-After when ``user`` is over the per-user search rate (every search format)."""
    wait = state.search.admit(user.username, kind)
    if wait > 0:
        raise ServiceError(
            429, "搜索过于频繁，请稍后再试", headers={"Retry-After": str(max(1, math.ceil(wait)))}
        )


def _line(data: Any) -> bytes:
    return orjson.dumps(data) + b"\n"


@router.get("/api/search", responses={200: {"model": SearchAnswer}})
async def search(
    state: State,
    user: CurrentUser,
    q: Q = "",
    sources: SourceFilter = "",
    timeout: Timeout = None,
    stream: Annotated[str | None, Query(description="any value but 0: NDJSON events")] = None,
) -> Response:
    if not q:
        return json_response({"results": []}, headers=NO_STORE)
    _admit(state, user)
    opts, config = await _options(state, timeout)
    sites = _user_sites(config, user, sources)
    ttl = cache_time(config)
    if not sites and not enabled_sites(config) and (stream is None or stream == "0"):
        return json_response({"results": [], "failedSources": [], **NO_SOURCES}, headers=NO_STORE)
    if stream is not None and stream != "0":
        state.metrics.search_requests.labels("ndjson").inc()
        return StreamingResponse(
            _ndjson(state, sites, q, opts), media_type=NDJSON, headers=private_cache(ttl)
        )
    state.metrics.search_requests.labels("json").inc()
    outcomes = await state.search.collect(sites, q, opts)
    results: list[dict[str, Any]] = []
    failed = []
    for outcome in outcomes:
        if outcome.error is not None:
            failed.append({"name": outcome.site.name, "key": outcome.site.key, "error": outcome.error})
            state.metrics.search_source_failures.labels(outcome.site.key, outcome.error).inc()
        else:
            results.extend(outcome.results)
    headers = private_cache(ttl) if results else NO_STORE
    return json_response({"results": results, "failedSources": failed}, headers=headers)


async def _ndjson(state: AppState, sites: list[ApiSite], q: str, opts: SearchOptions) -> AsyncIterator[bytes]:
    failed: list[dict[str, str]] = []
    everything: list[dict[str, Any]] = []
    async for event in state.search.stream(sites, q, opts):
        if isinstance(event, PageEvent):
            everything.extend(event.results)
            yield _line({"site": event.site.key, "pageResults": event.results})
        elif isinstance(event, FailEvent):
            failed.append({"name": event.site.name, "key": event.site.key, "error": event.error})
            state.metrics.search_source_failures.labels(event.site.key, event.error).inc()
            yield _line({"failedSources": failed})
    if failed:
        yield _line({"failedSources": failed})
    yield _line({"aggregatedResults": everything})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


@router.get("/api/search/ws")
async def search_events(
    state: State, user: CurrentUser, q: Q = "", sources: SourceFilter = "", timeout: Timeout = None
) -> Response:
    if not q:
        raise ServiceError(400, "搜索关键词不能为空")
    _admit(state, user)
    opts, config = await _options(state, timeout)
    sites = _user_sites(config, user, sources)
    state.metrics.search_requests.labels("sse").inc()
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Access-Control-Allow-Origin": "*"}
    return StreamingResponse(
        _sse_events(state, sites, q, opts), media_type="text/event-stream", headers=headers
    )


async def _sse_events(
    state: AppState, sites: list[ApiSite], q: str, opts: SearchOptions
) -> AsyncIterator[bytes]:
    yield _sse({"type": "start", "query": q, "totalSources": len(sites), "timestamp": _now_ms()})
    collected: dict[str, list[tuple[int, list[dict[str, Any]]]]] = {s.key: [] for s in sites}
    errors: dict[str, str] = {}
    total = 0
    completed = 0
    async for event in state.search.stream(sites, q, opts):
        key = event.site.key
        if isinstance(event, PageEvent):
            collected[key].append((event.page, event.results))
        elif isinstance(event, FailEvent):
            errors[key] = event.error
        elif isinstance(event, DoneEvent):
            completed += 1
            error = errors.get(key)
            if error is not None and error not in (NO_RESULTS, FILTERED):
                yield _sse(
                    {
                        "type": "source_error",
                        "source": key,
                        "sourceName": event.site.name,
                        "error": error,
                        "timestamp": _now_ms(),
                    }
                )
                continue
            results = [r for _, page in sorted(collected[key], key=lambda p: p[0]) for r in page]
            total += len(results)
            yield _sse(
                {
                    "type": "source_result",
                    "source": key,
                    "sourceName": event.site.name,
                    "results": results,
                    "timestamp": _now_ms(),
                }
            )
    yield _sse(
        {"type": "complete", "totalResults": total, "completedSources": completed, "timestamp": _now_ms()}
    )


@router.get("/api/search/one", responses={200: {"model": MatchingResults}})
async def search_one(
    state: State,
    user: CurrentUser,
    q: Q = "",
    resource_id: Annotated[str, Query(alias="resourceId", description="a source key")] = "",
    timeout: Timeout = None,
) -> Response:
    resource_id = resource_id.strip()
    if not q or not resource_id:
        return json_response({"result": None, "error": "缺少必要参数: q 或 resourceId"})
    _admit(state, user)
    opts, config = await _options(state, timeout)
    site = find_site(config, user, resource_id, result=None)
    try:
        results = await state.search.all_pages(site, q, opts)
    except SourceFailed as exc:
        if exc.message in (NO_RESULTS, FILTERED):
            results = []
        else:
            raise ServiceError(502, "搜索失败", result=None, reason=exc.message) from None
    matches = [r for r in results if r.get("title") == q]
    if not matches:
        raise ServiceError(404, "未找到结果", result=None)
    return json_response({"results": matches}, headers=private_cache(cache_time(config)))


def _site_list(sites: list[ApiSite]) -> list[dict[str, str]]:
    return [{"key": s.key, "name": s.name, "api": s.api, "detail": s.detail} for s in sites]


@router.get("/api/search/resources")
async def search_resources(state: State, user: CurrentUser) -> Response:
    snapshot = await state.config.get()
    return json_response(
        _site_list(available_sites(snapshot.config, user.username)),
        headers=private_cache(cache_time(snapshot.config)),
    )


@router.get("/api/config/sources")
async def config_sources(state: State, user: CurrentUser) -> Response:
    snapshot = await state.config.get()
    return json_response(
        _site_list(available_sites(snapshot.config, user.username)),
        headers=private_cache(cache_time(snapshot.config)),
    )


@router.get("/api/config/custom_category")
async def custom_categories(state: State, user: CurrentUser) -> Response:
    snapshot = await state.config.get()
    return json_response(
        snapshot.config.get("CustomCategories", []), headers=private_cache(cache_time(snapshot.config))
    )


SUGGESTION_SOURCES = 3  # sources asked (first page each) for one suggestion answer


@router.get("/api/search/suggestions")
async def search_suggestions(
    request: Request,
    state: State,
    user: CurrentUser,
    q: Q = "",
    timeout: Timeout = None,
    stream: Annotated[str | None, Query(description="any value but 0: NDJSON, one line per source")] = None,
) -> Response:
    """One JSON object ``{suggestions: [{text, type, score}]}`` (Selene and the web UI read this).
    NDJSON, one object per answered source, only when asked for (``?stream=1`` or an
    ``application/x-ndjson`` Accept header)."""
    if not q:
        return json_response({"suggestions": []})
    _admit(state, user, "suggest")
    opts, config = await _options(state, timeout)
    sites = available_sites(config, user.username)[:SUGGESTION_SOURCES]
    first_pages = SearchOptions(opts.timeout, 1, opts.filter_adult, opts.cache_ttl)
    if (stream is not None and stream != "0") or "application/x-ndjson" in request.headers.get("accept", ""):
        return StreamingResponse(
            _suggestion_lines(state, sites, q, first_pages),
            media_type="application/x-ndjson",
            headers=private_cache(cache_time(config)),
        )
    titles: list[str] = []
    for outcome in await state.search.collect(sites, q, first_pages):
        titles.extend(str(r.get("title", "")) for r in outcome.results)
    found = scored_suggestions(titles, q)
    return json_response(
        {"suggestions": found}, headers=private_cache(cache_time(config)) if found else NO_STORE
    )


async def _suggestion_lines(
    state: AppState, sites: list[ApiSite], q: str, opts: SearchOptions
) -> AsyncIterator[bytes]:
    async for event in state.search.stream(sites, q, opts):
        if isinstance(event, PageEvent):
            yield _line({"suggestions": scored_suggestions((r.get("title", "") for r in event.results), q)})


@router.get("/api/detail", responses={200: {"model": SearchResult}})
async def detail(
    state: State,
    user: CurrentUser,
    source: Annotated[str, Query(validate_default=True), AfterValidator(required("缺少必要参数"))] = "",
    vod_id: Annotated[
        str,
        Query(alias="id", validate_default=True),
        AfterValidator(required("缺少必要参数")),
        AfterValidator(vod_id_format),
    ] = "",
    timeout: Timeout = None,
) -> Response:
    snapshot = await state.config.get()
    site = find_site(snapshot.config, user, source, message="无效的API来源")
    result = await state.cms.detail(
        site, vod_id, timeout=clamp(timeout, state.settings.upstream_timeout, 1.0, 60.0)
    )
    if result is None:
        raise ServiceError(404, "未找到该视频")
    return json_response(result, headers=private_cache(cache_time(snapshot.config)))
