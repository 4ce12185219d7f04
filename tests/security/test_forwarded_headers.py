"""Whom the app believes about the client: our ``X-Forwarded-*`` handling (``auth/proxies.py`` +
``web/forwarded.py``) next to uvicorn's ``ProxyHeadersMiddleware`` with the same trusted list, on
the chains an attacker can send, and through a real HAProxy (``option forwardfor``)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from moontv.web.forwarded import client_ip, is_https, public_host
from tests.conftest import free_port
from tests.support import settings_for

TRUSTED = "10.0.0.0/8"


def _scope(peer: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "client": (peer, 40000),
        "server": ("127.0.0.1", 3000),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers] + [(b"host", b"site")],
    }


def ours(tmp_path: Path, peer: str, headers: list[tuple[str, str]]) -> tuple[str, bool, str]:
    settings = settings_for(tmp_path, trusted_proxies=TRUSTED)
    request = Request(_scope(peer, headers))
    return client_ip(request, settings), is_https(request, settings), public_host(request, settings)


def uvicorns(peer: str, headers: list[tuple[str, str]]) -> tuple[str, bool, str]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    asyncio.run(ProxyHeadersMiddleware(app, trusted_hosts=TRUSTED)(_scope(peer, headers), None, None))  # type: ignore[arg-type]
    request = Request(seen)
    return seen["client"][0], seen["scheme"] == "https", request.headers.get("host", "")


def test_plain_chains_agree(tmp_path: Path) -> None:
    cases = [
        ("203.0.113.5", [("X-Forwarded-For", "198.51.100.1")]),  # untrusted peer: header ignored
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1")]),
        ("10.0.0.2", [("X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.0.0.9")]),  # spoofed left part
        ("10.0.0.2", [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.1")]),  # two lines
    ]
    for peer, headers in cases:
        assert ours(tmp_path, peer, headers)[0] == uvicorns(peer, headers)[0], (peer, headers)
    assert ours(tmp_path, *cases[2])[0] == "198.51.100.1"
    assert ours(tmp_path, *cases[3])[0] == "198.51.100.1"  # the proxy's own line wins


def test_where_ours_differs_and_why(tmp_path: Path) -> None:
    # A hop that is not an address behind a trusted one: uvicorn makes the junk the client (a new
    # throttling identity per request); ours stops at the last hop a trusted proxy vouched for.
    junk = ("10.0.0.2", [("X-Forwarded-For", "anything-at-all, 10.0.0.7")])
    assert uvicorns(*junk)[0] == "anything-at-all"
    assert ours(tmp_path, *junk)[0] == "10.0.0.7"
    # A dual-stack listener reports an IPv4 proxy as ::ffff:10.0.0.2: uvicorn does not trust it.
    mapped = ("::ffff:10.0.0.2", [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-Proto", "https")])
    assert uvicorns(*mapped)[:2] == ("::ffff:10.0.0.2", False)
    assert ours(tmp_path, *mapped)[:2] == ("198.51.100.1", True)
    # X-Forwarded-Host (TVBox links, CSRF origin check) is not handled by uvicorn at all.
    host = ("10.0.0.2", [("X-Forwarded-Host", "tv.example")])
    assert uvicorns(*host)[2] == "site"
    assert ours(tmp_path, *host)[2] == "tv.example"
    # Neither believes an untrusted peer.
    spoof = ("198.51.100.1", [("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-Proto", "https")])
    assert ours(tmp_path, *spoof) == ("198.51.100.1", False, "site")
    assert uvicorns(*spoof) == ("198.51.100.1", False, "site")


HAPROXY_CFG = """global
    maxconn 64
defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    option http-server-close
    option forwardfor
frontend web
    bind 127.0.0.1:{port}
    default_backend app
backend app
    server app 127.0.0.1:{app_port}
"""


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_behind_haproxy_a_client_cannot_pick_its_address(live_app: Any, tmp_path: Path) -> None:
    """HAProxy adds its own X-Forwarded-For line after the client's: rotating the client's line
    must not give a fresh login-throttling identity per try."""
    server = live_app(None, trusted_proxies="127.0.0.1/32", login_rate_limit=4, login_user_rate_limit=1000)
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(port=port, app_port=server.port))
    lb = subprocess.Popen(
        ["haproxy", "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "haproxy did not start"
                time.sleep(0.05)
        codes = []
        # The client connects from 127.0.0.2, the proxy from 127.0.0.1 (the only trusted peer).
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=url, timeout=30, trust_env=False, transport=transport) as client:
            for i in range(8):
                codes.append(
                    client.post(
                        "/api/login",
                        json={"username": f"u{i}", "password": "bad"},
                        headers={"X-Forwarded-For": f"203.0.113.{i}"},
                    ).status_code
                )
        assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}, codes
    finally:
        lb.terminate()
        lb.wait(10)
