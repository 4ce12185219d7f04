"""Selene (Flutter) against the real app: every call its services make, with Dart's strict types.

Source: ``lib/services/api_service.dart``, ``lib/services/sse_search_service.dart`` and the models in
``lib/models`` of the Selene client source (facts only, see docs/clients.md). Selene keeps no cookie
jar: after logging in it takes the ``Set-Cookie`` header (Dart joins several with ","), keeps the
text before the first ";", and sends that as ``Cookie`` on every call, with ``Content-Type`` and
``Accept: application/json``. Its models assign ``json['x'] ?? default`` to typed fields, so a present
value of the wrong type (a number where a ``String`` is declared, a float for an ``int``) throws.
The live TV calls (``/api/live/*``) are replayed in tests/live/test_live_api.py.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from tests.clients.contract import INT, NUM, STR, ListOf, MapOf, Obj, Opt, Req, assert_shape
from tests.clients.world import DOUBAN_MATCH, World

SEARCH_RESULT = Obj(
    {
        "id": Opt(STR),
        "title": Opt(STR),
        "poster": Opt(STR),
        "episodes": Opt(ListOf(STR)),
        "episodes_titles": Opt(ListOf(STR)),
        "source": Opt(STR),
        "source_name": Opt(STR),
        "class": Opt(STR),
        "year": Opt(STR),
        "desc": Opt(STR),
        "type_name": Opt(STR),
        "douban_id": Opt(INT),
    }
)
SUGGESTIONS = Obj({"suggestions": Req(ListOf(Obj({"text": Req(STR), "type": Req(STR), "score": Req(NUM)})))})
RESOURCE = Obj({"key": Req(STR), "name": Req(STR), "api": Req(STR), "detail": Opt(STR)})
FAVORITE = Obj(
    {
        "title": Opt(STR),
        "source_name": Opt(STR),
        "year": Opt(STR),
        "cover": Opt(STR),
        "total_episodes": Opt(INT),
        "save_time": Opt(INT),
        "origin": Opt(STR),
    }
)
PLAY_RECORD = Obj(
    {
        "title": Opt(STR),
        "source_name": Opt(STR),
        "year": Opt(STR),
        "cover": Opt(STR),
        "index": Opt(INT),
        "total_episodes": Opt(INT),
        "play_time": Opt(INT),
        "total_time": Opt(INT),
        "save_time": Opt(INT),
        "search_title": Opt(STR),
    }
)
SSE_EVENTS = {
    "start": Obj({"query": Opt(STR), "totalSources": Opt(INT), "timestamp": Opt(INT)}),
    "source_result": Obj(
        {
            "source": Opt(STR),
            "sourceName": Opt(STR),
            "results": Opt(ListOf(SEARCH_RESULT)),
            "timestamp": Opt(INT),
        }
    ),
    "source_error": Obj(
        {"source": Opt(STR), "sourceName": Opt(STR), "error": Opt(STR), "timestamp": Opt(INT)}
    ),
    "complete": Obj({"totalResults": Opt(INT), "completedSources": Opt(INT), "timestamp": Opt(INT)}),
}


class Selene:
    """The app's HTTP habits: no cookie jar, one hand-carried cookie, JSON headers on every call."""

    def __init__(self, world: World) -> None:
        self.http = httpx.Client(base_url=world.url, timeout=30, trust_env=False)
        self.cookie = ""

    def login(self, username: str, password: str) -> None:
        response = self.http.post(
            "/api/login",
            content=json.dumps({"username": username, "password": password}),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        joined = ",".join(response.headers.get_list("set-cookie"))
        self.cookie = joined.split(";")[0].strip()
        self.http.cookies.clear()

    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Accept": "application/json", "Cookie": self.cookie}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.http.cookies.clear()
        content = json.dumps(body) if body is not None else None
        response = self.http.request(method, path, content=content, headers=self.headers())
        assert 200 <= response.status_code < 300, (
            f"{method} {path}: HTTP {response.status_code} {response.text:.200}"
        )
        return json.loads(response.text)


def test_selene_login_search_stream_suggestions_and_detail(world: World) -> None:
    app = Selene(world)
    health = app.http.get("/api/health", headers={"Accept": "application/json"})
    assert health.status_code == 200  # the connection check
    app.login("admin", "test")
    assert app.cookie.startswith("auth=")

    found = app.call("GET", f"/api/search?q={quote(DOUBAN_MATCH)}")
    assert_shape(found, Obj({"results": Opt(ListOf(SEARCH_RESULT))}), "GET /api/search")
    hit = next(r for r in found["results"] if r["title"] == DOUBAN_MATCH)

    detail = app.call("GET", f"/api/detail?source={hit['source']}&id={hit['id']}")
    assert_shape(detail, SEARCH_RESULT, "GET /api/detail")
    assert detail["episodes"] and len(detail["episodes_titles"]) == len(detail["episodes"])

    resources = app.call("GET", "/api/search/resources")
    assert_shape(resources, ListOf(RESOURCE), "GET /api/search/resources")

    suggestions = app.call("GET", f"/api/search/suggestions?q={quote('流浪')}")
    assert_shape(suggestions, SUGGESTIONS, "GET /api/search/suggestions")
    assert "流浪星球" in [s["text"] for s in suggestions["suggestions"]]

    # the SSE search: "data: {json}" lines, one event per line, typed as the models read them
    app.http.cookies.clear()
    with app.http.stream(
        "GET",
        f"/api/search/ws?q={quote('流浪星球')}",
        headers={"Accept": "text/event-stream", "Cache-Control": "no-cache", "Cookie": app.cookie},
    ) as stream:
        assert stream.status_code == 200
        events = [
            json.loads(line[len("data: ") :]) for line in stream.iter_lines() if line.startswith("data: ")
        ]
    kinds = [event.get("type") for event in events]
    assert kinds[0] == "start" and kinds[-1] == "complete" and "source_result" in kinds
    for event in events:
        assert event["type"] in SSE_EVENTS, event
        assert_shape(event, SSE_EVENTS[event["type"]], f"SSE {event['type']}")
    assert events[0]["totalSources"] == 2


def test_selene_user_data(world: World) -> None:
    app = Selene(world)
    app.login("admin", "test")
    record = {
        "title": DOUBAN_MATCH,
        "source_name": "源a",
        "year": "2010",
        "cover": world.poster_url,
        "index": 1,
        "total_episodes": 2,
        "play_time": 30,
        "total_time": 1800,
        "save_time": 1733300000,
        "search_title": DOUBAN_MATCH,
    }
    app.call("POST", "/api/playrecords", {"key": "a+50", "record": record})
    records = app.call("GET", "/api/playrecords")
    assert_shape(records, MapOf(PLAY_RECORD), "GET /api/playrecords")
    assert records["a+50"]["index"] == 1
    app.call("DELETE", f"/api/playrecords?key={quote('a+50')}")
    app.call("DELETE", "/api/playrecords")
    assert app.call("GET", "/api/playrecords") == {}

    favorite = {
        "title": DOUBAN_MATCH,
        "source_name": "源a",
        "year": "2010",
        "cover": world.poster_url,
        "total_episodes": 2,
        "save_time": 1733300000,
        "origin": "vod",
    }
    app.call("POST", "/api/favorites", {"key": "a+50", "favorite": favorite})
    app.http.cookies.clear()
    listed = app.http.get("/api/favorites", headers={"Accept": "application/json", "Cookie": app.cookie})
    assert listed.status_code == 200
    assert_shape(listed.json(), MapOf(FAVORITE), "GET /api/favorites")
    assert listed.json()["a+50"]["origin"] == "vod"
    app.call("DELETE", f"/api/favorites?key={quote('a+50')}")

    app.call("POST", "/api/searchhistory", {"keyword": "流浪星球"})
    app.call("POST", "/api/searchhistory", {"keyword": DOUBAN_MATCH})
    history = app.call("GET", "/api/searchhistory")
    assert_shape(history, ListOf(STR), "GET /api/searchhistory")
    app.call("DELETE", f"/api/searchhistory?keyword={quote(DOUBAN_MATCH)}")
    assert app.call("GET", "/api/searchhistory") == ["流浪星球"]
    app.call("DELETE", "/api/searchhistory")
    assert app.call("GET", "/api/searchhistory") == []


def test_selene_sees_401_when_the_cookie_is_gone(world: World) -> None:
    app = Selene(world)
    app.cookie = "auth=stale"
    response = app.http.get("/api/searchhistory", headers=app.headers())
    assert response.status_code == 401  # Selene clears its data and asks for a login
    assert isinstance(response.json().get("error"), str)
