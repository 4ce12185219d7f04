"""One behavioural suite run against every storage backend (SQLite file, real redis-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from moontv.storage.factory import create_storage
from moontv.storage.protocol import SEARCH_HISTORY_LIMIT, Storage, StorageError, VersionConflict
from moontv.storage.redis import RedisStorage
from moontv.storage.sqlite import SqliteStorage

CONTRACT_REDIS_DB = 2

MakeStorage = Callable[[], Awaitable[Storage]]


def redis_db_url(url: str, db: int) -> str:
    return urlsplit(url)._replace(path=f"/{db}").geturl()


def flush_redis_db(url: str) -> None:
    # The test server is private to this session, so wiping one db number is fine.
    with redis.Redis.from_url(url) as client:
        client.flushdb()


@pytest.fixture(params=["sqlite", "redis"])
def backend_args(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, str | None]:
    if request.param == "sqlite":
        return "sqlite", tmp_path / "data", None
    url = redis_db_url(request.getfixturevalue("redis_server"), CONTRACT_REDIS_DB)
    flush_redis_db(url)
    return "redis", tmp_path, url


@pytest.fixture
async def make_storage(backend_args: tuple[str, Path, str | None]) -> AsyncIterator[MakeStorage]:
    kind, data_dir, url = backend_args
    opened: list[Storage] = []

    async def make() -> Storage:
        storage = create_storage(kind, data_dir=data_dir, redis_url=url)
        await storage.open()
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        await storage.close()


@pytest.fixture
async def storage(make_storage: MakeStorage) -> Storage:
    return await make_storage()


def record(title: str, *, save_time: int = 1_700_000_000_000, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": title,
        "source_name": "示例资源",
        "cover": "https://img.example/p.jpg",
        "year": "2024",
        "index": 3,
        "total_episodes": 24,
        "play_time": 615,
        "total_time": 2700,
        "save_time": save_time,
        "search_title": title,
    }
    return base | extra


# -- lifecycle -----------------------------------------------------------------------------


async def test_implements_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)
    assert storage.kind in ("sqlite", "redis")


async def test_open_is_idempotent_and_ping_works(storage: Storage) -> None:
    await storage.open()
    await storage.ping()


async def test_unopened_and_closed_storage_raise_storage_error(make_storage: MakeStorage) -> None:
    storage = await make_storage()
    await storage.close()
    with pytest.raises(StorageError):
        await storage.get_play_record("alice", "s+1")
    with pytest.raises(StorageError):
        await storage.set_meta_if_absent("k", "v")
    await storage.close()  # closing twice is harmless


async def test_data_survives_close_and_reopen(make_storage: MakeStorage) -> None:
    first = await make_storage()
    await first.set_password_hash("alice", "hash")
    await first.set_play_record("alice", "s+1", record("A"))
    await first.add_search_history("alice", "kw")
    await first.set_admin_config({"SiteConfig": {"SiteName": "X"}})
    await first.set_meta_if_absent("secret", "abc")
    await first.close()

    second = await make_storage()
    assert await second.list_users() == ["alice"]
    assert await second.get_play_record("alice", "s+1") == record("A")
    assert await second.get_search_history("alice") == ["kw"]
    assert await second.get_admin_config() == ({"SiteConfig": {"SiteName": "X"}}, 1)
    assert await second.get_meta("secret") == "abc"


# -- play records --------------------------------------------------------------------------


async def test_play_record_round_trip_is_exact(storage: Storage) -> None:
    value = record("三体", nested={"a": [1, 2.5, None, True]}, note="emoji 🎬", ratio=0.1)
    assert await storage.get_play_record("alice", "src+1") is None
    await storage.set_play_record("alice", "src+1", value)
    assert await storage.get_play_record("alice", "src+1") == value
    assert await storage.get_all_play_records("alice") == {"src+1": value}


async def test_play_record_overwrite_same_key(storage: Storage) -> None:
    await storage.set_play_record("alice", "src+1", record("A", play_time=1))
    await storage.set_play_record("alice", "src+1", record("A", play_time=99))
    assert await storage.get_all_play_records("alice") == {"src+1": record("A", play_time=99)}


async def test_same_title_rule_keeps_one_record_per_title(storage: Storage) -> None:
    await storage.set_play_record("alice", "a+1", record("Same"))
    await storage.set_play_record("alice", "b+2", record("Other"))
    await storage.set_play_record("alice", "c+3", record("Same"))
    await storage.set_play_record("alice", "d+4", record("Same"))
    await storage.set_play_record("bob", "a+1", record("Same"))

    assert set(await storage.get_all_play_records("alice")) == {"b+2", "d+4"}
    assert set(await storage.get_all_play_records("bob")) == {"a+1"}


async def test_same_title_rule_ignores_missing_or_empty_titles(storage: Storage) -> None:
    await storage.set_play_record("alice", "a+1", {"save_time": 1})
    await storage.set_play_record("alice", "b+2", {"save_time": 2})
    await storage.set_play_record("alice", "c+3", record(""))
    await storage.set_play_record("alice", "d+4", record(""))
    assert set(await storage.get_all_play_records("alice")) == {"a+1", "b+2", "c+3", "d+4"}


async def test_same_title_rule_under_concurrency(storage: Storage) -> None:
    await asyncio.gather(*(storage.set_play_record("alice", f"s+{i}", record("Race")) for i in range(20)))
    assert len(await storage.get_all_play_records("alice")) == 1


async def test_delete_play_records(storage: Storage) -> None:
    for i in range(3):
        await storage.set_play_record("alice", f"s+{i}", record(f"T{i}"))
    await storage.set_play_record("bob", "s+0", record("T0"))
    await storage.delete_play_record("alice", "s+1")
    await storage.delete_play_record("alice", "missing+9")
    assert set(await storage.get_all_play_records("alice")) == {"s+0", "s+2"}
    await storage.delete_all_play_records("alice")
    assert await storage.get_all_play_records("alice") == {}
    assert set(await storage.get_all_play_records("bob")) == {"s+0"}


async def test_many_and_large_records(storage: Storage) -> None:
    big = record("Big", cover="x" * 1_000_000)
    await storage.set_play_record("alice", "big+1", big)
    assert await storage.get_play_record("alice", "big+1") == big
    await asyncio.gather(*(storage.set_favorite("alice", f"s+{i}", record(f"F{i}")) for i in range(1500)))
    favorites = await storage.get_all_favorites("alice")
    assert len(favorites) == 1500
    assert favorites["s+1499"] == record("F1499")


# -- favorites -----------------------------------------------------------------------------


async def test_favorites(storage: Storage) -> None:
    fav = {
        "source_name": "源",
        "total_episodes": 1,
        "title": "电影",
        "year": "2020",
        "cover": "",
        "save_time": 5,
    }
    assert await storage.get_favorite("alice", "s+1") is None
    await storage.set_favorite("alice", "s+1", fav)
    await storage.set_favorite("alice", "s+2", fav | {"title": "电影"})  # no same-title rule here
    await storage.set_favorite("bob", "s+1", fav)
    assert await storage.get_favorite("alice", "s+1") == fav
    assert set(await storage.get_all_favorites("alice")) == {"s+1", "s+2"}

    await storage.delete_favorite("alice", "s+1")
    assert await storage.get_favorite("alice", "s+1") is None
    await storage.delete_all_favorites("alice")
    assert await storage.get_all_favorites("alice") == {}
    assert await storage.get_all_favorites("bob") == {"s+1": fav}


# -- search history ------------------------------------------------------------------------


async def test_search_history_newest_first_and_deduplicated(storage: Storage) -> None:
    assert await storage.get_search_history("alice") == []
    for keyword in ("a", "b", "c", "a"):
        await storage.add_search_history("alice", keyword)
    assert await storage.get_search_history("alice") == ["a", "c", "b"]


async def test_search_history_is_capped(storage: Storage) -> None:
    for i in range(SEARCH_HISTORY_LIMIT + 5):
        await storage.add_search_history("alice", f"kw{i}")
    history = await storage.get_search_history("alice")
    assert history == [f"kw{i}" for i in reversed(range(5, SEARCH_HISTORY_LIMIT + 5))]
    await storage.add_search_history("alice", "kw5")  # re-adding the oldest keeps the cap
    assert len(await storage.get_search_history("alice")) == SEARCH_HISTORY_LIMIT


async def test_search_history_delete_one_and_all(storage: Storage) -> None:
    for keyword in ("流浪地球 2", "x", "y"):
        await storage.add_search_history("alice", keyword)
    await storage.add_search_history("bob", "x")
    await storage.delete_search_history("alice", "x")
    await storage.delete_search_history("alice", "never-searched")
    assert await storage.get_search_history("alice") == ["y", "流浪地球 2"]
    await storage.delete_search_history("alice")
    assert await storage.get_search_history("alice") == []
    assert await storage.get_search_history("bob") == ["x"]


# -- skip configs --------------------------------------------------------------------------


async def test_skip_configs(storage: Storage) -> None:
    config = {"enable": True, "intro_time": 85.5, "outro_time": 120.0}
    assert await storage.get_skip_config("alice", "s+1") is None
    await storage.set_skip_config("alice", "s+1", config)
    await storage.set_skip_config("alice", "s+2", config | {"enable": False})
    assert await storage.get_skip_config("alice", "s+1") == config
    assert await storage.get_all_skip_configs("alice") == {"s+1": config, "s+2": config | {"enable": False}}
    await storage.delete_skip_config("alice", "s+1")
    assert await storage.get_all_skip_configs("alice") == {"s+2": config | {"enable": False}}
    assert await storage.get_all_skip_configs("bob") == {}


async def test_live_favorites(storage: Storage) -> None:
    fav = {"name": "CCTV-1 综合", "source": "iptv", "save_time": 1}
    assert await storage.get_all_live_favorites("alice") == {}
    await storage.set_live_favorite("alice", "iptv+abc", fav)
    await storage.set_live_favorite("alice", "iptv+def", fav | {"name": "B"})
    await storage.set_live_favorite("alice", "iptv+abc", fav | {"save_time": 2})
    assert await storage.get_all_live_favorites("alice") == {
        "iptv+abc": fav | {"save_time": 2},
        "iptv+def": fav | {"name": "B"},
    }
    await storage.delete_live_favorite("alice", "iptv+def")
    await storage.delete_live_favorite("alice", "missing")
    assert list(await storage.get_all_live_favorites("alice")) == ["iptv+abc"]
    assert await storage.get_all_live_favorites("bob") == {}
    await storage.set_password_hash("alice", "h")
    await storage.delete_user("alice")
    assert await storage.get_all_live_favorites("alice") == {}


async def test_danmaku_choices(storage: Storage) -> None:
    choice = {"animeId": 7, "animeTitle": "鬼灭之刃 第二季", "keyword": "鬼灭之刃", "offset": -1}
    assert await storage.get_danmaku_choice("alice", "s+1") is None
    await storage.set_danmaku_choice("alice", "s+1", choice)
    await storage.set_danmaku_choice("alice", "s+1", choice | {"offset": 2})
    assert await storage.get_danmaku_choice("alice", "s+1") == choice | {"offset": 2}
    assert await storage.get_danmaku_choice("bob", "s+1") is None
    await storage.delete_danmaku_choice("alice", "s+1")
    await storage.delete_danmaku_choice("alice", "never-chosen")
    assert await storage.get_danmaku_choice("alice", "s+1") is None


async def test_deleting_a_user_deletes_their_danmaku_choices(storage: Storage) -> None:
    await storage.set_password_hash("alice", "h")
    await storage.set_danmaku_choice("alice", "s+1", {"animeId": 1})
    await storage.delete_user("alice")
    assert await storage.get_danmaku_choice("alice", "s+1") is None


# -- users and sessions --------------------------------------------------------------------


async def test_credentials_and_user_list(storage: Storage) -> None:
    assert await storage.list_users() == []
    assert not await storage.user_exists("bob")
    assert await storage.get_password_hash("bob") is None
    for user in ("carol", "alice", "bob"):
        await storage.set_password_hash(user, f"$argon2id$h-{user}")
    await storage.set_password_hash("bob", "salt:hash")
    assert await storage.list_users() == ["alice", "bob", "carol"]
    assert await storage.user_exists("bob")
    assert await storage.get_password_hash("bob") == "salt:hash"


async def test_data_without_credential_does_not_create_a_user(storage: Storage) -> None:
    await storage.set_play_record("owner", "s+1", record("A"))
    await storage.add_search_history("owner", "kw")
    await storage.bump_session_epoch("owner")
    await storage.set_last_online("owner", 1)
    assert not await storage.user_exists("owner")
    assert await storage.list_users() == []
    assert await storage.get_password_hash("owner") is None


async def test_delete_user_cascades(storage: Storage) -> None:
    for user in ("alice", "bob"):
        await storage.set_password_hash(user, "h")
        await storage.set_play_record(user, "s+1", record("A"))
        await storage.set_favorite(user, "s+1", record("A"))
        await storage.set_skip_config(user, "s+1", {"enable": True, "intro_time": 1, "outro_time": 2})
        await storage.add_search_history(user, "kw")
        await storage.bump_session_epoch(user)
        await storage.set_last_online(user, 42)

    await storage.delete_user("alice")
    await storage.delete_user("nobody")

    assert not await storage.user_exists("alice")
    assert await storage.list_users() == ["bob"]
    assert await storage.get_all_play_records("alice") == {}
    assert await storage.get_all_favorites("alice") == {}
    assert await storage.get_all_skip_configs("alice") == {}
    assert await storage.get_search_history("alice") == []
    # The epoch outlives the account and moves on, so tokens issued before the deletion stay
    # invalid even if the name is registered again.
    assert await storage.get_session_epoch("alice") == 2
    await storage.set_password_hash("alice", "new")
    assert await storage.get_session_epoch("alice") == 2
    assert await storage.list_users() == ["alice", "bob"]
    await storage.delete_user("alice")
    assert await storage.get_last_online() == {"bob": 42}
    assert await storage.get_all_play_records("bob") != {}
    assert await storage.get_session_epoch("bob") == 1


async def test_session_epoch(storage: Storage) -> None:
    assert await storage.get_session_epoch("alice") == 0
    assert await storage.bump_session_epoch("alice") == 1
    assert await storage.bump_session_epoch("alice") == 2
    assert await storage.get_session_epoch("alice") == 2
    assert await storage.get_session_epoch("bob") == 0
    results = await asyncio.gather(*(storage.bump_session_epoch("bob") for _ in range(10)))
    assert sorted(results) == list(range(1, 11))


async def test_last_online(storage: Storage) -> None:
    assert await storage.get_last_online() == {}
    await storage.set_last_online("alice", 1_700_000_000_000)
    await storage.set_last_online("bob", 5)
    await storage.set_last_online("bob", 6)
    assert await storage.get_last_online() == {"alice": 1_700_000_000_000, "bob": 6}


# -- admin config --------------------------------------------------------------------------


async def test_admin_config_versioning(storage: Storage) -> None:
    assert await storage.get_admin_config() == (None, 0)
    assert await storage.set_admin_config({"v": 1}, expected_version=0) == 1
    assert await storage.set_admin_config({"v": 2}) == 2
    assert await storage.set_admin_config({"v": 3}, expected_version=2) == 3
    assert await storage.get_admin_config() == ({"v": 3}, 3)

    with pytest.raises(VersionConflict) as info:
        await storage.set_admin_config({"v": "stale"}, expected_version=2)
    assert (info.value.expected, info.value.actual) == (2, 3)
    with pytest.raises(VersionConflict):
        await storage.set_admin_config({"v": "stale"}, expected_version=0)
    assert await storage.get_admin_config() == ({"v": 3}, 3)


async def test_admin_config_expected_version_on_empty_store(storage: Storage) -> None:
    with pytest.raises(VersionConflict) as info:
        await storage.set_admin_config({"v": 1}, expected_version=4)
    assert info.value.actual == 0
    assert await storage.get_admin_config() == (None, 0)


async def test_admin_config_concurrent_writers_exactly_one_wins(storage: Storage) -> None:
    await storage.set_admin_config({"round": 0})
    for round_no in range(1, 11):
        _, version = await storage.get_admin_config()
        outcomes = await asyncio.gather(
            storage.set_admin_config({"round": round_no, "writer": "a"}, expected_version=version),
            storage.set_admin_config({"round": round_no, "writer": "b"}, expected_version=version),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if isinstance(o, int)]
        conflicts = [o for o in outcomes if isinstance(o, VersionConflict)]
        assert winners == [version + 1]
        assert len(conflicts) == 1
        config, stored_version = await storage.get_admin_config()
        assert stored_version == version + 1
        assert config is not None and config["round"] == round_no


async def test_unconditional_admin_writes_all_count(storage: Storage) -> None:
    versions = await asyncio.gather(*(storage.set_admin_config({"i": i}) for i in range(10)))
    assert sorted(versions) == list(range(1, 11))
    assert (await storage.get_admin_config())[1] == 10


# -- metadata ------------------------------------------------------------------------------


async def test_meta_set_if_absent(storage: Storage) -> None:
    assert await storage.get_meta("secret_key") is None
    assert await storage.set_meta_if_absent("secret_key", "first") == "first"
    assert await storage.set_meta_if_absent("secret_key", "second") == "first"
    assert await storage.get_meta("secret_key") == "first"


async def test_meta_set_replaces_and_deletes(storage: Storage) -> None:
    await storage.set_meta("tvbox:user:a", "one")
    await storage.set_meta("tvbox:user:a", "two")
    assert await storage.get_meta("tvbox:user:a") == "two"
    await storage.set_meta("tvbox:user:a", None)
    assert await storage.get_meta("tvbox:user:a") is None
    await storage.set_meta("never-set", None)  # deleting nothing is fine


async def test_count_user_items_per_kind_and_user(storage: Storage) -> None:
    for i in range(3):
        await storage.set_play_record("alice", f"s+{i}", record(f"T{i}"))
    await storage.set_favorite("alice", "s+1", record("F"))
    await storage.set_skip_config("bob", "s+1", {"enable": True, "intro_time": 1, "outro_time": 0})
    assert await storage.count_user_items("alice", "pr") == 3
    assert await storage.count_user_items("alice", "fav") == 1
    assert await storage.count_user_items("alice", "skip") == 0
    assert await storage.count_user_items("bob", "skip") == 1
    assert await storage.count_user_items("nobody", "pr") == 0


async def test_meta_set_if_absent_race_has_one_winner(storage: Storage) -> None:
    values = await asyncio.gather(*(storage.set_meta_if_absent("race", f"v{i}") for i in range(25)))
    assert len(set(values)) == 1
    assert await storage.get_meta("race") == values[0]


async def test_meta_race_across_two_instances(make_storage: MakeStorage) -> None:
    one, two = await make_storage(), await make_storage()
    values = await asyncio.gather(
        *(s.set_meta_if_absent("shared", f"{n}-{i}") for i in range(10) for n, s in (("a", one), ("b", two)))
    )
    assert len(set(values)) == 1


# -- clear all -----------------------------------------------------------------------------


async def test_clear_all_data(storage: Storage) -> None:
    for user in ("alice", "a:b", "*", "用户"):
        await storage.set_password_hash(user, "h")
        await storage.set_play_record(user, "s+1", record("A"))
        await storage.set_favorite(user, "s+1", record("A"))
        await storage.set_skip_config(user, "s+1", {"enable": True, "intro_time": 1, "outro_time": 2})
        await storage.add_search_history(user, "kw")
        await storage.bump_session_epoch(user)
        await storage.set_last_online(user, 1)
    await storage.set_play_record("owner", "s+1", record("A"))  # data without a credential
    await storage.set_admin_config({"x": 1})
    await storage.set_meta_if_absent("secret", "keep")

    await storage.clear_all_data()

    assert await storage.list_users() == []
    assert await storage.get_admin_config() == (None, 0)
    assert await storage.get_last_online() == {}
    for user in ("alice", "a:b", "*", "用户", "owner"):
        assert await storage.get_all_play_records(user) == {}
        assert await storage.get_all_favorites(user) == {}
        assert await storage.get_all_skip_configs(user) == {}
        assert await storage.get_search_history(user) == []
        assert await storage.get_session_epoch(user) == 0
    assert await storage.get_meta("secret") == "keep"

    await storage.set_password_hash("alice", "again")
    assert await storage.set_admin_config({"x": 2}, expected_version=0) == 1
    assert await storage.list_users() == ["alice"]


# -- awkward names -------------------------------------------------------------------------


@pytest.mark.parametrize("odd", ["a:b", "a*", "*", "a?", "[ab]", "u:x:pr", "名字 🎬", "a:pr:b"])
async def test_awkward_usernames_are_isolated(storage: Storage, odd: str) -> None:
    for user in ("a", "ab", odd):
        await storage.set_password_hash(user, f"h-{user}")
        await storage.set_play_record(user, f"s+{user}", record(f"T-{user}"))
        await storage.add_search_history(user, user)
        await storage.set_skip_config(user, "s+1", {"enable": True, "intro_time": 0, "outro_time": 0})

    assert await storage.list_users() == sorted({"a", "ab", odd})
    assert await storage.get_all_play_records(odd) == {f"s+{odd}": record(f"T-{odd}")}
    assert await storage.get_search_history(odd) == [odd]

    await storage.delete_user(odd)
    assert await storage.list_users() == ["a", "ab"]
    for user in ("a", "ab"):
        assert await storage.get_all_play_records(user) == {f"s+{user}": record(f"T-{user}")}
        assert await storage.get_search_history(user) == [user]
        assert await storage.get_password_hash(user) == f"h-{user}"
        assert len(await storage.get_all_skip_configs(user)) == 1


async def test_unicode_titles_and_keys(storage: Storage) -> None:
    await storage.set_play_record("用户甲", "资源+编号1", record("流浪地球２"))
    await storage.set_play_record("用户甲", "资源+编号2", record("流浪地球２"))
    assert await storage.get_all_play_records("用户甲") == {"资源+编号2": record("流浪地球２")}
    await storage.add_search_history("用户甲", "🎬 三体")
    assert await storage.get_search_history("用户甲") == ["🎬 三体"]


# -- factory -------------------------------------------------------------------------------


def test_factory_builds_each_kind(tmp_path: Path) -> None:
    sqlite = create_storage("sqlite", data_dir=tmp_path / "new" / "dir", redis_url=None)
    assert isinstance(sqlite, SqliteStorage)
    assert sqlite.path == tmp_path / "new" / "dir" / "moontv.db"
    assert (tmp_path / "new" / "dir").is_dir()
    kvrocks = create_storage("kvrocks", data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    assert isinstance(kvrocks, RedisStorage)
    assert kvrocks.kind == "kvrocks"
    assert create_storage("Redis", data_dir=tmp_path, redis_url="redis://h/0").kind == "redis"


@pytest.mark.parametrize(
    ("kind", "url", "message"),
    [
        ("mysql", None, "unknown storage kind"),
        ("redis", None, "needs a connection URL"),
        ("kvrocks", "", "URL"),
    ],
)
def test_factory_rejects_bad_settings(tmp_path: Path, kind: str, url: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_storage(kind, data_dir=tmp_path, redis_url=url)


# -- leases --------------------------------------------------------------------------------


async def test_lease_has_one_holder_until_it_expires(make_storage: MakeStorage) -> None:
    a, b = await make_storage(), await make_storage()  # two replicas on the same data
    # leases that outlive the test unless released, so no step depends on how fast the machine is
    assert await a.acquire_lease("refresh", "replica-a", 60_000)
    assert not await b.acquire_lease("refresh", "replica-b", 60_000)
    assert await a.acquire_lease("refresh", "replica-a", 60_000)  # renewal by the holder
    await b.release_lease("refresh", "replica-b")  # not the holder: no effect
    assert not await b.acquire_lease("refresh", "replica-b", 60_000)
    # the holder dies right after a short renewal: its lease runs out, and only then can b take it
    renewed = time.monotonic()
    assert await a.acquire_lease("refresh", "replica-a", 300)
    while not await b.acquire_lease("refresh", "replica-b", 60_000):
        assert time.monotonic() - renewed < 30, "the lease never expired"
        await asyncio.sleep(0.02)
    assert time.monotonic() - renewed >= 0.3 - 0.01
    assert not await a.acquire_lease("refresh", "replica-a", 400)
    assert await a.acquire_lease("other", "replica-a", 400)  # leases are independent
    await b.release_lease("refresh", "replica-b")
    assert await a.acquire_lease("refresh", "replica-a", 400)


async def test_concurrent_acquires_have_exactly_one_winner(make_storage: MakeStorage) -> None:
    replicas = [await make_storage() for _ in range(4)]
    won = await asyncio.gather(
        *(
            s.acquire_lease("refresh", f"replica-{i}", 30_000)
            for i, s in enumerate(replicas)
            for _ in range(3)
        )
    )
    winners = {f"replica-{i // 3}" for i, ok in enumerate(won) if ok}
    assert len(winners) == 1


async def test_admin_config_version_alone(storage: Storage) -> None:
    assert await storage.get_admin_config_version() == 0
    first = await storage.set_admin_config({"SiteConfig": {"SiteName": "a"}})
    assert await storage.get_admin_config_version() == first == (await storage.get_admin_config())[1]
    second = await storage.set_admin_config({"SiteConfig": {"SiteName": "b"}}, expected_version=first)
    assert await storage.get_admin_config_version() == second > first
    await storage.clear_all_data()
    assert await storage.get_admin_config_version() == 0 == (await storage.get_admin_config())[1]


async def test_expiring_counters_count_and_expire(storage: Storage) -> None:
    assert await storage.get_counter("login:ip:x") == 0
    assert [await storage.incr_counter("login:ip:x", 600) for _ in range(3)] == [1, 2, 3]
    assert await storage.get_counter("login:ip:x") == 3
    assert await storage.incr_counter("login:ip:y", 60) == 1
    # a 1 s window is fixed from its first hit: a later hit inside it does not extend it (waits are
    # measured from what the calls returned, so a slow machine only makes the test wait longer)
    assert await storage.incr_counter("login:ip:z", 1) == 1
    first_done = time.monotonic()
    second = await storage.incr_counter("login:ip:z", 1)
    window_from = first_done if second == 2 else time.monotonic()  # 1: the first window had ended
    await asyncio.sleep(max(0.0, window_from + 1.2 - time.monotonic()))
    assert await storage.get_counter("login:ip:z") == 0
    assert await storage.incr_counter("login:ip:z", 60) == 1
    assert await storage.get_counter("login:ip:y") == 1
    await storage.delete_counter("login:ip:y")
    assert await storage.get_counter("login:ip:y") == 0


async def test_expiring_counters_are_atomic_and_survive_clear_all_data(storage: Storage) -> None:
    values = await asyncio.gather(*(storage.incr_counter("login:all", 60) for _ in range(25)))
    assert sorted(values) == list(range(1, 26))
    await storage.clear_all_data()
    assert await storage.get_counter("login:all") == 25
