"""Item 2: every upstream read has a byte cap (the EXT-X-MAP init segment included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.abuse.harness import HEALTH_LIMIT_SECONDS, RSS_LIMIT_MB, HealthWatch, ServerProcess, report
from tests.abuse.hostile import Hostile


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


def fmp4_playlist(init_range: str) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:4", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines.append(f'#EXT-X-MAP:URI="/endless/init.mp4",BYTERANGE="{init_range}"')
    for block in range(3):
        if block:
            lines.append("#EXT-X-DISCONTINUITY")
        for n in range(3):
            lines += ["#EXTINF:4.0,", f"/seg/{block}-{n}.m4s"]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


def test_init_segment_with_a_huge_byterange_is_read_capped(
    server_factory: Callable[..., ServerProcess], hostile: Hostile
) -> None:
    """Base code: the 4 GB BYTERANGE of the init segment was buffered whole (4.5 GB peak)."""
    hostile.files["/fmp4.m3u8"] = fmp4_playlist(f"{4 * 1024**3}@0")
    server = server_factory(MOONTV_STREAM_TIMEOUT="8")
    client = server.login()
    with HealthWatch(server.url) as watch:
        response = client.get("/api/proxy/m3u8", params={"url": f"{hostile.url}/fmp4.m3u8"})
    report("EXT-X-MAP BYTERANGE 4 GB", watch, server)
    assert response.status_code == 200, response.text
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies
    assert server.vmhwm_mb() < RSS_LIMIT_MB
    assert "/endless/init.mp4" in hostile.requests  # the init segment was read ...
    assert hostile.endless_bytes < 64 * 1024 * 1024  # ... but not whole
