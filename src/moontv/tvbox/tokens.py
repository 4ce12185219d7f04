"""Per-user, revocable TVBox subscription tokens.

The token is a random secret shown once when it is issued; only its SHA-256 is kept. It is
per-user data, so it lives in the storage's metadata keys, not in the versioned admin config
(a user rotating a token must not make an admin's pending save conflict):

- ``tvbox:user:<username>`` -> ``{"hash": ..., "createdAt": ms}``
- ``tvbox:hash:<sha256>``   -> ``<username>`` (the lookup index)

A token resolves only while both agree (rotation and revocation replace/delete the user's
entry) and the user still exists in the admin config. Configs written by earlier versions
kept ``tvboxToken`` on the user entry; such a token still resolves until the user rotates or
revokes it, which also removes the old field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

import orjson

from moontv.config import document
from moontv.config.service import ConfigService
from moontv.config.view import LEGACY_TVBOX_FIELD

TOKEN_BYTES = 24


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_key(username: str) -> str:
    return f"tvbox:user:{username}"


def _hash_key(hashed: str) -> str:
    return f"tvbox:hash:{hashed}"


async def forget_user(storage: Any, username: str) -> None:
    """Drop a deleted user's token, so a new account with the same name does not inherit it."""
    await storage.set_meta(_user_key(username), None)


class TvboxTokens:
    def __init__(self, config: ConfigService, storage: Any) -> None:
        self._config = config
        self._storage = storage

    async def _entry(self, username: str) -> dict[str, Any] | None:
        raw = await self._storage.get_meta(_user_key(username))
        if not raw:
            return None
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("hash"), str) else None

    async def _drop(self, username: str) -> None:
        old = await self._entry(username)
        if old is not None:
            await self._storage.set_meta(_hash_key(old["hash"]), None)
        await self._storage.set_meta(_user_key(username), None)

    async def _forget_legacy(self, username: str) -> None:
        user = (await self._config.view()).user(username)
        if user is None or user.legacy_tvbox is None:
            return

        def mutate(config: dict[str, Any]) -> None:
            entry = document.find_user(config, username)
            if entry is not None:
                entry.pop(LEGACY_TVBOX_FIELD, None)

        await self._config.update(mutate)

    async def _require_user(self, username: str) -> None:
        if (await self._config.view()).user(username) is None:
            raise LookupError(username)

    async def issue(self, username: str, *, expected_version: int | None = None) -> tuple[str, int]:
        """A new token for ``username`` (replacing any previous one); returns (token, config version)."""
        await self._require_user(username)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        hashed = token_hash(token)
        await self._drop(username)
        await self._storage.set_meta(_hash_key(hashed), username)
        entry = {"hash": hashed, "createdAt": int(time.time() * 1000)}
        await self._storage.set_meta(_user_key(username), orjson.dumps(entry).decode())
        await self._forget_legacy(username)
        return token, (await self._config.get()).version

    async def revoke(self, username: str, *, expected_version: int | None = None) -> int:
        await self._require_user(username)
        await self._drop(username)
        await self._forget_legacy(username)
        return (await self._config.get()).version

    async def revoke_all(self, *, expected_version: int | None = None) -> int:
        for name in (await self._config.view()).usernames():
            await self._drop(name)

        def mutate(config: dict[str, Any]) -> None:
            for user in document.users(config):
                user.pop(LEGACY_TVBOX_FIELD, None)

        return (await self._config.update(mutate, expected_version=expected_version)).version

    async def resolve(self, token: str | None) -> str | None:
        """The username the token belongs to, or None (unknown, revoked or malformed)."""
        if not token or len(token) > 128:
            return None
        wanted = token_hash(token)
        view = await self._config.view()
        username = await self._storage.get_meta(_hash_key(wanted))
        if username:
            entry = await self._entry(username)
            if entry is not None and hmac.compare_digest(entry["hash"], wanted):
                return username if view.user(username) is not None else None
        found = None
        for user in view.users:  # tokens issued before the move out of the config
            hashed = user.legacy_tvbox.get("hash") if user.legacy_tvbox is not None else None
            if isinstance(hashed, str) and hmac.compare_digest(hashed, wanted):
                found = user.username
        return found

    async def info(self, username: str) -> dict[str, Any]:
        entry = await self._entry(username)
        if entry is None:
            user = (await self._config.view()).user(username)
            entry = dict(user.legacy_tvbox) if user is not None and user.legacy_tvbox is not None else None
        if entry is not None:
            return {"active": True, "createdAt": entry.get("createdAt")}
        return {"active": False}
