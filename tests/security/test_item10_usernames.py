"""Item 10: usernames cannot impersonate (case, full-width and look-alike letters)."""

from __future__ import annotations

from typing import Any

import pytest


def _open_registration(config: dict[str, Any]) -> None:
    config["UserConfig"]["AllowRegister"] = True


@pytest.mark.parametrize(
    "name",
    [
        "Admin",  # the owner, another case
        "ＡＤＭＩＮ",  # full-width
        "ａlice",  # full-width first letter
        "Alice",  # an existing user, another case
        "аlice",  # Cyrillic а
        "alice\u200b",  # zero-width space
        "ﬁle",  # a compatibility ligature
    ],
)
def test_look_alike_names_are_refused(live_app: Any, name: str) -> None:
    server = live_app(None)
    with server.client() as client:
        admin = server.login()
        admin.post("/api/admin/config", json={})  # no-op; keeps the owner session warm
        set_register = server.state.config.update(
            lambda c: c["UserConfig"].__setitem__("AllowRegister", True)
        )
        server.call(set_register)
        assert client.post("/api/register", json={"username": "alice", "password": "pw-1"}).status_code == 200
        refused = client.post("/api/register", json={"username": name, "password": "pw-2"})
        assert refused.status_code == 400, name
    assert name not in server.call(server.state.storage.list_users())


def test_ordinary_names_register_and_legacy_names_still_log_in(live_app: Any) -> None:
    server = live_app(None)
    server.call(server.state.config.update(_open_registration))
    with server.client() as client:
        for name in ("bob_2", "张三", "user.name@home"):
            assert client.post("/api/register", json={"username": name, "password": "pw"}).status_code == 200

    async def legacy() -> None:  # an account created before the rule, e.g. imported from LunaTV
        await server.state.storage.set_password_hash("Ｌegacy", "legacy-pw")

        def add(config: dict[str, Any]) -> None:
            config["UserConfig"]["Users"].append({"username": "Ｌegacy", "role": "user"})

        await server.state.config.update(add)

    server.call(legacy())
    with server.client() as client:
        assert (
            client.post("/api/login", json={"username": "Ｌegacy", "password": "legacy-pw"}).status_code
            == 200
        )
