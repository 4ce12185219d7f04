"""Channel health checks: verdicts, latency ordering, the concurrency bound and the time budget."""

from __future__ import annotations

import asyncio
import time

import httpx

from moontv.live.health import Health, HealthBook, check_urls


def _client(delays: dict[str, float], state: dict[str, int]) -> httpx.AsyncClient:
    async def handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            await asyncio.sleep(delays.get(request.url.path, 0.0))
        finally:
            state["now"] -= 1
        if request.url.path.startswith("/dead"):
            return httpx.Response(404)
        if request.url.path.startswith("/html"):
            return httpx.Response(200, text="<html>", headers={"content-type": "text/html"})
        return httpx.Response(
            200, text="#EXTM3U\n", headers={"content-type": "application/vnd.apple.mpegurl"}
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_verdicts_bound_and_budget() -> None:
    state = {"now": 0, "max": 0}
    urls = [f"http://h.example/ok{i}.m3u8" for i in range(12)]
    urls += ["http://h.example/dead/x.m3u8", "http://h.example/html/x.m3u8", "rtmp://h.example/x", urls[0]]
    async with _client({"/slow.m3u8": 5.0}, state) as client:
        results = await check_urls(client, urls, "UA", limiter=asyncio.Semaphore(3), timeout=2)
        assert state["max"] <= 3
        assert len(results) == 14  # rtmp is not checked, the duplicate once
        assert all(results[u].ok for u in urls[:12])
        assert results["http://h.example/dead/x.m3u8"].error == "HTTP 404"
        assert results["http://h.example/html/x.m3u8"].error == "not a playlist"
        started = time.monotonic()
        slow = await check_urls(
            client, ["http://h.example/slow.m3u8"], "UA", limiter=asyncio.Semaphore(1), timeout=10, budget=0.3
        )
        assert slow == {} and time.monotonic() - started < 4.5  # the 0.3 s budget, not the 5 s answer
        timed_out = await check_urls(
            client, ["http://h.example/slow.m3u8"], "UA", limiter=asyncio.Semaphore(1), timeout=0.2
        )
        assert timed_out["http://h.example/slow.m3u8"].error == "timeout"


def test_book_sorts_alive_by_latency_then_unknown_then_dead() -> None:
    book = HealthBook()
    book.record(
        "s",
        {"a": Health(False, None, 0, "timeout"), "b": Health(True, 300, 0), "c": Health(True, 20, 0)},
    )
    assert book.sort("s", ["a", "b", "x", "c"]) == ["c", "b", "x", "a"]
    assert book.summary("s") == {"checked": 3, "alive": 2, "dead": 1}
    assert book.sort("other", ["a", "b"]) == ["a", "b"]
