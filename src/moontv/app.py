"""create_app(settings) -> the ASGI application: services, routers, middleware, lifespan."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moontv import __version__
from moontv.admin.services import start_admin_services, stop_admin_services
from moontv.auth.service import AuthService
from moontv.auth.tokens import TokenSigner
from moontv.config.file import load_config_file
from moontv.config.service import ConfigService
from moontv.live.service import LiveService
from moontv.observability import InstrumentedStorage, Metrics
from moontv.search.cache import TTLCache
from moontv.search.service import SearchLimits, SearchService
from moontv.search.shared_cache import SharedPageCache
from moontv.settings import Settings
from moontv.sources.breaker import BreakerRegistry
from moontv.sources.client import CmsClient
from moontv.sources.fetch import AiohttpFetcher
from moontv.storage.factory import create_storage
from moontv.streams.netguard import NetGuard
from moontv.streams.setup import build_stream_services
from moontv.web import (
    admin_routes,
    auth_routes,
    cron_routes,
    douban_routes,
    live_admin_routes,
    live_routes,
    ops_routes,
    pages,
    search_routes,
    stream_routes,
    tvbox_routes,
    userdata_routes,
)
from moontv.web.csrf import CsrfMiddleware
from moontv.web.head import HeadAsGetMiddleware
from moontv.web.hsts import HstsMiddleware
from moontv.web.metrics_listener import MetricsListener
from moontv.web.pages.errors import not_found, wants_html
from moontv.web.responses import ApiError, json_response
from moontv.web.state import AppState
from moontv.web.static_files import VersionedStaticFiles

log = logging.getLogger("moontv")
SECRET_META = "session_secret"


class RequestMetricsMiddleware:
    """Counts and times every request by route template (never by raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        self.metrics.http_in_flight.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.http_in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static/") else "unmatched"
            )
            method = scope["method"]
            self.metrics.http_requests.labels(template, method, str(status)).inc()
            self.metrics.http_latency.labels(template, method).observe(time.perf_counter() - start)


async def _session_secret(settings: Settings, storage: InstrumentedStorage) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    # Generated once and kept in storage, so every replica and restart shares it.
    return (await storage.set_meta_if_absent(SECRET_META, secrets.token_urlsafe(48))).encode()


def _shared_search_cache(settings: Settings, storage: object, metrics: Metrics) -> SharedPageCache | None:
    if not (settings.search_cache and settings.search_shared_cache) or not hasattr(storage, "client"):
        return None
    return SharedPageCache(lambda: storage.client, on_lookup=metrics.cache_hook("search_shared"))  # type: ignore[attr-defined]


async def build_state(settings: Settings, metrics: Metrics) -> AppState:
    file_cfg, file_text = load_config_file(settings.config_file)
    del file_cfg  # validated above; the merge engine re-reads the text it stores
    raw_storage = create_storage(
        settings.storage_kind, data_dir=settings.data_dir, redis_url=settings.storage_url
    )
    await raw_storage.open()
    storage = InstrumentedStorage(raw_storage, metrics)
    config = ConfigService(storage, settings, file_text)  # type: ignore[arg-type]
    await config.initialise(file_exists=settings.config_file.exists())
    secret = await _session_secret(settings, storage)
    signer = TokenSigner(secret, ttl_seconds=settings.session_days * 86400)
    auth = AuthService(
        storage,
        config,
        settings,
        signer,  # type: ignore[arg-type]
    )
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30),
        timeout=httpx.Timeout(settings.upstream_timeout),
        follow_redirects=True,
        max_redirects=3,
        trust_env=False,
    )
    breakers = BreakerRegistry(on_change=lambda key, _old, new: metrics.on_circuit(key, new))
    netguard = NetGuard(settings.allow_private_upstreams)
    cms = CmsClient(
        AiohttpFetcher(guard=netguard),
        breakers=breakers,
        max_bytes=settings.upstream_max_bytes,
        observer=metrics,
        per_source=settings.search_source_concurrency,
        total=settings.search_total_concurrency,
    )
    cache: TTLCache = TTLCache(
        4096, max_bytes=settings.search_cache_mb * 1024 * 1024, on_lookup=metrics.cache_hook("search")
    )
    streams, images = build_stream_services(settings, netguard, secret, metrics.registry)
    return AppState(
        settings=settings,
        metrics=metrics,
        storage=storage,  # type: ignore[arg-type]
        config=config,
        auth=auth,
        http=http,
        breakers=breakers,
        cms=cms,
        search=SearchService(
            cms,
            cache,
            _shared_search_cache(settings, raw_storage, metrics),
            SearchLimits(
                per_user_per_minute=settings.search_rate_limit, page_budget=settings.search_page_budget
            ),
        ),
        search_cache=cache,
        netguard=netguard,
        guarded_http=netguard.client(timeout=settings.upstream_timeout, max_redirects=3),
        streams=streams,
        images=images,
        live=LiveService(netguard, timeout=max(settings.upstream_timeout, 15.0)),
    )


def create_app(settings: Settings) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, metrics)
        app.state.moontv = state
        state.admin = await start_admin_services(state)
        listener = None
        if settings.metrics_port:
            listener = MetricsListener(lambda: ops_routes.render_metrics(state), settings.metrics_token)
            await listener.start(settings.bind_host, settings.metrics_port)
        log.info(
            "MoonTV %s ready: storage=%s sources=%d",
            __version__,
            state.storage.kind,
            len((await state.config.get()).config["SourceConfig"]),
        )
        try:
            yield
        finally:
            state.shutting_down = True
            if listener is not None:
                await listener.stop()
            await stop_admin_services(state.admin)
            await state.http.aclose()
            await state.cms.aclose()
            if state.guarded_http is not None:
                await state.guarded_http.aclose()
            if state.streams is not None:
                await state.streams.aclose()
            if state.images is not None:
                await state.images.aclose()
            if state.live is not None:
                await state.live.aclose()
            await state.storage.close()
            log.info("MoonTV stopped")

    app = FastAPI(
        title="MoonTV",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served to admins only, by ops_routes
    )
    app.add_middleware(CsrfMiddleware, proxies=settings.proxies)  # type: ignore[arg-type]
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)  # type: ignore[arg-type]
    app.add_middleware(HeadAsGetMiddleware)  # type: ignore[arg-type]
    if settings.hsts_max_age > 0:
        app.add_middleware(HstsMiddleware, proxies=settings.proxies, max_age=settings.hsts_max_age)  # type: ignore[arg-type]

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return json_response({"error": "参数格式错误"}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request):
            return await not_found(request)
        messages = {404: "Not Found", 405: "Method Not Allowed"}
        return json_response(
            {"error": messages.get(exc.status_code, str(exc.detail))},
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up mid-body: nobody is left to answer, and it is not a server fault.
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return json_response({"error": "客户端已断开"}, 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response({"error": "服务器错误"}, 500)

    for module in (
        ops_routes,
        auth_routes,
        userdata_routes,
        search_routes,
        pages,
        admin_routes,
        douban_routes,
        tvbox_routes,
        cron_routes,
        stream_routes,
        live_routes,
        live_admin_routes,
    ):
        app.include_router(module.router)
    app.mount(
        "/static",
        VersionedStaticFiles(directory=str(Path(__file__).parent / "web" / "static")),
        name="static",
    )
    return app
