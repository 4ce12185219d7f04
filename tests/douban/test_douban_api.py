"""Douban and Bangumi routes over HTTP against local fakes of the real endpoints."""

from __future__ import annotations

import json

import pytest

from moontv.config.view import SiteSettings
from moontv.douban.client import DoubanClient, DoubanProxy, parse_recent_hot, parse_top250
from tests.fakes.douban_fake import FakeDouban, hot_item, top250_html


@pytest.fixture
def storage_kind() -> str:
    """Douban does not touch storage: one backend is enough here."""
    return "sqlite"


def _server(live_app, fake: FakeDouban, **overrides):  # type: ignore[no-untyped-def]
    return live_app(
        None,
        douban_base=fake.url,
        douban_m_base=fake.url,
        bangumi_base=fake.url,
        refresh_interval=0,
        **overrides,
    )


def test_list_shape_headers_and_params(live_app, douban_fake: FakeDouban) -> None:
    server = _server(live_app, douban_fake)
    client = server.login()
    response = client.get(
        "/api/douban", params={"type": "movie", "tag": "热门", "pageSize": 5, "pageStart": 10}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200 and body["message"] == "获取成功"
    assert len(body["list"]) == 5
    first = body["list"][0]
    assert set(first) == {"id", "title", "poster", "rate", "year"}
    assert first == {
        "id": "3000010",
        "title": "热门影片10",
        "poster": "https://img2.doubanio.com/view/photo/s_ratio_poster/public/p2000010.webp",
        "rate": "8.0",
        "year": "",
    }
    (request,) = douban_fake.requests
    assert request["path"] == "/j/search_subjects"
    assert request["query"] == {
        "type": "movie",
        "tag": "热门",
        "sort": "recommend",
        "page_limit": "5",
        "page_start": "10",
    }
    assert request["headers"]["Referer"] == "https://movie.douban.com/"
    assert request["headers"]["Origin"] == "https://movie.douban.com"
    assert "Chrome/" in request["headers"]["User-Agent"]
    assert response.headers["cache-control"].startswith("private, max-age=")


def test_validation_errors_are_400(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    cases = [
        ({"type": "movie"}, "缺少必要参数: type 或 tag"),
        ({"type": "anime", "tag": "x"}, "type 参数必须是 tv 或 movie"),
        ({"type": "tv", "tag": "x", "pageSize": 0}, "pageSize 必须在 1-100 之间"),
        ({"type": "tv", "tag": "x", "pageSize": "abc"}, "pageSize 必须在 1-100 之间"),
        ({"type": "tv", "tag": "x", "pageStart": -1}, "pageStart 不能小于 0"),
    ]
    for params, message in cases:
        response = client.get("/api/douban", params=params)
        assert response.status_code == 400 and response.json()["error"] == message, params
    assert (
        client.get("/api/douban/categories", params={"kind": "x", "category": "a", "type": "b"}).status_code
        == 400
    )
    assert client.get("/api/douban/recommends", params={"limit": 5}).json()["error"] == "缺少必要参数: kind"
    assert douban_fake.requests == []


def test_top250_scrape(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    body = client.get("/api/douban", params={"type": "movie", "tag": "top250", "pageStart": 25}).json()
    assert len(body["list"]) == 25
    assert body["list"][0] == {
        "id": "1290025",
        "title": "经典&电影25",
        "poster": "https://img2.doubanio.com/view/photo/s_ratio_poster/public/p480025.jpg",
        "rate": "8.5",
        "year": "",
    }
    assert douban_fake.requests[0]["path"] == "/top250"
    assert douban_fake.requests[0]["query"]["start"] == "25"


def test_recent_hot_year_and_rating(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    response = client.get(
        "/api/douban/categories", params={"kind": "tv", "category": "tv", "type": "tv_domestic", "limit": 3}
    )
    items = response.json()["list"]
    assert items[1] == {
        "id": "4000001",
        "title": "tvtv1",
        "poster": "https://img2.doubanio.com/view/photo/s_ratio_poster/public/p5001.jpg",
        "rate": "8.1",
        "year": "2021",
    }
    request = douban_fake.requests[0]
    assert request["path"] == "/rexxar/api/v2/subject/recent_hot/tv"
    assert request["query"] == {"start": "0", "limit": "3", "category": "tv", "type": "tv_domestic"}


def test_recommend_parameters_and_filtering(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    params = {
        "kind": "tv",
        "category": "all",
        "format": "电视剧",
        "region": "华语",
        "year": "2020年代",
        "platform": "腾讯视频",
        "label": "all",
        "sort": "U",
        "limit": 4,
        "start": 8,
    }
    body = client.get("/api/douban/recommends", params=params).json()
    assert [i["id"] for i in body["list"]] == ["6000008", "6000009", "6000010", "6000011"]  # the ad is gone
    assert body["list"][0]["year"] == "2018" and body["list"][0]["rate"] == "7.5"
    query = douban_fake.requests[0]["query"]
    assert douban_fake.requests[0]["path"] == "/rexxar/api/v2/tv/recommend"
    assert json.loads(query["selected_categories"]) == {"类型": "", "形式": "电视剧", "地区": "华语"}
    assert query["tags"] == "电视剧,华语,2020年代,腾讯视频"
    assert query["sort"] == "U" and query["start"] == "8" and query["count"] == "4"
    assert query["refresh"] == "0" and query["uncollect"] == "false" and query["score_range"] == "0,10"
    douban_fake.clear()
    client.get("/api/douban/recommends", params={"kind": "movie", "category": "喜剧", "sort": "T"})
    query = douban_fake.requests[0]["query"]
    assert "sort" not in query and query["tags"] == "喜剧"
    assert json.loads(query["selected_categories"]) == {"类型": "喜剧"}


def test_cache_ttl_is_configurable(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    for _ in range(3):
        assert client.get("/api/douban", params={"type": "tv", "tag": "美剧"}).status_code == 200
    assert len(douban_fake.requests) == 1  # cached
    uncached = _server(live_app, douban_fake, douban_cache_ttl=0).login()
    douban_fake.clear()
    for _ in range(2):
        uncached.get("/api/douban", params={"type": "tv", "tag": "美剧"})
    assert len(douban_fake.requests) == 2


def test_upstream_failure_is_502_and_not_cached(live_app, douban_fake: FakeDouban) -> None:
    client = _server(live_app, douban_fake).login()
    douban_fake.fault = "500"
    response = client.get("/api/douban", params={"type": "tv", "tag": "x"})
    assert response.status_code == 502
    assert response.json() == {"error": "获取豆瓣数据失败", "details": "HTTP 500"}
    douban_fake.fault = "html"
    assert client.get("/api/douban/categories", params={"category": "a", "type": "b"}).status_code == 502
    top = client.get("/api/douban", params={"type": "movie", "tag": "top250"})
    assert top.status_code == 200 and top.json()["list"] == []  # an HTML challenge page has no items
    douban_fake.fault = None
    assert client.get("/api/douban", params={"type": "tv", "tag": "x"}).status_code == 200


def test_custom_proxy_setting_routes_fetches(live_app, douban_fake: FakeDouban) -> None:
    server = _server(live_app, douban_fake, allow_private_upstreams="127.0.0.1/32")
    client = server.login()
    saved = client.post(
        "/api/admin/site", json={"DoubanProxyType": "custom", "DoubanProxy": f"{douban_fake.url}/proxy?url="}
    )
    assert saved.status_code == 200, saved.text
    body = client.get("/api/douban", params={"type": "movie", "tag": "冷门"}).json()
    assert body["list"][0]["title"] == "冷门影片0"
    request = douban_fake.requests[-1]
    assert request["path"] == "/proxy"
    assert request["query"]["url"].startswith(f"{douban_fake.url}/j/search_subjects?")


def test_custom_proxy_goes_through_ssrf_guard(live_app, douban_fake: FakeDouban) -> None:
    client = _server(
        live_app, douban_fake, allow_private_upstreams=""
    ).login()  # private upstreams not allowed
    client.post(
        "/api/admin/site", json={"DoubanProxyType": "custom", "DoubanProxy": f"{douban_fake.url}/proxy?url="}
    )
    response = client.get("/api/douban", params={"type": "movie", "tag": "冷门"})
    assert response.status_code == 502
    assert douban_fake.requests == []


def test_recommends_access_rules(live_app, douban_fake: FakeDouban) -> None:
    server = _server(live_app, douban_fake)
    with server.client() as anonymous:
        assert anonymous.get("/api/douban/recommends", params={"kind": "tv"}).status_code == 401
        assert (
            anonymous.get("/api/douban/recommends", params={"kind": "tv", "token": "nope"}).status_code == 403
        )
    owner = server.login()
    owner.post("/api/admin/tvbox", json={"action": "enable"})
    token = owner.post("/api/admin/tvbox", json={"action": "rotate"}).json()["token"]
    with server.client() as tv:
        assert tv.get("/api/douban/recommends", params={"kind": "tv", "token": token}).status_code == 200
    owner.post("/api/admin/tvbox", json={"action": "disable"})
    with server.client() as tv:
        assert tv.get("/api/douban/recommends", params={"kind": "tv", "token": token}).status_code == 403


def test_bangumi_calendar(live_app, douban_fake: FakeDouban) -> None:
    server = _server(live_app, douban_fake)
    client = server.login()
    days = client.get("/api/bangumi/calendar").json()
    assert [d["weekday"]["id"] for d in days] == [1, 2, 3, 4, 5, 6, 7]
    monday = days[0]
    assert monday["weekday"] == {"en": "Mon", "cn": "星期一", "ja": "月耀日", "id": 1}
    assert monday["items"] == [  # the item without images is dropped; name used when name_cn is empty
        {
            "id": "100",
            "title": "番剧100",
            "poster": "https://lain.bgm.tv/pic/cover/l/100.jpg",
            "rate": "7.2",
            "year": "2020",
        },
        {
            "id": "101",
            "title": "Anime 101",
            "poster": "https://lain.bgm.tv/pic/cover/l/101.jpg",
            "rate": "7.3",
            "year": "2021",
        },
    ]
    client.get("/api/bangumi/calendar")
    assert len([r for r in douban_fake.requests if r["path"] == "/calendar"]) == 1
    with server.client() as anonymous:
        assert anonymous.get("/api/bangumi/calendar").status_code == 401


def test_douban_page_renders_for_signed_in_users(live_app, douban_fake: FakeDouban) -> None:
    server = _server(live_app, douban_fake)
    with server.client(follow_redirects=False) as anonymous:
        redirect = anonymous.get("/douban?type=tv")
        assert redirect.status_code in (303, 307) and "/login?redirect=" in redirect.headers["location"]
    client = server.login()
    page = client.get("/douban?type=anime")
    assert page.status_code == 200
    assert 'data-type="anime"' in page.text and "douban.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/douban?type=<script>").status_code == 200


# -- pure parsing and URL building --------------------------------------------------------------------------


def test_parsers_tolerate_odd_items() -> None:
    odd = {"items": [{"id": 1, "title": None, "pic": "x", "rating": None, "card_subtitle": None}, "junk"]}
    assert parse_recent_hot(odd) == [{"id": "1", "title": "", "poster": "", "rate": "", "year": ""}]
    assert parse_recent_hot({"items": [hot_item(3, "movie", "热门")]})[0]["year"] == "2023"
    assert len(parse_top250(top250_html(240))) == 10
    assert parse_top250("<div class=\"item\"><img alt='x'></div>") == []


def test_proxy_url_rewriting() -> None:
    url = "https://m.douban.com/rexxar/api/v2/tv/recommend?start=0"
    assert DoubanProxy("direct").apply(url) == url
    assert DoubanProxy("custom", "").apply(url) == url
    assert (
        DoubanProxy("custom", "https://p.example/?u=")
        .apply(url)
        .startswith("https://p.example/?u=https%3A%2F%2F")
    )
    assert DoubanProxy("cmliussss-cdn-tencent").apply(url).startswith("https://m.douban.cmliussss.net/rexxar")
    assert DoubanProxy("cmliussss-cdn-ali").apply(url).startswith("https://m.douban.cmliussss.com/rexxar")
    assert DoubanProxy("cors-proxy-zwei").apply(url).startswith("https://ciao-cors.is-an.org/https%3A")
    assert DoubanProxy.from_site(SiteSettings.from_json({"DoubanProxyType": "bogus"})).kind == "direct"


def test_recommend_url_sentinels() -> None:
    import httpx

    client = DoubanClient(
        httpx.AsyncClient(),
        base="https://movie.douban.com",
        m_base="https://m.douban.com",
        timeout=1,
        cache_ttl=0,
    )
    url = httpx.URL(client.recommend_url("movie", limit=20, start=0, category="all", label="all", sort="T"))
    assert url.params["tags"] == "" and "sort" not in url.params
    assert json.loads(url.params["selected_categories"]) == {"类型": ""}
