"""Build the stream services for the app state (called from ``build_state``)."""

from __future__ import annotations

from typing import Any

from moontv.settings import Settings
from moontv.streams.images import ImageProxy
from moontv.streams.netguard import NetGuard
from moontv.streams.playlist import Limits
from moontv.streams.service import StreamService


def build_stream_services(
    settings: Settings, guard: NetGuard, secret: bytes, registry: Any
) -> tuple[StreamService, ImageProxy]:
    streams = StreamService(
        guard=guard,
        secret=secret,
        timeout=settings.stream_timeout,
        speedtest_concurrency=settings.probe_concurrency,
        speedtest_per_user=settings.probe_per_user,
        speedtest_wait=settings.probe_queue_wait,
        ad_default=settings.ad_filter,
        registry=registry,
        limits=Limits(
            max_bytes=settings.playlist_max_bytes,
            max_line=settings.playlist_max_line,
            max_lines=4 * settings.playlist_max_segments + 1000,
            max_segments=settings.playlist_max_segments,
        ),
        ads_cache_bytes=settings.ads_cache_mb * 1024 * 1024,
    )
    hosts = tuple(h.strip() for h in settings.image_proxy_hosts.replace(";", ",").split(",") if h.strip())
    images = ImageProxy(
        guard,
        allow_hosts=hosts,
        max_bytes=settings.image_proxy_max_bytes,
        timeout=min(settings.stream_timeout, 15.0),
        cache_dir=settings.data_dir / "cache" / "images",
        disk_bytes=settings.image_cache_mb * 1024 * 1024,
        host_rate=settings.image_proxy_host_rate,
        host_burst=settings.image_proxy_host_burst,
    )
    return streams, images
