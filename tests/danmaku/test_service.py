"""The danmaku service against a fake danmu_api server, through the SSRF guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from moontv.danmaku.cache import ByteLRU
from moontv.danmaku.client import DanmuApiClient, DanmuApiError
from moontv.danmaku.service import DanmakuService, DanmakuUnavailable, Limits, clean_choice
from moontv.storage.sqlite import SqliteStorage
from moontv.streams.netguard import NetGuard
from tests.fakes.danmu_fake import FakeDanmuApi


def _service(base: str, storage: SqliteStorage, *, guard: NetGuard, **limits: float) -> DanmakuService:
    http = guard.client(timeout=float(limits.pop("timeout", 5.0)))

    async def base_url() -> str:
        return base

    return DanmakuService(
        DanmuApiClient(http, max_body=int(limits.pop("max_body", 8 << 20))),
        base_url,
        storage,
        Limits(**limits),
    )  # type: ignore[arg-type]


@pytest.fixture
async def storage(tmp_path) -> AsyncIterator[SqliteStorage]:  # type: ignore[no-untyped-def]
    s = SqliteStorage(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


LOCAL = NetGuard("127.0.0.1")


async def test_search_and_match(danmu_fake: FakeDanmuApi, storage: SqliteStorage) -> None:
    service = _service(danmu_fake.url, storage, guard=LOCAL)
    animes = await service.search("星际迷航")
    assert [a["animeId"] for a in animes] == [1, 2, 3]
    assert animes[1]["episodes"][4] == {"episodeId": 2005, "episodeTitle": "第5集"}
    result = await service.match("星际迷航 第二季", "第5集", 4, "qq")
    assert result["fileName"] == "星际迷航 S2E05 @qq"
    assert result["match"]["episodeId"] == 2005 and result["match"]["animeTitle"] == "星际迷航 第二季"
    special = await service.match("星际迷航", "特别篇", 12, "bilibili1")
    assert special["match"]["episodeId"] == 3001
    missing = await service.match("没有这部", "第1集", 0, "bilibili1")
    assert missing["match"] is None
    posted = [r for r in danmu_fake.requests if r["path"] == "/api/v2/match"]
    assert orjson.loads(posted[0]["body"]) == {"fileName": "星际迷航 S2E05 @qq"}


async def test_comments_are_parsed_and_cached_per_episode(
    danmu_fake: FakeDanmuApi, storage: SqliteStorage
) -> None:
    service = _service(danmu_fake.url, storage, guard=LOCAL)
    bodies = await asyncio.gather(*(service.comments(1003) for _ in range(5)))
    track = orjson.loads(bodies[0])
    assert track["count"] == 40 and track["comments"][0] == [0.0, 1, 0xFFFFFF, "1003#0"]
    assert [c[0] for c in track["comments"]] == sorted(c[0] for c in track["comments"])
    await service.comments(1003)
    fetches = [r for r in danmu_fake.requests if r["path"] == "/api/v2/comment/1003"]
    assert len(fetches) == 1 and fetches[0]["query"] == {"format": "xml"}
    assert all(b == bodies[0] for b in bodies)


@pytest.mark.parametrize(("fault", "status"), [("500", 502), ("garbage", 502), ("huge", 502), ("slow", 504)])
async def test_broken_servers_give_clear_errors(
    danmu_fake: FakeDanmuApi, storage: SqliteStorage, fault: str, status: int
) -> None:
    danmu_fake.fault = fault
    service = _service(danmu_fake.url, storage, guard=LOCAL, timeout=1.0, max_body=1 << 20)
    with pytest.raises(DanmuApiError) as caught:
        await service.comments(1001)
    assert caught.value.status == status
    danmu_fake.fault = None
    assert orjson.loads(await service.comments(1001))["count"] == 40  # failures are not cached


async def test_private_address_is_refused_without_the_operator_allow_list(
    danmu_fake: FakeDanmuApi, storage: SqliteStorage
) -> None:
    service = _service(danmu_fake.url, storage, guard=NetGuard())
    with pytest.raises(DanmuApiError) as caught:
        await service.search("星际迷航")
    assert caught.value.status == 502 and "不可用" in caught.value.message
    assert danmu_fake.requests == []


async def test_unconfigured(storage: SqliteStorage) -> None:
    service = _service("  ", storage, guard=LOCAL)
    assert not await service.configured()
    with pytest.raises(DanmakuUnavailable):
        await service.search("x")


def test_byte_lru_keeps_its_budget() -> None:
    now = [0.0]
    cache = ByteLRU(budget=100, ttl=10, clock=lambda: now[0])
    for n in range(6):
        cache.put(n, bytes(20))
    assert cache.size <= 100 and cache.get(0) is None and cache.get(5) == bytes(20)
    cache.get(2)
    cache.put(9, bytes(20))
    cache.put(10, bytes(20))
    assert cache.get(1) is None and cache.get(3) is None  # the least recently used went first
    assert cache.get(2) is not None and cache.get(4) is not None
    cache.put("big", bytes(30))  # over a quarter of the budget: not kept
    assert cache.get("big") is None
    now[0] = 11
    assert cache.get(10) is None and cache.size <= 100


def test_clean_choice() -> None:
    good = {"animeId": 2, "animeTitle": "x", "keyword": "星际迷航", "offset": -1, "extra": 1}
    assert clean_choice(good) == {"animeId": 2, "animeTitle": "x", "keyword": "星际迷航", "offset": -1}
    for bad in (
        None,
        [],
        {"animeId": "x"},
        good | {"offset": True},
        good | {"keyword": ""},
        good | {"offset": 10**6},
    ):
        assert clean_choice(bad) is None
