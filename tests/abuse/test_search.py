"""Item 3: search is neither a memory flood (byte-sized cache) nor an upstream flood
(per-user rate, per-source and total concurrency, page budget)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.abuse.harness import HEALTH_LIMIT_SECONDS, RSS_LIMIT_MB, HealthWatch, ServerProcess, report
from tests.abuse.hostile import SlowCms


def add_user(admin: httpx.Client, name: str, password: str = "pw-123") -> None:
    response = admin.post(
        "/api/admin/user", json={"action": "add", "targetUsername": name, "targetPassword": password}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def long_series() -> Iterator[SlowCms]:
    with SlowCms(2, pagecount=5, per_page=20, episodes=300) as cms:
        yield cms


def test_search_cache_is_bounded_by_bytes(
    server_factory: Callable[..., ServerProcess], long_series: SlowCms
) -> None:
    """Base code: the count-sized cache kept every page of every query (30 queries: 80 MB -> 1.8 GB)."""
    server = server_factory(long_series.sites(), MOONTV_SEARCH_RATE_LIMIT="1000", MOONTV_SEARCH_CACHE_MB="32")
    client = server.login()
    with HealthWatch(server.url) as watch:
        for n in range(25):
            response = client.get("/api/search", params={"q": f"长剧{n:02d}"})
            assert response.status_code == 200, response.text
            assert len(response.json()["results"]) == 2 * 5 * 20
    report("25 long-series searches (2 sources x 5 pages)", watch, server)
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies
    assert server.vmhwm_mb() < RSS_LIMIT_MB
    assert long_series.requests == 25 * 2 * 5


def test_search_rate_limit_per_user_in_every_format(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(MOONTV_SEARCH_RATE_LIMIT="3")
    admin = server.login()
    add_user(admin, "alice")
    alice = server.login("alice", "pw-123")
    for n in range(3):
        assert alice.get("/api/search", params={"q": f"q{n}"}).status_code == 200
    limited = [
        alice.get("/api/search", params={"q": "x"}),
        alice.get("/api/search", params={"q": "x", "stream": "1"}),
        alice.get("/api/search/ws", params={"q": "x"}),
        alice.get("/api/search/one", params={"q": "x", "resourceId": "s0"}),
    ]
    for response in limited:
        assert response.status_code == 429, response.text
        assert int(response.headers["retry-after"]) >= 1
    assert admin.get("/api/search", params={"q": "x"}).status_code == 200  # another user is not affected
    report("per-user search rate: 4th..7th search of alice answered 429 (JSON, NDJSON, SSE, one)")


def test_search_fanout_is_capped_per_source_in_total_and_by_page_budget(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """Base code: one search with max pages 50 made 700 upstream requests, all at once."""
    with SlowCms(4, pagecount=50, per_page=2, episodes=2, delay=0.15) as cms:
        server = server_factory(
            cms.sites(),
            MOONTV_SEARCH_MAX_PAGE="50",
            MOONTV_SEARCH_RATE_LIMIT="100",
            MOONTV_SEARCH_SOURCE_CONCURRENCY="2",
            MOONTV_SEARCH_TOTAL_CONCURRENCY="5",
            MOONTV_SEARCH_PAGE_BUDGET="40",
            MOONTV_UPSTREAM_TIMEOUT="15",
        )
        client = server.login()
        statuses: list[int] = []

        def search(n: int) -> None:
            statuses.append(client.get("/api/search", params={"q": f"并发{n}"}).status_code)

        with HealthWatch(server.url) as watch:
            threads = [threading.Thread(target=search, args=(n,)) for n in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        report(
            f"3 concurrent searches, 4 sources x 50 pages: {cms.requests} upstream requests, "
            f"max in flight {cms.max_total_in_flight} total / {max(cms.max_in_flight.values())} per source",
            watch,
            server,
        )
    assert statuses == [200, 200, 200]
    assert cms.requests <= 3 * 40
    assert cms.max_total_in_flight <= 5
    assert max(cms.max_in_flight.values()) <= 2
    assert watch.worst < HEALTH_LIMIT_SECONDS
