"""Channel health: is each stream URL reachable, and how fast does it answer?

A check is one GET that reads at most ``PROBE_BYTES``: reachable when the answer is 2xx and,
for an HLS URL, the body looks like a playlist. Non-http(s) URLs (rtmp, udp, p2p, ...) are not
checked from the server and count as unknown. Concurrency is bounded by a shared semaphore.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from moontv.live.playlist import web_playable

PROBE_BYTES = 64 * 1024
MAX_CHECKED_URLS = 5000
CHECK_BUDGET = 120.0  # seconds for one source's check; URLs not reached by then stay unchecked


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    latency_ms: int | None
    checked_at: float  # epoch seconds
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "latencyMs": self.latency_ms,
            "checkedAt": int(self.checked_at * 1000),
            "error": self.error,
        }


class HealthBook:
    """The latest result per (source, URL), kept for the current playlist's URLs only."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Health]] = {}

    def record(self, source: str, results: dict[str, Health]) -> None:
        self.results[source] = dict(results)

    def get(self, source: str, url: str) -> Health | None:
        return self.results.get(source, {}).get(url)

    def sort(self, source: str, urls: list[str]) -> list[str]:
        book = self.results.get(source, {})

        def rank(item: tuple[int, str]) -> tuple[int, int, int]:
            index, url = item
            health = book.get(url)
            if health is None:
                return (1, 0, index)
            if not health.ok:
                return (2, 0, index)
            return (0, health.latency_ms or 0, index)

        return [u for _, u in sorted(enumerate(urls), key=rank)]

    def summary(self, source: str) -> dict[str, int]:
        book = self.results.get(source, {})
        alive = sum(1 for h in book.values() if h.ok)
        return {"checked": len(book), "alive": alive, "dead": len(book) - alive}


def _looks_hls(url: str, content_type: str) -> bool:
    return ".m3u8" in url.lower() or "mpegurl" in content_type.lower()


async def probe(client: httpx.AsyncClient, url: str, ua: str, timeout: float) -> Health:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers={"User-Agent": ua, "Accept": "*/*"}) as response:
                latency = int((time.perf_counter() - started) * 1000)
                if response.status_code >= 400:
                    return Health(False, latency, time.time(), f"HTTP {response.status_code}")
                head = b""
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= PROBE_BYTES:
                        break
                if _looks_hls(str(response.url), response.headers.get("content-type", "")) and (
                    b"#EXTM3U" not in head[:1024]
                ):
                    return Health(False, latency, time.time(), "not a playlist")
                if not head:
                    return Health(False, latency, time.time(), "empty body")
                return Health(True, latency, time.time())
    except TimeoutError:
        return Health(False, None, time.time(), "timeout")
    except httpx.HTTPError as exc:
        return Health(False, None, time.time(), type(exc).__name__)


async def check_urls(
    client: httpx.AsyncClient,
    urls: Iterable[str],
    ua: str,
    *,
    limiter: asyncio.Semaphore,
    timeout: float,
    budget: float = CHECK_BUDGET,
) -> dict[str, Health]:
    unique = list(dict.fromkeys(u for u in urls if web_playable(u)))[:MAX_CHECKED_URLS]
    results: dict[str, Health] = {}

    async def one(url: str) -> None:
        async with limiter:
            results[url] = await probe(client, url, ua, timeout)

    tasks = [asyncio.ensure_future(one(u)) for u in unique]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=budget)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return results
