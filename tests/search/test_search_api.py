"""Aggregated search through the app (in process) against fake Apple CMS sources over real HTTP; the
streamed answers (NDJSON, SSE) over a real server."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes.fake_cms import make_item
from tests.sources.test_parse import WIRE_KEYS

RESULT_KEYS = WIRE_KEYS  # the SearchResult wire shape, in order


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


def _ndjson(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_aggregated_search_across_sources(inprocess_app, fake_cms_factory) -> None:
    fakes = [fake_cms_factory() for _ in range(3)]
    app = await inprocess_app({f"s{i}": f.base_url for i, f in enumerate(fakes)})
    client = await app.login()
    response = await client.get("/api/search", params={"q": "流浪星球"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=7200"
    body = response.json()
    assert body["failedSources"] == []
    assert [(r["source"], r["id"]) for r in body["results"]] == [
        ("s0", "2"),
        ("s0", "1"),
        ("s1", "2"),
        ("s1", "1"),
        ("s2", "2"),
        ("s2", "1"),
    ]
    first = body["results"][1]
    assert list(first) == RESULT_KEYS
    assert first["title"] == "流浪星球" and first["year"] == "2023" and first["source_name"] == "源s0"
    assert len(first["episodes"]) == len(first["episodes_titles"]) == 1
    assert first["episodes"][0].endswith(".m3u8")
    for fake in fakes:
        assert [r["query"].get("wd") for r in fake.requests] == ["流浪星球"]


async def test_failing_sources_are_reported_and_never_delay_the_rest(inprocess_app, fake_cms_factory) -> None:
    good = fake_cms_factory()
    broken = {
        "e500": fake_cms_factory(fault="500"),
        "html": fake_cms_factory(fault="html"),
        "trunc": fake_cms_factory(fault="truncated"),
        "empty": fake_cms_factory(fault="empty"),
        "hang": fake_cms_factory(fault="hang"),
        "huge": fake_cms_factory(fault="huge"),
        "reset": fake_cms_factory(fault="reset"),
        "closed": fake_cms_factory(fault="closed"),
    }
    app = await inprocess_app(
        {"good": good.base_url, **{k: f.base_url for k, f in broken.items()}}, upstream_max_bytes=1024 * 1024
    )
    client = await app.login()
    start = time.monotonic()
    body = (await client.get("/api/search", params={"q": "流浪星球", "timeout": "1"})).json()
    elapsed = time.monotonic() - start
    # the hanging source never answers: only the 1 s search timeout can end the request this early
    assert elapsed < 20, "a hanging source must not hold the search past its timeout"
    assert {r["source"] for r in body["results"]} == {"good"}
    failed = {f["key"]: f["error"] for f in body["failedSources"]}
    assert set(failed) == set(broken)
    assert failed["hang"] == "请求超时"
    assert failed["e500"] == "请求失败"
    assert failed["reset"] == "网络错误"
    assert all(isinstance(msg, str) and msg for msg in failed.values())
    assert {f["name"] for f in body["failedSources"]} == {f"源{k}" for k in broken}


async def test_no_results_and_adult_filter(inprocess_app, fake_cms_factory) -> None:
    adult = fake_cms_factory([make_item(1, "测试片", type_name="伦理片")])
    mixed = fake_cms_factory([make_item(1, "测试片A", type_name="伦理片"), make_item(2, "测试片B")])
    nothing = fake_cms_factory()
    app = await inprocess_app({"adult": adult.base_url, "mixed": mixed.base_url, "none": nothing.base_url})
    client = await app.login()
    body = (await client.get("/api/search", params={"q": "测试片"})).json()
    assert [r["title"] for r in body["results"]] == ["测试片B"]
    assert {f["key"]: f["error"] for f in body["failedSources"]} == {
        "adult": "结果被过滤",
        "none": "无搜索结果",
    }
    empty = await client.get("/api/search", params={"q": "  "})
    assert empty.json() == {"results": []} and "no-store" in empty.headers["cache-control"]


async def test_pagination_page_one_then_rest_up_to_max_page(inprocess_app, fake_cms_factory) -> None:
    items = [make_item(i, f"合集 {i}") for i in range(1, 131)]  # 7 pages of 20
    fake = fake_cms_factory(items)
    app = await inprocess_app({"many": fake.base_url}, search_max_page=3)
    client = await app.login()
    body = (await client.get("/api/search", params={"q": "合集"})).json()
    assert len(body["results"]) == 60
    assert sorted(r["query"].get("pg", "1") for r in fake.requests) == ["1", "2", "3"]
    ids = [int(r["id"]) for r in body["results"]]
    assert ids == sorted(ids, reverse=True)  # pages in page order (newest first upstream)


async def test_result_cache_avoids_repeat_upstream_calls(inprocess_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url})
    client = await app.login()
    first = (await client.get("/api/search", params={"q": "流浪星球"})).json()
    second = (await client.get("/api/search", params={"q": "流浪星球"})).json()
    assert first == second and len(fake.requests) == 1
    await client.get("/api/search", params={"q": "长夜行歌"})
    assert len(fake.requests) == 2
    metrics = (await client.get("/metrics")).text
    assert 'moontv_cache_lookups_total{cache="search",result="hit"} 1.0' in metrics


async def test_circuit_breaker_skips_a_source_that_keeps_failing(inprocess_app, fake_cms_factory) -> None:
    bad = fake_cms_factory(fault="500")
    good = fake_cms_factory()
    app = await inprocess_app({"bad": bad.base_url, "good": good.base_url}, search_cache=False)
    client = await app.login()
    for i in range(5):
        await client.get("/api/search", params={"q": f"流浪{i}"})
    assert len(bad.requests) == 5
    body = (await client.get("/api/search", params={"q": "流浪星球"})).json()
    assert len(bad.requests) == 5, "an open circuit sends no request"
    assert body["failedSources"] == [{"name": "源bad", "key": "bad", "error": "源暂时不可用"}]
    assert len(body["results"]) == 2
    assert 'moontv_source_circuit_state{source="bad"} 2.0' in (await client.get("/metrics")).text


def test_stream_ndjson_line_protocol(live_app, fake_cms_factory) -> None:
    fast, slow, broken = fake_cms_factory(), fake_cms_factory(delay=0.3), fake_cms_factory(fault="500")
    server = live_app({"fast": fast.base_url, "slow": slow.base_url, "broken": broken.base_url})
    client = server.login()
    response = client.get("/api/search", params={"q": "流浪星球", "stream": "1"})
    assert response.headers["content-type"].startswith("application/json")
    lines = _ndjson(response.text)
    sites = [line["site"] for line in lines if "site" in line]
    assert sites == ["fast", "slow"]
    assert all(len(line["pageResults"]) == 2 for line in lines if "site" in line)
    failed_lines = [line for line in lines if "failedSources" in line]
    assert failed_lines[-1]["failedSources"] == [{"name": "源broken", "key": "broken", "error": "请求失败"}]
    assert len(failed_lines) == 2  # when it failed, and once more at the end
    assert lines[-1] == {
        "aggregatedResults": [r for line in lines if "site" in line for r in line["pageResults"]]
    }
    off = client.get("/api/search", params={"q": "流浪星球", "stream": "0"}).json()
    assert set(off) == {"results", "failedSources"}


def test_sse_events(live_app, fake_cms_factory) -> None:
    a, b, bad = fake_cms_factory(), fake_cms_factory(), fake_cms_factory(fault="500")
    server = live_app({"a": a.base_url, "b": b.base_url, "bad": bad.base_url})
    client = server.login()
    response = client.get("/api/search/ws", params={"q": "流浪星球"})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(chunk[6:]) for chunk in response.text.split("\n\n") if chunk.startswith("data: ")]
    assert (
        events[0]["type"] == "start" and events[0]["totalSources"] == 3 and events[0]["query"] == "流浪星球"
    )
    results = [e for e in events if e["type"] == "source_result"]
    errors = [e for e in events if e["type"] == "source_error"]
    assert {e["source"] for e in results} == {"a", "b"} and errors[0]["source"] == "bad"
    assert events[-1]["type"] == "complete"
    assert events[-1]["totalResults"] == 4 and events[-1]["completedSources"] == 3
    assert client.get("/api/search/ws").status_code == 400


async def test_search_one_resources_and_detail(inprocess_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url, "b": fake.base_url})
    client = await app.login()
    one = await client.get("/api/search/one", params={"q": "流浪星球", "resourceId": "a"})
    assert one.status_code == 200 and [r["id"] for r in one.json()["results"]] == ["1"]
    missing = await client.get("/api/search/one", params={"q": "流浪星球"})
    assert missing.status_code == 200 and missing.json() == {
        "result": None,
        "error": "缺少必要参数: q 或 resourceId",
    }
    unknown = await client.get("/api/search/one", params={"q": "x", "resourceId": "zzz"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "未找到指定的视频源: zzz"
    none = await client.get("/api/search/one", params={"q": "流浪", "resourceId": "a"})
    assert none.status_code == 404 and none.json() == {"error": "未找到结果", "result": None}

    resources = (await client.get("/api/search/resources")).json()
    assert [r["key"] for r in resources] == ["a", "b"] and set(resources[0]) == {
        "key",
        "name",
        "api",
        "detail",
    }
    assert (await client.get("/api/config/sources")).json() == resources

    detail = await client.get("/api/detail", params={"source": "a", "id": "5"})
    assert detail.status_code == 200
    body = detail.json()
    assert body["id"] == "5" and body["title"] == "The Silent Sea 寂静之海" and len(body["episodes"]) == 8
    assert (await client.get("/api/detail", params={"source": "a"})).json() == {"error": "缺少必要参数"}
    assert (await client.get("/api/detail", params={"source": "a", "id": "1;drop"})).json() == {
        "error": "无效的视频ID格式"
    }
    assert (await client.get("/api/detail", params={"source": "nope", "id": "1"})).json() == {
        "error": "无效的API来源"
    }
    assert (await client.get("/api/detail", params={"source": "a", "id": "999"})).status_code == 404


async def test_suggestions(inprocess_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url})
    client = await app.login()
    answer = await client.get("/api/search/suggestions", params={"q": "流浪"})
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert [(s["text"], s["type"]) for s in body["suggestions"]] == [("流浪星球", "related")]
    assert isinstance(body["suggestions"][0]["score"], float)
    assert (await client.get("/api/search/suggestions", params={"q": ""})).json() == {"suggestions": []}


def test_suggestions_stream_as_ndjson(live_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    client = live_app({"a": fake.base_url}).login()
    streamed = client.get("/api/search/suggestions", params={"q": "流浪", "stream": "1"})
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    assert [[s["text"] for s in line["suggestions"]] for line in _ndjson(streamed.text)] == [["流浪星球"]]


async def test_group_allow_list_limits_sources(inprocess_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url, "b": fake.base_url}, enable_register=True)
    user = await app.client()
    await user.post("/api/register", json={"username": "kid", "password": "pw"})

    def assign(config: dict) -> None:
        config["UserConfig"]["Groups"] = [{"name": "kids", "sourceKeys": ["b"]}]
        for entry in config["UserConfig"]["Users"]:
            if entry["username"] == "kid":
                entry["group"] = "kids"

    await app.state.config.update(assign)
    assert [r["key"] for r in (await user.get("/api/search/resources")).json()] == ["b"]
    body = (await user.get("/api/search", params={"q": "流浪星球"})).json()
    assert {r["source"] for r in body["results"]} == {"b"}
    forced = (await user.get("/api/search", params={"q": "流浪星球", "sources": "a"})).json()
    assert forced["results"] == []
    owner = await app.login()
    assert [r["key"] for r in (await owner.get("/api/search/resources")).json()] == ["a", "b"]


async def test_metrics_exposition(inprocess_app, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    app = await inprocess_app({"a": fake.base_url})
    client = await app.login()
    await client.get("/api/search", params={"q": "流浪星球"})
    text = (await client.get("/metrics")).text
    for name in (
        "moontv_http_requests_total",
        "moontv_http_request_duration_seconds_bucket",
        "moontv_upstream_request_duration_seconds_bucket",
        "moontv_storage_operation_duration_seconds",
        "moontv_cache_lookups_total",
        "process_resident_memory_bytes",
    ):
        assert name in text, name
    assert 'route="/api/search"' in text
