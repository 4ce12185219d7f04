"""The scheduled refresh across replicas: one lease in storage, one replica refreshing per interval,
taken over when the holder dies, handed over when it stops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from moontv.scheduler import RefreshMetrics, RefreshScheduler
from moontv.storage.factory import create_storage
from tests.admin.test_validity_and_refresh import SlowCms, StubConfig
from tests.storage.test_contract import flush_redis_db, redis_db_url

LEASE_TEST_REDIS_DB = 4


@pytest.fixture(params=["sqlite", "redis"])
async def replicas_storage(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory of storages that all see the same data (one per replica)."""
    url = None
    if request.param == "redis":
        url = redis_db_url(request.getfixturevalue("redis_server"), LEASE_TEST_REDIS_DB)
        flush_redis_db(url)
    opened = []

    async def make():  # type: ignore[no-untyped-def]
        storage = create_storage(request.param, data_dir=tmp_path / "data", redis_url=url)
        await storage.open()
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        await storage.close()


def replica(storage, name: str) -> RefreshScheduler:  # type: ignore[no-untyped-def]
    scheduler = RefreshScheduler(storage=storage, config=StubConfig(), cms=SlowCms(0), owner="",
                                 interval=0.1, concurrency=2, budget=0.3, lookup_timeout=1,
                                 metrics=RefreshMetrics(CollectorRegistry()), holder=name,
                                 lease_margin=0)  # fmt: skip
    scheduler.next_delay = lambda: 0.05  # type: ignore[method-assign]
    return scheduler


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_one_replica_refreshes_and_another_takes_over(replicas_storage) -> None:  # type: ignore[no-untyped-def]
    group = [replica(await replicas_storage(), f"replica-{i}") for i in range(3)]
    for scheduler in group:
        scheduler.start()
    try:
        await wait_for(lambda: sum(s.completed_runs for s in group) >= 6)
        leaders = [s for s in group if s.completed_runs]
        assert len(leaders) == 1, [s.completed_runs for s in group]
        first = leaders[0]
        assert first.leader and not any(s.leader for s in group if s is not first)

        # the holder dies (no hand-over): its lease expires, another replica takes over
        assert first._loop_task is not None
        first._loop_task.cancel()
        died = time.monotonic()
        others = [s for s in group if s is not first]
        await wait_for(lambda: any(s.completed_runs for s in others))
        assert time.monotonic() - died < first.lease_ttl() + 2
        await asyncio.sleep(0.5)
        assert len([s for s in others if s.completed_runs]) == 1

        # a clean stop hands the lease over at once
        second = next(s for s in others if s.completed_runs)
        await second.stop()
        third = next(s for s in others if s is not second)
        before = third.completed_runs
        await wait_for(lambda: third.completed_runs > before, timeout=5)
    finally:
        for scheduler in group:
            await scheduler.stop()
