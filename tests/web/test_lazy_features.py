"""Feature routers and services load on first use: start-up imports only the core, a request loads the
feature its path belongs to, an unknown path loads everything (and is still a 404), and the route table
seen by a walk or the OpenAPI description is always complete."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from starlette.routing import BaseRoute, Route, WebSocketRoute

from moontv.web.features import CORE, FEATURES
from tests.support import LiveServer, settings_for, write_config

# Never imported by `moontv serve` before a request needs them (each costs start-up time or idle memory).
HEAVY_AT_START = ("aiohttp", "httpx", "jinja2", "moontv.sources.client", "moontv.streams.service")


def _paths(routes: list[BaseRoute]) -> list[str]:
    out: list[str] = []
    for route in routes:
        if hasattr(route, "original_router"):
            out += _paths(route.original_router.routes)
        elif isinstance(route, Route | WebSocketRoute):
            out.append(route.path)
    return out


def test_every_route_is_claimed_by_its_own_feature() -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names)) and FEATURES[0] is CORE
    seen = 0
    for feature in FEATURES:
        for module_name in feature.modules:
            paths = _paths(importlib.import_module(module_name).router.routes)
            assert paths, module_name
            for path in paths:
                assert feature.claims(path), (feature.name, path)
            seen += len(paths)
    assert seen > 80


def test_claims_match_whole_path_segments() -> None:
    pages = next(f for f in FEATURES if f.name == "pages")
    assert pages.claims("/") and pages.claims("/login") and not pages.claims("/loginx")
    assert not pages.claims("/api/health")  # "/" claims the home page only
    search = next(f for f in FEATURES if f.name == "search")
    assert search.claims("/api/search/one") and not search.claims("/api/searchhistory")


def test_start_up_imports_no_feature_code() -> None:
    probe = (
        "import json, sys\n"
        "from moontv.app import create_app\n"
        "from moontv.settings import load_settings\n"
        "create_app(load_settings())\n"
        f"print(json.dumps([m for m in {list(HEAVY_AT_START)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PASSWORD": "x", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_features_load_on_first_use_over_http(tmp_path) -> None:
    write_config(tmp_path / "config.json", {})
    server = LiveServer(settings_for(tmp_path, upstream_timeout=1.0)).start()
    try:
        loader = server.app.features
        client = server.client()
        assert client.get("/api/health").status_code == 200
        assert loader.loaded == {"core"}
        services = server.state.services.__dict__
        assert "cms" not in services and "danmaku" not in services

        admin = server.login()
        assert admin.get("/api/danmaku/config").json() == {"enabled": False}
        assert loader.loaded == {"core", "danmaku"}
        assert "danmaku" in services and "cms" not in services

        assert admin.get("/api/search?q=x").status_code == 200
        assert "search" in loader.loaded and "cms" in services

        assert client.get("/no/such/page", headers={"accept": "application/json"}).status_code == 404
        assert loader.complete
        assert client.head("/login").status_code == 200
    finally:
        server.stop()


def test_route_walk_and_openapi_see_every_route(tmp_path) -> None:
    write_config(tmp_path / "config.json", {})
    server = LiveServer(settings_for(tmp_path)).start()
    try:
        assert server.app.features.loaded == {"core"}
        spec = server.app.openapi()
        assert server.app.features.complete
        expected = {
            p for f in FEATURES for m in f.modules for p in _paths(importlib.import_module(m).router.routes)
        }
        assert expected - {"/api/search/ws"} <= set(spec["paths"])
        assert set(_paths(server.app.routes)) >= expected
    finally:
        server.stop()
