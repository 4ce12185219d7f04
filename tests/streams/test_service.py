"""Stream service pieces: per-source options, URL signing and mapping, the single-flight cache."""

from __future__ import annotations

import asyncio
import time

import pytest

from moontv.config.view import AdminConfigView
from moontv.streams.netguard import NetGuard
from moontv.streams.service import (
    DEFAULT_USER_AGENT,
    SingleFlightCache,
    SourceOptions,
    StreamService,
    source_options,
)

CONFIG = AdminConfigView.from_document(
    {
        "SourceConfig": [
            {
                "key": "a",
                "adFilter": False,
                "userAgent": "UA/1",
                "referer": "https://r.example/",
                "proxySegments": True,
            },
            {"key": "b", "adFilter": "off", "userAgent": "bad\r\nX-Injected: 1", "referer": 5},
            {"key": "c"},
        ]
    }
)


def test_source_options() -> None:
    a = source_options(CONFIG, "a")
    assert (a.ad_filter, a.user_agent, a.referer, a.proxy_segments) == (
        False,
        "UA/1",
        "https://r.example/",
        True,
    )
    assert a.headers()["Referer"] == "https://r.example/"
    b = source_options(CONFIG, "b")
    assert (
        b.ad_filter is False and b.user_agent == DEFAULT_USER_AGENT and b.referer is None
    )  # no header injection
    assert source_options(CONFIG, "c").ad_filter is True
    assert source_options(CONFIG, "c", ad_default=False).ad_filter is False
    unknown = source_options(CONFIG, "zz")
    assert unknown.key == "zz" and unknown.ad_filter is True and "Referer" not in unknown.headers()


async def test_signing_and_mapping() -> None:
    service = StreamService(guard=NetGuard(), secret=b"s" * 32, timeout=5)
    other = StreamService(guard=NetGuard(), secret=b"t" * 32, timeout=5)
    try:
        exp = int(time.time()) + 600
        sig = service.sign("segment", "a", "https://cdn.example/x.ts", "alice", exp)
        ok = ("segment", "a", "https://cdn.example/x.ts", "alice", str(exp))
        assert service.verify(*ok, sig)
        assert not service.verify("segment", "a", "https://cdn.example/y.ts", "alice", str(exp), sig)
        assert not service.verify("key", "a", "https://cdn.example/x.ts", "alice", str(exp), sig)
        assert not service.verify("segment", "b", "https://cdn.example/x.ts", "alice", str(exp), sig)
        assert not service.verify("segment", "a", "https://cdn.example/x.ts", "bob", str(exp), sig)
        assert not service.verify("segment", "a", "https://cdn.example/x.ts", "alice", str(exp + 1), sig)
        assert not service.verify(*ok, "")
        assert not other.verify(*ok, sig)
        past = int(time.time()) - 1
        stale = service.sign("segment", "a", "https://cdn.example/x.ts", "alice", past)
        assert not service.verify("segment", "a", "https://cdn.example/x.ts", "alice", str(past), stale)
        direct = service.mapper(SourceOptions(key="a"), "alice")
        assert direct("segment", "https://cdn.example/x.ts") == "https://cdn.example/x.ts"
        assert direct("key", "https://k.example/k").startswith(
            "key?url=https%3A%2F%2Fk.example%2Fk&source=a&exp="
        )
        assert (
            direct("playlist", "https://cdn.example/v.m3u8")
            == "m3u8?url=https%3A%2F%2Fcdn.example%2Fv.m3u8&source=a"
        )
        assert direct("key", "skd://drm") == "skd://drm"
        proxied = service.mapper(SourceOptions(key="a b", proxy_segments=True), "alice")
        assert proxied("map", "https://cdn.example/init.mp4").startswith(
            "segment?url="
        ) and "&source=a%20b&" in (proxied("segment", "https://cdn.example/x.ts"))
    finally:
        await service.aclose()
        await other.aclose()


async def test_ttl_cache_single_flight_survives_a_cancelled_caller() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(4, 60)
    calls = 0
    gate = asyncio.Event()

    async def loader() -> tuple[str, float | None]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "value", None

    first = asyncio.ensure_future(cache.load("k", loader))
    second = asyncio.ensure_future(cache.load("k", loader))
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    assert await second == ("value", True)
    assert calls == 1
    assert cache.get("k") == "value"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_ttl_cache_expiry_errors_and_no_keep() -> None:
    now = [0.0]
    cache: SingleFlightCache[int] = SingleFlightCache(2, 10, clock=lambda: now[0])

    async def boom() -> tuple[int, float | None]:
        raise RuntimeError("upstream down")

    with pytest.raises(RuntimeError):
        await cache.load("x", boom)
    assert cache.get("x") is None

    async def once() -> tuple[int, float | None]:
        return 1, 0

    assert await cache.load("y", once) == (1, False)
    assert cache.get("y") is None  # ttl 0: not kept
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3  # LRU bound
    now[0] = 11
    assert cache.get("c") is None  # expired
