"""Item 8: concurrent play-record writes never fail (8 writers, one user, 10 s, both backends).

Each writer saves progress for the same title under its own key (one user watching on several
devices, each from another source), so every write applies the same-title rule. The user has
a few hundred older records: a write must not cost more because of them. Prints p50/p95.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

import pytest

WRITERS = 8
SECONDS = float(os.environ.get("MOONTV_SECURITY_WRITE_SECONDS", "10"))
OLD_RECORDS = 300


@pytest.mark.parametrize("storage_kind", ["sqlite", "redis"], indirect=True)
def test_eight_writers_for_ten_seconds_get_no_errors(live_app: Any, storage_kind: str) -> None:
    server = live_app(None)
    owner = server.login()

    async def seed() -> None:
        for i in range(OLD_RECORDS):
            await server.state.storage.set_play_record(
                "admin", f"old+{i}", {"title": f"旧片{i}", "save_time": i}
            )

    server.call(seed())
    cookies = dict(owner.cookies)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def writer(n: int) -> None:
        with server.client(cookies=cookies) as client:
            i = 0
            while time.monotonic() < deadline:
                now = int(time.time() * 1000)
                record = {"title": "同一部剧", "source_name": f"源{n}", "index": i % 900 + 1,
                          "total_episodes": 1000, "play_time": i, "total_time": 2400,
                          "save_time": now}  # fmt: skip
                start = time.perf_counter()
                answer = client.post("/api/playrecords", json={"key": f"src{n}+1", "record": record})
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text[:80]}")
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    p50 = statistics.median(latencies)
    print(
        f"\n{storage_kind}: {len(latencies)} writes, {len(failures)} failed, p50 {p50 * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, load {os.getloadavg()[0]:.2f}"
    )
    assert failures == []
    records = owner.get("/api/playrecords").json()
    assert sum(1 for r in records.values() if r["title"] == "同一部剧") == 1  # the same-title rule held
    assert len(records) == OLD_RECORDS + 1
