"""Build the stream services for the app state (called from ``build_state``)."""

from __future__ import annotations

from typing import Any

from moontv.settings import Settings
from moontv.streams.images import ImageProxy
from moontv.streams.netguard import NetGuard
from moontv.streams.service import StreamService


def build_stream_services(
    settings: Settings, guard: NetGuard, secret: bytes, registry: Any
) -> tuple[StreamService, ImageProxy]:
    streams = StreamService(
        guard=guard,
        secret=secret,
        timeout=settings.stream_timeout,
        speedtest_concurrency=settings.probe_concurrency,
        ad_default=settings.ad_filter,
        registry=registry,
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
