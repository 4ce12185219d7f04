"""Login throttling that holds across replicas and cannot be flushed.

Three fixed-window counters of *failed* logins live in storage (Redis ``INCR`` + expiry, or
the SQLite ``counters`` table), so every replica enforces the same limits and no amount of
made-up names can push a counter out (each expires on its own clock):

- per client address (``MOONTV_LOGIN_RATE_LIMIT`` per minute),
- per target username (``MOONTV_LOGIN_USER_RATE_LIMIT`` per minute; one password sprayed
  over many addresses at one account),
- a global budget (``MOONTV_LOGIN_GLOBAL_RATE_LIMIT`` failures per minute for the whole
  site; one password sprayed over many accounts from many addresses).

A successful login clears its username's counter only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from moontv.storage.protocol import Storage

WINDOW_SECONDS = 60


def _name(kind: str, value: str) -> str:
    return f"login:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_ip: int
    per_user: int
    global_failures: int


class LoginThrottle:
    def __init__(self, storage: Storage, limits: LoginLimits, window: int = WINDOW_SECONDS) -> None:
        self._storage = storage
        self.limits = limits
        self.window = window

    def _counters(self, client_ip: str, username_key: str) -> list[tuple[str, int]]:
        return [
            (_name("ip", client_ip), self.limits.per_ip),
            (_name("user", username_key), self.limits.per_user),
            ("login:all", self.limits.global_failures),
        ]

    async def retry_after(self, client_ip: str, username_key: str) -> float:
        """Seconds to wait (the window) when any limit is reached; 0 when a try is allowed."""
        for name, limit in self._counters(client_ip, username_key):
            if await self._storage.get_counter(name) >= limit:
                return float(self.window)
        return 0.0

    async def failed(self, client_ip: str, username_key: str) -> None:
        for name, _ in self._counters(client_ip, username_key):
            await self._storage.incr_counter(name, self.window)

    async def succeeded(self, username_key: str) -> None:
        await self._storage.delete_counter(_name("user", username_key))
