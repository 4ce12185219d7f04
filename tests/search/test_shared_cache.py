"""The shared (Redis/Kvrocks) second level of the search cache: replicas ask an upstream once per
query and page; the cache is bounded in entries, value size and time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from moontv.search.shared_cache import INDEX_KEY, PREFIX, SharedPageCache
from moontv.sources.models import SearchPage
from tests.support import LiveServer, settings_for, write_config


def _upstream_requests_per_search(tmp_path: Path, redis_url: str, fake, n: int, **overrides) -> list[int]:  # type: ignore[no-untyped-def]
    """Each replica in turn runs the same search twice; upstream requests counted after each search."""
    counts = []
    servers = []
    try:
        for i in range(n):
            root = tmp_path / f"r{i}"  # a config file of its own: the replicas share Redis only
            root.mkdir()
            write_config(root / "config.json", {"a": fake.base_url})
            settings = settings_for(root, storage="redis", redis_url=redis_url, **overrides)
            servers.append(LiveServer(settings).start())
        before = len(fake.requests)
        for server in servers:
            client = server.login()
            for _ in range(2):
                answer = client.get("/api/search", params={"q": "流浪星球"})
                assert answer.status_code == 200 and answer.json()["results"]
                counts.append(len(fake.requests) - before)
                before = len(fake.requests)
    finally:
        for server in servers:
            server.stop()
    return counts


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-process"])
def test_three_replicas_ask_the_upstream_once(
    tmp_path: Path, clean_redis: str, fake_cms_factory, shared: bool
) -> None:  # type: ignore[no-untyped-def]
    fake = fake_cms_factory()
    counts = _upstream_requests_per_search(tmp_path, clean_redis, fake, 3, search_shared_cache=shared)
    print(f"upstream requests per search, 3 replicas, shared={shared}: {counts}")
    if shared:
        assert counts[0] >= 1 and sum(counts[1:]) == 0
    else:
        assert counts[0] >= 1 and counts[2] == counts[0] and counts[4] == counts[0]
        assert counts[1] == counts[3] == counts[5] == 0  # each process's own cache still works


async def test_bounded_in_entries_size_and_time(clean_redis: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(clean_redis, decode_responses=True)
    sync = redis.Redis.from_url(clean_redis)
    try:
        cache = SharedPageCache(lambda: client, max_entries=3, max_value_bytes=2000)
        page = SearchPage(items=[{"title": "t", "id": "1"}], raw_count=1, pagecount=2, page=1, extra={"x": 1})
        for i in range(5):
            await cache.put(("site", "api", f"q{i}", 1, True), page, ttl=60 + i)
        assert sync.zcard(INDEX_KEY) == 3
        assert await cache.get(("site", "api", "q0", 1, True)) is None  # the earliest to expire went first
        got = await cache.get(("site", "api", "q4", 1, True))
        assert got == page
        keys = list(sync.scan_iter(match=f"{PREFIX}*"))
        assert len(keys) == 3 and all(0 < sync.pttl(k) <= 64_000 for k in keys)

        big = SearchPage(items=[{"title": "x" * 5000}], raw_count=1, pagecount=1)
        await cache.put(("site", "api", "big", 1, True), big, ttl=60)
        assert await cache.get(("site", "api", "big", 1, True)) is None

        await cache.put(("site", "api", "short", 1, True), page, ttl=0.2)
        time.sleep(0.4)
        assert await cache.get(("site", "api", "short", 1, True)) is None
    finally:
        await client.aclose()
        sync.close()


async def test_an_unreachable_redis_is_a_miss_not_an_error() -> None:
    from redis.asyncio import Redis

    client = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        cache = SharedPageCache(lambda: client, timeout=0.5)
        started = time.monotonic()
        assert await cache.get(("s", "a", "q", 1, True)) is None
        await cache.put(("s", "a", "q", 1, True), SearchPage(items=[], raw_count=1, pagecount=1), ttl=60)
        assert time.monotonic() - started < 20  # bounded: no hang on the dead server
    finally:
        await client.aclose()
