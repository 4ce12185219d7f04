"""Stream routes: m3u8/segment/key proxies with ad removal, the image proxy, the source speed test.

- ``GET /api/proxy/m3u8?url=&source=``: fetch a playlist (SSRF-guarded, per-source UA/Referer),
  rewrite every URI against its final URL, drop ad blocks from media playlists. Header
  ``X-MoonTV-Ads-Removed: <n> blocks, <s> seconds`` (and ``X-MoonTV-Ads``: the analysis status).
- ``GET /api/proxy/segment?url=&source=&sig=`` and ``/api/proxy/key?...``: only URLs the
  playlist rewriter signed; segments stream through (Range passed on), never buffered whole.
- ``GET /api/proxy/m3u8/debug?url=&source=[&refresh=1]``: the ad decision as JSON (admins).
- ``GET /api/image-proxy?url=``: allow-listed poster hosts, image types only, cached.
- ``GET /api/sources/probe?source=&id=&ep=``: server-side speed test of one source's episode.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from moontv.auth.service import Principal
from moontv.config.admin import available_sites
from moontv.live.access import find_live
from moontv.sources.models import SourceError
from moontv.streams import sniff
from moontv.streams.netguard import BlockedURL, NetGuard
from moontv.streams.playlist import KEY, SEGMENT, Playlist, PlaylistError, PlaylistTooLarge
from moontv.streams.probe import probe_stream
from moontv.streams.service import (
    LIVE_PREFIX,
    QueueFull,
    SourceOptions,
    StreamService,
    UpstreamError,
    source_options,
)
from moontv.web.deps import CurrentUser, State
from moontv.web.responses import NO_STORE, ApiError, json_response, private_cache
from moontv.web.state import AppState

router = APIRouter()

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
MAX_URL = 4096
VOD_ID_RE = re.compile(r"^[\w-]{1,64}$")
TOO_LARGE = {
    "bytes": "上游播放列表过大",
    "line": "上游播放列表的行过长",
    "lines": "上游播放列表行数过多",
    "segments": "上游播放列表分片过多",
}
PASS_HEADERS = ("content-length", "content-range", "accept-ranges", "last-modified", "etag")


def _streams(state: AppState) -> StreamService:
    if state.streams is None:
        raise ApiError(503, "流媒体服务未启用")
    return state.streams


def _guard(state: AppState) -> NetGuard:
    if state.netguard is None:
        raise ApiError(503, "流媒体服务未启用")
    return state.netguard


def _url_param(request: Request, name: str = "url") -> str:
    url = (request.query_params.get(name) or "").strip()
    if not url:
        raise ApiError(400, "缺少 url 参数")
    if len(url) > MAX_URL:
        raise ApiError(400, "url 参数过长")
    return url


async def _checked(state: AppState, url: str) -> None:
    """400 for URLs that are wrong as written, 403 for destinations that are not allowed."""
    guard = _guard(state)
    try:
        guard.check_syntax(url)
    except BlockedURL as exc:
        raise ApiError(400, "不允许的地址", reason=exc.reason) from None
    try:
        await guard.check_url(url)
    except BlockedURL as exc:
        raise ApiError(403, "不允许访问该地址", reason=exc.reason) from None


async def _options(state: AppState, request: Request) -> SourceOptions:
    key = (request.query_params.get("source") or "").strip()
    if len(key) > 128:
        raise ApiError(400, "source 参数过长")
    snapshot = await state.config.get()
    return source_options(snapshot.config, key, ad_default=state.settings.ad_filter)


def _upstream_error(exc: UpstreamError) -> ApiError:
    extra = {} if exc.upstream_status is None else {"upstreamStatus": exc.upstream_status}
    return ApiError(exc.status, exc.message, **extra)


def _blocked(exc: BlockedURL) -> ApiError:
    return ApiError(403, "不允许访问该地址", reason=exc.reason)


@router.get("/api/proxy/m3u8")
async def proxy_m3u8(request: Request, state: State, user: CurrentUser) -> Response:
    opts = await _options(state, request)
    return await render_playlist(
        state, _url_param(request), opts, _streams(state).mapper(opts, user.username)
    )


async def _fetch_parsed(service: StreamService, url: str, opts: SourceOptions) -> tuple[str, str, Playlist]:
    """(final URL, text, parsed playlist) with upstream problems mapped to API errors."""
    try:
        final, text = await service.fetch_playlist(url, opts)
        return final, text, await service.parse_playlist(text, final)
    except BlockedURL as exc:
        raise _blocked(exc) from None
    except UpstreamError as exc:
        raise _upstream_error(exc) from None
    except PlaylistTooLarge as exc:
        raise ApiError(502, TOO_LARGE[exc.what], limit=exc.what) from None
    except PlaylistError:
        raise ApiError(502, "上游返回的不是 m3u8 播放列表") from None


async def render_playlist(
    state: AppState, url: str, opts: SourceOptions, mapper: Callable[[str, str], str]
) -> Response:
    """Fetch (SSRF-guarded), analyse and rewrite one playlist; ``mapper`` decides every URI."""
    service = _streams(state)
    await _checked(state, url)
    _, text, playlist = await _fetch_parsed(service, url, opts)
    headers = dict(sniff.RELAY_HEADERS)
    remove: frozenset[int] = frozenset()
    if playlist.is_master:
        headers["X-MoonTV-Ads"] = "master"
    elif not opts.ad_filter:
        headers["X-MoonTV-Ads"] = "off"
    else:
        decision, cached = await service.decide(url, playlist, text, opts)
        remove = decision.remove
        headers["X-MoonTV-Ads"] = decision.status + ("; cached" if cached else "")
        headers["X-MoonTV-Ads-Removed"] = decision.header()
    body = await service.rewrite_playlist(playlist, mapper, remove, len(text))
    headers.update(private_cache(300) if playlist.is_vod or playlist.is_master else NO_STORE)
    return Response(body.encode(), media_type=PLAYLIST_TYPE, headers=headers)


async def source_options_for(state: AppState, key: str) -> SourceOptions:
    snapshot = await state.config.get()
    return source_options(snapshot.config, key, ad_default=state.settings.ad_filter)


@router.get("/api/proxy/m3u8/debug")
async def proxy_m3u8_debug(request: Request, state: State, user: CurrentUser) -> Response:
    if not user.is_admin:
        raise ApiError(403, "仅管理员可用")
    service = _streams(state)
    url = _url_param(request)
    await _checked(state, url)
    opts = await _options(state, request)
    final, text, playlist = await _fetch_parsed(service, url, opts)
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
        refresh = request.query_params.get("refresh") in ("1", "true")
        decision, cached = await service.decide(url, playlist, text, opts, refresh=refresh)
        data["cached"] = cached
        data["decision"] = decision.describe()
    return json_response(data, headers=NO_STORE)


async def _signed_target(request: Request, state: AppState, user: Principal, kind: str) -> str:
    """The URL a signed proxy link may fetch: signed for this user, unexpired, source still allowed."""
    url = _url_param(request)
    source = (request.query_params.get("source") or "").strip()
    params = request.query_params
    service = _streams(state)
    if not service.verify(kind, source, url, user.username, params.get("exp") or "", params.get("sig") or ""):
        raise ApiError(403, "签名无效")
    if source.startswith(LIVE_PREFIX):  # a live channel's media (web/live_routes.py signs these)
        snapshot = await state.config.get()
        if find_live(snapshot.config, user.username, source.removeprefix(LIVE_PREFIX)) is None:
            raise ApiError(403, "无权访问该直播源")
    elif source:
        snapshot = await state.config.get()
        if not any(site.key == source for site in available_sites(snapshot.config, user.username)):
            raise ApiError(403, "无权访问该视频源")
    return url


@router.get("/api/proxy/segment")
async def proxy_segment(request: Request, state: State, user: CurrentUser) -> Response:
    service = _streams(state)
    url = await _signed_target(request, state, user, SEGMENT)
    opts = await _options(state, request)
    headers = opts.headers()
    for name in ("range", "if-range"):
        value = request.headers.get(name)
        if value and len(value) < 200:
            headers[name.title()] = value
    upstream = service.client.build_request("GET", url, headers=headers)
    try:
        response = await service.client.send(upstream, stream=True)
    except BlockedURL as exc:
        raise _blocked(exc) from None
    except httpx.TimeoutException:
        raise ApiError(504, "上游请求超时") from None
    except httpx.HTTPError as exc:
        raise ApiError(502, f"上游请求失败: {type(exc).__name__}") from None
    try:
        return await relay_segment(response)
    except BaseException:
        await response.aclose()
        raise


async def relay_segment(response: httpx.Response) -> Response:
    """Stream an upstream segment on, typed from its first bytes (see streams/sniff.py)."""
    if response.status_code not in (200, 206, 416):
        raise ApiError(502, f"上游返回 HTTP {response.status_code}", upstreamStatus=response.status_code)
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        raise ApiError(502, "上游返回了压缩的分片")  # identity was asked for; encoded bytes cannot be typed
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
    media_type = sniff.segment_type(head)
    if media_type is None and response.status_code == 206 and not _range_from_start(response):
        media_type = sniff.KEY_TYPE  # a middle part of a file cannot be typed: an opaque download
        out["Content-Disposition"] = "attachment"
    elif media_type is None and head:
        await response.aclose()
        raise ApiError(502, "上游返回的不是媒体分片")
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
async def proxy_key(request: Request, state: State, user: CurrentUser) -> Response:
    service = _streams(state)
    url = await _signed_target(request, state, user, KEY)
    opts = await _options(state, request)
    try:
        key = await service.fetch_key(url, opts)
    except BlockedURL as exc:
        raise _blocked(exc) from None
    except UpstreamError as exc:
        raise _upstream_error(exc) from None
    media_type = sniff.key_type(key)
    if media_type is None:
        raise ApiError(502, "上游返回的不是 16 字节的密钥")
    return Response(key, media_type=media_type, headers={**NO_STORE, **sniff.RELAY_HEADERS})


@router.get("/api/image-proxy")
async def image_proxy(request: Request, state: State, user: CurrentUser) -> Response:
    images = state.images
    if images is None:
        raise ApiError(503, "图片代理未启用")
    url = _url_param(request)
    try:
        images.check(url)
    except BlockedURL as exc:
        status = 403 if "allow-list" in exc.reason else 400
        raise ApiError(status, "不允许的图片地址", reason=exc.reason) from None
    try:
        image, origin = await images.get(url)
    except BlockedURL as exc:
        raise _blocked(exc) from None
    except UpstreamError as exc:
        raise _upstream_error(exc) from None
    return Response(
        image.body,
        media_type=image.content_type,
        headers={
            "Cache-Control": "private, max-age=604800, immutable",
            **sniff.RELAY_HEADERS,
            "X-MoonTV-Cache": origin,
        },
    )


@router.get("/api/sources/probe")
async def source_probe(request: Request, state: State, user: CurrentUser) -> Response:
    service = _streams(state)
    source = (request.query_params.get("source") or "").strip()
    vod_id = (request.query_params.get("id") or "").strip()
    if not source or not vod_id:
        raise ApiError(400, "缺少必要参数: source 或 id")
    if not VOD_ID_RE.match(vod_id):
        raise ApiError(400, "无效的视频ID格式")
    raw_ep = request.query_params.get("ep")
    ep: int | None = None
    if raw_ep not in (None, ""):
        if not raw_ep.isdigit() or len(raw_ep) > 6:
            raise ApiError(400, "ep 必须是非负整数")
        ep = int(raw_ep)
    snapshot = await state.config.get()
    site = next((s for s in available_sites(snapshot.config, user.username) if s.key == source), None)
    if site is None:
        raise ApiError(404, f"未找到指定的视频源: {source}")
    key = (source, vod_id, ep)
    cached = service.speed_cache.get(key)
    if cached is not None:
        return json_response({**cached, "cached": True}, headers=private_cache(60))
    try:
        detail = await state.cms.detail(site, vod_id, timeout=min(state.settings.upstream_timeout, 5.0))
    except SourceError as exc:
        return json_response(
            _failed(source, vod_id, ep, f"获取详情失败: {exc.user_message}"), headers=NO_STORE
        )
    if detail is None:
        raise ApiError(404, "未找到该视频")
    episodes = [e for e in detail.get("episodes") or [] if isinstance(e, str)]
    if not episodes:
        return json_response(_failed(source, vod_id, ep, "没有可播放的剧集"), headers=NO_STORE)
    index = ep if ep is not None else (1 if len(episodes) > 1 else 0)
    if index >= len(episodes):
        raise ApiError(400, f"ep 超出范围 (共 {len(episodes)} 集)")
    url = episodes[index]
    opts = source_options(snapshot.config, source, ad_default=state.settings.ad_filter)
    timeout = _timeout(request)
    try:
        _guard(state).check_syntax(url)
        await _guard(state).check_url(url)
    except BlockedURL:
        return json_response(_failed(source, vod_id, index, "地址不允许访问"), headers=NO_STORE)
    try:
        async with service.speed_queue.slot(user.username, service.speed_limiter):
            result = await probe_stream(service, url, opts, timeout=timeout)
    except QueueFull:
        raise ApiError(429, "测速请求过多，请稍后再试") from None
    data = {"source": source, "id": vod_id, "ep": index, **result.describe()}
    if result.ok:
        service.speed_cache.put(key, data)
    return json_response({**data, "cached": False}, headers=private_cache(60) if result.ok else NO_STORE)


def _timeout(request: Request) -> float:
    raw = request.query_params.get("timeout")
    try:
        value = float(raw) if raw else 4.0
    except ValueError:
        return 4.0
    return min(max(value, 1.0), 10.0) if value == value else 4.0


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
