"""The composition root: every service of the app is built here, once, and closed in reverse order."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, cast

import httpx

from moontv.admin.users import UserAdmin
from moontv.admin.validity import ValidityChecker
from moontv.auth.service import AuthService
from moontv.auth.tokens import TokenSigner
from moontv.bangumi.client import BangumiClient
from moontv.config.file import load_config_file
from moontv.config.service import ConfigService
from moontv.config.subscription import SubscriptionService
from moontv.danmaku.setup import build_danmaku
from moontv.douban.client import DoubanClient
from moontv.downloads.setup import build_downloads
from moontv.live.refresh import refresh_sources
from moontv.live.service import LiveService
from moontv.observability import InstrumentedStorage, Metrics
from moontv.scheduler import RefreshMetrics, RefreshScheduler
from moontv.search.cache import TTLCache
from moontv.search.service import SearchLimits, SearchService
from moontv.search.shared_cache import SharedPageCache
from moontv.settings import Settings
from moontv.sources.breaker import BreakerRegistry
from moontv.sources.client import CmsClient
from moontv.sources.fetch import AiohttpFetcher
from moontv.sources.models import SearchPage
from moontv.storage.factory import create_storage
from moontv.storage.protocol import Storage
from moontv.streams.images import ImageProxy
from moontv.streams.netguard import NetGuard
from moontv.streams.playlist import Limits
from moontv.streams.service import StreamService
from moontv.tvbox.tokens import TvboxTokens
from moontv.web.state import AppState

if TYPE_CHECKING:
    from moontv.storage.redis import RedisStorage

SECRET_META = "session_secret"


async def _session_secret(settings: Settings, storage: Storage) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    # Generated once and kept in storage, so every replica and restart shares it.
    return (await storage.set_meta_if_absent(SECRET_META, secrets.token_urlsafe(48))).encode()


def _shared_search_cache(settings: Settings, storage: Storage, metrics: Metrics) -> SharedPageCache | None:
    """The Redis/Kvrocks second level of the search cache, shared by every replica (not on SQLite)."""
    if not (settings.search_cache and settings.search_shared_cache) or storage.kind == "sqlite":
        return None
    redis_storage = cast("RedisStorage", storage)  # redis-py is imported only when Redis is used
    return SharedPageCache(lambda: redis_storage.client, on_lookup=metrics.cache_hook("search_shared"))


def _image_hosts(settings: Settings) -> tuple[str, ...]:
    return tuple(h.strip() for h in settings.image_proxy_hosts.replace(";", ",").split(",") if h.strip())


async def build_state(settings: Settings, metrics: Metrics, stack: AsyncExitStack) -> AppState:
    """Every service, wired; each one that holds resources is closed by ``stack`` (reverse order)."""
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

    netguard = NetGuard(settings.allow_private_upstreams)
    breakers = BreakerRegistry(on_change=lambda key, _old, new: metrics.on_circuit(key, new))
    cms = CmsClient(
        AiohttpFetcher(guard=netguard),
        breakers=breakers,
        max_bytes=settings.upstream_max_bytes,
        observer=metrics,
        per_source=settings.search_source_concurrency,
        total=settings.search_total_concurrency,
    )
    stack.push_async_callback(cms.aclose)
    search_cache: TTLCache[SearchPage] = TTLCache(
        4096, max_bytes=settings.search_cache_mb * 1024 * 1024, on_lookup=metrics.cache_hook("search")
    )

    guarded_http = netguard.client(timeout=settings.upstream_timeout, max_redirects=3)
    stack.push_async_callback(guarded_http.aclose)
    streams = StreamService(
        guard=netguard,
        secret=secret,
        timeout=settings.stream_timeout,
        speedtest_concurrency=settings.probe_concurrency,
        speedtest_per_user=settings.probe_per_user,
        speedtest_wait=settings.probe_queue_wait,
        ad_default=settings.ad_filter,
        registry=metrics.registry,
        limits=Limits(
            max_bytes=settings.playlist_max_bytes,
            max_line=settings.playlist_max_line,
            max_lines=4 * settings.playlist_max_segments + 1000,
            max_segments=settings.playlist_max_segments,
        ),
        ads_cache_bytes=settings.ads_cache_mb * 1024 * 1024,
    )
    stack.push_async_callback(streams.aclose)
    images = ImageProxy(
        netguard,
        allow_hosts=_image_hosts(settings),
        max_bytes=settings.image_proxy_max_bytes,
        timeout=min(settings.stream_timeout, 15.0),
        cache_dir=settings.data_dir / "cache" / "images",
        disk_bytes=settings.image_cache_mb * 1024 * 1024,
        host_rate=settings.image_proxy_host_rate,
        host_burst=settings.image_proxy_host_burst,
    )
    stack.push_async_callback(images.aclose)
    live = LiveService(netguard, timeout=max(settings.upstream_timeout, 15.0))
    stack.push_async_callback(live.aclose)
    danmaku = build_danmaku(netguard, config, storage)
    stack.push_async_callback(danmaku.aclose)
    downloads = build_downloads(settings, streams, config, metrics.registry)
    if settings.downloads_enabled:  # resumes unfinished tasks; the routes answer 404 when disabled
        await downloads.start()
        stack.push_async_callback(downloads.stop)

    douban_http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        timeout=httpx.Timeout(settings.douban_timeout),
        follow_redirects=True,
        max_redirects=3,
        trust_env=False,
    )
    stack.push_async_callback(douban_http.aclose)
    subscription = SubscriptionService(config, guarded_http)
    validity = ValidityChecker(
        guarded_http, max_bytes=settings.upstream_max_bytes, precheck=netguard.check_url
    )
    stack.push_async_callback(validity.close)
    scheduler = RefreshScheduler(
        storage=storage,
        config=config,
        cms=cms,
        owner=settings.username,
        interval=settings.refresh_interval,
        concurrency=settings.refresh_concurrency,
        budget=settings.refresh_budget,
        lookup_timeout=settings.upstream_timeout,
        metrics=RefreshMetrics(metrics.registry),
        subscription_check=subscription.check,
        live_refresh=lambda: refresh_sources(live, config),
    )
    stack.push_async_callback(scheduler.stop)
    return AppState(
        settings=settings,
        metrics=metrics,
        storage=storage,
        config=config,
        auth=auth,
        breakers=breakers,
        cms=cms,
        search=SearchService(
            cms,
            search_cache,
            _shared_search_cache(settings, raw_storage, metrics),
            SearchLimits(
                per_user_per_minute=settings.search_rate_limit, page_budget=settings.search_page_budget
            ),
        ),
        search_cache=search_cache,
        netguard=netguard,
        guarded_http=guarded_http,
        streams=streams,
        images=images,
        live=live,
        danmaku=danmaku,
        downloads=downloads,
        douban=DoubanClient(
            douban_http,
            base=settings.douban_base,
            m_base=settings.douban_m_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
            proxy_http=lambda: guarded_http,
        ),
        bangumi=BangumiClient(
            douban_http,
            base=settings.bangumi_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
        ),
        tvbox=TvboxTokens(config, storage),
        users=UserAdmin(config, auth, storage, settings.username),
        subscription=subscription,
        validity=validity,
        scheduler=scheduler,
    )
