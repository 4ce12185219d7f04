"""Reads and writes the AdminConfig document through storage, with a short read cache."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moontv.config.admin import initial_config, merge
from moontv.config.view import AdminConfigView
from moontv.settings import Settings
from moontv.storage.protocol import Storage, VersionConflict

FILE_HASH_META = "config_file_sha256"
INITIALISE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """One config version: the merged JSON document (for writers and the admin API) and its typed view
    (for everything else)."""

    document: dict[str, Any]
    version: int
    view: AdminConfigView

    @classmethod
    def of(cls, document: dict[str, Any], version: int) -> ConfigSnapshot:
        return cls(document, version, AdminConfigView.from_document(document))


class ConfigService:
    """One merged view of the site configuration.

    A snapshot is served as it is for ``ttl`` seconds; after that one cheap version read in storage
    decides whether it still holds (the document is read and merged again only when another
    process wrote it), so another replica's write is seen within ``ttl`` plus one storage read.
    Every ``full_reload`` seconds the document is read anyway. Writes are versioned so concurrent
    admin edits never silently overwrite each other.
    """

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        file_text: str,
        *,
        ttl: float = 0.25,
        full_reload: float = 30.0,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._file_text = file_text
        self._ttl = ttl
        self._full_reload = full_reload
        self._cached: tuple[float, ConfigSnapshot] | None = None
        self._last: ConfigSnapshot | None = None  # kept through invalidate(), to reuse its view
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def initialise(self, *, file_exists: bool = True) -> ConfigSnapshot:
        """First run: build the document from the config file. Later runs: a config file whose
        content was never imported before replaces the stored ConfigFile text (so editing
        config.json and restarting works), while admin edits made in the UI are kept.

        Replicas starting together race here: the one whose write loses sees the winner's
        document on its next read and goes on from that."""
        file_hash = hashlib.sha256(self._file_text.encode()).hexdigest()
        marker = f"{FILE_HASH_META}:{file_hash}"
        for attempt in range(INITIALISE_ATTEMPTS):
            stored, version = await self._storage.get_admin_config()
            try:
                if stored is None:
                    users = await self._storage.list_users()
                    await self._write(initial_config(self._settings, self._file_text, users), 0)
                elif file_exists and await self._storage.get_meta(marker) is None:
                    stored["ConfigFile"] = self._file_text
                    await self._write(merge(stored, self._settings), version)
                break
            except VersionConflict:
                if attempt == INITIALISE_ATTEMPTS - 1:
                    raise
        await self._storage.set_meta_if_absent(marker, str(int(time.time())))
        self._cached = None
        return await self.get()

    async def _write(self, config: dict[str, Any], expected: int | None) -> int:
        return await self._storage.set_admin_config(config, expected)

    async def get(self) -> ConfigSnapshot:
        cached = self._cached
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        async with self._lock:
            cached = self._cached
            now = time.monotonic()
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
            if (
                cached is not None
                and now - self._loaded_at < self._full_reload
                and await self._storage.get_admin_config_version() == cached[1].version
            ):
                self._cached = (now, cached[1])
                return cached[1]
            self._loaded_at = now
            stored, version = await self._storage.get_admin_config()
            if stored is None:
                users = await self._storage.list_users()
                stored = initial_config(self._settings, self._file_text, users)
            document = merge(stored, self._settings)
            last = self._last
            if last is not None and last.version == version and last.document == document:
                snapshot = last  # the same version read again: its view is not built twice
            else:
                snapshot = ConfigSnapshot.of(document, version)
            self._cached = (time.monotonic(), snapshot)
            self._last = snapshot
            return snapshot

    async def update(
        self,
        mutate: Callable[[dict[str, Any]], None],
        *,
        expected_version: int | None = None,
        retries: int = 5,
    ) -> ConfigSnapshot:
        """Apply ``mutate`` to a fresh copy and write it. With ``expected_version`` a stale
        base raises VersionConflict (the caller answers 409); without it, conflicts are retried."""
        for _ in range(retries):
            self._cached = None
            snapshot = await self.get()
            if expected_version is not None and snapshot.version != expected_version:
                raise VersionConflict(expected_version, snapshot.version)
            config = merge(snapshot.document, self._settings)
            mutate(config)
            try:
                version = await self._write(config, snapshot.version)
            except VersionConflict:
                if expected_version is not None:
                    raise
                continue
            fresh = ConfigSnapshot.of(merge(config, self._settings), version)
            self._cached = (time.monotonic(), fresh)
            self._last = fresh
            self._loaded_at = self._cached[0]
            return fresh
        raise VersionConflict(snapshot.version, -1)

    async def view(self) -> AdminConfigView:
        """The current config's typed view (see ``get``)."""
        return (await self.get()).view

    def invalidate(self) -> None:
        self._cached = None
