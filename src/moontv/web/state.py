"""The one application object: every service the routers use, built once at start-up.

Built by ``moontv.composition.build_state`` (the only place that constructs services). Every field is
required; the service types are imported for type checking only, so importing a router stays cheap.
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
    # core
    settings: Settings
    metrics: Metrics
    storage: Storage
    config: ConfigService
    auth: AuthService
    # sources and search
    breakers: BreakerRegistry
    cms: CmsClient
    search: SearchService
    search_cache: TTLCache[SearchPage]
    # streams: SSRF guard, a guarded client for user/admin-supplied URLs (every redirect hop is checked),
    # m3u8/segment/key proxies, ad decisions, speed tests; the poster image proxy
    netguard: NetGuard
    guarded_http: httpx.AsyncClient
    streams: StreamService
    images: ImageProxy
    # live TV: playlists, guides, channel health
    live: LiveService
    # danmaku from the configured danmu_api server; server-side episode downloads
    danmaku: DanmakuService
    downloads: DownloadManager
    # Douban lists and the Bangumi calendar
    douban: DoubanClient
    bangumi: BangumiClient
    # TVBox tokens
    tvbox: TvboxTokens
    # site administration: users, the config subscription, the source validity check
    users: UserAdmin
    subscription: SubscriptionService
    validity: ValidityChecker
    # scheduled refresh of play records/favorites (and the subscription check)
    scheduler: RefreshScheduler
    started_at: float = field(default_factory=time.time)
    shutting_down: bool = False
