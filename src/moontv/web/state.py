"""The one application object: every service the routers use, built once at start-up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from moontv.auth.service import AuthService
from moontv.config.service import ConfigService
from moontv.live.service import LiveService
from moontv.observability import Metrics
from moontv.search.cache import TTLCache
from moontv.search.service import SearchService
from moontv.settings import Settings
from moontv.sources.breaker import BreakerRegistry
from moontv.sources.client import CmsClient
from moontv.sources.models import SearchPage
from moontv.storage.protocol import Storage
from moontv.streams.images import ImageProxy
from moontv.streams.netguard import NetGuard
from moontv.streams.service import StreamService


@dataclass
class AppState:
    settings: Settings
    metrics: Metrics
    storage: Storage
    config: ConfigService
    auth: AuthService
    http: httpx.AsyncClient
    breakers: BreakerRegistry
    cms: CmsClient
    search: SearchService
    search_cache: TTLCache[SearchPage]
    started_at: float = field(default_factory=time.time)
    shutting_down: bool = False
    # SSRF guard (streams/netguard.py) and a client for user-supplied URLs: every connection,
    # each redirect hop included, is resolved, checked and pinned to the checked address.
    netguard: NetGuard | None = None
    guarded_http: httpx.AsyncClient | None = None
    # m3u8/segment/key proxies, ad decisions, speed tests; poster image proxy (streams/)
    streams: StreamService | None = None
    images: ImageProxy | None = None
    # live TV: playlists, guides, channel health (live/)
    live: LiveService | None = None
    # Admin, Douban/Bangumi, TVBox and scheduled-refresh services (admin/services.py), set at start-up.
    admin: Any = None
