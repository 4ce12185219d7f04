"""HEAD works wherever GET does: every GET route of the route table, over HTTP."""

from __future__ import annotations

import re

from starlette.routing import Route

from tests.support import LiveServer, settings_for, write_config


def _get_routes(routes) -> list[Route]:
    """The route table, with included routers walked into."""
    out: list[Route] = []
    for route in routes:
        if hasattr(route, "original_router"):
            out += _get_routes(route.original_router.routes)
        elif isinstance(route, Route) and "GET" in (route.methods or ()):
            out.append(route)
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_get_route_answers_head(tmp_path) -> None:
    write_config(tmp_path / "config.json", {})
    server = LiveServer(settings_for(tmp_path, upstream_timeout=1.0)).start()
    try:
        routes = _get_routes(server.app.routes)
        assert len(routes) > 20
        anonymous = server.client()
        admin = server.login()
        checked = []
        for route in routes:
            path = _concrete(route.path)
            for client in (anonymous, admin):
                got = client.get(path)
                head = client.head(path)
                assert head.status_code != 405, path
                assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
                assert head.content == b"", path
            checked.append(path)
        assert "/login" in checked and "/api/health" in checked
        assert anonymous.head("/login").headers["content-type"].startswith("text/html")
        assert anonymous.request("PUT", "/login").status_code == 405  # only GET gained HEAD
    finally:
        server.stop()
