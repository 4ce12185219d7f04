"""Build the danmaku service for the app state (called from ``build_state``)."""

from __future__ import annotations

import httpx

from moontv.config.service import ConfigService
from moontv.danmaku.client import DanmuApiClient
from moontv.danmaku.service import DanmakuService, Limits
from moontv.storage.protocol import Storage
from moontv.streams.netguard import NetGuard

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def build_danmaku(guard: NetGuard, config: ConfigService, storage: Storage) -> DanmakuService:
    """The danmu_api base URL is read from the site config on every call (the admin may change it);
    its default is ``NEXT_PUBLIC_DANMU_API_BASE_URL``. A server on a private address must be allowed
    with MOONTV_ALLOW_PRIVATE_UPSTREAMS."""

    async def base_url() -> str:
        return (await config.view()).site.danmaku_api_base_url

    limits = Limits()
    client = DanmuApiClient(guard.client(timeout=TIMEOUT, max_redirects=2), max_body=limits.max_body)
    return DanmakuService(client, base_url, storage, limits)
