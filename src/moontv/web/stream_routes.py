"""Stream routes: m3u8/segment/key proxies with ad removal, the image proxy, the source speed test.

- ``GET /api/proxy/m3u8?url=&source=``: fetch a playlist (SSRF-guarded, per-source UA/Referer),
  rewrite every URI against its final URL, drop ad blocks from media playlists. Header
  ``X-MoonTV-Ads-Removed: <n> blocks, <s> seconds`` (and ``X-MoonTV-Ads``: the analysis status).
- ``GET /api/proxy/segment?url=&source=&sig=`` and ``/api/proxy/key?...``: only URLs the
  playlist rewriter signed; segments stream through (Range passed on), never buffered whole.
- ``GET /api/proxy/m3u8/debug?url=&source=[&refresh=1]``: the ad decision as JSON (admins).
- ``GET /api/image-proxy?url=``: allow-listed poster hosts, image types only, cached.
- ``GET /api/sources/probe?source=&id=&ep=``: server-side speed test of one source's episode.

A non-empty ``source`` must be one the caller may use: 404 otherwise, like every route taking a source;
a signed segment/key link whose source the caller may no longer use is 403, like any other link the
caller's signature does not cover. Relayed bytes are typed from what they are (``streams/sniff.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import APIRouter, Query
from pydantic import AfterValidator
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from moontv.auth.service import Principal
from moontv.errors import ServiceError
from moontv.live.access import find_live
from moontv.sources.models import SourceError
from moontv.streams import sniff
from moontv.streams.netguard import BlockedURL
from moontv.streams.playlist import ENCRYPTED_SEGMENT, KEY, SEGMENT
from moontv.streams.probe import probe_stream
from moontv.streams.service import LIVE_PREFIX, QueueFull, SourceOptions, source_options
from moontv.web.common import find_site
from moontv.web.deps import AdminUser, CurrentUser, State
from moontv.web.params import Expires, ProxiedUrl, Signature, SourceKey, Timeout, clamp, required, vod_id
from moontv.web.playlists import checked_url, fetch_parsed, render_playlist
from moontv.web.responses import NO_STORE, json_response, private_cache
from moontv.web.state import AppState

router = APIRouter()

PASS_HEADERS = ("content-length", "content-range", "accept-ranges", "last-modified", "etag")


async def _options(state: AppState, user: Principal, key: str) -> SourceOptions:
    """The per-source fetch options; a named source must be one ``user`` may use."""
    snapshot = await state.config.get()
    key = key.strip()
    if key:
        find_site(snapshot.config, user, key)
    return source_options(snapshot.config, key, ad_default=state.settings.ad_filter)


@router.get("/api/proxy/m3u8")
async def proxy_m3u8(
    state: State, user: CurrentUser, url: ProxiedUrl = "", source: SourceKey = ""
) -> Response:
    opts = await _options(state, user, source)
    return await render_playlist(state, url, opts, state.streams.mapper(opts, user.username))


@router.get("/api/proxy/m3u8/debug")
async def proxy_m3u8_debug(
    state: State,
    user: AdminUser,
    url: ProxiedUrl = "",
    source: SourceKey = "",
    refresh: Annotated[str, Query()] = "",
) -> Response:
    service = state.streams
    await checked_url(state, url)
    opts = await _options(state, user, source)
    final, text, playlist = await fetch_parsed(service, url, opts)
    data: dict[str, object] = {
        "url": url,
        "finalUrl": final,
        "source": opts.key,
        "adFilter": opts.ad_filter,
        "master": playlist.is_master,
        "vod": playlist.is_vod,
        "segments": len(playlist.segments),
        "duration": round(playlist.duration, 3),
    }
    if playlist.is_master:
        data["variants"] = [
            {"url": v.uri, "bandwidth": v.bandwidth, "resolution": v.resolution} for v in playlist.variants
        ]
    else:
        decision, cached = await service.decide(url, playlist, text, opts, refresh=refresh in ("1", "true"))
        data["cached"] = cached
        data["decision"] = decision.describe()
    return json_response(data, headers=NO_STORE)


async def _signed(
    state: AppState, user: Principal, kind: str, url: str, source: str, exp: str, sig: str
) -> SourceOptions:
    """The fetch options of a signed proxy link: signed for this user, unexpired, source still allowed."""
    source = source.strip()
    if not state.streams.verify(kind, source, url, user.username, exp, sig):
        raise ServiceError(403, "签名无效")
    snapshot = await state.config.get()
    if source.startswith(LIVE_PREFIX):  # a live channel's media (web/live_routes.py signs these)
        if find_live(snapshot.config, user.username, source.removeprefix(LIVE_PREFIX)) is None:
            raise ServiceError(403, "无权访问该直播源")
    elif source:
        find_site(snapshot.config, user, source, status=403, message="无权访问该视频源")
    return source_options(snapshot.config, source, ad_default=state.settings.ad_filter)


Encrypted = Annotated[str, Query(description='"1": signed as a segment under an EXT-X-KEY (relayed opaque)')]


@router.get("/api/proxy/segment")
async def proxy_segment(
    request: Request,
    state: State,
    user: CurrentUser,
    url: ProxiedUrl = "",
    source: SourceKey = "",
    exp: Expires = "",
    sig: Signature = "",
    enc: Encrypted = "",
) -> Response:
    # "enc=1" only picks the signature to check: the kind (encrypted or not) is part of what was signed
    encrypted = enc == "1"
    opts = await _signed(state, user, ENCRYPTED_SEGMENT if encrypted else SEGMENT, url, source, exp, sig)
    headers = opts.headers()
    for name in ("range", "if-range"):
        value = request.headers.get(name)
        if value and len(value) < 200:
            headers[name.title()] = value
    client = state.streams.client
    try:
        response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
    except BlockedURL:
        raise  # answered by the app's handler (403), not as a network failure below
    except httpx.TimeoutException:
        raise ServiceError(504, "上游请求超时") from None
    except httpx.HTTPError as exc:
        raise ServiceError(502, f"上游请求失败: {type(exc).__name__}") from None
    try:
        return await relay_segment(response, opaque=encrypted)
    except BaseException:
        await response.aclose()
        raise


async def relay_segment(response: httpx.Response, *, opaque: bool = False) -> Response:
    """Stream an upstream segment on, typed from its first bytes (see streams/sniff.py).

    ``opaque``: the playlist declared the segment encrypted, so its bytes are relayed as an opaque
    download (ciphertext has no signature to sniff).
    """
    if response.status_code not in (200, 206, 416):
        raise ServiceError(502, f"上游返回 HTTP {response.status_code}", upstreamStatus=response.status_code)
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        raise ServiceError(
            502, "上游返回了压缩的分片"
        )  # identity was asked for; encoded bytes cannot be typed
    chunks = response.aiter_raw()
    head = b""
    if response.status_code != 416:
        async for chunk in chunks:
            head += chunk
            if len(head) >= sniff.SNIFF_BYTES:
                break
    out = {k: v for k in PASS_HEADERS if (v := response.headers.get(k)) is not None}
    out.update(sniff.RELAY_HEADERS)
    out["Cache-Control"] = "private, max-age=3600"
    media_type = None if opaque else sniff.segment_type(head)
    if opaque or (media_type is None and response.status_code == 206 and not _range_from_start(response)):
        media_type = sniff.KEY_TYPE  # ciphertext or the middle of a file cannot be typed: an opaque download
        out["Content-Disposition"] = "attachment"
    elif media_type is None and head:
        await response.aclose()
        raise ServiceError(502, "上游返回的不是媒体分片")
    out["content-type"] = media_type or sniff.KEY_TYPE

    async def body() -> AsyncIterator[bytes]:
        try:
            if head:
                yield head
            async for chunk in chunks:
                yield chunk
        finally:
            await response.aclose()

    return StreamingResponse(
        body(), status_code=response.status_code, headers=out, background=BackgroundTask(response.aclose)
    )


def _range_from_start(response: httpx.Response) -> bool:
    return (response.headers.get("content-range") or "").strip().lower().startswith("bytes 0-")


@router.get("/api/proxy/key")
async def proxy_key(
    state: State,
    user: CurrentUser,
    url: ProxiedUrl = "",
    source: SourceKey = "",
    exp: Expires = "",
    sig: Signature = "",
) -> Response:
    opts = await _signed(state, user, KEY, url, source, exp, sig)
    key = await state.streams.fetch_key(url, opts)
    media_type = sniff.key_type(key)
    if media_type is None:
        raise ServiceError(502, "上游返回的不是 16 字节的密钥")
    return Response(key, media_type=media_type, headers={**NO_STORE, **sniff.RELAY_HEADERS})


@router.get("/api/image-proxy")
async def image_proxy(state: State, user: CurrentUser, url: ProxiedUrl = "") -> Response:
    try:
        state.images.check(url)
    except BlockedURL as exc:
        status = 403 if "allow-list" in exc.reason else 400
        raise ServiceError(status, "不允许的图片地址", reason=exc.reason) from None
    image, origin = await state.images.get(url)
    return Response(
        image.body,
        media_type=image.content_type,
        headers={
            "Cache-Control": "private, max-age=604800, immutable",
            **sniff.RELAY_HEADERS,
            "X-MoonTV-Cache": origin,
        },
    )


def _episode(value: str) -> str:
    if value and (not value.isdigit() or len(value) > 6):
        raise ValueError("ep 必须是非负整数")
    return value


@router.get("/api/sources/probe")
async def source_probe(
    state: State,
    user: CurrentUser,
    source: Annotated[
        str, Query(validate_default=True), AfterValidator(required("缺少必要参数: source 或 id"))
    ] = "",
    vod_id: Annotated[
        str,
        Query(alias="id", validate_default=True),
        AfterValidator(required("缺少必要参数: source 或 id")),
        AfterValidator(vod_id),
    ] = "",
    ep: Annotated[str, Query(description="episode index (0-based)"), AfterValidator(_episode)] = "",
    timeout: Timeout = None,
) -> Response:
    service = state.streams
    episode = int(ep) if ep else None
    snapshot = await state.config.get()
    site = find_site(snapshot.config, user, source)
    key = (source, vod_id, episode)
    cached = service.speed_cache.get(key)
    if cached is not None:
        return json_response({**cached, "cached": True}, headers=private_cache(60))
    try:
        detail = await state.cms.detail(site, vod_id, timeout=min(state.settings.upstream_timeout, 5.0))
    except SourceError as exc:
        return json_response(
            _failed(source, vod_id, episode, f"获取详情失败: {exc.user_message}"), headers=NO_STORE
        )
    if detail is None:
        raise ServiceError(404, "未找到该视频")
    episodes = [e for e in detail.get("episodes") or [] if isinstance(e, str)]
    if not episodes:
        return json_response(_failed(source, vod_id, episode, "没有可播放的剧集"), headers=NO_STORE)
    index = episode if episode is not None else (1 if len(episodes) > 1 else 0)
    if index >= len(episodes):
        raise ServiceError(400, f"ep 超出范围 (共 {len(episodes)} 集)")
    url = episodes[index]
    opts = source_options(snapshot.config, source, ad_default=state.settings.ad_filter)
    try:
        state.netguard.check_syntax(url)
        await state.netguard.check_url(url)
    except BlockedURL:
        return json_response(_failed(source, vod_id, index, "地址不允许访问"), headers=NO_STORE)
    try:
        async with service.speed_queue.slot(user.username, service.speed_limiter):
            result = await probe_stream(service, url, opts, timeout=clamp(timeout, 4.0, 1.0, 10.0))
    except QueueFull:
        raise ServiceError(429, "测速请求过多，请稍后再试") from None
    data = {"source": source, "id": vod_id, "ep": index, **result.describe()}
    if result.ok:
        service.speed_cache.put(key, data)
    return json_response({**data, "cached": False}, headers=private_cache(60) if result.ok else NO_STORE)


def _failed(source: str, vod_id: str, ep: int | None, error: str) -> dict[str, object]:
    return {
        "source": source,
        "id": vod_id,
        "ep": ep,
        "ok": False,
        "error": error,
        "quality": "未知",
        "loadSpeed": "未知",
        "pingTime": None,
        "cached": False,
    }
