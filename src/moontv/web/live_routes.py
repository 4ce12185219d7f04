"""Live TV API (the MoonTV family's wire shape, read by Selene's live tab) and the live stream proxy.

- ``GET /api/live/sources`` -> ``{success, data: [{key, name, url, ua, epg, from, channelNumber, disabled}]}``
- ``GET /api/live/channels?source=`` -> ``{success, data: [channel], groups, epgUrl}``
- ``GET /api/live/epg?source=&tvgId=[&channel=][&name=][&date=]`` ->
  ``{success, data: {tvgId, source, epgUrl, programs: [{start, end, startTs, endTs, title}], now, next}}``
- ``GET /api/proxy/live?source=&url=[&sig=]``: a live playlist for the browser (no ad analysis, never
  cached); segments and keys go through the signed ``/api/proxy/segment`` and ``/api/proxy/key``.
- ``GET|POST|DELETE /api/live/favorites``: the user's favourite channels.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BeforeValidator
from starlette.requests import Request
from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.live.access import available_lives, find_live, web_live_enabled
from moontv.live.epg import now_next
from moontv.live.playlist import Channel, ParsedPlaylist, web_playable
from moontv.live.service import LiveService, LiveSource, live_entries
from moontv.streams.playlist import ENCRYPTED_SEGMENT, KEY, MAP, PLAYLIST, SEGMENT
from moontv.streams.service import LIVE_PREFIX, SIGNATURE_HOURS, SourceOptions, StreamService
from moontv.web.deps import ActiveUser, CurrentUser, State
from moontv.web.params import Expires, ProxiedUrl, Signature, text
from moontv.web.playlists import PLAYLIST_TYPE, checked_url, fetch_parsed
from moontv.web.responses import NO_STORE, json_response, private_cache, read_json_object
from moontv.web.state import AppState

router = APIRouter()
MAX_KEY = 128
MAX_FAVORITES = 500
SOURCE_FIELDS = ("key", "name", "url", "ua", "epg", "from", "channelNumber", "disabled")


def _text(name: str, limit: int = MAX_KEY, *, required: bool = True) -> AfterValidator:
    return text(limit, missing=f"缺少 {name} 参数" if required else None, too_long=f"{name} 参数过长")


def _day(value: object) -> date | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    if len(raw) > 10:
        raise ValueError("date 参数过长")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError("date 参数格式应为 YYYY-MM-DD") from None


LiveSourceKey = Annotated[
    str, Query(alias="source", validate_default=True, description="a live source key"), _text("source")
]
TvgId = Annotated[str, Query(alias="tvgId"), _text("tvgId", 256, required=False)]
ChannelId = Annotated[str, Query(alias="channel"), _text("channel", 32, required=False)]
ChannelName = Annotated[str, Query(alias="name"), _text("name", 256, required=False)]
Day = Annotated[date | None, Query(alias="date", description="YYYY-MM-DD"), BeforeValidator(_day)]
FavoriteKey = Annotated[str, Query(validate_default=True), _text("key", MAX_KEY + 40)]


async def _source(state: AppState, username: str, key: str) -> LiveSource:
    config = (await state.config.get()).config
    source = find_live(config, username, key)
    if source is None:
        raise ServiceError(404, f"未找到直播源: {key}")
    return source


async def _playlist(state: AppState, source: LiveSource) -> ParsedPlaylist:
    return await state.live.playlist(source)


def channel_json(service: LiveService, source: LiveSource, channel: Channel) -> dict[str, Any]:
    urls = service.sorted_urls(source, channel, channel.urls)
    web = [u for u in urls if web_playable(u)]
    return {
        "id": channel.id,
        "tvgId": channel.tvg_id,
        "tvgName": channel.tvg_name,
        "name": channel.name,
        "logo": channel.logo,
        "group": channel.group,
        "url": web[0] if web else urls[0],
        "urls": urls,
        "webUrls": web,
        "catchup": channel.catchup,
    }


@router.get("/api/live/sources")
async def live_sources(state: State, user: CurrentUser) -> Response:
    config = (await state.config.get()).config
    allowed = {s.key for s in available_lives(config, user.username)}
    data = [
        {name: entry.get(name) for name in SOURCE_FIELDS}
        for entry in live_entries(config)
        if entry["key"] in allowed
    ]
    return json_response({"success": True, "data": data}, headers=NO_STORE)


@router.get("/api/live/channels")
async def live_channels(state: State, user: CurrentUser, source_key: LiveSourceKey = "") -> Response:
    source = await _source(state, user.username, source_key)
    parsed = await _playlist(state, source)
    service = state.live
    groups = list(dict.fromkeys(c.group for c in parsed.channels))
    return json_response(
        {
            "success": True,
            "data": [channel_json(service, source, c) for c in parsed.channels],
            "groups": groups,
            "epgUrl": ",".join(service.guide_urls(source, parsed)),
            "truncated": parsed.truncated,
        },
        headers=private_cache(60),
    )


@router.get("/api/live/epg")
async def live_epg(
    state: State,
    user: CurrentUser,
    source_key: LiveSourceKey = "",
    tvg_id: TvgId = "",
    channel_id: ChannelId = "",
    name: ChannelName = "",
    day: Day = None,
) -> Response:
    source = await _source(state, user.username, source_key)
    if not (tvg_id or channel_id or name):
        raise ServiceError(400, "缺少 tvgId 参数")
    parsed = await _playlist(state, source)
    channel = parsed.find(channel_id=channel_id, tvg_id=tvg_id, name=name)
    if channel is None:
        raise ServiceError(404, "未找到该频道")
    service = state.live
    epg_url, programmes = await service.programmes(source, channel, day)
    if day is not None:
        programmes = [p for p in programmes if p.start.date() <= day <= p.end.date()]
    current, upcoming = now_next(programmes, service.now())
    return json_response(
        {
            "success": True,
            "data": {
                "tvgId": tvg_id or channel.tvg_id,
                "channelId": channel.id,
                "source": source.key,
                "epgUrl": epg_url,
                "programs": [p.to_json() for p in programmes],
                "now": current.to_json() if current else None,
                "next": upcoming.to_json() if upcoming else None,
                "serverTime": int(time.time() * 1000),
            },
        },
        headers=private_cache(60),
    )


# -- the browser's live stream proxy ----------------------------------------------------------------


def live_mapper(service: StreamService, key: str, user: str) -> Any:
    """URIs relative to ``/api/proxy/live``: nested playlists come back here, media and keys go
    through the signed segment/key relays, all carrying ``source=live:{key}`` and signed for ``user``."""
    source = LIVE_PREFIX + key
    quoted = quote(source, safe="")
    expires = (int(time.time()) // 3600 + SIGNATURE_HOURS + 1) * 3600

    def route(name: str, kind: str, url: str) -> str:
        sig = service.sign(kind, source, url, user, expires)
        return f"{name}?url={quote(url, safe='')}&source={quoted}&exp={expires}&sig={sig}"

    def map_uri(kind: str, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            return url
        if kind == PLAYLIST:
            return route("live", PLAYLIST, url)
        if kind == KEY:
            return route("key", KEY, url)
        if kind == ENCRYPTED_SEGMENT:
            return route("segment", ENCRYPTED_SEGMENT, url) + "&enc=1"
        if kind in (SEGMENT, MAP):
            return route("segment", SEGMENT, url)
        return url

    return map_uri


@router.get("/api/proxy/live")
async def proxy_live(
    state: State,
    user: CurrentUser,
    source_key: LiveSourceKey = "",
    url: ProxiedUrl = "",
    exp: Expires = "",
    sig: Signature = "",
) -> Response:
    config = (await state.config.get()).config
    if not web_live_enabled(config):
        raise ServiceError(403, "网页直播已关闭")
    key = source_key.removeprefix(LIVE_PREFIX)
    source = await _source(state, user.username, key)
    service = state.streams
    signed = service.verify(PLAYLIST, LIVE_PREFIX + key, url, user.username, exp, sig)
    if not signed:
        parsed = await _playlist(state, source)
        if not parsed.has_url(url):
            raise ServiceError(403, "该地址不属于此直播源")
    await checked_url(state, url)
    opts = SourceOptions(key=LIVE_PREFIX + key, ad_filter=False, user_agent=source.user_agent)
    _, text, playlist = await fetch_parsed(service, url, opts)
    body = await service.rewrite_playlist(
        playlist, live_mapper(service, key, user.username), frozenset(), len(text)
    )
    return Response(
        body.encode(),
        media_type=PLAYLIST_TYPE,
        headers={**NO_STORE, "X-Content-Type-Options": "nosniff"},
    )


# -- favourite channels --------------------------------------------------------------------------


@router.get("/api/live/favorites")
async def get_live_favorites(state: State, user: ActiveUser) -> Response:
    items = await state.storage.get_all_live_favorites(user.username)
    data = [{"key": k, **v} for k, v in items.items()]
    data.sort(key=lambda f: -int(f.get("save_time") or 0))
    return json_response({"success": True, "data": data}, headers=NO_STORE)


@router.post("/api/live/favorites")
async def post_live_favorite(request: Request, state: State, user: ActiveUser) -> Response:
    body = await read_json_object(request)
    key, channel_id, name = body.get("source"), body.get("channelId"), body.get("name")
    for value, limit in ((key, MAX_KEY), (channel_id, 32), (name, 200)):
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ServiceError(400, "参数格式错误")
    assert isinstance(key, str) and isinstance(channel_id, str) and isinstance(name, str)
    await _source(state, user.username, key)
    existing = await state.storage.get_all_live_favorites(user.username)
    fav_key = f"{key}+{channel_id}"
    if fav_key not in existing and len(existing) >= MAX_FAVORITES:
        raise ServiceError(400, f"收藏的频道最多 {MAX_FAVORITES} 个")
    record = {"source": key, "channelId": channel_id, "name": name.strip(), "save_time": int(time.time())}
    await state.storage.set_live_favorite(user.username, fav_key, record)
    return json_response({"success": True}, headers=NO_STORE)


@router.delete("/api/live/favorites")
async def delete_live_favorite(state: State, user: ActiveUser, key: FavoriteKey = "") -> Response:
    await state.storage.delete_live_favorite(user.username, key)
    return json_response({"success": True}, headers=NO_STORE)
