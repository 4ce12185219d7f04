"""SQLite-specific behaviour: schema migrations, WAL, the single-writer design."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from moontv.storage.protocol import StorageError
from moontv.storage.sqlite import MIGRATIONS, SchemaTooNew, SqliteStorage, migrate

EXPECTED_TABLES = {
    "users",
    "play_records",
    "favorites",
    "skip_configs",
    "search_history",
    "admin_config",
    "meta",
}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    storage = SqliteStorage(tmp_path / "moontv.db")
    await storage.open()
    yield storage
    await storage.close()


async def test_open_creates_directory_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / "moontv.db"
    storage = SqliteStorage(path)
    await storage.open()
    await storage.close()
    assert user_version(path) == len(MIGRATIONS)
    assert table_names(path) >= EXPECTED_TABLES


async def test_migrations_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "moontv.db"
    path.touch()
    storage = SqliteStorage(path)
    await storage.open()
    await storage.set_password_hash("alice", "h")
    await storage.close()
    assert user_version(path) == len(MIGRATIONS)
    await storage.open()  # reopening an up-to-date file is a no-op
    assert await storage.list_users() == ["alice"]
    await storage.close()


async def test_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "moontv.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 7}")
    storage = SqliteStorage(path)
    with pytest.raises(SchemaTooNew, match=r"newer than this MoonTV supports"):
        await storage.open()
    assert isinstance(SchemaTooNew("x"), StorageError)
    assert user_version(path) == len(MIGRATIONS) + 7
    with pytest.raises(StorageError):
        await storage.ping()


async def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "moontv.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StorageError, match="SQLite"):
        await SqliteStorage(path).open()


def test_migrate_applies_only_pending_steps(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    steps = [("CREATE TABLE one (x)",), ("CREATE TABLE two (x)", "INSERT INTO two VALUES (1)")]
    assert migrate(conn, steps[:1]) == 1
    assert migrate(conn, steps) == 2
    assert migrate(conn, steps) == 2
    assert conn.execute("SELECT COUNT(*) FROM two").fetchone()[0] == 1
    conn.close()


def test_failed_migration_rolls_back_completely(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    migrate(conn, [("CREATE TABLE one (x)",)])
    broken = [("CREATE TABLE one (x)",), ("CREATE TABLE two (x)",), ("CREATE TABLE three (", "")]
    with pytest.raises(sqlite3.Error):
        migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"one"}
    conn.close()


async def test_wal_mode_is_on(db: SqliteStorage) -> None:
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_foreign_keys_cascade_on_user_delete(db: SqliteStorage) -> None:
    await db.set_password_hash("alice", "h")
    await db.set_play_record("alice", "s+1", {"title": "A"})
    await db.delete_user("alice")
    await db.close()
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM play_records").fetchone()[0] == 0


async def test_concurrent_writes_from_many_tasks(db: SqliteStorage) -> None:
    async def worker(n: int) -> None:
        user = f"user{n % 7}"
        await db.set_play_record(user, f"s+{n}", {"title": f"T{n}", "save_time": n})
        await db.set_favorite(user, f"s+{n}", {"title": f"T{n}"})
        await db.add_search_history(user, f"kw{n}")
        await db.bump_session_epoch("shared")
        await db.get_all_play_records(user)

    await asyncio.gather(*(worker(n) for n in range(300)))
    assert await db.get_session_epoch("shared") == 300
    total = sum([len(await db.get_all_play_records(f"user{u}")) for u in range(7)])
    assert total == 300


async def test_two_instances_on_one_file_do_not_lock_each_other(tmp_path: Path) -> None:
    one, two = SqliteStorage(tmp_path / "moontv.db"), SqliteStorage(tmp_path / "moontv.db")
    await one.open()
    await two.open()
    try:
        await asyncio.gather(
            *(
                s.add_search_history("alice", f"{name}{i}")
                for i in range(50)
                for name, s in (("a", one), ("b", two))
            )
        )
        assert len(await one.get_search_history("alice")) == 20
    finally:
        await one.close()
        await two.close()


async def test_event_loop_stays_responsive_during_writes(db: SqliteStorage) -> None:
    big = {"title": "Big", "cover": "x" * 200_000}
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(
        *(db.set_play_record("alice", f"s+{i}", big | {"title": f"T{i}"}) for i in range(200))
    )
    stop.set()
    await tick
    # the loop keeps ticking through the writes: writes run on the loop would stall it for the whole
    # batch at once; a loaded machine stretches the gaps and the batch alike, so the bound is relative
    took = time.perf_counter() - started
    assert len(gaps) >= 5 and max(gaps) < took / 2, (max(gaps), took, len(gaps))
