"""Server-side source speed test: playlist TTFB, first-segment throughput and video size.

Replaces the browser-side test that loads every candidate in hidden ``<video>`` elements.
One probe = the episode's playlist (following a master playlist to its highest-bandwidth
variant) plus up to ``SEGMENT_BYTES`` of the first media segment, all within one deadline
and under a server-wide concurrency limit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from moontv.streams.media import read_media
from moontv.streams.netguard import BlockedURL
from moontv.streams.playlist import PlaylistError
from moontv.streams.service import SourceOptions, StreamService, UpstreamError

SEGMENT_BYTES = 1024 * 1024
SEGMENT_READ_SECONDS = 2.0


def quality_label(width: int | None) -> str:
    """MoonTV's labels by video width."""
    if not width:
        return "未知"
    for limit, label in ((3840, "4K"), (2560, "2K"), (1920, "1080p"), (1280, "720p"), (854, "480p")):
        if width >= limit:
            return label
    return "SD"


def format_speed(kbps: float | None) -> str:
    if kbps is None:
        return "未知"
    return f"{kbps / 1024:.1f} MB/s" if kbps >= 1024 else f"{kbps:.1f} KB/s"


@dataclass(slots=True)
class ProbeResult:
    url: str
    ok: bool = False
    error: str = ""
    ttfb_ms: float | None = None
    playlist_ms: float | None = None
    speed_kbps: float | None = None
    segment_bytes: int = 0
    width: int | None = None
    height: int | None = None
    resolution_from: str = ""
    variants: int = 0
    elapsed_ms: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error or None,
            "url": self.url,
            "quality": quality_label(self.width),
            "width": self.width,
            "height": self.height,
            "resolutionFrom": self.resolution_from or None,
            "loadSpeed": format_speed(self.speed_kbps),
            "speedKBps": None if self.speed_kbps is None else round(self.speed_kbps, 1),
            "pingTime": None if self.ttfb_ms is None else round(self.ttfb_ms),
            "ttfbMs": None if self.ttfb_ms is None else round(self.ttfb_ms, 1),
            "playlistMs": None if self.playlist_ms is None else round(self.playlist_ms, 1),
            "segmentBytes": self.segment_bytes,
            "variants": self.variants,
            "elapsedMs": round(self.elapsed_ms, 1),
        }


async def _get_playlist(
    service: StreamService, url: str, opts: SourceOptions
) -> tuple[str, str, float, float]:
    """(final url, text, ttfb ms, total ms)."""
    started = time.perf_counter()
    async with service.client.stream("GET", url, headers=opts.headers()) as response:
        ttfb = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise UpstreamError(
                502, f"上游返回 HTTP {response.status_code}", upstream_status=response.status_code
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > service.limits.max_bytes:
                raise UpstreamError(502, "播放列表过大")
        total = (time.perf_counter() - started) * 1000
        return str(response.url), bytes(body).decode("utf-8", "replace").lstrip("\ufeff"), ttfb, total


async def _measure(service: StreamService, url: str, opts: SourceOptions, result: ProbeResult) -> None:
    final, text, ttfb, total = await _get_playlist(service, url, opts)
    result.ttfb_ms, result.playlist_ms = ttfb, total
    playlist = await service.parse_playlist(text, final)
    if playlist.is_master:
        result.variants = len(playlist.variants)
        if not playlist.variants:
            raise UpstreamError(502, "主播放列表没有可用的码率")
        best = max(playlist.variants, key=lambda v: (v.bandwidth, v.resolution or (0, 0)))
        sized = [v.resolution for v in playlist.variants if v.resolution]
        if sized:
            result.width, result.height = max(sized)
            result.resolution_from = "master"
        final, text, _, _ = await _get_playlist(service, best.uri, opts)
        playlist = await service.parse_playlist(text, final)
        if playlist.is_master:
            raise UpstreamError(502, "嵌套的主播放列表")
    if not playlist.segments:
        raise UpstreamError(502, "播放列表没有分片")
    segment = playlist.segments[0]
    headers = opts.headers()
    if segment.byterange is not None:
        length, offset = segment.byterange
        headers["Range"] = f"bytes={offset}-{offset + min(length, SEGMENT_BYTES) - 1}"
    started = time.perf_counter()
    data = bytearray()
    async with service.client.stream("GET", segment.uri, headers=headers) as response:
        if response.status_code >= 400:
            raise UpstreamError(
                502, f"分片返回 HTTP {response.status_code}", upstream_status=response.status_code
            )
        async for chunk in response.aiter_bytes():
            data.extend(chunk)
            if len(data) >= SEGMENT_BYTES or time.perf_counter() - started > SEGMENT_READ_SECONDS:
                break
    seconds = max(time.perf_counter() - started, 1e-4)
    result.segment_bytes = len(data)
    result.speed_kbps = len(data) / 1024 / seconds
    if result.width is None and segment.key is None:
        init = None
        if segment.map_uri is not None:
            try:
                init = await service.range_read(segment.map_uri, 0, 64 * 1024, opts)
            except (httpx.HTTPError, UpstreamError, BlockedURL, OSError):
                init = None
        info = read_media(bytes(data[: 256 * 1024]), init)
        if info.width and info.height:
            result.width, result.height = info.width, info.height
            result.resolution_from = "segment"
    result.ok = True


async def probe_stream(
    service: StreamService, url: str, opts: SourceOptions, *, timeout: float
) -> ProbeResult:
    """Never raises for upstream trouble: the result carries ``ok=False`` and an error text.

    The caller holds the concurrency slot (``StreamService.speed_queue``)."""
    result = ProbeResult(url=url)
    started = time.perf_counter()
    try:
        await asyncio.wait_for(_measure(service, url, opts, result), timeout)
    except TimeoutError:
        result.error = "测速超时"
    except BlockedURL:
        result.error = "地址不允许访问"
    except UpstreamError as exc:
        result.error = exc.message
    except PlaylistError:
        result.error = "不是有效的 m3u8 播放列表"
    except httpx.TimeoutException:
        result.error = "测速超时"
    except httpx.HTTPError as exc:
        result.error = f"请求失败: {type(exc).__name__}"
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    if not result.ok:
        result.speed_kbps = None
    return result
