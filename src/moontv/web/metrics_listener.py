"""A separate, unpublished listener for Prometheus (``MOONTV_METRICS_PORT``, off by default).

Compose and the Helm chart scrape this port on their private network and never publish it,
so the scraper needs no secret while ``/metrics`` on the public port stays closed to
anonymous clients. It answers ``GET /metrics`` only; a request is bounded (8 KiB of headers,
5 s), and ``MOONTV_METRICS_TOKEN``, when set, is required here too.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger("moontv")
MAX_HEAD = 8 * 1024


class MetricsListener:
    def __init__(self, render: Callable[[], bytes], token: str) -> None:
        self._render = render
        self._token = token
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_HEAD)
        log.info("metrics listener on %s:%d", host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            status, body, kind = self._answer(head)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, head: bytes) -> tuple[str, bytes, str]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[1].split("?")[0] != "/metrics":
            return "404 Not Found", b"not found\n", "text/plain"
        if self._token:
            given = ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "authorization" and value.strip()[:7].lower() == "bearer ":
                    given = value.strip()[7:]
            if not hmac.compare_digest(given.encode(), self._token.encode()):
                return "401 Unauthorized", b"unauthorized\n", "text/plain"
        return "200 OK", self._render(), CONTENT_TYPE_LATEST
