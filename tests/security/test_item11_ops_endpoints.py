"""Item 11: /metrics, the OpenAPI description and /docs are not public by accident."""

from __future__ import annotations

import socket
from typing import Any

from tests.conftest import free_port
from tests.security.conftest import add_user


def _raw_get(port: int, path: str, token: str = "") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def test_metrics_and_api_description_are_not_anonymous(live_app: Any) -> None:
    server = live_app(None)
    add_user(server, "alice", "alice-pw")
    with server.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/api/openapi.json").status_code == 401
        assert anonymous.get("/docs").status_code == 404
    alice = server.login("alice", "alice-pw")
    assert alice.get("/metrics").status_code == 401
    assert alice.get("/api/openapi.json").status_code == 403
    owner = server.login()
    assert owner.get("/metrics").status_code == 200
    assert "/api/login" in owner.get("/api/openapi.json").json()["paths"]


def test_the_token_and_the_unpublished_listener_let_a_scraper_in(live_app: Any) -> None:
    port = free_port()
    server = live_app(None, metrics_token="scrape-secret", metrics_port=port)
    with server.client() as scraper:
        assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = scraper.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert answer.status_code == 200 and b"moontv_http_requests_total" in answer.content
    assert _raw_get(port, "/metrics").startswith(b"HTTP/1.1 401")
    listened = _raw_get(port, "/metrics", "scrape-secret")
    assert listened.startswith(b"HTTP/1.1 200") and b"moontv_http_requests_total" in listened
    assert _raw_get(port, "/api/login").startswith(b"HTTP/1.1 404")  # nothing else is served there


def test_the_listener_without_a_token_serves_metrics_only(live_app: Any) -> None:
    port = free_port()
    live_app(None, metrics_port=port)
    assert _raw_get(port, "/metrics").startswith(b"HTTP/1.1 200")
    assert _raw_get(port, "/").startswith(b"HTTP/1.1 404")
