"""Redis/Kvrocks-specific behaviour: raw key layout, legacy import, Kvrocks-safe commands."""

from __future__ import annotations

import inspect
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import redis

import moontv.storage.redis as redis_module
from moontv.storage.protocol import StorageError
from moontv.storage.redis import RedisStorage, parse_legacy_key
from tests.conftest import free_port

REDIS_TEST_DB = 3

# Everything the backend may send. All are supported by Kvrocks; KEYS and FLUSH* are not listed.
KVROCKS_SAFE = {
    "client",
    "ping",
    "get",
    "set",
    "mget",
    "incr",
    "incrby",
    "del",
    "exists",
    "type",
    "scan",
    "hget",
    "hset",
    "hsetnx",
    "hdel",
    "hgetall",
    "lpush",
    "lrem",
    "ltrim",
    "lrange",
    "sadd",
    "srem",
    "smembers",
    "multi",
    "exec",
    "watch",
    "unwatch",
    "discard",
    "select",  # only because these tests use a non-zero db number
}


@pytest.fixture
def url(redis_server: str) -> str:
    return urlsplit(redis_server)._replace(path=f"/{REDIS_TEST_DB}").geturl()


@pytest.fixture
def raw(url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(url, decode_responses=True, protocol=2)
    client.flushdb()  # private test server
    yield client
    client.close()


@pytest.fixture
async def store(url: str, raw: redis.Redis) -> AsyncIterator[RedisStorage]:
    storage = RedisStorage(url)
    await storage.open()
    yield storage
    await storage.close()


def all_keys(raw: redis.Redis) -> set[str]:
    return set(raw.scan_iter(match="*", count=1000))


def seed_legacy(raw: redis.Redis) -> None:
    """Data as MoonTV v3.x left it: one string key per record, no sys:users set."""
    raw.set("u:alice:pwd", "plain-password")
    raw.set("u:alice:pr:src+1", orjson.dumps({"title": "Old A", "save_time": 1}).decode())
    raw.set("u:alice:pr:src+2", orjson.dumps({"title": "Old B", "save_time": 2}).decode())
    raw.set("u:alice:fav:src+1", orjson.dumps({"title": "Old A", "save_time": 1}).decode())
    raw.set("u:alice:skip:src+1", orjson.dumps({"enable": True, "intro_time": 3, "outro_time": 4}).decode())
    raw.rpush("u:alice:sh", "newest", "older")
    raw.set("u:bob:pwd", "bob-password")
    raw.set("u:a:pr:b:pwd", "weird-password")  # the user "a:pr:b"
    raw.set("u:a:pr:b:pr:src+9", orjson.dumps({"title": "Weird"}).decode())
    raw.set("u:admin:pr:src+5", orjson.dumps({"title": "Owner"}).decode())  # owner: no pwd key
    raw.set("admin:config", orjson.dumps({"SiteConfig": {"SiteName": "Legacy"}}).decode())
    raw.set("unrelated:key", "keep me")


async def test_key_layout(store: RedisStorage, raw: redis.Redis) -> None:
    await store.set_password_hash("alice", "h")
    await store.set_play_record("alice", "src+1", {"title": "A"})
    await store.set_favorite("alice", "src+1", {"title": "A"})
    await store.set_skip_config("alice", "src+1", {"enable": True, "intro_time": 1, "outro_time": 2})
    await store.add_search_history("alice", "kw")
    await store.bump_session_epoch("alice")
    await store.set_last_online("alice", 123)
    await store.set_admin_config({"x": 1})
    await store.set_meta_if_absent("secret", "s")

    expected_types = {
        "u:alice:pwd": "string",
        "u:alice:pr": "hash",
        "u:alice:prt": "hash",
        "u:alice:fav": "hash",
        "u:alice:skip": "hash",
        "u:alice:sh": "list",
        "u:alice:epoch": "string",
        "sys:users": "set",
        "sys:online": "hash",
        "admin:config": "string",
        "admin:config:version": "string",
        "sys:meta:secret": "string",
        "sys:migration:hash_v2": "string",
    }
    assert all_keys(raw) == set(expected_types)
    assert {key: raw.type(key) for key in expected_types} == expected_types
    assert orjson.loads(raw.hget("u:alice:pr", "src+1")) == {"title": "A"}
    assert raw.hget("u:alice:prt", "A") == "src+1"
    assert raw.lrange("u:alice:sh", 0, -1) == ["kw"]
    assert raw.smembers("sys:users") == {"alice"}
    assert raw.get("admin:config:version") == "1"
    assert raw.get("sys:migration:hash_v2") == "done"


async def test_legacy_import(url: str, raw: redis.Redis) -> None:
    seed_legacy(raw)
    raw.hset("u:alice:pr", "src+2", orjson.dumps({"title": "Newer B", "save_time": 9}).decode())

    storage = RedisStorage(url)
    await storage.open()
    try:
        assert await storage.list_users() == ["a:pr:b", "alice", "bob"]
        assert await storage.get_password_hash("alice") == "plain-password"
        assert await storage.get_all_play_records("alice") == {
            "src+1": {"title": "Old A", "save_time": 1},
            "src+2": {"title": "Newer B", "save_time": 9},  # existing hash field wins
        }
        assert await storage.get_all_favorites("alice") == {"src+1": {"title": "Old A", "save_time": 1}}
        assert await storage.get_skip_config("alice", "src+1") == {
            "enable": True,
            "intro_time": 3,
            "outro_time": 4,
        }
        assert await storage.get_search_history("alice") == ["newest", "older"]
        assert await storage.get_all_play_records("a:pr:b") == {"src+9": {"title": "Weird"}}
        assert await storage.get_all_play_records("admin") == {"src+5": {"title": "Owner"}}
        assert await storage.get_admin_config() == ({"SiteConfig": {"SiteName": "Legacy"}}, 0)
        assert await storage.set_admin_config({"SiteConfig": {}}, expected_version=0) == 1
    finally:
        await storage.close()

    strings = {k for k in all_keys(raw) if k.startswith("u:") and raw.type(k) == "string"}
    assert strings == {"u:alice:pwd", "u:bob:pwd", "u:a:pr:b:pwd"}
    assert raw.get("unrelated:key") == "keep me"
    assert raw.get("sys:migration:hash_v2") == "done"


async def test_legacy_import_runs_only_once(url: str, raw: redis.Redis) -> None:
    first = RedisStorage(url)
    await first.open()
    await first.close()
    raw.set("u:late:pr:src+1", orjson.dumps({"title": "Late"}).decode())

    second = RedisStorage(url)
    await second.open()
    try:
        assert await second.get_all_play_records("late") == {}
    finally:
        await second.close()
    assert raw.exists("u:late:pr:src+1")


async def test_legacy_import_skips_hashes_of_awkward_users(url: str, raw: redis.Redis) -> None:
    # New-layout keys of a user named "x:pr:y" look like legacy keys but are not strings.
    raw.hset("u:x:pr:y:pr", "src+1", orjson.dumps({"title": "T"}).decode())
    raw.rpush("u:x:pr:y:sh", "kw")
    storage = RedisStorage(url)
    await storage.open()
    await storage.close()
    assert raw.type("u:x:pr:y:pr") == "hash"
    assert raw.hgetall("u:x") == {}


def test_parse_legacy_key() -> None:
    assert parse_legacy_key("u:alice:pr:src+1", set()) == ("alice", "pr", "src+1")
    assert parse_legacy_key("u:alice:skip:src+a:b", {"alice"}) == ("alice", "skip", "src+a:b")
    assert parse_legacy_key("u:a:pr:b:fav:s+1", {"a:pr:b"}) == ("a:pr:b", "fav", "s+1")
    assert parse_legacy_key("u:a:pr:b:fav:s+1", set()) == ("a", "pr", "b:fav:s+1")
    assert parse_legacy_key("u:alice:pwd", {"alice"}) is None
    assert parse_legacy_key("u:a:pr:b:pwd", set()) is None
    assert parse_legacy_key("u:alice:sh", set()) is None
    assert parse_legacy_key("u:alice:pr:", set()) is None
    assert parse_legacy_key("admin:config", set()) is None


async def test_glob_usernames_never_touch_other_keys(store: RedisStorage, raw: redis.Redis) -> None:
    for user in ("alice", "alicia", "*", "ali?e", "[a]lice"):
        await store.set_password_hash(user, "h")
        await store.set_play_record(user, "s+1", {"title": user})
    for user in ("*", "ali?e", "[a]lice"):
        await store.delete_user(user)
    assert await store.list_users() == ["alice", "alicia"]
    remaining = {k for k in all_keys(raw) if k.startswith("u:") and not k.endswith(":epoch")}
    assert remaining == {f"u:{u}:{k}" for u in ("alice", "alicia") for k in ("pwd", "pr", "prt")}


async def test_clear_all_data_keeps_foreign_keys(store: RedisStorage, raw: redis.Redis) -> None:
    raw.set("other-app:key", "x")
    raw.set("u:ghost:pr:s+1", "{}")  # stray legacy key of an unknown user
    await store.set_password_hash("alice", "h")
    await store.set_meta_if_absent("secret", "s")
    await store.clear_all_data()
    assert all_keys(raw) == {"other-app:key", "sys:meta:secret", "sys:migration:hash_v2"}


async def test_only_kvrocks_safe_commands_are_sent(url: str, raw: redis.Redis) -> None:
    seed_legacy(raw)
    raw.config_resetstat()
    storage = RedisStorage(url)
    await storage.open()
    try:
        await exercise_every_method(storage)
    finally:
        await storage.close()
    used = {name.removeprefix("cmdstat_").split("|")[0] for name in raw.info("commandstats")}
    used -= {"config", "info"}  # the inspection itself
    assert used <= KVROCKS_SAFE, used - KVROCKS_SAFE
    assert {"keys", "flushdb", "flushall", "hello"}.isdisjoint(used)


async def exercise_every_method(s: RedisStorage) -> None:
    await s.ping()
    await s.set_password_hash("u1", "h")
    await s.get_password_hash("u1")
    await s.user_exists("u1")
    await s.list_users()
    await s.set_play_record("u1", "s+1", {"title": "A"})
    await s.set_play_record("u1", "s+2", {"save_time": 1})
    await s.get_play_record("u1", "s+1")
    await s.get_all_play_records("u1")
    await s.delete_play_record("u1", "s+1")
    await s.delete_all_play_records("u1")
    await s.set_favorite("u1", "s+1", {"title": "A"})
    await s.get_favorite("u1", "s+1")
    await s.get_all_favorites("u1")
    await s.delete_favorite("u1", "s+1")
    await s.delete_all_favorites("u1")
    await s.add_search_history("u1", "kw")
    await s.get_search_history("u1")
    await s.delete_search_history("u1", "kw")
    await s.delete_search_history("u1")
    await s.set_skip_config("u1", "s+1", {"enable": True, "intro_time": 1, "outro_time": 2})
    await s.get_skip_config("u1", "s+1")
    await s.get_all_skip_configs("u1")
    await s.delete_skip_config("u1", "s+1")
    await s.bump_session_epoch("u1")
    await s.get_session_epoch("u1")
    await s.set_last_online("u1", 1)
    await s.get_last_online()
    await s.set_admin_config({"x": 1})
    await s.set_admin_config({"x": 2}, expected_version=1)
    await s.get_admin_config()
    await s.set_meta_if_absent("m", "v")
    await s.get_meta("m")
    await s.incr_counter("c", 60)
    await s.get_counter("c")
    await s.delete_counter("c")
    await s.delete_user("u1")
    await s.clear_all_data()


def test_module_source_never_uses_keys_or_flush() -> None:
    source = inspect.getsource(redis_module)
    assert ".keys(" not in source
    assert not re.search(r"flush(all|db)", source, re.IGNORECASE)
    assert '"KEYS"' not in source.upper()


def test_kind_is_validated() -> None:
    assert RedisStorage("redis://127.0.0.1:1/0", kind="kvrocks").kind == "kvrocks"
    with pytest.raises(ValueError, match="kind"):
        RedisStorage("redis://127.0.0.1:1/0", kind="memcached")


async def test_unreachable_server_raises_storage_error() -> None:
    storage = RedisStorage(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StorageError, match="cannot open"):
        await storage.open()
    with pytest.raises(StorageError, match="not open"):
        await storage.ping()


def start_private_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


async def test_recovers_after_the_server_restarts(tmp_path: Path) -> None:
    port = free_port()
    proc = start_private_redis(port, str(tmp_path))
    storage = RedisStorage(f"redis://127.0.0.1:{port}/0")
    try:
        await storage.open()
        await storage.set_password_hash("alice", "h")
        stop(proc)
        started = time.monotonic()
        with pytest.raises(StorageError):
            await storage.ping()
        assert time.monotonic() - started < 20  # bounded: no hang on the dead server
        proc = start_private_redis(port, str(tmp_path))
        await storage.set_password_hash("bob", "h")  # stale pooled connections are replaced
        assert await storage.list_users() == ["bob"]  # the server kept nothing in memory
    finally:
        await storage.close()
        stop(proc)


async def test_title_index_is_built_for_old_records_and_checked_before_use(
    store: RedisStorage, raw: redis.Redis
) -> None:
    # records written before the index existed (or by LunaTV): the first write builds it
    raw.hset("u:old:pr", mapping={"a+1": orjson.dumps({"title": "T"}).decode(), "b+2": "{}"})
    await store.set_play_record("old", "c+3", {"title": "T"})
    assert set(await store.get_all_play_records("old")) == {"b+2", "c+3"}
    # a record that changed title is not deleted through a stale index entry
    await store.set_play_record("old", "c+3", {"title": "U"})
    await store.set_play_record("old", "d+4", {"title": "T"})
    assert set(await store.get_all_play_records("old")) == {"b+2", "c+3", "d+4"}
    await store.set_play_record("old", "e+5", {"title": "U"})
    assert set(await store.get_all_play_records("old")) == {"b+2", "d+4", "e+5"}
    await store.delete_all_play_records("old")
    assert not raw.exists("u:old:pr") and not raw.exists("u:old:prt")
