"""Feature routers imported and included on first use, so start-up pays only for what answers first.

The app starts with the core routers (health, login, server config) and this table. A request whose path
belongs to a feature that is not loaded yet imports that feature's route modules and includes their
routers before routing; a path that no feature claims (a 404, a new route missing from the table) loads
every feature, so a route is never missed. Walking the routes (``app.routes``) or building the OpenAPI
description loads every feature first: both always see the whole route table, in the declared order.

Loading is synchronous and happens between two awaits, so concurrent requests never see half a router.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("moontv")


@dataclass(frozen=True, slots=True)
class Feature:
    """Route modules loaded together, and the paths they serve: ``prefix`` itself or anything below it."""

    name: str
    modules: tuple[str, ...]
    prefixes: tuple[str, ...]

    def claims(self, path: str) -> bool:
        return any(path == p or (p != "/" and path.startswith(p + "/")) for p in self.prefixes)


# Loaded by create_app itself: what answers a health check, a login and the server config.
CORE = Feature(
    "core",
    ("moontv.web.ops_routes", "moontv.web.auth_routes"),
    (
        "/api/health",
        "/api/ready",
        "/metrics",
        "/api/openapi.json",
        "/api/auth",
        "/api/login",
        "/api/logout",
        "/api/register",
        "/api/change-password",
        "/api/server-config",
        "/api/user",
        "/static",
    ),
)
# Declared order = route order once everything is loaded (the order the routers were included before).
FEATURES: tuple[Feature, ...] = (
    CORE,
    Feature(
        "userdata",
        ("moontv.web.userdata_routes",),
        ("/api/favorites", "/api/playrecords", "/api/searchhistory", "/api/skipconfigs"),
    ),
    Feature("search", ("moontv.web.search_routes",), ("/api/search", "/api/detail", "/api/config")),
    Feature(
        "pages",
        ("moontv.web.pages",),
        (
            "/",
            "/login",
            "/warning",
            "/offline",
            "/search",
            "/douban",
            "/live",
            "/admin",
            "/play",
            "/manifest.json",
            "/sw.js",
            "/robots.txt",
            "/favicon.ico",
            "/download-stream",
        ),
    ),
    Feature("admin", ("moontv.web.admin_routes", "moontv.web.admin_data_routes"), ("/api/admin",)),
    Feature("douban", ("moontv.web.douban_routes",), ("/api/douban", "/api/bangumi")),
    Feature("tvbox", ("moontv.web.tvbox_routes",), ("/api/tvbox",)),
    Feature("cron", ("moontv.web.cron_routes",), ("/api/cron",)),
    Feature("streams", ("moontv.web.stream_routes",), ("/api/image-proxy", "/api/proxy", "/api/sources")),
    Feature(
        "live",
        ("moontv.web.live_routes", "moontv.web.live_admin_routes"),
        ("/api/live", "/api/proxy/live", "/api/admin/live", "/api/tvbox/s"),
    ),
    Feature("danmaku", ("moontv.web.danmaku_routes",), ("/api/danmaku",)),
    Feature("downloads", ("moontv.web.download_routes",), ("/api/downloads",)),
)


@dataclass(slots=True)
class FeatureLoader:
    """Which features of one app are loaded; includes the missing ones' routers on demand."""

    app: FastAPI
    features: tuple[Feature, ...] = FEATURES
    loaded: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return len(self.loaded) == len(self.features)

    def load(self, wanted: Iterable[Feature]) -> None:
        for feature in wanted:
            if feature.name in self.loaded:
                continue
            started = time.perf_counter()
            for module_name in feature.modules:
                module: Any = importlib.import_module(module_name)
                self.app.include_router(module.router)
            self.loaded.add(feature.name)
            self.app.openapi_schema = None
            log.debug("feature %s loaded in %.1f ms", feature.name, (time.perf_counter() - started) * 1000)

    def load_all(self) -> None:
        if not self.complete:
            self.load(self.features)

    def load_for(self, path: str) -> None:
        """Load the features that claim ``path``; a path nobody claims loads them all (it is then
        answered exactly as with the whole route table, 404 included)."""
        claiming = [f for f in self.features if f.claims(path)]
        if not claiming:
            self.load_all()
        else:
            self.load(f for f in claiming if f.name not in self.loaded)


class LazyFeatureMiddleware:
    """Loads the features a request's path needs before the router sees it (a no-op once all are in)."""

    def __init__(self, app: ASGIApp, loader: FeatureLoader) -> None:
        self.app = app
        self.loader = loader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.loader.complete:
            self.loader.load_for(scope["path"])
        await self.app(scope, receive, send)
