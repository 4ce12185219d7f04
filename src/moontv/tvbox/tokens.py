"""Per-user, revocable TVBox subscription tokens.

The token is a random secret shown once when it is issued; only its SHA-256 is kept, on the
user's entry in the admin config (``tvboxToken: {hash, createdAt}``), so it travels with
backups, disappears with the user and is revoked by a config reset. The admin view never shows
the hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from moontv.admin.view import TVBOX_FIELD
from moontv.config.admin import find_user
from moontv.config.service import ConfigService

TOKEN_BYTES = 24


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TvboxTokens:
    def __init__(self, config: ConfigService) -> None:
        self._config = config

    async def issue(self, username: str, *, expected_version: int | None = None) -> tuple[str, int]:
        """A new token for ``username`` (replacing any previous one); returns (token, version)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        entry = {"hash": token_hash(token), "createdAt": int(time.time() * 1000)}

        def mutate(config: dict[str, Any]) -> None:
            user = find_user(config, username)
            if user is None:
                raise LookupError(username)
            user[TVBOX_FIELD] = entry

        snapshot = await self._config.update(mutate, expected_version=expected_version)
        return token, snapshot.version

    async def revoke(self, username: str, *, expected_version: int | None = None) -> int:
        def mutate(config: dict[str, Any]) -> None:
            user = find_user(config, username)
            if user is None:
                raise LookupError(username)
            user.pop(TVBOX_FIELD, None)

        return (await self._config.update(mutate, expected_version=expected_version)).version

    async def revoke_all(self, *, expected_version: int | None = None) -> int:
        def mutate(config: dict[str, Any]) -> None:
            for user in config["UserConfig"]["Users"]:
                user.pop(TVBOX_FIELD, None)

        return (await self._config.update(mutate, expected_version=expected_version)).version

    async def resolve(self, token: str | None) -> str | None:
        """The username the token belongs to, or None (unknown, revoked or malformed)."""
        if not token or len(token) > 128:
            return None
        wanted = token_hash(token)
        snapshot = await self._config.get()
        found = None
        for user in snapshot.config["UserConfig"]["Users"]:
            entry = user.get(TVBOX_FIELD)
            hashed = entry.get("hash") if isinstance(entry, dict) else None
            if isinstance(hashed, str) and hmac.compare_digest(hashed, wanted):
                found = user.get("username")
        return found if isinstance(found, str) else None

    @staticmethod
    def info(config: dict[str, Any], username: str) -> dict[str, Any]:
        user = find_user(config, username)
        entry = user.get(TVBOX_FIELD) if user else None
        if isinstance(entry, dict):
            return {"active": True, "createdAt": entry.get("createdAt")}
        return {"active": False}
