"""Playlist proxying shared by the browser proxy and the TVBox playlist route: check the URL, fetch it
(SSRF-guarded), drop ad blocks, rewrite every URI with the caller's mapper."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from moontv.errors import ServiceError
from moontv.streams import sniff
from moontv.streams.netguard import BlockedURL
from moontv.streams.playlist import Playlist, PlaylistError, PlaylistTooLarge
from moontv.streams.service import SourceOptions, StreamService
from moontv.web.responses import NO_STORE, private_cache
from moontv.web.state import AppState

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
TOO_LARGE = {
    "bytes": "上游播放列表过大",
    "line": "上游播放列表的行过长",
    "lines": "上游播放列表行数过多",
    "segments": "上游播放列表分片过多",
}


async def checked_url(state: AppState, url: str) -> None:
    """400 for URLs that are wrong as written, 403 for destinations that are not allowed."""
    try:
        state.netguard.check_syntax(url)
    except BlockedURL as exc:
        raise ServiceError(400, "不允许的地址", reason=exc.reason) from None
    await state.netguard.check_url(url)


async def fetch_parsed(service: StreamService, url: str, opts: SourceOptions) -> tuple[str, str, Playlist]:
    """(final URL, text, parsed playlist); a body that is no playlist, or too large a one, is a 502."""
    final, text = await service.fetch_playlist(url, opts)
    try:
        return final, text, await service.parse_playlist(text, final)
    except PlaylistTooLarge as exc:
        raise ServiceError(502, TOO_LARGE[exc.what], limit=exc.what) from None
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
    body = await service.rewrite_playlist(playlist, mapper, remove, len(text))
    headers.update(private_cache(300) if playlist.is_vod or playlist.is_master else NO_STORE)
    return Response(body.encode(), media_type=PLAYLIST_TYPE, headers=headers)
