"""A fake DNS and a fake "internet" for the SSRF guard: public names and addresses that land on
local test servers, while every check in the guard runs unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore

from tests.support import LiveServer

PUBLIC_IP = "93.184.216.34"  # a global address: what a public CDN name would resolve to


class FakeInternet(httpcore.AsyncNetworkBackend):
    """Connections to public addresses in ``routes`` land on local servers; nothing else connects."""

    def __init__(self, routes: dict[str, int]) -> None:
        self.routes = routes
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        if host not in self.routes:
            raise httpcore.ConnectError(f"no route to {host}")
        return await self.inner.connect_tcp("127.0.0.1", self.routes[host], timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def install_fake_dns(live: LiveServer, table: dict[str, list[str]]) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        if host in ("localhost", "localhost."):
            return ["127.0.0.1", "::1"]
        raise OSError(-2, "Name or service not known")

    live.state.netguard.resolver = resolver
