"""Build the configured storage backend."""

from __future__ import annotations

from pathlib import Path

from moontv.storage.protocol import Storage
from moontv.storage.sqlite import SqliteStorage

SQLITE_FILENAME = "moontv.db"
KINDS = ("sqlite", "redis", "kvrocks")


def create_storage(kind: str, *, data_dir: Path, redis_url: str | None) -> Storage:
    """Return an unopened backend; call ``await storage.open()`` before use.

    ``kind`` is one of sqlite, redis, kvrocks (case-insensitive). SQLite lives in
    ``data_dir/moontv.db`` (the directory is created); redis and kvrocks need ``redis_url``.
    """
    normalized = kind.strip().lower()
    if normalized == "sqlite":
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteStorage(data_dir / SQLITE_FILENAME)
    if normalized in ("redis", "kvrocks"):
        if not redis_url:
            raise ValueError(f"storage kind {normalized!r} needs a connection URL (e.g. redis://host:6379/0)")
        from moontv.storage.redis import RedisStorage  # redis-py is only loaded when used

        return RedisStorage(redis_url, kind=normalized)
    raise ValueError(f"unknown storage kind {kind!r}; expected one of: {', '.join(KINDS)}")
