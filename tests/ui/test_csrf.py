"""CSRF protection: cross-origin state changes with the session cookie are refused; native clients work."""

from __future__ import annotations

from contextlib import closing

import pytest

from moontv.web.csrf import same_origin

FAVORITE = {"key": "src+1", "favorite": {"title": "T", "source_name": "S"}}


def test_cookie_session_refuses_other_origins(live_app) -> None:
    server = live_app()
    own = server.url
    with closing(server.login()) as client:
        refused = client.post("/api/favorites", json=FAVORITE, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403 and refused.json() == {"error": "跨站请求已被拒绝"}
        assert client.get("/api/favorites").json() == {}  # nothing was stored
        for headers in (
            {"Origin": "null"},
            {"Origin": own.replace("127.0.0.1", "localhost")},
            {"Origin": own[:-1] + ("0" if own[-1] != "0" else "1")},  # another port
            {"Referer": "https://evil.example/page"},
            {"Origin": own, "Sec-Fetch-Site": "cross-site"},
        ):
            assert client.post("/api/favorites", json=FAVORITE, headers=headers).status_code == 403, headers
        assert (
            client.delete("/api/playrecords", headers={"Origin": "https://evil.example"}).status_code == 403
        )
        assert client.post("/api/logout", headers={"Origin": "https://evil.example"}).status_code == 403
        # same origin, by Origin or by Referer, is fine; safe methods are never checked
        assert client.post("/api/favorites", json=FAVORITE, headers={"Origin": own}).status_code == 200
        assert (
            client.post("/api/favorites", json=FAVORITE, headers={"Referer": f"{own}/play?x=1"}).status_code
            == 200
        )
        assert client.get("/api/favorites", headers={"Origin": "https://evil.example"}).status_code == 200
        assert (
            client.post(
                "/api/favorites", json=FAVORITE, headers={"Sec-Fetch-Site": "same-origin", "Origin": own}
            ).status_code
            == 200
        )


def test_native_clients_without_browser_headers_keep_working(live_app) -> None:
    server = live_app()
    with closing(server.login()) as client:  # cookie, and neither Origin nor Referer: a TV app
        assert client.post("/api/favorites", json=FAVORITE).status_code == 200
        assert client.delete("/api/favorites?key=src%2B1").status_code == 200
        token = client.post("/api/login", json={"username": "admin", "password": "test"}).json()["token"]
    with server.client() as bearer:  # a Bearer token cannot be attached by another site's page
        headers = {"Authorization": f"Bearer {token}", "Origin": "https://some-web-client.example"}
        assert bearer.post("/api/favorites", json=FAVORITE, headers=headers).status_code == 200


def test_login_csrf_is_refused(live_app) -> None:
    server = live_app()
    with server.client() as client:
        body = {"username": "admin", "password": "test"}
        assert (
            client.post("/api/login", json=body, headers={"Origin": "https://evil.example"}).status_code
            == 403
        )
        assert "auth" not in client.cookies
        assert client.post("/api/login", json=body, headers={"Origin": server.url}).status_code == 200
        assert (
            client.post("/api/register", json=body, headers={"Origin": "https://evil.example"}).status_code
            == 403
        )


def test_behind_a_proxy_the_forwarded_host_counts(live_app) -> None:
    server = live_app(None, trusted_proxies="127.0.0.1/32")
    with closing(server.login()) as client:
        headers = {
            "Origin": "https://tv.example.com",
            "X-Forwarded-Host": "tv.example.com",
            "X-Forwarded-Proto": "https",
        }
        assert client.post("/api/favorites", json=FAVORITE, headers=headers).status_code == 200
    untrusting = live_app(None)  # the default: no trusted proxy
    with closing(untrusting.login()) as client:
        headers = {"Origin": "https://tv.example.com", "X-Forwarded-Host": "tv.example.com"}
        assert client.post("/api/favorites", json=FAVORITE, headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("source", "hosts", "expected"),
    [
        ("https://tv.example.com", ["tv.example.com"], True),
        ("http://tv.example.com", ["tv.example.com"], True),  # TLS may end at a proxy
        ("https://tv.example.com:443", ["tv.example.com"], True),
        ("https://TV.Example.com/path?q=1", ["tv.example.com"], True),
        ("http://127.0.0.1:3000", ["127.0.0.1:3000"], True),
        ("http://127.0.0.1:3001", ["127.0.0.1:3000"], False),
        ("http://127.0.0.1", ["127.0.0.1:3000"], False),
        ("https://tv.example.com:8443", ["tv.example.com"], False),
        ("http://[::1]:3000", ["[::1]:3000"], True),
        ("https://tv.example.com.evil.example", ["tv.example.com"], False),
        ("https://user@tv.example.com", ["tv.example.com"], True),
        ("null", ["tv.example.com"], False),
        ("file:///etc/passwd", ["tv.example.com"], False),
        ("https://", ["tv.example.com"], False),
        ("https://tv.example.com", [""], False),
        ("https://tv.example.com", ["bad:port:x"], False),
        ("https://internal:8080", ["internal:8080", "tv.example.com"], True),
    ],
)
def test_same_origin_rules(source: str, hosts: list[str], expected: bool) -> None:
    assert same_origin(source, hosts) is expected
