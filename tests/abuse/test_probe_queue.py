"""Item 6: the speed probe queue has a per-user limit and a short wait, then 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.abuse.harness import HEALTH_LIMIT_SECONDS, HealthWatch, ServerProcess, report
from tests.abuse.hostile import SlowCms
from tests.abuse.test_search import add_user
from tests.streams.upstream import Canned, Upstream

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg.ts\n#EXT-X-ENDLIST\n"


def test_probes_of_one_user_are_limited_and_wait_briefly(
    server_factory: Callable[..., ServerProcess], upstream: Upstream
) -> None:
    """Base code: 12 probes from one user queued behind one semaphore for up to 18 s."""
    upstream.canned["/slow.m3u8"] = Canned(body=PLAYLIST, headers={"Content-Type": "application/x-mpegurl"})
    upstream.delays["/slow.m3u8"] = 2.5
    with SlowCms(1, pagecount=1, per_page=1, episodes=12, episode_url=f"{upstream.url}/slow.m3u8") as cms:
        server = server_factory(
            cms.sites(), MOONTV_PROBE_PER_USER="2", MOONTV_PROBE_QUEUE_WAIT="1", MOONTV_PROBE_CONCURRENCY="4"
        )
        admin = server.login()
        add_user(admin, "bob")
        bob = server.login("bob", "pw-123")
        answers: list[tuple[int, float]] = []

        def probe(client: object, ep: int) -> None:
            started = time.perf_counter()
            response = client.get("/api/sources/probe", params={"source": "s0", "id": "1000", "ep": ep})  # type: ignore[attr-defined]
            answers.append((response.status_code, time.perf_counter() - started))

        with HealthWatch(server.url) as watch:
            threads = [threading.Thread(target=probe, args=(admin, ep)) for ep in range(8)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            other = threading.Thread(target=probe, args=(bob, 9))
            other.start()
            for thread in [*threads, other]:
                thread.join(30)
    statuses = sorted(status for status, _ in answers)
    report(
        f"8 probes from one user + 1 from another: statuses {statuses}, "
        f"slowest answer {max(seconds for _, seconds in answers):.1f} s",
        watch,
        server,
    )
    assert statuses.count(200) == 3  # two of the first user's, plus the other user's
    assert statuses.count(429) == 6
    assert max(seconds for _, seconds in answers) < 10
    assert watch.worst < HEALTH_LIMIT_SECONDS
