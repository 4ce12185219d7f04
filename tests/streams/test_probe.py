"""Server-side source speed test: TTFB, first-segment throughput, resolution; bounded and cached."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.fakes.fake_cms import make_item
from tests.streams.upstream import Upstream
from tests.support import LiveServer


@pytest.fixture
def setup(live_app: Any, fake_cms_factory: Any, cdn: Upstream) -> tuple[LiveServer, Upstream]:
    episodes = [
        ("第1集", f"{cdn.url}/clean.m3u8"),
        ("第2集", f"{cdn.url}/master.m3u8"),
        ("第3集", f"{cdn.url}/ad720/index.m3u8"),
        ("第4集", f"{cdn.url}/missing.m3u8"),
        ("第5集", f"{cdn.url}/slow/clean.m3u8"),
    ]
    items = [make_item(1, "测速剧", groups=[("m3u8", episodes)])]
    items += [
        make_item(10 + n, f"并发{n}", groups=[("m3u8", [("第1集", f"{cdn.url}/c{n}.m3u8")])])
        for n in range(6)
    ]
    fake = fake_cms_factory(items)
    live = live_app({"a": fake.base_url}, allow_private_upstreams="127.0.0.1/32", probe_concurrency=2)
    return live, cdn


def probe(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get("/api/sources/probe", params={"source": "a", **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_measures_a_media_playlist(setup: tuple[LiveServer, Upstream]) -> None:
    live, cdn = setup
    result = probe(live.login(), id="1", ep="0")
    assert result["ok"] is True and result["ep"] == 0
    assert (result["width"], result["height"]) == (640, 360) and result["resolutionFrom"] == "segment"
    assert result["quality"] == "SD"
    assert result["pingTime"] is not None and result["ttfbMs"] >= 0
    assert result["speedKBps"] > 0 and result["loadSpeed"].endswith(("KB/s", "MB/s"))
    assert result["segmentBytes"] > 100_000
    assert cdn.paths() == ["/clean.m3u8", "/clean/seg000.ts"]


def test_master_playlist_gives_resolution_and_the_default_episode_is_the_second(
    setup: tuple[LiveServer, Upstream],
) -> None:
    live, cdn = setup
    result = probe(live.login(), id="1")
    assert result["ep"] == 1 and result["ok"] is True
    assert result["resolutionFrom"] == "master" and result["width"] == 640 and result["variants"] == 2
    assert cdn.paths()[:2] == ["/master.m3u8", "/mid.m3u8"]  # highest bandwidth variant


def test_resolution_from_the_segment_for_720p(setup: tuple[LiveServer, Upstream]) -> None:
    live, _ = setup
    result = probe(live.login(), id="1", ep="2")
    assert result["quality"] == "720p" and (result["width"], result["height"]) == (1280, 720)


def test_failures_are_results_not_errors(setup: tuple[LiveServer, Upstream]) -> None:
    live, cdn = setup
    cdn.delays["/slow/clean.m3u8"] = 2.5
    client = live.login()
    missing = probe(client, id="1", ep="3")
    assert missing["ok"] is False and "404" in missing["error"] and missing["quality"] == "未知"
    slow = probe(client, id="1", ep="4", timeout="1")
    assert slow["ok"] is False and slow["error"] == "测速超时"


def test_results_are_cached(setup: tuple[LiveServer, Upstream]) -> None:
    live, cdn = setup
    client = live.login()
    assert probe(client, id="1", ep="0")["cached"] is False
    cdn.clear()
    assert probe(client, id="1", ep="0")["cached"] is True
    assert cdn.paths() == []


def test_bad_parameters(setup: tuple[LiveServer, Upstream]) -> None:
    live, _ = setup
    client = live.login()
    assert client.get("/api/sources/probe", params={"id": "1"}).status_code == 400
    assert client.get("/api/sources/probe", params={"source": "a", "id": "../x"}).status_code == 400
    assert client.get("/api/sources/probe", params={"source": "a", "id": "1", "ep": "-1"}).status_code == 400
    assert client.get("/api/sources/probe", params={"source": "a", "id": "1", "ep": "99"}).status_code == 400
    assert client.get("/api/sources/probe", params={"source": "zz", "id": "1"}).status_code == 404
    assert client.get("/api/sources/probe", params={"source": "a", "id": "404404"}).status_code == 404
    with live.client() as anonymous:
        assert anonymous.get("/api/sources/probe", params={"source": "a", "id": "1"}).status_code == 401


def test_concurrency_is_bounded_server_side(setup: tuple[LiveServer, Upstream], hls_root: Any) -> None:
    live, cdn = setup
    for n in range(6):
        (hls_root / f"c{n}.m3u8").write_text((hls_root / "clean.m3u8").read_text())
        cdn.delays[f"/c{n}.m3u8"] = 0.4
    client = live.login()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: probe(client, id=str(10 + n)), range(6)))
    assert all(r["ok"] for r in results)
    assert cdn.max_in_flight <= 2  # MOONTV_PROBE_CONCURRENCY=2
