"""Play records, favorites, search history and skip configs through the app (in process), on both
backends."""

from __future__ import annotations

from typing import Any

import pytest

RECORD = {
    "title": "长夜行歌",
    "source_name": "源A",
    "cover": "https://img.example.com/a.jpg",
    "year": "2024",
    "index": 2,
    "total_episodes": 24,
    "play_time": 125,
    "total_time": 2700,
    "save_time": 1700000000000,
    "search_title": "长夜",
}


async def test_play_record_round_trip_and_same_title_rule(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    assert (await client.get("/api/playrecords")).json() == {}
    assert (await client.post("/api/playrecords", json={"key": "a+4", "record": RECORD})).json() == {
        "success": True
    }
    assert (await client.get("/api/playrecords")).json() == {"a+4": RECORD}
    # Same title from another source replaces the old entry (one history entry per title).
    other = {**RECORD, "source_name": "源B", "index": 3}
    await client.post("/api/playrecords", json={"key": "b+77", "record": other})
    assert (await client.get("/api/playrecords")).json() == {"b+77": other}
    await client.post("/api/playrecords", json={"key": "b+78", "record": {**RECORD, "title": "别的"}})
    assert set((await client.get("/api/playrecords")).json()) == {"b+77", "b+78"}
    await client.delete("/api/playrecords", params={"key": "b+77"})
    assert set((await client.get("/api/playrecords")).json()) == {"b+78"}
    await client.delete("/api/playrecords")
    assert (await client.get("/api/playrecords")).json() == {}


async def test_play_record_save_time_defaults_and_types_are_coerced(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    record = {**RECORD, "index": "2", "play_time": 12.9}
    del record["save_time"]
    await client.post("/api/playrecords", json={"key": "a+plus+id", "record": record})
    stored = (await client.get("/api/playrecords")).json()["a+plus+id"]
    assert stored["index"] == 2 and stored["play_time"] == 12 and stored["save_time"] > 1_700_000_000_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key": "a+1"}, "Missing key or record"),
        ({"record": RECORD}, "Missing key or record"),
        ({"key": "a+1", "record": {**RECORD, "title": ""}}, "Invalid record data"),
        ({"key": "a+1", "record": {**RECORD, "source_name": ""}}, "Invalid record data"),
        ({"key": "a+1", "record": {**RECORD, "index": 0}}, "Invalid record data"),
        ({"key": "a+1", "record": {**RECORD, "index": "abc"}}, "Invalid record data"),
        ({"key": "a+1", "record": {**RECORD, "title": {"x": 1}}}, "Invalid record data"),
        ({"key": "a+1", "record": "text"}, "Invalid record data"),
        ({"key": "a1", "record": RECORD}, "Invalid key format"),
        ({"key": "+1", "record": RECORD}, "Invalid key format"),
        ({"key": "a+", "record": RECORD}, "Invalid key format"),
        ({"key": 5, "record": RECORD}, "Invalid key format"),
    ],
)
async def test_play_record_validation(inprocess_app: Any, body, message) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    response = await client.post("/api/playrecords", json=body)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert (await client.get("/api/playrecords")).json() == {}


async def test_favorites(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    fav = {
        "title": "流浪星球",
        "source_name": "源A",
        "year": "2023",
        "cover": "",
        "total_episodes": 1,
        "save_time": 1,
        "search_title": "流浪",
    }
    assert (await client.get("/api/favorites", params={"key": "a+1"})).json() is None
    assert (await client.post("/api/favorites", json={"key": "a+1", "favorite": fav})).json() == {
        "success": True
    }
    assert (await client.get("/api/favorites", params={"key": "a+1"})).json() == fav
    assert (await client.get("/api/favorites")).json() == {"a+1": fav}
    bad = await client.post("/api/favorites", json={"key": "a+1", "favorite": {"title": "x"}})
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid favorite data"
    assert (await client.post("/api/favorites", json={"key": "a+1"})).json()[
        "error"
    ] == "Missing key or favorite"
    await client.post("/api/favorites", json={"key": "a+2", "favorite": fav})
    await client.delete("/api/favorites", params={"key": "a+1"})
    assert list((await client.get("/api/favorites")).json()) == ["a+2"]
    await client.delete("/api/favorites")
    assert (await client.get("/api/favorites")).json() == {}


async def test_one_favorite_per_title_across_sources(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    fav = {"title": "流浪星球", "source_name": "源A", "year": "2023", "cover": "", "total_episodes": 1}
    await client.post("/api/favorites", json={"key": "a+1", "favorite": fav})
    await client.post("/api/favorites", json={"key": "z+9", "favorite": {**fav, "title": "别的片子"}})
    # the same title found on source b (spacing and case aside) moves the favorite there
    moved = {**fav, "title": " 流浪 星球", "source_name": "源B"}
    assert (await client.post("/api/favorites", json={"key": "b+7", "favorite": moved})).json() == {
        "success": True
    }
    assert sorted((await client.get("/api/favorites")).json()) == ["b+7", "z+9"]
    assert (await client.get("/api/favorites", params={"key": "a+1"})).json() is None
    # a remake of another year is another title; an entry without a year does not contradict
    await client.post("/api/favorites", json={"key": "c+3", "favorite": {**fav, "year": "1999"}})
    assert sorted((await client.get("/api/favorites")).json()) == ["b+7", "c+3", "z+9"]
    await client.post("/api/favorites", json={"key": "d+4", "favorite": {**fav, "year": ""}})
    assert sorted((await client.get("/api/favorites")).json()) == ["d+4", "z+9"]


async def test_search_history_order_dedupe_cap(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    for i in range(25):
        await client.post("/api/searchhistory", json={"keyword": f"k{i}"})
    history = (await client.post("/api/searchhistory", json={"keyword": "  k10  "})).json()
    assert history[0] == "k10" and len(history) == 20 and history.count("k10") == 1
    assert (await client.get("/api/searchhistory")).json() == history
    assert history[1] == "k24"
    empty = await client.post("/api/searchhistory", json={"keyword": "   "})
    assert empty.status_code == 400 and empty.json() == {"error": "Keyword is required"}
    await client.delete("/api/searchhistory", params={"keyword": "k24"})
    assert "k24" not in (await client.get("/api/searchhistory")).json()
    await client.delete("/api/searchhistory")
    assert (await client.get("/api/searchhistory")).json() == []


async def test_skip_configs(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    assert (await client.get("/api/skipconfigs", params={"source": "a", "id": "1"})).json() is None
    saved = await client.post(
        "/api/skipconfigs",
        json={"key": "a+1", "config": {"enable": 1, "intro_time": "90", "outro_time": "abc"}},
    )
    assert saved.json() == {"success": True}
    expected = {"enable": True, "intro_time": 90, "outro_time": 0}
    assert (await client.get("/api/skipconfigs", params={"source": "a", "id": "1"})).json() == expected
    assert (await client.get("/api/skipconfigs")).json() == {"a+1": expected}
    assert (await client.post("/api/skipconfigs", json={"key": "a1", "config": {}})).json()["error"] in (
        "缺少必要参数",
        "无效的key格式",
    )
    assert (await client.post("/api/skipconfigs", json={"key": "a1", "config": {"enable": True}})).json() == {
        "error": "无效的key格式"
    }
    assert (await client.delete("/api/skipconfigs")).status_code == 400
    await client.delete("/api/skipconfigs", params={"key": "a+1"})
    assert (await client.get("/api/skipconfigs")).json() == {}


async def test_data_is_per_user(inprocess_app: Any) -> None:
    app = await inprocess_app(enable_register=True)
    owner = await app.client(as_user="admin")
    await owner.post("/api/playrecords", json={"key": "a+1", "record": RECORD})
    other = await app.client()
    await other.post("/api/register", json={"username": "eve", "password": "pw"})
    assert (await other.get("/api/playrecords")).json() == {}
    assert (await other.get("/api/favorites")).json() == {}
    assert list((await owner.get("/api/playrecords")).json()) == ["a+1"]


async def test_online_ping(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    body = (await client.post("/api/user/online")).json()
    assert body["ok"] is True and body["lastOnline"] > 0


async def test_malformed_input_never_500(inprocess_app: Any) -> None:
    client = await (await inprocess_app()).client(as_user="admin")
    for path in ("/api/playrecords", "/api/favorites", "/api/searchhistory", "/api/skipconfigs"):
        for payload in (b"", b"null", b"[1,2]", b"{bad", b'"str"', b"\xff\xfe"):
            response = await client.post(path, content=payload, headers={"Content-Type": "application/json"})
            assert 400 <= response.status_code < 500, (path, payload, response.status_code)
            assert "error" in response.json()
