"""Admin API for live sources (LunaTV's ``/api/admin/live`` shape) and TVBox's live entries.

- ``GET /api/admin/live``: the sources with their load and health state.
- ``POST /api/admin/live``: ``{action: add|edit|enable|disable|delete|sort|batchDelete, ...}``.
- ``POST /api/admin/live/access`` ``{username|group, keys}``: who may use which live sources.
- ``POST /api/admin/live/refresh`` ``{key?}``: reload playlists (all, or one), count channels,
  re-check health and reload guides; the scheduler runs the same refresh.
- ``POST /api/admin/live/health`` ``{key}`` / ``GET /api/admin/live/health?source=``: channel checks.
- ``GET /api/tvbox/s/{token}/live/{key}``: one live source as M3U for TVBox (token-gated; every
  URL, rtmp/udp/p2p included, alternatives as repeated entries).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from moontv.admin import lives
from moontv.errors import ServiceError
from moontv.live.access import find_live
from moontv.live.export import m3u_export
from moontv.live.refresh import refresh_sources
from moontv.live.service import LiveSource, live_entries
from moontv.web.common import apply_change, expected_version
from moontv.web.deps import AdminUser, State
from moontv.web.responses import NO_STORE, json_response, read_json_object
from moontv.web.tvbox_access import tvbox_holder

router = APIRouter()


@router.get("/api/admin/live")
async def get_lives(state: State, user: AdminUser) -> Response:
    service = state.live
    snapshot = await state.config.get()
    items = []
    for entry in live_entries(snapshot.config):
        source = LiveSource.from_entry(entry)
        cached = service.cached_playlist(source)
        items.append(
            {
                **entry,
                "loaded": cached is not None,
                "health": service.health.summary(source.key),
            }
        )
    return json_response({"lives": items, "version": snapshot.version}, headers=NO_STORE)


@router.post("/api/admin/live")
async def post_live(request: Request, state: State, user: AdminUser) -> Response:
    body = await read_json_object(request)
    version = expected_version(request, body)
    lives.check(body)
    if body.get("action") in ("edit", "delete", "disable") and isinstance(body.get("key"), str):
        state.live.forget(body["key"])
    return await apply_change(state, lambda c: lives.apply(c, body), version)


@router.post("/api/admin/live/access")
async def post_live_access(request: Request, state: State, user: AdminUser) -> Response:
    """Per-user (``enabledLives``) or per-group (``liveKeys``) live source allow-lists."""
    body = await read_json_object(request)
    version = expected_version(request, body)
    return await apply_change(state, lambda c: lives.set_access(c, body), version)


@router.post("/api/admin/live/refresh")
async def refresh_lives(request: Request, state: State, user: AdminUser) -> Response:
    body = await read_json_object(request) if request.headers.get("content-length") not in (None, "0") else {}
    key = body.get("key")
    if key is not None and not isinstance(key, str):
        raise ServiceError(400, "参数格式错误")
    report = await refresh_sources(state.live, state.config, keys={key} if key else None)
    if key and key not in report:
        raise ServiceError(404, "直播源不存在")
    return json_response({"ok": True, "results": report}, headers=NO_STORE)


@router.post("/api/admin/live/health")
async def check_live_health(request: Request, state: State, user: AdminUser) -> Response:
    body = await read_json_object(request)
    source = _admin_source((await state.config.get()).config, body.get("key"))
    summary = await state.live.check_health(source)
    return json_response({"ok": True, **summary}, headers=NO_STORE)


@router.get("/api/admin/live/health")
async def get_live_health(
    state: State, user: AdminUser, source_key: Annotated[str, Query(alias="source")] = ""
) -> Response:
    source = _admin_source((await state.config.get()).config, source_key)
    service = state.live
    parsed = service.cached_playlist(source)
    channels = []
    for channel in parsed.channels if parsed else []:
        urls = []
        for url in service.sorted_urls(source, channel, channel.urls):
            health = service.health.get(source.key, url)
            urls.append({"url": url, **(health.to_json() if health else {"ok": None})})
        channels.append({"id": channel.id, "name": channel.name, "group": channel.group, "urls": urls})
    return json_response(
        {"source": source.key, "summary": service.health.summary(source.key), "channels": channels},
        headers=NO_STORE,
    )


def _admin_source(config: dict[str, Any], key: Any) -> LiveSource:
    if not isinstance(key, str) or not key:
        raise ServiceError(400, "缺少 key 参数")
    entry = next((e for e in live_entries(config) if e["key"] == key), None)
    if entry is None:
        raise ServiceError(404, "直播源不存在")
    return LiveSource.from_entry(entry)


# -- TVBox -------------------------------------------------------------------------------------------


@router.get("/api/tvbox/s/{token}/live/{key}")
async def tvbox_live(token: str, key: str, request: Request, state: State) -> Response:
    username, config = await tvbox_holder(state, token)
    source = find_live(config, username, key)
    if source is None:
        raise ServiceError(404, f"未找到直播源: {key}")
    service = state.live
    parsed = await service.playlist(source)
    body = m3u_export(
        parsed, lambda c: service.sorted_urls(source, c, c.urls), service.guide_urls(source, parsed)
    )
    return Response(
        body.encode(),
        media_type="audio/x-mpegurl; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"},
    )
