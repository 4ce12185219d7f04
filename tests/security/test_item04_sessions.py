"""Item 4: sessions end when they should (logout, a new owner PASSWORD)."""

from __future__ import annotations

from typing import Any

from tests.security.conftest import add_user
from tests.support import LiveServer, settings_for


def _token(server: LiveServer, user: str, password: str) -> str:
    with server.client() as client:
        answer = client.post("/api/login", json={"username": user, "password": password})
        assert answer.status_code == 200
        return str(answer.json()["token"])


def _works(server: LiveServer, token: str) -> bool:
    with server.client() as client:
        return client.get("/api/playrecords", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_logout_revokes_the_token_it_was_called_with(live_app: Any) -> None:
    server = live_app(None)
    add_user(server, "alice", "alice-pw")
    laptop, phone = _token(server, "alice", "alice-pw"), _token(server, "alice", "alice-pw")
    with server.client() as client:
        bye = client.post("/api/logout", headers={"Authorization": f"Bearer {laptop}"})
        assert bye.status_code == 200
    assert not _works(server, laptop)  # a copied cookie/token is dead after logout
    assert _works(server, phone)  # the other device stays signed in


def test_a_new_owner_password_revokes_old_owner_sessions(live_app: Any, tmp_path: Any) -> None:
    server = live_app(None)
    old = _token(server, "admin", "test")
    assert _works(server, old)
    server.stop()
    restarted = LiveServer(settings_for(tmp_path, password="a-new-password")).start()
    try:
        assert not _works(restarted, old)
        assert _works(restarted, _token(restarted, "admin", "a-new-password"))
    finally:
        restarted.stop()
