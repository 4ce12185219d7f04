"""SQLite backend.

Threading model: one dedicated writer thread owns the only write connection and executes
jobs from a FIFO queue, each in its own ``BEGIN IMMEDIATE`` transaction, so writes are
serialised and never race for the lock. Reads run on a small thread pool with read-only
connections; WAL mode lets them proceed while the writer works. The async methods only
enqueue work and await a future, so the event loop never blocks on disk I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from moontv.storage.protocol import SEARCH_HISTORY_LIMIT, StorageError, VersionConflict

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]

BUSY_TIMEOUT_MS = 5_000
DEFAULT_READERS = 4

# Ordered schema steps; step N brings the database to ``PRAGMA user_version = N``.
# Never edit a released step: append a new one instead.
MIGRATIONS: list[Sequence[str]] = [
    (
        """CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT,
            session_epoch INTEGER NOT NULL DEFAULT 0,
            last_online INTEGER,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE play_records (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            key TEXT NOT NULL,
            title TEXT,
            data TEXT NOT NULL,
            save_time INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (username, key)
        )""",
        "CREATE INDEX play_records_title ON play_records (username, title)",
        """CREATE TABLE favorites (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            save_time INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (username, key)
        )""",
        """CREATE TABLE skip_configs (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (username, key)
        )""",
        """CREATE TABLE search_history (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            keyword TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (username, keyword)
        )""",
        "CREATE INDEX search_history_seq ON search_history (username, seq)",
        """CREATE TABLE admin_config (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            data TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        """CREATE TABLE danmaku_choices (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (username, key)
        )""",
        """CREATE TABLE counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL,
            expires_at REAL NOT NULL
        )""",
        "CREATE INDEX counters_expiry ON counters (expires_at)",
    ),
    (
        """CREATE TABLE live_favorites (
            username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (username, key)
        )""",
    ),
]

# Tables holding per-user data, in an order that satisfies the foreign keys when clearing.
_USER_DATA_TABLES = (
    "play_records",
    "favorites",
    "skip_configs",
    "danmaku_choices",
    "search_history",
    "live_favorites",
    "users",
)


class SchemaTooNew(StorageError):
    """The database was written by a newer MoonTV whose schema this code does not know."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def _loads(text: str) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(text)
    return value


def _int_field(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return 0


def _title_of(record: dict[str, Any]) -> str | None:
    title = record.get("title")
    return title if isinstance(title, str) and title else None


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        logger.warning("SQLite refused WAL mode (journal_mode=%s); concurrency will suffer", mode)


def _in_transaction(conn: sqlite3.Connection, job: Job[T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = job(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Apply pending steps in one transaction; returns the resulting schema version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    target = len(migrations)
    if current > target:
        raise SchemaTooNew(
            f"database schema version {current} is newer than this MoonTV supports ({target}); "
            "upgrade MoonTV or restore a backup"
        )
    if current == target:
        return current

    def apply(c: sqlite3.Connection) -> int:
        for step in migrations[current:]:
            for statement in step:
                c.execute(statement)
        c.execute(f"PRAGMA user_version = {target}")
        return target

    applied = _in_transaction(conn, apply)
    logger.info("SQLite schema migrated from version %d to %d", current, target)
    return applied


def _ensure_user(conn: sqlite3.Connection, user: str) -> None:
    # Per-user rows reference ``users``; users without a credential (e.g. the owner from the
    # environment) get a row with a NULL password so their data can still be stored.
    conn.execute(
        "INSERT INTO users (username, created_at) VALUES (?, ?) ON CONFLICT (username) DO NOTHING",
        (user, _now_ms()),
    )


class SqliteStorage:
    """Storage in one SQLite file (WAL), see the module docstring for the threading model."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, readers: int = DEFAULT_READERS) -> None:
        self.path = Path(path)
        self._reader_count = max(1, readers)
        self._jobs: queue.SimpleQueue[tuple[Job[Any], Future[Any]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._read_pool: ThreadPoolExecutor | None = None
        self._idle_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._lifecycle = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lifecycle:
            if self._writer is not None:
                return
            ready: Future[None] = Future()
            writer = threading.Thread(
                target=self._writer_main, args=(ready,), name="moontv-sqlite-writer", daemon=True
            )
            writer.start()
            await asyncio.wrap_future(ready)
            self._writer = writer
            self._read_pool = ThreadPoolExecutor(
                max_workers=self._reader_count, thread_name_prefix="moontv-sqlite-read"
            )

    async def close(self) -> None:
        async with self._lifecycle:
            writer, self._writer = self._writer, None
            pool, self._read_pool = self._read_pool, None
            if writer is None or pool is None:
                return
            self._jobs.put(None)
            await asyncio.to_thread(writer.join)
            await asyncio.to_thread(pool.shutdown, True)
            self._close_readers()

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    # -- plumbing ------------------------------------------------------------------------------
    def _writer_main(self, ready: Future[None]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path, read_only=False)
        except (OSError, sqlite3.Error) as exc:
            ready.set_exception(StorageError(f"cannot open SQLite database {self.path}: {exc}"))
            return
        try:
            _enable_wal(conn)
            migrate(conn)
        except Exception as exc:
            conn.close()
            ready.set_exception(exc if isinstance(exc, StorageError) else _wrap(exc))
            return
        ready.set_result(None)
        try:
            self._serve_writes(conn)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

    def _serve_writes(self, conn: sqlite3.Connection) -> None:
        while (item := self._jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(_in_transaction(conn, job))
            except sqlite3.Error as exc:
                future.set_exception(_wrap(exc))
            except Exception as exc:
                future.set_exception(exc)

    async def _write(self, job: Job[T]) -> T:
        if self._writer is None:
            raise StorageError("SQLite storage is not open")
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return await asyncio.wrap_future(future)

    async def _read(self, job: Job[T]) -> T:
        pool = self._read_pool
        if pool is None:
            raise StorageError("SQLite storage is not open")
        return await asyncio.get_running_loop().run_in_executor(pool, self._run_read, job)

    def _run_read(self, job: Job[T]) -> T:
        try:
            conn = self._acquire_reader()
            try:
                return job(conn)
            finally:
                self._idle_readers.put(conn)
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def _acquire_reader(self) -> sqlite3.Connection:
        try:
            return self._idle_readers.get_nowait()
        except queue.Empty:
            conn = _connect(self.path, read_only=True)
            with self._readers_lock:
                self._all_readers.append(conn)
            return conn

    def _close_readers(self) -> None:
        with self._readers_lock:
            readers, self._all_readers = self._all_readers, []
        for conn in readers:
            conn.close()
        self._idle_readers = queue.SimpleQueue()

    # -- generic per-user JSON maps ------------------------------------------------------------
    async def _get_json(self, table: str, user: str, key: str) -> dict[str, Any] | None:
        sql = f"SELECT data FROM {table} WHERE username = ? AND key = ?"

        def job(c: sqlite3.Connection) -> dict[str, Any] | None:
            row = c.execute(sql, (user, key)).fetchone()
            return _loads(row[0]) if row else None

        return await self._read(job)

    async def _get_all_json(self, table: str, user: str) -> dict[str, dict[str, Any]]:
        # Decoding happens on the reader thread too, keeping big maps off the event loop.
        sql = f"SELECT key, data FROM {table} WHERE username = ?"
        return await self._read(lambda c: {key: _loads(data) for key, data in c.execute(sql, (user,))})

    async def count_user_items(self, user: str, kind: str) -> int:
        table = {"pr": "play_records", "fav": "favorites", "skip": "skip_configs"}[kind]
        sql = f"SELECT COUNT(*) FROM {table} WHERE username = ?"
        return int(await self._read(lambda c: c.execute(sql, (user,)).fetchone()[0]))

    async def _delete_keyed(self, table: str, user: str, key: str | None) -> None:
        if key is None:
            sql, args = f"DELETE FROM {table} WHERE username = ?", (user,)
        else:
            sql, args = f"DELETE FROM {table} WHERE username = ? AND key = ?", (user, key)
        await self._write(lambda c: c.execute(sql, args))

    # -- play records --------------------------------------------------------------------------
    async def get_play_record(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._get_json("play_records", user, key)

    async def set_play_record(self, user: str, key: str, record: dict[str, Any]) -> None:
        data, title, save_time = _dumps(record), _title_of(record), _int_field(record, "save_time")

        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            if title is not None:
                c.execute(
                    "DELETE FROM play_records WHERE username = ? AND title = ? AND key <> ?",
                    (user, title, key),
                )
            c.execute(
                "INSERT INTO play_records (username, key, title, data, save_time) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (username, key) DO UPDATE"
                " SET title = excluded.title, data = excluded.data, save_time = excluded.save_time",
                (user, key, title, data, save_time),
            )

        await self._write(job)

    async def get_all_play_records(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._get_all_json("play_records", user)

    async def delete_play_record(self, user: str, key: str) -> None:
        await self._delete_keyed("play_records", user, key)

    async def delete_all_play_records(self, user: str) -> None:
        await self._delete_keyed("play_records", user, None)

    # -- favorites -----------------------------------------------------------------------------
    async def get_favorite(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._get_json("favorites", user, key)

    async def set_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None:
        data, save_time = _dumps(favorite), _int_field(favorite, "save_time")

        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            c.execute(
                "INSERT INTO favorites (username, key, data, save_time) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (username, key) DO UPDATE"
                " SET data = excluded.data, save_time = excluded.save_time",
                (user, key, data, save_time),
            )

        await self._write(job)

    async def get_all_favorites(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._get_all_json("favorites", user)

    async def delete_favorite(self, user: str, key: str) -> None:
        await self._delete_keyed("favorites", user, key)

    async def delete_all_favorites(self, user: str) -> None:
        await self._delete_keyed("favorites", user, None)

    # -- search history ------------------------------------------------------------------------
    async def get_search_history(self, user: str) -> list[str]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT keyword FROM search_history WHERE username = ? ORDER BY seq DESC LIMIT ?",
                (user, SEARCH_HISTORY_LIMIT),
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def add_search_history(self, user: str, keyword: str) -> None:
        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            (seq,) = c.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM search_history WHERE username = ?", (user,)
            ).fetchone()
            c.execute(
                "INSERT INTO search_history (username, keyword, seq) VALUES (?, ?, ?)"
                " ON CONFLICT (username, keyword) DO UPDATE SET seq = excluded.seq",
                (user, keyword, seq),
            )
            c.execute(
                "DELETE FROM search_history WHERE username = ?1 AND seq NOT IN"
                " (SELECT seq FROM search_history WHERE username = ?1 ORDER BY seq DESC LIMIT ?2)",
                (user, SEARCH_HISTORY_LIMIT),
            )

        await self._write(job)

    async def delete_search_history(self, user: str, keyword: str | None = None) -> None:
        if keyword is None:
            sql, args = "DELETE FROM search_history WHERE username = ?", (user,)
        else:
            sql, args = "DELETE FROM search_history WHERE username = ? AND keyword = ?", (user, keyword)
        await self._write(lambda c: c.execute(sql, args))

    # -- skip configs --------------------------------------------------------------------------
    async def get_skip_config(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._get_json("skip_configs", user, key)

    async def set_skip_config(self, user: str, key: str, config: dict[str, Any]) -> None:
        data = _dumps(config)

        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            c.execute(
                "INSERT INTO skip_configs (username, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (username, key) DO UPDATE SET data = excluded.data",
                (user, key, data),
            )

        await self._write(job)

    async def get_all_skip_configs(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._get_all_json("skip_configs", user)

    async def delete_skip_config(self, user: str, key: str) -> None:
        await self._delete_keyed("skip_configs", user, key)

    # -- danmaku choices -----------------------------------------------------------------------
    async def get_danmaku_choice(self, user: str, key: str) -> dict[str, Any] | None:
        return await self._get_json("danmaku_choices", user, key)

    async def set_danmaku_choice(self, user: str, key: str, choice: dict[str, Any]) -> None:
        data = _dumps(choice)

        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            c.execute(
                "INSERT INTO danmaku_choices (username, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (username, key) DO UPDATE SET data = excluded.data",
                (user, key, data),
            )

        await self._write(job)

    async def delete_danmaku_choice(self, user: str, key: str) -> None:
        await self._delete_keyed("danmaku_choices", user, key)

    # -- favourite live channels ---------------------------------------------------------------
    async def get_all_live_favorites(self, user: str) -> dict[str, dict[str, Any]]:
        return await self._get_all_json("live_favorites", user)

    async def set_live_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None:
        data = _dumps(favorite)

        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            c.execute(
                "INSERT INTO live_favorites (username, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (username, key) DO UPDATE SET data = excluded.data",
                (user, key, data),
            )

        await self._write(job)

    async def delete_live_favorite(self, user: str, key: str) -> None:
        await self._delete_keyed("live_favorites", user, key)

    # -- credentials and sessions --------------------------------------------------------------
    async def _user_column(self, user: str, column: str) -> Any:
        sql = f"SELECT {column} FROM users WHERE username = ?"
        row = await self._read(lambda c: c.execute(sql, (user,)).fetchone())
        return row[0] if row else None

    async def get_password_hash(self, user: str) -> str | None:
        value: str | None = await self._user_column(user, "password_hash")
        return value

    async def set_password_hash(self, user: str, password_hash: str) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                (user, password_hash, _now_ms()),
            )
        )

    async def user_exists(self, user: str) -> bool:
        return await self.get_password_hash(user) is not None

    async def list_users(self) -> list[str]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT username FROM users WHERE password_hash IS NOT NULL ORDER BY username"
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def delete_user(self, user: str) -> None:
        def job(c: sqlite3.Connection) -> None:
            row = c.execute("SELECT session_epoch FROM users WHERE username = ?", (user,)).fetchone()
            # ON DELETE CASCADE removes records, favorites, history and skip configs; a bare row
            # (no password, so not a user) keeps the bumped session epoch.
            c.execute("DELETE FROM users WHERE username = ?", (user,))
            c.execute(
                "INSERT INTO users (username, password_hash, session_epoch, created_at)"
                " VALUES (?, NULL, ?, ?)",
                (user, (row[0] if row else 0) + 1, _now_ms()),
            )

        await self._write(job)

    async def get_session_epoch(self, user: str) -> int:
        return int(await self._user_column(user, "session_epoch") or 0)

    async def bump_session_epoch(self, user: str) -> int:
        def job(c: sqlite3.Connection) -> int:
            _ensure_user(c, user)
            c.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE username = ?", (user,))
            (epoch,) = c.execute("SELECT session_epoch FROM users WHERE username = ?", (user,)).fetchone()
            return int(epoch)

        return await self._write(job)

    async def set_last_online(self, user: str, ts_ms: int) -> None:
        def job(c: sqlite3.Connection) -> None:
            _ensure_user(c, user)
            c.execute("UPDATE users SET last_online = ? WHERE username = ?", (ts_ms, user))

        await self._write(job)

    async def get_last_online(self) -> dict[str, int]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT username, last_online FROM users WHERE last_online IS NOT NULL"
            ).fetchall()
        )
        return {user: int(ts) for user, ts in rows}

    # -- admin config document -----------------------------------------------------------------
    async def get_admin_config(self) -> tuple[dict[str, Any] | None, int]:
        row = await self._read(
            lambda c: c.execute("SELECT data, version FROM admin_config WHERE id = 1").fetchone()
        )
        return (_loads(row[0]), int(row[1])) if row else (None, 0)

    async def get_admin_config_version(self) -> int:
        row = await self._read(
            lambda c: c.execute("SELECT version FROM admin_config WHERE id = 1").fetchone()
        )
        return int(row[0]) if row else 0

    async def set_admin_config(self, config: dict[str, Any], expected_version: int | None = None) -> int:
        data = _dumps(config)

        def job(c: sqlite3.Connection) -> int:
            row = c.execute("SELECT version FROM admin_config WHERE id = 1").fetchone()
            current = int(row[0]) if row else 0
            if expected_version is not None and expected_version != current:
                raise VersionConflict(expected_version, current)
            c.execute(
                "INSERT INTO admin_config (id, data, version) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version",
                (data, current + 1),
            )
            return current + 1

        return await self._write(job)

    # -- metadata --------------------------------------------------------------------------------
    async def get_meta(self, name: str) -> str | None:
        sql = "SELECT value FROM meta WHERE name = ?"
        row = await self._read(lambda c: c.execute(sql, (name,)).fetchone())
        return row[0] if row else None

    async def set_meta_if_absent(self, name: str, value: str) -> str:
        def job(c: sqlite3.Connection) -> str:
            c.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, value)
            )
            (stored,) = c.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return str(stored)

        return await self._write(job)

    async def set_meta(self, name: str, value: str | None) -> None:
        if value is None:
            sql, args = "DELETE FROM meta WHERE name = ?", (name,)
        else:
            sql, args = "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value)
        await self._write(lambda c: c.execute(sql, args))

    # -- leases (rows of the meta table; every write job is one BEGIN IMMEDIATE transaction) -------
    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        meta_name = f"lease:{name}"

        def job(c: sqlite3.Connection) -> bool:
            now = _now_ms()
            row = c.execute("SELECT value FROM meta WHERE name = ?", (meta_name,)).fetchone()
            if row is not None:
                current = orjson.loads(row[0])
                if current.get("holder") != holder and int(current.get("expires", 0)) > now:
                    return False
            value = orjson.dumps({"holder": holder, "expires": now + ttl_ms}).decode()
            c.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
                (meta_name, value, value),
            )
            return True

        return await self._write(job)

    async def release_lease(self, name: str, holder: str) -> None:
        meta_name = f"lease:{name}"

        def job(c: sqlite3.Connection) -> None:
            row = c.execute("SELECT value FROM meta WHERE name = ?", (meta_name,)).fetchone()
            if row is not None and orjson.loads(row[0]).get("holder") == holder:
                c.execute("DELETE FROM meta WHERE name = ?", (meta_name,))

        await self._write(job)

    async def incr_counter(self, name: str, ttl_seconds: int) -> int:
        def job(c: sqlite3.Connection) -> int:
            now = time.time()
            if random.random() < 0.01:  # expired rows are removed now and then, not on every write
                c.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
            (value,) = c.execute(
                "INSERT INTO counters (name, value, expires_at) VALUES (?, 1, ?)"
                " ON CONFLICT (name) DO UPDATE SET"
                " value = CASE WHEN expires_at <= ? THEN 1 ELSE value + 1 END,"
                " expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END"
                " RETURNING value",
                (name, now + ttl_seconds, now, now),
            ).fetchone()
            return int(value)

        return await self._write(job)

    async def get_counter(self, name: str) -> int:
        sql = "SELECT value FROM counters WHERE name = ? AND expires_at > ?"
        row = await self._read(lambda c: c.execute(sql, (name, time.time())).fetchone())
        return int(row[0]) if row else 0

    async def delete_counter(self, name: str) -> None:
        await self._write(lambda c: c.execute("DELETE FROM counters WHERE name = ?", (name,)))

    async def clear_all_data(self) -> None:
        def job(c: sqlite3.Connection) -> None:
            for table in _USER_DATA_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.execute("DELETE FROM admin_config")

        await self._write(job)


def _wrap(exc: BaseException) -> StorageError:
    error = StorageError(f"SQLite: {exc}")
    error.__cause__ = exc
    return error
