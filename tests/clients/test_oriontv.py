"""OrionTV against the real app: every call its API client makes, as it makes it.

Source: OrionTV ``services/api.ts`` (the ``API`` class) and the stores that read the answers
(``stores/homeStore.ts``, ``stores/authStore.ts``); facts only, see docs/clients.md. The app's fetch
keeps cookies in the platform's cookie jar and sends no ``Origin``; answers other than 2xx throw
(401 as ``UNAUTHORIZED``), so every call here must answer 2xx with the fields the app reads.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.clients.contract import BOOL, NUM, STR, TRUE, ListOf, MapOf, Obj, Opt, Req, assert_shape
from tests.clients.world import DOUBAN_MATCH, World

SERVER_CONFIG = Obj({"SiteName": Req(STR), "StorageType": Req(STR)})
SEARCH_RESULT = Obj(
    {
        "id": Req(STR),  # declared number, used only as a string key ("source+id") and in URLs
        "title": Req(STR),
        "poster": Req(STR),
        "episodes": Req(ListOf(STR)),
        "source": Req(STR),
        "source_name": Req(STR),
        "class": Opt(STR),
        "year": Req(STR),
        "desc": Opt(STR),
        "type_name": Opt(STR),
    }
)
VIDEO_DETAIL = Obj(
    {
        "id": Req(STR),
        "title": Req(STR),
        "poster": Req(STR),
        "source": Req(STR),
        "source_name": Req(STR),
        "desc": Opt(STR),
        "year": Opt(STR),
    }
)
DOUBAN = Obj(
    {
        "code": Req(NUM),
        "message": Req(STR),
        "list": Req(ListOf(Obj({"title": Req(STR), "poster": Req(STR), "rate": Opt(STR)}))),
    }
)
API_SITE = Obj({"key": Req(STR), "api": Req(STR), "name": Req(STR), "detail": Opt(STR)})
PLAY_RECORD = Obj(
    {
        "title": Req(STR),
        "source_name": Req(STR),
        "cover": Req(STR),
        "index": Req(NUM),
        "total_episodes": Req(NUM),
        "play_time": Req(NUM),
        "total_time": Req(NUM),
        "save_time": Req(NUM),
        "year": Req(STR),
    }
)
FAVORITE = Obj(
    {
        "cover": Req(STR),
        "title": Req(STR),
        "source_name": Req(STR),
        "total_episodes": Req(NUM),
        "search_title": Req(STR),
        "year": Req(STR),
        "save_time": Opt(NUM),
    }
)
OK = Obj({"ok": Req(TRUE)})
SUCCESS = Obj({"success": Opt(BOOL)})


def app(world: World) -> httpx.Client:
    """The app's fetch: a cookie jar, JSON bodies, no Origin or Referer."""
    return httpx.Client(base_url=world.url, timeout=30, trust_env=False)


def call(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert 200 <= response.status_code < 300, (
        f"{method} {path}: HTTP {response.status_code} {response.text:.200}"
    )
    return response


def test_oriontv_session_home_search_detail_and_posters(world: World) -> None:
    with app(world) as tv:
        config = call(tv, "GET", "/api/server-config").json()
        assert_shape(config, SERVER_CONFIG, "GET /api/server-config")
        assert tv.get("/api/favorites").status_code == 401  # the app shows its login modal on 401
        login = call(tv, "POST", "/api/login", json={"username": "admin", "password": "test"})
        assert_shape(login.json(), OK, "POST /api/login")
        assert "set-cookie" in login.headers

        douban = call(tv, "GET", f"/api/douban?type=movie&tag={quote('热门')}&pageSize=20&pageStart=0").json()
        assert_shape(douban, DOUBAN, "GET /api/douban")
        assert douban["list"], "the home row is empty"
        for kind, tag in (("tv", "热门"), ("tv", "综艺"), ("movie", "top250")):
            page = call(
                tv, "GET", f"/api/douban?type={kind}&tag={quote(tag)}&pageSize=20&pageStart=20"
            ).json()
            assert_shape(page, DOUBAN, f"GET /api/douban {kind}/{tag}")

        found = call(tv, "GET", f"/api/search?q={quote(DOUBAN_MATCH)}").json()
        assert_shape(found, Obj({"results": Req(ListOf(SEARCH_RESULT))}), "GET /api/search")
        hit = next(r for r in found["results"] if r["title"] == DOUBAN_MATCH)

        sites = call(tv, "GET", "/api/search/resources").json()
        assert_shape(sites, ListOf(API_SITE), "GET /api/search/resources")
        assert [s["key"] for s in sites] == ["a", "b"]
        one = call(tv, "GET", f"/api/search/one?q={quote(DOUBAN_MATCH)}&resourceId=a").json()
        assert_shape(one, Obj({"results": Req(ListOf(SEARCH_RESULT))}), "GET /api/search/one")
        assert [r["title"] for r in one["results"]] == [DOUBAN_MATCH]  # the app keeps title === query

        detail = call(tv, "GET", f"/api/detail?source={hit['source']}&id={hit['id']}").json()
        assert_shape(detail, VIDEO_DETAIL, "GET /api/detail")
        assert detail["title"] == DOUBAN_MATCH

        # every card's picture goes through the image proxy, CMS posters included
        assert hit["poster"] == world.poster_url
        image = call(tv, "GET", f"/api/image-proxy?url={quote(hit['poster'], safe='')}")
        assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
        douban_card = douban["list"][0]["poster"]
        assert douban_card.startswith("https://") and "doubanio.com" in douban_card


def test_oriontv_records_favorites_history_and_logout(world: World) -> None:
    with app(world) as tv:
        call(tv, "POST", "/api/login", json={"username": "admin", "password": "test"})
        key = "a+50"
        record = {
            "title": DOUBAN_MATCH,
            "source_name": "源a",
            "cover": world.poster_url,
            "index": 1,
            "total_episodes": 2,
            "play_time": 30,
            "total_time": 1800,
            "year": "2010",
        }
        saved = call(tv, "POST", "/api/playrecords", json={"key": key, "record": record}).json()
        assert_shape(saved, SUCCESS, "POST /api/playrecords")
        records = call(tv, "GET", "/api/playrecords").json()
        assert_shape(records, MapOf(PLAY_RECORD), "GET /api/playrecords")
        assert records[key]["play_time"] / records[key]["total_time"] > 0  # the home row's progress bar
        call(tv, "DELETE", f"/api/playrecords?key={quote(key)}")
        assert key not in call(tv, "GET", "/api/playrecords").json()

        favorite = {
            "cover": world.poster_url,
            "title": DOUBAN_MATCH,
            "source_name": "源a",
            "total_episodes": 2,
            "search_title": DOUBAN_MATCH,
            "year": "2010",
        }
        call(tv, "POST", "/api/favorites", json={"key": key, "favorite": favorite})
        assert_shape(
            call(tv, "GET", f"/api/favorites?key={quote(key)}").json(), FAVORITE, "GET /api/favorites?key"
        )
        assert_shape(call(tv, "GET", "/api/favorites").json(), MapOf(FAVORITE), "GET /api/favorites")
        call(tv, "DELETE", f"/api/favorites?key={quote(key)}")
        assert call(tv, "GET", f"/api/favorites?key={quote(key)}").json() is None

        history = call(tv, "POST", "/api/searchhistory", json={"keyword": DOUBAN_MATCH}).json()
        assert_shape(history, ListOf(STR), "POST /api/searchhistory")
        assert_shape(call(tv, "GET", "/api/searchhistory").json(), ListOf(STR), "GET /api/searchhistory")
        call(tv, "DELETE", f"/api/searchhistory?keyword={DOUBAN_MATCH}")  # sent unencoded, as the app does
        assert call(tv, "GET", "/api/searchhistory").json() == []

        assert_shape(call(tv, "POST", "/api/logout").json(), OK, "POST /api/logout")
        assert tv.get("/api/playrecords").status_code == 401
