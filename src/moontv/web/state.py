"""The one application object: every service the routers use, built once at start-up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from moontv.auth.service import AuthService
from moontv.config.service import ConfigService
from moontv.observability import Metrics
from moontv.search.cache import TTLCache
from moontv.search.service import SearchService
from moontv.settings import Settings
from moontv.sources.breaker import BreakerRegistry
from moontv.sources.client import CmsClient
from moontv.sources.models import SearchPage
from moontv.storage.protocol import Storage


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
