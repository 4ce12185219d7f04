"""The one storage interface every backend implements.

Record values are plain JSON-able dicts: the stored form of the models in
``moontv.userdata.models`` (``PlayRecord``, ``Favorite``, ``SkipConfig``), which the API and the
backup import validate before anything is written. Backends take and give back dicts, not models,
because they must round-trip whatever another LunaTV-layout writer left in the same keys; they only
persist values and apply the storage-level rules documented per method. Keys are
``"{source}+{id}"``. Values are serialised when the call is made and come back as equal dicts;
``get_all_*`` maps have no defined order.

Per-user data may be stored for a name without a credential (e.g. the owner configured in
the environment); that does not make the name a user (``user_exists``/``list_users``).
Usernames are opaque: any characters, including ``:`` and glob characters, are allowed.
Backend failures surface as ``StorageError``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

SEARCH_HISTORY_LIMIT = 20


class VersionConflict(Exception):
    """A versioned write found a newer version than the one it was based on."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"admin config changed: expected version {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class StorageError(Exception):
    """The backend could not complete an operation (connection lost, disk full, ...)."""


@runtime_checkable
class Storage(Protocol):
    """Async persistence for users, per-user data and the admin config document."""

    kind: str  # "sqlite" | "redis" | "kvrocks"

    async def open(self) -> None:
        """Connect / create schema / run migrations. Idempotent."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """One real round trip to the backend (used by readiness). Raises on failure."""

    # -- play records ------------------------------------------------------------------
    async def get_play_record(self, user: str, key: str) -> dict[str, Any] | None: ...

    async def set_play_record(self, user: str, key: str, record: dict[str, Any]) -> None:
        """Store a record; first delete every *other* record of the user whose title equals
        ``record["title"]`` (the same-title rule: at most one history entry per title), in
        the same atomic step. A missing or empty title skips the rule."""

    async def get_all_play_records(self, user: str) -> dict[str, dict[str, Any]]: ...

    async def delete_play_record(self, user: str, key: str) -> None: ...

    async def delete_all_play_records(self, user: str) -> None: ...

    # -- favorites -----------------------------------------------------------------------
    async def get_favorite(self, user: str, key: str) -> dict[str, Any] | None: ...

    async def set_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None: ...

    async def get_all_favorites(self, user: str) -> dict[str, dict[str, Any]]: ...

    async def delete_favorite(self, user: str, key: str) -> None: ...

    async def delete_all_favorites(self, user: str) -> None: ...

    # -- search history (newest first, deduplicated, at most SEARCH_HISTORY_LIMIT) --------
    async def get_search_history(self, user: str) -> list[str]: ...

    async def add_search_history(self, user: str, keyword: str) -> None: ...

    async def delete_search_history(self, user: str, keyword: str | None = None) -> None:
        """Remove one keyword, or everything when ``keyword`` is None."""

    # -- skip configs --------------------------------------------------------------------
    async def get_skip_config(self, user: str, key: str) -> dict[str, Any] | None: ...

    async def set_skip_config(self, user: str, key: str, config: dict[str, Any]) -> None: ...

    async def get_all_skip_configs(self, user: str) -> dict[str, dict[str, Any]]: ...

    async def delete_skip_config(self, user: str, key: str) -> None: ...

    # -- quotas ----------------------------------------------------------------------------
    async def count_user_items(self, user: str, kind: str) -> int:
        """How many play records (``kind`` "pr"), favorites ("fav") or skip configs ("skip") ``user`` has."""

    # -- danmaku choices (the comment track a user picked by hand for "{source}+{id}") -----
    async def get_danmaku_choice(self, user: str, key: str) -> dict[str, Any] | None: ...

    async def set_danmaku_choice(self, user: str, key: str, choice: dict[str, Any]) -> None: ...

    async def delete_danmaku_choice(self, user: str, key: str) -> None: ...

    # -- favourite live channels ("{liveSource}+{channelId}" -> {name, source, save_time}) ---
    async def get_all_live_favorites(self, user: str) -> dict[str, dict[str, Any]]: ...

    async def set_live_favorite(self, user: str, key: str, favorite: dict[str, Any]) -> None: ...

    async def delete_live_favorite(self, user: str, key: str) -> None: ...

    # -- credentials and sessions ----------------------------------------------------------
    async def get_password_hash(self, user: str) -> str | None:
        """The stored password value (argon2 hash, or a legacy plain/scrypt value)."""

    async def set_password_hash(self, user: str, password_hash: str) -> None:
        """Create or replace the credential; the user then exists (``list_users``)."""

    async def user_exists(self, user: str) -> bool:
        """True when a credential is stored for ``user``."""

    async def list_users(self) -> list[str]:
        """Every user with a stored credential, sorted by name."""

    async def delete_user(self, user: str) -> None:
        """Remove credential, last-online entry, records, favorites, history and skip configs.
        The session epoch is kept and bumped, so tokens issued to the deleted account stay
        invalid if the name is registered again. Unknown users are a no-op apart from that."""

    async def get_session_epoch(self, user: str) -> int:
        """Sessions carry the epoch they were issued under; 0 when never bumped."""

    async def bump_session_epoch(self, user: str) -> int:
        """Invalidate every session of the user; returns the new epoch."""

    async def set_last_online(self, user: str, ts_ms: int) -> None: ...

    async def get_last_online(self) -> dict[str, int]:
        """Every recorded ``user -> last-online ms``."""

    # -- admin config document --------------------------------------------------------------
    async def get_admin_config(self) -> tuple[dict[str, Any] | None, int]:
        """The stored AdminConfig JSON document and its version (0 when absent; a document
        imported from LunaTV without our version key also reports 0)."""

    async def set_admin_config(self, config: dict[str, Any], expected_version: int | None = None) -> int:
        """Replace the document; returns the new version. With ``expected_version`` the
        write only succeeds if the stored version still equals it, else VersionConflict."""

    async def get_admin_config_version(self) -> int:
        """The version ``get_admin_config`` would return, without reading the document (a cheap
        read each replica makes to notice another replica's write)."""

    # -- small server metadata (generated secret key, migration flags) ----------------------
    async def get_meta(self, name: str) -> str | None: ...

    async def set_meta_if_absent(self, name: str, value: str) -> str:
        """Atomically store ``value`` unless a value exists; returns the stored value."""

    async def set_meta(self, name: str, value: str | None) -> None:
        """Store ``value`` under ``name`` (replacing any value); None deletes it."""

    # -- leases: one holder at a time across replicas (the scheduled refresh) ---------------
    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take the lease ``name`` for ``holder`` until ``ttl_ms`` from now, or renew it when
        ``holder`` already has it. False while another holder's lease has not expired."""

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once, only if ``holder`` still has it."""

    # -- expiring counters (login throttling, revoked session ids; shared by every replica) ----
    async def incr_counter(self, name: str, ttl_seconds: int) -> int:
        """Add one to counter ``name`` and return the new value. A counter that did not exist
        starts at 1 and disappears ``ttl_seconds`` later (later increments keep that expiry:
        a fixed window). Names are opaque strings of at most 200 characters."""

    async def get_counter(self, name: str) -> int:
        """The counter's value; 0 when it never existed or has expired."""

    async def delete_counter(self, name: str) -> None: ...

    async def clear_all_data(self) -> None:
        """Delete every user's data (including data of names without a credential, session
        epochs and last-online times) and the admin config; the admin config version starts
        again from 0. Server metadata (``get_meta``) and expiring counters are kept, and data
        that is not MoonTV's (other key prefixes, other databases) is never touched."""
