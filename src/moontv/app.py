"""create_app(settings) -> the ASGI application: services, routers, middleware, lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moontv import __version__
from moontv.composition import build_state
from moontv.memory import Activity, IdleTrimmer
from moontv.observability import Metrics
from moontv.settings import Settings
from moontv.web import ops_routes
from moontv.web.csrf import CsrfMiddleware
from moontv.web.errors import register_error_handlers
from moontv.web.features import CORE, FeatureLoader, LazyFeatureMiddleware
from moontv.web.head import HeadAsGetMiddleware
from moontv.web.hsts import HstsMiddleware
from moontv.web.metrics_listener import MetricsListener
from moontv.web.static_files import VersionedStaticFiles

log = logging.getLogger("moontv")


class RequestMetricsMiddleware:
    """Counts and times every request by route template (never by raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, activity: Activity) -> None:
        self.app = app
        self.metrics = metrics
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        self.metrics.http_in_flight.inc()
        self.activity.begin()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.activity.end()
            self.metrics.http_in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static/") else "unmatched"
            )
            method = scope["method"]
            self.metrics.http_requests.labels(template, method, str(status)).inc()
            self.metrics.http_latency.labels(template, method).observe(time.perf_counter() - start)


class MoonTVApp(FastAPI):
    """FastAPI whose feature routers are included on first use (``moontv.web.features``); walking the
    routes or describing the API includes them all first, so both always see the whole route table."""

    features: FeatureLoader

    @property
    def routes(self) -> list[BaseRoute]:
        loader: FeatureLoader | None = getattr(self, "features", None)
        if loader is not None:
            loader.load_all()
        return super().routes

    def openapi(self) -> dict[str, Any]:
        self.features.load_all()
        return super().openapi()


def create_app(settings: Settings) -> MoonTVApp:
    metrics = Metrics()
    activity = Activity()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            state = await build_state(settings, metrics, stack)
            app.state.moontv = state
            state.scheduler.start()
            trimmer = IdleTrimmer(activity)
            trimmer.start()
            stack.push_async_callback(trimmer.stop)
            if settings.metrics_port:
                listener = MetricsListener(lambda: ops_routes.render_metrics(state), settings.metrics_token)
                await listener.start(settings.bind_host, settings.metrics_port)
                stack.push_async_callback(listener.stop)
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
                await state.scheduler.stop()  # before the services a run uses close
        log.info("MoonTV stopped")

    app = MoonTVApp(
        title="MoonTV",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served to admins only, by ops_routes
    )
    app.features = FeatureLoader(app)
    app.add_middleware(LazyFeatureMiddleware, loader=app.features)
    app.add_middleware(CsrfMiddleware, proxies=settings.proxies)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, activity=activity)
    app.add_middleware(HeadAsGetMiddleware)
    if settings.hsts_max_age > 0:
        app.add_middleware(HstsMiddleware, proxies=settings.proxies, max_age=settings.hsts_max_age)

    register_error_handlers(app)

    app.features.load([CORE])
    app.mount(
        "/static",
        VersionedStaticFiles(directory=str(Path(__file__).parent / "web" / "static")),
        name="static",
    )
    return app
