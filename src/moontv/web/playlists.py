"""Playlist proxying shared by the browser proxy and the TVBox playlist route: check the URL, fetch it
(SSRF-guarded), drop ad blocks, rewrite every URI with the caller's mapper."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.streams import sniff
from moontv.streams.netguard import BlockedURL
from moontv.streams.playlist import Playlist, PlaylistError, parse, rewrite
from moontv.streams.service import SourceOptions, StreamService
from moontv.web.responses import NO_STORE, private_cache
from moontv.web.state import AppState

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


async def checked_url(state: AppState, url: str) -> None:
    """400 for URLs that are wrong as written, 403 for destinations that are not allowed."""
    try:
        state.netguard.check_syntax(url)
    except BlockedURL as exc:
        raise ServiceError(400, "不允许的地址", reason=exc.reason) from None
    await state.netguard.check_url(url)


async def fetch_parsed(service: StreamService, url: str, opts: SourceOptions) -> tuple[str, str, Playlist]:
    """(final URL, text, parsed playlist); a body that is no playlist is a 502."""
    final, text = await service.fetch_playlist(url, opts)
    try:
        return final, text, parse(text, final)
    except PlaylistError:
        raise ServiceError(502, "上游返回的不是 m3u8 播放列表") from None


async def render_playlist(
    state: AppState, url: str, opts: SourceOptions, mapper: Callable[[str, str], str]
) -> Response:
    """Fetch (SSRF-guarded), analyse and rewrite one playlist; ``mapper`` decides every URI."""
    service = state.streams
    await checked_url(state, url)
    _, text, playlist = await fetch_parsed(service, url, opts)
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
    body = rewrite(playlist, mapper, remove)
    headers.update(private_cache(300) if playlist.is_vod or playlist.is_master else NO_STORE)
    return Response(body.encode(), media_type=PLAYLIST_TYPE, headers=headers)
