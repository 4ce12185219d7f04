"""Redis / Kvrocks backend, data-compatible with MoonTV/LunaTV (hash layout, ``sys:users``).

Key layout (``{user}`` is the raw username, never escaped)::

    u:{user}:pwd      string  password hash (or a legacy plain/scrypt value)
    u:{user}:pr       hash    "{source}+{id}" -> PlayRecord JSON
    u:{user}:prt      hash    title -> "{source}+{id}": the same-title index (our addition;
                              entries are hints, checked against the record before use)
    u:{user}:fav      hash    "{source}+{id}" -> Favorite JSON
    u:{user}:skip     hash    "{source}+{id}" -> SkipConfig JSON
    u:{user}:danmu    hash    "{source}+{id}" -> chosen danmaku track JSON (our addition)
    u:{user}:livefav  hash    "{liveSource}+{channelId}" -> live channel favourite (our addition)
    u:{user}:sh       list    search keywords, newest at the head
    u:{user}:epoch    string  session epoch (our addition)
    sys:users         set     usernames with a credential
    sys:online        hash    user -> last-online ms (our addition)
    sys:meta:{name}   string  server metadata (our addition)
    sys:lease:{name}  string  holder of a lease, expiring with it (our addition)
    sys:ctr:{name}    string  expiring counter, INCR + EX (our addition)
    admin:config      string  AdminConfig JSON
    admin:config:version  string  int version of admin:config (our addition)

Only commands Kvrocks supports are used; ``KEYS`` and ``FLUSH*`` never are. Patterns are
never built from usernames, so names containing glob characters or ``:`` are safe.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError, WatchError

from moontv.storage.protocol import SEARCH_HISTORY_LIMIT, StorageError, VersionConflict

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

USERS_KEY = "sys:users"
ONLINE_KEY = "sys:online"
ADMIN_CONFIG_KEY = "admin:config"
ADMIN_VERSION_KEY = "admin:config:version"
MIGRATION_FLAG_KEY = "sys:migration:hash_v2"
MIGRATION_DONE = "done"  # the value LunaTV writes and checks
LEGACY_KINDS = ("pr", "fav", "skip")

SCAN_COUNT = 500
BATCH_SIZE = 500
WATCH_ATTEMPTS = 20
PLAY_RECORD_DEADLINE = 10.0
KINDS = ("redis", "kvrocks")


def user_key(user: str, suffix: str) -> str:
    return f"u:{user}:{suffix}"


def _user_keys(user: str) -> list[str]:
    return [
        user_key(user, suffix) for suffix in ("pwd", "pr", "prt", "fav", "skip", "danmu", "livefav", "sh")
    ]


# take or renew: free, expired (the key is gone) or already ours -> ours for ttl ms
LEASE_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
LEASE_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _lease_key(name: str) -> str:
    return f"sys:lease:{name}"


def _meta_key(name: str) -> str:
    return f"sys:meta:{name}"


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def _loads(raw: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _title_of(record: dict[str, Any] | None) -> str | None:
    title = record.get("title") if record else None
    return title if isinstance(title, str) and title else None


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_int(raw: str | None) -> int:
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _translate_errors(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Surface every client/server failure as StorageError (the protocol's error type)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc

    return wrapper


def _make_client(url: str) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=32,
        timeout=10,
        decode_responses=True,
        protocol=2,  # redis-py 8 defaults to RESP3, which Kvrocks only speaks when configured to
        driver_info=None,  # skip CLIENT SETINFO on connect
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
    )
    return Redis.from_pool(pool)


def parse_legacy_key(key: str, users: set[str]) -> tuple[str, str, str] | None:
    """Split ``u:{user}:{kind}:{field}`` into (user, kind, field).

    A username may itself contain ``:pr:`` and friends, so every split point is considered:
    the longest known username wins, otherwise (e.g. the owner, who has no ``pwd`` key) the
    leftmost split is used.
    """
    if not key.startswith("u:") or key.endswith((":pwd", ":epoch")):
        return None
    candidates: list[tuple[int, str, str, str]] = []
    for kind in LEGACY_KINDS:
        marker = f":{kind}:"
        pos = key.find(marker, 2)
        while pos != -1:
            user, field = key[2:pos], key[pos + len(marker) :]
            if user and field:
                candidates.append((pos, user, kind, field))
            pos = key.find(marker, pos + 1)
    if not candidates:
        return None
    known = [c for c in candidates if c[1] in users]
    _, user, kind, field = max(known) if known else min(candidates)
    return user, kind, field


class RedisStorage:
    """Storage on Redis or Kvrocks (RESP2) through one pooled ``redis.asyncio`` client."""

    def __init__(self, url: str, *, kind: str = "redis") -> None:
        if kind not in KINDS:
            raise ValueError(f"RedisStorage kind must be one of {KINDS}, not {kind!r}")
        self.kind = kind
        self._url = url
        self._client: Redis | None = None
        self._lifecycle = asyncio.Lock()
        self._user_locks = [asyncio.Lock() for _ in range(64)]

    @property
    def _r(self) -> Redis:
        if self._client is None:
            raise StorageError(f"{self.kind} storage is not open")
        return self._client

    @property
    def client(self) -> Redis:
        """The open connection pool, for data that lives beside MoonTV's (the shared search cache)."""
        return self._r

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lifecycle:
            if self._client is not None:
                return
            client = _make_client(self._url)
            try:
                await client.ping()
                await self._import_legacy(client)
            except RedisError as exc:
                await client.aclose()
                raise StorageError(f"cannot open {self.kind} storage: {exc}") from exc
            self._client = client

    async def close(self) -> None:
        async with self._lifecycle:
            client, self._client = self._client, None
            if client is not None:
                await client.aclose()

    @_translate_errors
    async def ping(self) -> None:
        await self._r.ping()

    # -- legacy import (MoonTV v3.x: one string key per record) ---------------------------------
    async def _import_legacy(self, r: Redis) -> None:
        if await r.get(MIGRATION_FLAG_KEY) == MIGRATION_DONE:
            return
        scanned = [key async for key in r.scan_iter(match="u:*", count=SCAN_COUNT)]
        strings = await self._string_keys(r, scanned)
        users = {key[2:-4] for key in strings if key.endswith(":pwd")}
        legacy = [(key, parsed) for key in strings if (parsed := parse_legacy_key(key, users))]
        for batch in _chunks(legacy, BATCH_SIZE):
            await self._move_legacy_batch(r, batch)
        if users:
            await r.sadd(USERS_KEY, *users)
        await r.set(MIGRATION_FLAG_KEY, MIGRATION_DONE)
        if legacy or users:
            logger.info("imported %d legacy records of %d users into hashes", len(legacy), len(users))

    @staticmethod
    async def _string_keys(r: Redis, keys: list[str]) -> list[str]:
        strings: list[str] = []
        for batch in _chunks(keys, BATCH_SIZE):
            async with r.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.type(key)
                types = await pipe.execute()
            strings.extend(key for key, kind in zip(batch, types, strict=True) if kind == "string")
        return strings

    @staticmethod
    async def _move_legacy_batch(r: Redis, batch: list[tuple[str, tuple[str, str, str]]]) -> None:
        values = await r.mget([key for key, _ in batch])
        async with r.pipeline(transaction=False) as pipe:
            for (key, (user, kind, field)), value in zip(batch, values, strict=True):
                if value is None:
                    continue
                # An existing hash field is newer data written by a hash-aware version.
                pipe.hsetnx(user_key(user, kind), field, value)
                pipe.delete(key)
            await pipe.execute()

    # -- generic per-user JSON hashes --------------------------------------------------------
    async def _hget_json(self, hkey: str, field: str) -> dict[str, Any] | None:
        raw = await self._r.hget(hkey, field)
        return _loads(raw) if raw is not None else None

    async def _hgetall_json(self, hkey: str) -> dict[str, dict[str, Any]]:
        stored: dict[str, str] = await self._r.hgetall(hkey)
        result: dict[str, dict[str, Any]] = {}
        for field, raw in stored.items():
            value = _loads(raw)
            if value is None:
                logger.warning("skipping undecodable value %s[%s]", hkey, field)
                continue
            result[field] = value
        return result

    # -- play records ------------------------------------------------------------------------
    @_translate_errors
    async def get_play_record(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._hget_json(user_key(user, "pr"), key)

    @_translate_errors
    async def set_play_record(self, user: str, key: str, record: dict[str, Any]) -> None:
        """O(1) in the user's record count: the title index names the one record to replace.

        Writers of one user take turns in this process (a striped lock), so optimistic
        transactions only collide across replicas; a collision retries after a short random
        pause until ``PLAY_RECORD_DEADLINE`` (never after a fixed small number of tries).
        """
        hkey, ikey, value, title = (
            user_key(user, "pr"),
            user_key(user, "prt"),
            _dumps(record),
            _title_of(record),
        )
        if title is None:
            await self._r.hset(hkey, key, value)
            return
        deadline = time.monotonic() + PLAY_RECORD_DEADLINE
        async with self._user_locks[hash(user) % len(self._user_locks)]:
            await self._ensure_title_index(hkey, ikey)
            async with self._r.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await self._replace_same_title(pipe, hkey, ikey, key, value, title)
                        return
                    except WatchError:
                        if time.monotonic() > deadline:
                            break
                        await asyncio.sleep(random.uniform(0.001, 0.02))
        raise StorageError(f"play records of {user!r} kept changing for {PLAY_RECORD_DEADLINE:g}s")

    @staticmethod
    async def _replace_same_title(
        pipe: Pipeline, hkey: str, ikey: str, key: str, value: str, title: str
    ) -> None:
        await pipe.watch(ikey)
        previous = await pipe.hget(ikey, title)
        stale = None
        if previous is not None and previous != key:
            # the index is a hint: the record it names must still carry this title
            raw = await pipe.hget(hkey, previous)
            if raw is not None and _title_of(_loads(raw)) == title:
                stale = previous
        pipe.multi()
        if stale is not None:
            pipe.hdel(hkey, stale)
        pipe.hset(hkey, key, value)
        pipe.hset(ikey, title, key)
        await pipe.execute()

    async def _ensure_title_index(self, hkey: str, ikey: str) -> None:
        """Build the index once for records written before it existed (LunaTV data, upgrades)."""
        if await self._r.exists(ikey):
            return
        index: dict[str, str] = {}
        for field, raw in (await self._r.hgetall(hkey)).items():
            title = _title_of(_loads(raw))
            if title is not None:
                index[title] = field
        index[""] = ""  # a marker, so an index exists even for a user without titled records
        await self._r.hset(ikey, mapping=index)

    @_translate_errors
    async def get_all_play_records(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._hgetall_json(user_key(user, "pr"))

    @_translate_errors
    async def delete_play_record(self, user: str, key: str) -> None:
        await self._r.hdel(user_key(user, "pr"), key)

    @_translate_errors
    async def delete_all_play_records(self, user: str) -> None:
        await self._r.delete(user_key(user, "pr"), user_key(user, "prt"))

    # -- favorites -----------------------------------------------------------------------------
    @_translate_errors
    async def get_favorite(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._hget_json(user_key(user, "fav"), key)

    @_translate_errors
    async def set_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None:
        await self._r.hset(user_key(user, "fav"), key, _dumps(favorite))

    @_translate_errors
    async def get_all_favorites(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._hgetall_json(user_key(user, "fav"))

    @_translate_errors
    async def delete_favorite(self, user: str, key: str) -> None:
        await self._r.hdel(user_key(user, "fav"), key)

    @_translate_errors
    async def delete_all_favorites(self, user: str) -> None:
        await self._r.delete(user_key(user, "fav"))

    # -- search history ------------------------------------------------------------------------
    @_translate_errors
    async def get_search_history(self, user: str) -> list[str]:
        history: list[str] = await self._r.lrange(user_key(user, "sh"), 0, SEARCH_HISTORY_LIMIT - 1)
        return history

    @_translate_errors
    async def add_search_history(self, user: str, keyword: str) -> None:
        key = user_key(user, "sh")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lrem(key, 0, keyword)
            pipe.lpush(key, keyword)
            pipe.ltrim(key, 0, SEARCH_HISTORY_LIMIT - 1)
            await pipe.execute()

    @_translate_errors
    async def delete_search_history(self, user: str, keyword: str | None = None) -> None:
        key = user_key(user, "sh")
        if keyword is None:
            await self._r.delete(key)
        else:
            await self._r.lrem(key, 0, keyword)

    # -- skip configs --------------------------------------------------------------------------
    @_translate_errors
    async def get_skip_config(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._hget_json(user_key(user, "skip"), key)

    @_translate_errors
    async def set_skip_config(self, user: str, key: str, config: dict[str, Any]) -> None:
        await self._r.hset(user_key(user, "skip"), key, _dumps(config))

    @_translate_errors
    async def get_all_skip_configs(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._hgetall_json(user_key(user, "skip"))

    async def count_user_items(self, user: str, kind: str) -> int:
        if kind not in ("pr", "fav", "skip"):
            raise KeyError(kind)
        return int(await self._r.hlen(user_key(user, kind)))

    @_translate_errors
    async def delete_skip_config(self, user: str, key: str) -> None:
        await self._r.hdel(user_key(user, "skip"), key)

    # -- danmaku choices -----------------------------------------------------------------------
    @_translate_errors
    async def get_danmaku_choice(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._hget_json(user_key(user, "danmu"), key)

    @_translate_errors
    async def set_danmaku_choice(self, user: str, key: str, choice: dict[str, Any]) -> None:
        await self._r.hset(user_key(user, "danmu"), key, _dumps(choice))

    @_translate_errors
    async def delete_danmaku_choice(self, user: str, key: str) -> None:
        await self._r.hdel(user_key(user, "danmu"), key)

    # -- favourite live channels ---------------------------------------------------------------
    @_translate_errors
    async def get_all_live_favorites(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._hgetall_json(user_key(user, "livefav"))

    @_translate_errors
    async def set_live_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None:
        await self._r.hset(user_key(user, "livefav"), key, _dumps(favorite))

    @_translate_errors
    async def delete_live_favorite(self, user: str, key: str) -> None:
        await self._r.hdel(user_key(user, "livefav"), key)

    # -- credentials and sessions --------------------------------------------------------------
    @_translate_errors
    async def get_password_hash(self, user: str) -> str | None:
        value: str | None = await self._r.get(user_key(user, "pwd"))
        return value

    @_translate_errors
    async def set_password_hash(self, user: str, password_hash: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(user_key(user, "pwd"), password_hash)
            pipe.sadd(USERS_KEY, user)
            await pipe.execute()

    @_translate_errors
    async def user_exists(self, user: str) -> bool:
        return bool(await self._r.exists(user_key(user, "pwd")))

    @_translate_errors
    async def list_users(self) -> list[str]:
        return sorted(await self._r.smembers(USERS_KEY))

    @_translate_errors
    async def delete_user(self, user: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(*_user_keys(user))
            pipe.srem(USERS_KEY, user)
            pipe.hdel(ONLINE_KEY, user)
            pipe.incr(user_key(user, "epoch"))  # kept and bumped: old tokens stay invalid
            await pipe.execute()

    @_translate_errors
    async def get_session_epoch(self, user: str) -> int:
        return _as_int(await self._r.get(user_key(user, "epoch")))

    @_translate_errors
    async def bump_session_epoch(self, user: str) -> int:
        return int(await self._r.incr(user_key(user, "epoch")))

    @_translate_errors
    async def set_last_online(self, user: str, ts_ms: int) -> None:
        await self._r.hset(ONLINE_KEY, user, str(ts_ms))

    @_translate_errors
    async def get_last_online(self) -> dict[str, int]:
        stored: dict[str, str] = await self._r.hgetall(ONLINE_KEY)
        return {user: _as_int(ts) for user, ts in stored.items()}

    # -- admin config document -----------------------------------------------------------------
    @staticmethod
    def _config_and_version(raw: str | None, version: str | None) -> tuple[dict[str, Any] | None, int]:
        if raw is None:
            return None, 0
        return _loads(raw), _as_int(version)

    @_translate_errors
    async def get_admin_config(self) -> tuple[dict[str, Any] | None, int]:
        raw, version = await self._r.mget(ADMIN_CONFIG_KEY, ADMIN_VERSION_KEY)
        return self._config_and_version(raw, version)

    @_translate_errors
    async def get_admin_config_version(self) -> int:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.exists(ADMIN_CONFIG_KEY)
            pipe.get(ADMIN_VERSION_KEY)
            exists, version = await pipe.execute()
        return _as_int(version) if exists else 0

    @_translate_errors
    async def set_admin_config(self, config: dict[str, Any], expected_version: int | None = None) -> int:
        payload = _dumps(config)
        async with self._r.pipeline(transaction=True) as pipe:
            for _ in range(WATCH_ATTEMPTS):
                try:
                    return await self._write_config(pipe, payload, expected_version)
                except WatchError:
                    # Someone wrote in between; the next round re-reads and re-checks.
                    continue
        raise StorageError("admin config kept changing; gave up")

    async def _write_config(self, pipe: Pipeline, payload: str, expected_version: int | None) -> int:
        await pipe.watch(ADMIN_CONFIG_KEY, ADMIN_VERSION_KEY)
        raw, version = await pipe.mget(ADMIN_CONFIG_KEY, ADMIN_VERSION_KEY)
        _, current = self._config_and_version(raw, version)
        if expected_version is not None and expected_version != current:
            raise VersionConflict(expected_version, current)
        pipe.multi()
        pipe.set(ADMIN_CONFIG_KEY, payload)
        pipe.set(ADMIN_VERSION_KEY, current + 1)
        await pipe.execute()
        return current + 1

    # -- metadata --------------------------------------------------------------------------------
    @_translate_errors
    async def get_meta(self, name: str) -> str | None:
        value: str | None = await self._r.get(_meta_key(name))
        return value

    @_translate_errors
    async def set_meta_if_absent(self, name: str, value: str) -> str:
        key = _meta_key(name)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(key, value, nx=True)
            pipe.get(key)
            _, stored = await pipe.execute()
        return str(stored)

    # -- expiring counters -----------------------------------------------------------------------
    @_translate_errors
    async def incr_counter(self, name: str, ttl_seconds: int) -> int:
        key = f"sys:ctr:{name}"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=max(1, ttl_seconds), nx=True)  # the window starts with the first hit
            pipe.incr(key)
            _, value = await pipe.execute()
        return int(value)

    @_translate_errors
    async def get_counter(self, name: str) -> int:
        return _as_int(await self._r.get(f"sys:ctr:{name}"))

    @_translate_errors
    async def delete_counter(self, name: str) -> None:
        await self._r.delete(f"sys:ctr:{name}")

    @_translate_errors
    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        taken = await self._r.eval(LEASE_ACQUIRE, 1, _lease_key(name), holder, max(1, int(ttl_ms)))
        return bool(taken)

    @_translate_errors
    async def release_lease(self, name: str, holder: str) -> None:
        await self._r.eval(LEASE_RELEASE, 1, _lease_key(name), holder)

    @_translate_errors
    async def set_meta(self, name: str, value: str | None) -> None:
        if value is None:
            await self._r.delete(_meta_key(name))
        else:
            await self._r.set(_meta_key(name), value)

    @_translate_errors
    async def clear_all_data(self) -> None:
        users = await self._r.smembers(USERS_KEY)
        await self._delete_keys(key for user in users for key in (*_user_keys(user), user_key(user, "epoch")))
        await self._delete_keys([key async for key in self._r.scan_iter(match="u:*", count=SCAN_COUNT)])
        await self._r.delete(ADMIN_CONFIG_KEY, ADMIN_VERSION_KEY, USERS_KEY, ONLINE_KEY)

    async def _delete_keys(self, keys: Iterable[str]) -> None:
        for batch in _chunks(list(keys), BATCH_SIZE):
            await self._r.delete(*batch)
