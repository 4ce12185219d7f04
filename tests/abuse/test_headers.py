"""Item 9: HSTS over HTTPS only, per-user answers vary by cookie, the image cache counts disk blocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from moontv.streams.images import Image, ImageProxy, on_disk
from moontv.streams.netguard import NetGuard
from tests.abuse.harness import ServerProcess
from tests.support import LiveServer, settings_for, write_config


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(**overrides: object) -> LiveServer:
        write_config(tmp_path / "config.json", {})
        server = LiveServer(settings_for(tmp_path, **overrides)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def test_hsts_only_when_a_trusted_proxy_says_https(start: Callable[..., LiveServer]) -> None:
    """Base code: no Strict-Transport-Security at all."""
    server = start(trusted_proxies="127.0.0.1/32")
    with server.client() as client:
        assert "strict-transport-security" not in client.get("/api/health").headers
        https = client.get("/api/health", headers={"X-Forwarded-Proto": "https"})
        assert https.headers["strict-transport-security"] == "max-age=15552000"
        login = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert login.headers["strict-transport-security"] == "max-age=15552000"


def test_hsts_ignores_forwarded_proto_from_untrusted_peers(
    server_factory: Callable[..., ServerProcess],
) -> None:
    # the real command line (uvicorn's own proxy-header handling off), peer 127.0.0.1 not trusted
    server = server_factory(MOONTV_TRUSTED_PROXIES="", MOONTV_TRUST_PROXY="false")
    with server.client() as client:
        answer = client.get("/api/health", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in answer.headers


def test_privately_cached_per_user_answers_vary_by_cookie(start: Callable[..., LiveServer]) -> None:
    """Base code: ``private, max-age`` without ``Vary``: after switching accounts the browser could
    show the previous user's cached answer."""
    server = start()
    client = server.login()
    for path in ("/api/search/resources", "/api/config/sources"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["cache-control"].startswith("private")
        assert "Cookie" in answer.headers["vary"]


def test_image_cache_budget_counts_disk_blocks(tmp_path: Path) -> None:
    """Base code: 400 tiny images counted as ~40 KB against the budget while taking ~1.6 MB of blocks."""
    budget = 256 * 1024
    proxy = ImageProxy(
        NetGuard(""),
        allow_hosts=("img.example.com",),
        max_bytes=1024 * 1024,
        timeout=5,
        cache_dir=tmp_path / "images",
        disk_bytes=budget,
    )
    for n in range(400):
        proxy._disk_put(f"{n:064x}", Image("image/png", b"\x89PNG" + bytes(96), 0.0))
    used = sum(on_disk(p.stat()) for p in (tmp_path / "images").glob("*/*.img"))
    print(f"ABUSE 400 tiny images, budget {budget} B: {used} B of blocks on disk")
    assert used <= budget
    asyncio.run(proxy.aclose())
