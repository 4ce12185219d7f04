"""Point the app at data written by MoonTV/LunaTV (Redis/Kvrocks layout) and find it all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis

from tests.inprocess import InProcessApp
from tests.support import settings_for, write_config

RECORD = {
    "title": "长夜行歌",
    "source_name": "源A",
    "cover": "",
    "year": "2024",
    "index": 3,
    "total_episodes": 24,
    "play_time": 600,
    "total_time": 2700,
    "save_time": 1732000000000,
    "search_title": "长夜",
}
FAVORITE = {
    "title": "流浪星球",
    "source_name": "源A",
    "cover": "",
    "year": "2023",
    "total_episodes": 1,
    "save_time": 1732000000001,
    "search_title": "",
}
LUNATV_CONFIG = {
    "ConfigFile": json.dumps(
        {"cache_time": 3600, "api_site": {"a": {"api": "https://a.example/api", "name": "源A"}}}
    ),
    "SiteConfig": {
        "SiteName": "老站点",
        "Announcement": "公告",
        "SearchDownstreamMaxPage": 4,
        "SiteInterfaceCacheTime": 3600,
        "DoubanProxyType": "direct",
        "DoubanProxy": "",
        "DoubanImageProxyType": "server",
        "DoubanImageProxy": "",
        "DisableYellowFilter": False,
    },
    "UserConfig": {
        "AllowRegister": False,
        "Users": [
            {"username": "admin", "role": "owner"},
            {"username": "alice", "role": "admin"},
            {"username": "bob", "role": "user", "banned": True},
        ],
    },
    "SourceConfig": [
        {"key": "a", "name": "源A", "api": "https://a.example/api", "from": "config", "disabled": False},
        {"key": "c", "name": "自定义C", "api": "https://c.example/api", "from": "custom", "disabled": True},
    ],
    "CustomCategories": [],
}


@pytest.fixture
def raw(clean_redis: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(clean_redis, decode_responses=True)
    yield client
    client.close()


def _app(tmp_path, clean_redis) -> InProcessApp:  # type: ignore[no-untyped-def]
    write_config(tmp_path / "config.json", {})
    (tmp_path / "config.json").unlink()  # a deployment that keeps its config only in the database
    return InProcessApp(settings_for(tmp_path, storage="kvrocks", redis_url=clean_redis))


async def test_lunatv_v100_hash_layout(tmp_path, clean_redis, raw) -> None:
    raw.set("admin:config", json.dumps(LUNATV_CONFIG, ensure_ascii=False))
    raw.set("u:alice:pwd", "alicepw")  # plain text, as LunaTV < 100.1 stored it
    raw.sadd("sys:users", "alice", "bob")
    raw.set("u:bob:pwd", "bobpw")
    raw.hset("u:alice:pr", "a+4", json.dumps(RECORD, ensure_ascii=False))
    raw.hset("u:alice:fav", "a+1", json.dumps(FAVORITE, ensure_ascii=False))
    raw.lpush("u:alice:sh", "older", "newest")
    raw.set("sys:migration:hash_v2", "done")
    async with _app(tmp_path, clean_redis) as app:
        client = await app.client()
        login = await client.post("/api/login", json={"username": "alice", "password": "alicepw"})
        assert login.status_code == 200 and login.json()["role"] == "admin"
        assert (await client.get("/api/playrecords")).json() == {"a+4": RECORD}
        assert (await client.get("/api/favorites")).json() == {"a+1": FAVORITE}
        assert (await client.get("/api/searchhistory")).json() == ["newest", "older"]
        assert [s["key"] for s in (await client.get("/api/config/sources")).json()] == ["a"]
        assert (await client.get("/api/server-config")).json()["SiteName"] == "老站点"
        banned = await app.client()
        refused = await banned.post("/api/login", json={"username": "bob", "password": "bobpw"})
        assert refused.status_code == 401 and refused.json()["error"] == "用户被封禁"
    assert raw.get("u:alice:pwd").startswith("$argon2id$"), "the plain-text password was re-hashed"
    stored = json.loads(raw.get("admin:config"))
    assert [u["username"] for u in stored["UserConfig"]["Users"]] == ["admin", "alice", "bob"]


async def test_moontv_v3_string_key_layout_is_imported(tmp_path, clean_redis, raw) -> None:
    raw.set("admin:config", json.dumps(LUNATV_CONFIG, ensure_ascii=False))
    raw.set("u:alice:pwd", "alicepw")
    raw.set("u:alice:pr:a+4", json.dumps(RECORD, ensure_ascii=False))
    raw.set("u:alice:fav:a+1", json.dumps(FAVORITE, ensure_ascii=False))
    raw.set("u:alice:skip:a+4", json.dumps({"enable": True, "intro_time": 60, "outro_time": -90}))
    async with _app(tmp_path, clean_redis) as app:
        client = await app.login("alice", "alicepw")
        assert (await client.get("/api/playrecords")).json() == {"a+4": RECORD}
        assert (await client.get("/api/favorites")).json() == {"a+1": FAVORITE}
        assert (await client.get("/api/skipconfigs")).json() == {
            "a+4": {"enable": True, "intro_time": 60, "outro_time": -90}
        }
    assert raw.exists("u:alice:pr:a+4") == 0 and raw.type("u:alice:pr") == "hash"
