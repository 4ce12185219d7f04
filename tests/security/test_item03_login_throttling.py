"""Item 3: login throttling an attacker cannot step around (both storage backends).

Attacks: rotating ``X-Forwarded-For`` on a server with default settings; many addresses (through
a trusted proxy) at one account; one password sprayed over many accounts; a second replica.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support import LiveServer, settings_for

JUNK_NAMES = 10_050
BOTH = pytest.mark.parametrize("storage_kind", ["sqlite", "redis"], indirect=True)


def _try(server: LiveServer, user: str, password: str, **headers: str) -> int:
    with server.client() as client:
        return client.post(
            "/api/login", json={"username": user, "password": password}, headers=headers
        ).status_code


@BOTH
def test_rotating_x_forwarded_for_does_not_escape_the_limit(live_app: Any) -> None:
    server = live_app(None, login_rate_limit=5)
    codes = [_try(server, "admin", f"guess{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(12)]
    assert codes[:5] == [401] * 5, codes
    assert set(codes[5:]) == {429}, codes
    assert _try(server, "admin", "test") == 429  # even the right password waits out the window


@BOTH
def test_many_addresses_at_one_account_and_one_password_over_many_accounts(live_app: Any) -> None:
    server = live_app(
        None,
        trusted_proxies="127.0.0.1/32",
        login_rate_limit=100,
        login_user_rate_limit=4,
        login_global_rate_limit=12,
    )
    per_user = [_try(server, "admin", "x", **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(6)]
    assert per_user[:4] == [401] * 4 and set(per_user[4:]) == {429}
    # a made-up name per try, a new address per try: the global failure budget still stops it
    spray = [_try(server, f"user{i}", "123456", **{"X-Forwarded-For": f"192.0.2.{i}"}) for i in range(12)]
    assert 429 in spray and spray[-1] == 429


def test_junk_names_cannot_flush_the_limit(live_app: Any) -> None:
    server = live_app(None, login_rate_limit=3, login_global_rate_limit=100_000)
    assert [_try(server, "admin", "bad") for _ in range(3)] == [401] * 3

    def junk(worker: int) -> None:
        with server.client() as client:
            for i in range(worker, JUNK_NAMES, 4):
                client.post("/api/login", json={"username": f"junk{i}", "password": "x"})

    # the old in-memory table held 10,000 keys and evicted the oldest: made-up names flushed it
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(junk, range(4)))
    assert _try(server, "admin", "test") == 429


@BOTH
def test_replicas_share_one_limit(live_app: Any, tmp_path: Any, storage_kind: str, request: Any) -> None:
    first = live_app(None, login_rate_limit=3)
    second_settings = settings_for(
        tmp_path, storage=storage_kind, redis_url=first.settings.redis_url, login_rate_limit=3
    )
    second = LiveServer(second_settings).start()
    try:
        assert [_try(first, "admin", "bad") for _ in range(3)] == [401] * 3
        assert _try(second, "admin", "test") == 429
    finally:
        second.stop()
