"""The scheduled refresh across replicas: one lease in storage, one replica refreshing per interval,
taken over when the holder dies, handed over when it stops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from moontv.scheduler import LEASE, RefreshMetrics, RefreshScheduler
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


# Long enough that no lease in these tests expires by time alone, however loaded the machine: a
# replica loses its lease only by a release or by the short lease a dead holder is left with below.
NEVER_EXPIRES = 600.0
DEAD_HOLDER_LEASE_MS = 1000


def replica(storage, name: str, **overrides) -> RefreshScheduler:  # type: ignore[no-untyped-def]
    options = {"interval": 0.1, "budget": 0.3, "lease_margin": NEVER_EXPIRES, **overrides}
    scheduler = RefreshScheduler(storage=storage, config=StubConfig(), cms=SlowCms(0), owner="",
                                 concurrency=2, lookup_timeout=1, metrics=RefreshMetrics(CollectorRegistry()),
                                 holder=name, **options)  # fmt: skip
    scheduler.next_delay = lambda: 0.05  # type: ignore[method-assign]
    return scheduler


async def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Poll a condition; the deadline is generous because it only bounds a hang, never a speed."""
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

        # the holder dies (no hand-over) right after renewing with a short lease: another replica
        # takes over once that lease has expired, and not before
        assert first._loop_task is not None
        first._loop_task.cancel()
        await asyncio.gather(first._loop_task, return_exceptions=True)
        renewed = time.monotonic()
        assert await first._storage.acquire_lease(LEASE, first.holder, DEAD_HOLDER_LEASE_MS)
        others = [s for s in group if s is not first]
        assert not any(s.completed_runs for s in others)
        await wait_for(lambda: any(s.completed_runs for s in others))
        assert time.monotonic() - renewed >= DEAD_HOLDER_LEASE_MS / 1000 - 0.01
        second = next(s for s in others if s.completed_runs)
        third = next(s for s in others if s is not second)
        await wait_for(lambda: second.completed_runs >= 4)
        assert third.completed_runs == 0 and not third.leader

        # a clean stop hands the lease over: the stopped holder's lease would outlive the test
        await second.stop()
        await wait_for(lambda: third.completed_runs > 0)
        assert third.leader
    finally:
        for scheduler in group:
            await scheduler.stop()


@pytest.mark.parametrize(
    ("interval", "jitter", "budget"),
    [(3600, 0.1, 600.0), (60, 0.1, 600.0), (0.1, 0.1, 0.3), (10, 0.5, 1.0), (1, 0.0, 21600.0)],
)
def test_the_lease_outlives_the_longest_gap_between_renewals(
    interval: float, jitter: float, budget: float
) -> None:
    """The holder renews at the start of a tick, runs for up to the budget, then sleeps a jittered
    delay: a lease shorter than that sum lets a second replica refresh while the first still leads."""
    scheduler = RefreshScheduler(storage=None, config=None, cms=None, owner="", interval=interval,
                                 concurrency=1, budget=budget, lookup_timeout=1,
                                 metrics=RefreshMetrics(CollectorRegistry()), jitter=jitter,
                                 lease_margin=0)  # fmt: skip
    longest_gap = budget + max(scheduler.next_delay() for _ in range(2000))
    assert scheduler.lease_ttl() >= longest_gap
    assert scheduler.lease_ttl() <= budget + max(1.0, interval * (1 + jitter)) + 1e-9
