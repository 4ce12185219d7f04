"""The one application object: every service the routers use, built once at start-up.

Built by ``moontv.composition.build_state`` (the only place that constructs services): the core services at
start-up, every other one on first use (``services``). The service types are imported for type checking
only, so importing a router stays cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from moontv.admin.users import UserAdmin
    from moontv.admin.validity import ValidityChecker
    from moontv.auth.service import AuthService
    from moontv.bangumi.client import BangumiClient
    from moontv.composition import Services
    from moontv.config.service import ConfigService
    from moontv.config.subscription import SubscriptionService
    from moontv.danmaku.service import DanmakuService
    from moontv.douban.client import DoubanClient
    from moontv.downloads.manager import DownloadManager
    from moontv.live.service import LiveService
    from moontv.observability import Metrics
    from moontv.scheduler import RefreshScheduler
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
    from moontv.tvbox.tokens import TvboxTokens


@dataclass(slots=True)
class AppState:
    # core, built at start-up
    settings: Settings
    metrics: Metrics
    storage: Storage
    config: ConfigService
    auth: AuthService
    # scheduled refresh of play records/favorites (and the subscription check)
    scheduler: RefreshScheduler
    # everything else is built when a request first needs it (start-up time and idle memory)
    services: Services
    started_at: float = field(default_factory=time.time)
    shutting_down: bool = False

    # sources and search
    @property
    def breakers(self) -> BreakerRegistry:
        return self.services.breakers

    @property
    def cms(self) -> CmsClient:
        return self.services.cms

    @property
    def search(self) -> SearchService:
        return self.services.search

    @property
    def search_cache(self) -> TTLCache[SearchPage]:
        return self.services.search_cache

    # streams: SSRF guard, a guarded client for user/admin-supplied URLs (every redirect hop is checked),
    # m3u8/segment/key proxies, ad decisions, speed tests; the poster image proxy
    @property
    def netguard(self) -> NetGuard:
        return self.services.netguard

    @property
    def guarded_http(self) -> httpx.AsyncClient:
        return self.services.guarded_http

    @property
    def streams(self) -> StreamService:
        return self.services.streams

    @property
    def images(self) -> ImageProxy:
        return self.services.images

    # live TV: playlists, guides, channel health
    @property
    def live(self) -> LiveService:
        return self.services.live

    # danmaku from the configured danmu_api server; server-side episode downloads
    @property
    def danmaku(self) -> DanmakuService:
        return self.services.danmaku

    @property
    def downloads(self) -> DownloadManager:
        return self.services.downloads

    # Douban lists and the Bangumi calendar
    @property
    def douban(self) -> DoubanClient:
        return self.services.douban

    @property
    def bangumi(self) -> BangumiClient:
        return self.services.bangumi

    @property
    def tvbox(self) -> TvboxTokens:
        return self.services.tvbox

    # site administration: users, the config subscription, the source validity check
    @property
    def users(self) -> UserAdmin:
        return self.services.users

    @property
    def subscription(self) -> SubscriptionService:
        return self.services.subscription

    @property
    def validity(self) -> ValidityChecker:
        return self.services.validity
