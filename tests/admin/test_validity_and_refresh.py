"""Source validity check, scheduled episode refresh and /api/cron."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from moontv.scheduler import RefreshMetrics, RefreshScheduler
from moontv.sources.models import ApiSite, SourceError
from tests.fakes.fake_cms import FakeCms, make_item

ALLOW = "127.0.0.1/32"


async def wait_job(client: httpx.AsyncClient, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = (await client.get(f"/api/admin/source/check/{job_id}")).json()
        if job["status"] == "done":
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError("validity check did not finish")


def _titles(stream: str) -> list[dict]:
    return [
        make_item(1, "星际迷航", groups=[("ffm3u8", [("第01集", stream)])]),
        make_item(2, "深海回声", groups=[("ffm3u8", [("正片", stream)])]),
    ]


async def test_validity_check_reports_each_source(inprocess_app, fake_cms_factory, stream_host: str) -> None:  # type: ignore[no-untyped-def]
    good = fake_cms_factory(_titles(f"{stream_host}/hls/index.m3u8"))
    nested = fake_cms_factory(_titles(f"{stream_host}/hls/master.m3u8"))
    broken = fake_cms_factory(fault="500")
    no_m3u8 = fake_cms_factory(
        [make_item(1, "星际网页", groups=[("web", [("正片", "https://v.example/p.html")])])]
    )
    dead_stream = fake_cms_factory(_titles(f"{stream_host}/missing/index.m3u8"))
    dead_segment = fake_cms_factory(_titles(f"{stream_host}/hls/noseg.m3u8"))
    sites = {
        "good": f"{good.url}/api.php/provide/vod",
        "nested": f"{nested.url}/api.php/provide/vod",
        "broken": f"{broken.url}/api.php/provide/vod",
        "webonly": f"{no_m3u8.url}/api.php/provide/vod",
        "dead": "http://127.0.0.1:9/api.php/provide/vod",
        "deadstream": f"{dead_stream.url}/api.php/provide/vod",
        "deadsegment": f"{dead_segment.url}/api.php/provide/vod",
    }
    app = await inprocess_app(sites, allow_private_upstreams=ALLOW, refresh_interval=0)
    owner = await app.login()
    started = await owner.post("/api/admin/source/check", json={"query": "星"})
    assert started.status_code == 202
    job = await wait_job(owner, started.json()["id"])
    assert job["total"] == len(sites) and job["done"] == len(sites)
    results = {r["key"]: r for r in job["results"]}
    assert [r["key"] for r in job["results"]] == list(sites)  # source order kept
    for key in ("good", "nested"):
        assert results[key]["status"] == "ok" and results[key]["m3u8"] is True, results[key]
        assert results[key]["stream"] is True and results[key]["keyword"] == "星"
    assert (
        results["good"]["reachable"] and results["good"]["searchWorks"] and results["good"]["latencyMs"] >= 0
    )
    assert results["broken"] == {
        **results["broken"],
        "status": "failed",
        "reachable": True,
        "searchWorks": False,
    }
    assert results["webonly"]["status"] == "warn" and results["webonly"]["m3u8"] is False
    assert results["webonly"]["searchWorks"] is True and results["webonly"]["code"] == "no_m3u8"
    assert results["dead"]["status"] == "failed" and results["dead"]["reachable"] is False
    # search works, but the stream host answers 404: dead, not "usable with m3u8"
    assert results["deadstream"] == {
        **results["deadstream"],
        "status": "failed",
        "code": "playlist_dead",
        "searchWorks": True,
        "m3u8": True,
        "stream": False,
    }
    assert "404" in results["deadstream"]["message"]
    assert results["deadsegment"]["status"] == "failed" and results["deadsegment"]["code"] == "segment_dead"
    # a subset, a bad query, an unknown job
    subset = (await owner.post("/api/admin/source/check", json={"keys": ["good"]})).json()
    assert (await wait_job(owner, subset["id"]))["total"] == 1
    assert (await owner.post("/api/admin/source/check", json={"query": "x" * 60})).status_code == 400
    assert (await owner.post("/api/admin/source/check", json={"keys": ["ghost"]})).status_code == 400
    assert (await owner.get("/api/admin/source/check/nope")).status_code == 404


async def test_validity_default_keyword_is_a_title_of_the_source(
    inprocess_app, fake_cms_factory, stream_host: str
) -> None:  # type: ignore[no-untyped-def]
    """Without a keyword each source is searched for a title of its own latest list, so a healthy source
    whose catalogue shares no word with the others is still reported healthy."""
    first = fake_cms_factory(_titles(f"{stream_host}/hls/index.m3u8"))
    other = fake_cms_factory(
        [make_item(7, "Night Train", groups=[("ffm3u8", [("EP1", f"{stream_host}/hls/index.m3u8")])])]
    )
    empty = fake_cms_factory([])
    sites = {
        "first": f"{first.url}/api.php/provide/vod",
        "other": f"{other.url}/api.php/provide/vod",
        "empty": f"{empty.url}/api.php/provide/vod",
    }
    app = await inprocess_app(sites, allow_private_upstreams=ALLOW, refresh_interval=0)
    owner = await app.login()
    job = await wait_job(owner, (await owner.post("/api/admin/source/check", json={})).json()["id"])
    results = {r["key"]: r for r in job["results"]}
    assert results["first"]["status"] == "ok" and results["first"]["keyword"] in {"星际迷航", "深海回声"}
    assert results["other"]["status"] == "ok" and results["other"]["keyword"] == "Night Train"
    assert results["empty"]["status"] == "warn" and results["empty"]["code"] == "no_results"
    searches = [r for r in other.requests if r["query"].get("wd") == "Night Train"]
    assert searches, other.requests


async def test_validity_check_goes_through_ssrf_guard(inprocess_app, fake_cms: FakeCms) -> None:
    app = await inprocess_app(
        {"local": f"{fake_cms.url}/api.php/provide/vod"}, allow_private_upstreams="", refresh_interval=0
    )
    owner = await app.login()
    job = await wait_job(owner, (await owner.post("/api/admin/source/check", json={})).json()["id"])
    (result,) = job["results"]
    assert result["status"] == "failed" and result["message"].startswith("地址被拒绝")
    assert fake_cms.requests == []


async def test_refresh_updates_episode_counts_and_keeps_progress(inprocess_app, fake_cms_factory) -> None:  # type: ignore[no-untyped-def]
    fake = fake_cms_factory([make_item(4, "长夜行歌", episodes=3, type_name="国产剧")])
    app = await inprocess_app({"cms": f"{fake.url}/api.php/provide/vod"}, refresh_interval=0)
    owner = await app.login()
    record = {"title": "长夜行歌", "source_name": "源cms", "index": 2, "total_episodes": 1, "play_time": 321,
              "total_time": 2400, "save_time": 1700000000000}  # fmt: skip
    await owner.post("/api/playrecords", json={"key": "cms+4", "record": record})
    await owner.post(
        "/api/favorites",
        json={"key": "cms+4", "favorite": {"title": "长夜行歌", "source_name": "源cms", "total_episodes": 1}},
    )
    await owner.post("/api/playrecords", json={"key": "gone+1", "record": {**record, "title": "别的"}})
    response = await owner.post("/api/cron?wait=1")
    assert response.status_code == 200
    summary = response.json()["summary"]
    assert summary["status"] == "ok" and summary["updated"] == 2 and summary["skipped"] == 1
    assert summary["checked"] == 1  # one lookup shared by the record and the favorite
    stored = (await owner.get("/api/playrecords")).json()["cms+4"]
    assert stored["total_episodes"] == 3 and stored["play_time"] == 321 and stored["index"] == 2
    assert stored["save_time"] == 1700000000000
    assert (await owner.get("/api/favorites")).json()["cms+4"]["total_episodes"] == 3

    fake.set_items([make_item(4, "长夜行歌", episodes=5, type_name="国产剧")])
    app.state.search_cache.clear()
    assert (await owner.post("/api/cron?wait=1")).json()["summary"]["updated"] == 2
    assert (await owner.get("/api/playrecords")).json()["cms+4"]["total_episodes"] == 5
    fake.fault = "500"
    failed = (await owner.post("/api/cron?wait=1")).json()["summary"]
    assert failed["status"] == "partial" and failed["failed"] >= 1
    metrics = (await owner.get("/metrics")).text
    assert "moontv_refresh_last_run_timestamp_seconds" in metrics
    assert 'moontv_refresh_runs_total{status="ok"} 2.0' in metrics
    assert "moontv_refresh_last_run_status 2.0" in metrics
    status = (await owner.get("/api/cron/status")).json()
    assert status["running"] is False and status["last"]["status"] == "partial"


async def test_cron_access(inprocess_app) -> None:
    app = await inprocess_app(None, cron_token="s3cret-cron-token", refresh_interval=0)
    anonymous = await app.client()
    assert (await anonymous.post("/api/cron")).status_code == 401
    assert (await anonymous.post("/api/cron", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (
        await anonymous.post("/api/cron", headers={"Authorization": "Basic s3cret-cron-token"})
    ).status_code == 401
    ok = await anonymous.post("/api/cron", headers={"Authorization": "Bearer s3cret-cron-token"})
    assert ok.status_code == 200 and ok.json()["success"] is True
    # a run changes stored data: never on GET
    assert (
        await anonymous.get("/api/cron", headers={"Authorization": "Bearer s3cret-cron-token"})
    ).status_code == 405
    owner = await app.login()
    await owner.post("/api/admin/user", json={"action": "add", "targetUsername": "u", "targetPassword": "pw"})
    assert (await (await app.login("u", "pw")).post("/api/cron")).status_code == 403
    assert (await owner.get("/api/cron/status")).status_code == 200


# -- the scheduler itself, with stand-ins ----------------------------------------------------------------


class StubStorage:
    def __init__(self, n: int) -> None:
        record = {"source_name": "S", "index": 1, "total_episodes": 1}
        self.records = {f"u{i}": {f"s+{i}": {**record, "title": f"t{i}"}} for i in range(n)}

    async def list_users(self) -> list[str]:
        return sorted(self.records)

    async def get_all_play_records(self, user: str) -> dict[str, Any]:
        return self.records.get(user, {})

    async def get_all_favorites(self, user: str) -> dict[str, Any]:
        return {}

    async def get_play_record(self, user: str, key: str) -> dict[str, Any] | None:
        return self.records[user].get(key)

    async def set_play_record(self, user: str, key: str, record: dict[str, Any]) -> None:
        self.records[user][key] = record

    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        return True  # a single replica

    async def release_lease(self, name: str, holder: str) -> None:
        return None


class StubConfig:
    async def get(self) -> Any:
        config = {
            "SourceConfig": [{"key": "s", "name": "S", "api": "https://s.example/api"}],
            "UserConfig": {"Users": []},
        }
        return type("Snapshot", (), {"config": config})()


class SlowCms:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.active = 0
        self.peak = 0

    async def detail(self, site: ApiSite, vod_id: str, *, timeout: float) -> dict[str, Any]:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        if vod_id == "3":
            raise SourceError("timeout")
        return {"episodes": ["a", "b"], "title": f"t{vod_id}", "poster": "", "year": "unknown"}


def make(
    cms: SlowCms, *, n: int = 10, concurrency: int = 3, budget: float = 10.0
) -> tuple[RefreshScheduler, StubStorage]:
    storage = StubStorage(n)
    scheduler = RefreshScheduler(storage=storage, config=StubConfig(), cms=cms, owner="", interval=0,
                                 concurrency=concurrency, budget=budget, lookup_timeout=1,
                                 metrics=RefreshMetrics(CollectorRegistry()))  # fmt: skip
    return scheduler, storage


async def test_runs_are_bounded_and_never_overlap() -> None:
    cms = SlowCms(0.02)
    scheduler, storage = make(cms)
    first, second = await asyncio.gather(scheduler.run_once("a"), scheduler.run_once("b"))
    assert second is None and first is not None
    assert cms.peak <= 3
    assert first.updated == 9 and first.failed == 1 and first.status == "partial"
    assert storage.records["u0"]["s+0"]["total_episodes"] == 2

    slow = SlowCms(3600)  # lookups that would outlast any test: only the budget can end the run
    limited, _ = make(slow, budget=0.2)
    started = time.monotonic()
    summary = await limited.run_once("budget")
    assert summary is not None and summary.status == "timeout"
    assert time.monotonic() - started < 60
    await asyncio.sleep(0)
    assert slow.active == 0  # nothing left running after the budget


async def test_loop_starts_and_stops() -> None:
    cms = SlowCms(0)
    scheduler, _ = make(cms, n=1)
    scheduler.interval = 1
    scheduler.next_delay = lambda: 0.01  # type: ignore[method-assign]
    scheduler.start()
    deadline = time.monotonic() + 5
    while scheduler.last is None and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert scheduler.last is not None and scheduler.last.trigger == "schedule"
    await scheduler.stop()
    assert scheduler.trigger("cron") is True
    await asyncio.sleep(0.05)
    assert scheduler.last.trigger == "cron"
    await scheduler.stop()


@pytest.mark.parametrize("interval", [3600.0])
def test_jitter_stays_near_the_interval(interval: float) -> None:
    scheduler, _ = make(SlowCms(0))
    scheduler.interval = interval
    delays = [scheduler.next_delay() for _ in range(200)]
    assert all(0.9 * interval <= d <= 1.1 * interval for d in delays)
    assert len(set(delays)) > 1
