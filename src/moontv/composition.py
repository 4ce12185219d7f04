"""The composition root: every service of the app is built here, once, and closed in reverse order.

Start-up builds only what the first requests need (storage, config, sign-in, the refresh scheduler);
every other service (sources, search, streams, live TV, Douban, danmaku, downloads, administration) is
built by ``Services`` when a request first uses it, with its module imported only then. Each service that
holds resources registers its close on the app's exit stack when it is built.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from moontv.auth.service import AuthService
from moontv.auth.tokens import TokenSigner
from moontv.config.file import load_config_file
from moontv.config.service import ConfigService
from moontv.observability import InstrumentedStorage, Metrics
from moontv.scheduler import RefreshMetrics, RefreshScheduler
from moontv.settings import Settings
from moontv.storage.factory import create_storage
from moontv.storage.protocol import Storage
from moontv.web.state import AppState

if TYPE_CHECKING:
    import httpx

    from moontv.admin.users import UserAdmin
    from moontv.admin.validity import ValidityChecker
    from moontv.bangumi.client import BangumiClient
    from moontv.config.subscription import SubscriptionService
    from moontv.danmaku.service import DanmakuService
    from moontv.douban.client import DoubanClient
    from moontv.downloads.manager import DownloadManager
    from moontv.live.service import LiveService
    from moontv.search.cache import TTLCache
    from moontv.search.service import SearchService
    from moontv.search.shared_cache import SharedPageCache
    from moontv.sources.breaker import BreakerRegistry
    from moontv.sources.client import CmsClient
    from moontv.sources.models import SearchPage
    from moontv.storage.redis import RedisStorage
    from moontv.streams.images import ImageProxy
    from moontv.streams.netguard import NetGuard
    from moontv.streams.service import StreamService
    from moontv.tvbox.tokens import TvboxTokens

SECRET_META = "session_secret"


async def _session_secret(settings: Settings, storage: Storage) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    # Generated once and kept in storage, so every replica and restart shares it.
    return (await storage.set_meta_if_absent(SECRET_META, secrets.token_urlsafe(48))).encode()


def _image_hosts(settings: Settings) -> tuple[str, ...]:
    return tuple(h.strip() for h in settings.image_proxy_hosts.replace(";", ",").split(",") if h.strip())


def _pending_downloads(settings: Settings) -> bool:
    """Unfinished download tasks on disk (they resume at start-up); cheap: one directory listing."""
    root = settings.data_dir / "downloads"
    return root.is_dir() and any(p.suffix == ".json" for p in root.iterdir())


class Services:
    """The services built on first use. Each is built once (a cached property); building is synchronous,
    so two requests never build the same service twice."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        storage: Storage,
        raw_storage: Storage,
        config: ConfigService,
        auth: AuthService,
        secret: bytes,
        stack: AsyncExitStack,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.storage = storage
        self.raw_storage = raw_storage
        self.config = config
        self.auth = auth
        self.secret = secret
        self.stack = stack
        self._downloads_started = False

    # -- sources and search ---------------------------------------------------------------------------
    @cached_property
    def netguard(self) -> NetGuard:
        from moontv.streams.netguard import NetGuard

        return NetGuard(self.settings.allow_private_upstreams)

    @cached_property
    def breakers(self) -> BreakerRegistry:
        from moontv.sources.breaker import BreakerRegistry

        metrics = self.metrics
        return BreakerRegistry(on_change=lambda key, _old, new: metrics.on_circuit(key, new))

    @cached_property
    def cms(self) -> CmsClient:
        from moontv.sources.client import CmsClient
        from moontv.sources.fetch import AiohttpFetcher

        settings = self.settings
        cms = CmsClient(
            AiohttpFetcher(guard=self.netguard),
            breakers=self.breakers,
            max_bytes=settings.upstream_max_bytes,
            observer=self.metrics,
            per_source=settings.search_source_concurrency,
            total=settings.search_total_concurrency,
        )
        self.stack.push_async_callback(cms.aclose)
        return cms

    @cached_property
    def search_cache(self) -> TTLCache[SearchPage]:
        from moontv.search.cache import TTLCache

        return TTLCache(
            4096,
            max_bytes=self.settings.search_cache_mb * 1024 * 1024,
            on_lookup=self.metrics.cache_hook("search"),
        )

    def _shared_search_cache(self) -> SharedPageCache | None:
        """The Redis/Kvrocks second level of the search cache, shared by every replica (not on SQLite)."""
        settings = self.settings
        if not (settings.search_cache and settings.search_shared_cache) or self.raw_storage.kind == "sqlite":
            return None
        from moontv.search.shared_cache import SharedPageCache

        redis_storage = cast("RedisStorage", self.raw_storage)  # redis-py is imported only when Redis is used
        return SharedPageCache(
            lambda: redis_storage.client, on_lookup=self.metrics.cache_hook("search_shared")
        )

    @cached_property
    def search(self) -> SearchService:
        from moontv.search.service import SearchLimits, SearchService

        return SearchService(
            self.cms,
            self.search_cache,
            self._shared_search_cache(),
            SearchLimits(
                per_user_per_minute=self.settings.search_rate_limit,
                page_budget=self.settings.search_page_budget,
            ),
        )

    # -- streams and images ---------------------------------------------------------------------------
    @cached_property
    def guarded_http(self) -> httpx.AsyncClient:
        client = self.netguard.client(timeout=self.settings.upstream_timeout, max_redirects=3)
        self.stack.push_async_callback(client.aclose)
        return client

    @cached_property
    def streams(self) -> StreamService:
        from moontv.streams.playlist import Limits
        from moontv.streams.service import StreamService

        settings = self.settings
        streams = StreamService(
            guard=self.netguard,
            secret=self.secret,
            timeout=settings.stream_timeout,
            speedtest_concurrency=settings.probe_concurrency,
            speedtest_per_user=settings.probe_per_user,
            speedtest_wait=settings.probe_queue_wait,
            ad_default=settings.ad_filter,
            registry=self.metrics.registry,
            limits=Limits(
                max_bytes=settings.playlist_max_bytes,
                max_line=settings.playlist_max_line,
                max_lines=4 * settings.playlist_max_segments + 1000,
                max_segments=settings.playlist_max_segments,
            ),
            ads_cache_bytes=settings.ads_cache_mb * 1024 * 1024,
        )
        self.stack.push_async_callback(streams.aclose)
        return streams

    @cached_property
    def images(self) -> ImageProxy:
        from moontv.streams.images import ImageProxy

        settings = self.settings
        images = ImageProxy(
            self.netguard,
            allow_hosts=_image_hosts(settings),
            max_bytes=settings.image_proxy_max_bytes,
            timeout=min(settings.stream_timeout, 15.0),
            cache_dir=settings.data_dir / "cache" / "images",
            disk_bytes=settings.image_cache_mb * 1024 * 1024,
            host_rate=settings.image_proxy_host_rate,
            host_burst=settings.image_proxy_host_burst,
        )
        self.stack.push_async_callback(images.aclose)
        return images

    # -- live TV, danmaku, downloads --------------------------------------------------------------------
    @cached_property
    def live(self) -> LiveService:
        from moontv.live.service import LiveService

        live = LiveService(self.netguard, timeout=max(self.settings.upstream_timeout, 15.0))
        self.stack.push_async_callback(live.aclose)
        return live

    @cached_property
    def danmaku(self) -> DanmakuService:
        from moontv.danmaku.setup import build_danmaku

        danmaku = build_danmaku(self.netguard, self.config, self.storage)
        self.stack.push_async_callback(danmaku.aclose)
        return danmaku

    @cached_property
    def downloads(self) -> DownloadManager:
        """The manager, built but not started (``started_downloads`` starts it)."""
        from moontv.downloads.setup import build_downloads

        return build_downloads(self.settings, self.streams, self.config, self.metrics.registry)

    async def started_downloads(self) -> DownloadManager:
        """The manager, started once (it resumes unfinished tasks and runs its workers until shutdown)."""
        manager = self.downloads
        if not self._downloads_started:
            self._downloads_started = True
            await manager.start()
            self.stack.push_async_callback(manager.stop)
        return manager

    # -- Douban and Bangumi ------------------------------------------------------------------------------
    @cached_property
    def douban_http(self) -> httpx.AsyncClient:
        import httpx

        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            timeout=httpx.Timeout(self.settings.douban_timeout),
            follow_redirects=True,
            max_redirects=3,
            trust_env=False,
        )
        self.stack.push_async_callback(client.aclose)
        return client

    @cached_property
    def douban(self) -> DoubanClient:
        from moontv.douban.client import DoubanClient

        settings = self.settings
        return DoubanClient(
            self.douban_http,
            base=settings.douban_base,
            m_base=settings.douban_m_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
            proxy_http=lambda: self.guarded_http,
        )

    @cached_property
    def bangumi(self) -> BangumiClient:
        from moontv.bangumi.client import BangumiClient

        settings = self.settings
        return BangumiClient(
            self.douban_http,
            base=settings.bangumi_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
        )

    # -- TVBox and site administration -------------------------------------------------------------------
    @cached_property
    def tvbox(self) -> TvboxTokens:
        from moontv.tvbox.tokens import TvboxTokens

        return TvboxTokens(self.config, self.storage)

    @cached_property
    def users(self) -> UserAdmin:
        from moontv.admin.users import UserAdmin

        return UserAdmin(self.config, self.auth, self.storage, self.settings.username)

    @cached_property
    def subscription(self) -> SubscriptionService:
        from moontv.config.subscription import SubscriptionService

        return SubscriptionService(self.config, self.guarded_http)

    @cached_property
    def validity(self) -> ValidityChecker:
        from moontv.admin.validity import ValidityChecker

        validity = ValidityChecker(
            self.guarded_http, max_bytes=self.settings.upstream_max_bytes, precheck=self.netguard.check_url
        )
        self.stack.push_async_callback(validity.close)
        return validity

    # -- what the refresh scheduler calls (built only when a run needs them) -----------------------------
    async def detail(self, *args: Any, **kwargs: Any) -> Any:
        return await self.cms.detail(*args, **kwargs)

    async def check_subscription(self) -> Any:
        return await self.subscription.check()

    async def refresh_live(self) -> dict[str, dict[str, Any]]:
        from moontv.live.refresh import refresh_sources

        return await refresh_sources(self.live, self.config)


async def build_state(settings: Settings, metrics: Metrics, stack: AsyncExitStack) -> AppState:
    """The core services now, the rest on first use; ``stack`` closes each one built (reverse order)."""
    _, file_text = load_config_file(settings.config_file)  # validated here; the merge re-reads the text
    raw_storage = create_storage(
        settings.storage_kind, data_dir=settings.data_dir, redis_url=settings.storage_url
    )
    await raw_storage.open()
    stack.push_async_callback(raw_storage.close)
    # InstrumentedStorage times every method of the backend it wraps, so it is that Storage.
    storage = cast("Storage", InstrumentedStorage(raw_storage, metrics))
    config = ConfigService(storage, settings, file_text)
    await config.initialise(file_exists=settings.config_file.exists())
    secret = await _session_secret(settings, storage)
    auth = AuthService(
        storage,
        config,
        settings,
        TokenSigner(secret, ttl_seconds=settings.session_days * 86400),
    )
    services = Services(settings, metrics, storage, raw_storage, config, auth, secret, stack)
    if settings.downloads_enabled and await asyncio.to_thread(_pending_downloads, settings):
        await services.started_downloads()  # unfinished tasks resume now, not at the first visit

    scheduler = RefreshScheduler(
        storage=storage,
        config=config,
        cms=services,  # only ``detail`` is called, during a run
        owner=settings.username,
        interval=settings.refresh_interval,
        concurrency=settings.refresh_concurrency,
        budget=settings.refresh_budget,
        lookup_timeout=settings.upstream_timeout,
        metrics=RefreshMetrics(metrics.registry),
        subscription_check=services.check_subscription,
        live_refresh=services.refresh_live,
    )
    stack.push_async_callback(scheduler.stop)
    return AppState(
        settings=settings,
        metrics=metrics,
        storage=storage,
        config=config,
        auth=auth,
        scheduler=scheduler,
        services=services,
    )
