"""Builds (at start-up) and closes (at shutdown) the admin, Douban, TVBox and refresh services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from moontv.admin.users import UserAdmin
from moontv.admin.validity import ValidityChecker
from moontv.bangumi.client import BangumiClient
from moontv.config.subscription import SubscriptionService
from moontv.douban.client import DoubanClient
from moontv.live.refresh import refresh_sources
from moontv.scheduler import RefreshMetrics, RefreshScheduler
from moontv.tvbox.tokens import TvboxTokens


@dataclass(slots=True)
class AdminServices:
    users: UserAdmin
    douban: DoubanClient
    bangumi: BangumiClient
    tvbox: TvboxTokens
    subscription: SubscriptionService
    validity: ValidityChecker
    scheduler: RefreshScheduler
    douban_http: httpx.AsyncClient


def _guarded(state: Any) -> httpx.AsyncClient:
    """The SSRF-guarded client for admin-entered URLs (subscription, validity checks, proxies)."""
    if state.guarded_http is None:
        raise RuntimeError("the SSRF-guarded HTTP client is not configured")
    return state.guarded_http  # type: ignore[no-any-return]


async def start_admin_services(state: Any) -> AdminServices:
    settings = state.settings
    douban_http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        timeout=httpx.Timeout(settings.douban_timeout),
        follow_redirects=True,
        max_redirects=3,
        trust_env=False,
    )
    subscription = SubscriptionService(state.config, lambda: _guarded(state))
    services = AdminServices(
        users=UserAdmin(state.config, state.auth, state.storage, settings.username),
        douban=DoubanClient(
            douban_http,
            base=settings.douban_base,
            m_base=settings.douban_m_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
            proxy_http=lambda: _guarded(state),
        ),
        bangumi=BangumiClient(
            douban_http,
            base=settings.bangumi_base,
            timeout=settings.douban_timeout,
            cache_ttl=settings.douban_cache_ttl,
        ),
        tvbox=TvboxTokens(state.config, state.storage),
        subscription=subscription,
        validity=ValidityChecker(
            lambda: _guarded(state), max_bytes=settings.upstream_max_bytes, precheck=state.netguard.check_url
        ),
        scheduler=RefreshScheduler(
            storage=state.storage,
            config=state.config,
            cms=state.cms,
            owner=settings.username,
            interval=settings.refresh_interval,
            concurrency=settings.refresh_concurrency,
            budget=settings.refresh_budget,
            lookup_timeout=settings.upstream_timeout,
            metrics=RefreshMetrics(state.metrics.registry),
            subscription_check=subscription.check,
            live_refresh=(lambda: refresh_sources(state.live, state.config)) if state.live else None,
        ),
        douban_http=douban_http,
    )
    services.scheduler.start()
    return services


async def stop_admin_services(services: AdminServices | None) -> None:
    if services is None:
        return
    await services.scheduler.stop()
    await services.validity.close()
    await services.douban_http.aclose()
