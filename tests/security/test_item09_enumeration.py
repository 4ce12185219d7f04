"""Item 9: no account enumeration through answers or timing; bans are told only to the password holder."""

from __future__ import annotations

import statistics
import time
from typing import Any

from tests.security.conftest import add_user


def _login(client: Any, user: str, password: str) -> tuple[int, Any, float]:
    start = time.perf_counter()
    answer = client.post("/api/login", json={"username": user, "password": password})
    return answer.status_code, answer.json(), time.perf_counter() - start


def test_unknown_user_and_wrong_password_look_the_same(live_app: Any) -> None:
    server = live_app(None, login_rate_limit=1000, login_user_rate_limit=1000, login_global_rate_limit=1000)
    add_user(server, "alice", "alice-pw")
    with server.client() as client:
        _login(client, "warm-up", "x")
        known = [_login(client, "alice", f"wrong{i}") for i in range(7)]
        unknown = [_login(client, f"nobody{i}", "wrong") for i in range(7)]
    assert {(code, body["error"]) for code, body, _ in known} == {(401, "用户名或密码错误")}
    assert {(code, body["error"]) for code, body, _ in unknown} == {(401, "用户名或密码错误")}
    known_s = statistics.median(t for *_, t in known)
    unknown_s = statistics.median(t for *_, t in unknown)
    # the same slow hash runs either way (before: ~2 ms against ~40 ms); loose bounds for busy machines
    assert unknown_s > known_s / 3, (known_s, unknown_s)


def test_a_ban_is_only_revealed_after_the_right_password(live_app: Any) -> None:
    server = live_app(None)
    add_user(server, "mallory", "mallory-pw", banned=True)
    with server.client() as client:
        wrong = client.post("/api/login", json={"username": "mallory", "password": "guess"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "用户名或密码错误"
        right = client.post("/api/login", json={"username": "mallory", "password": "mallory-pw"})
        assert right.status_code == 401 and right.json()["error"] == "用户被封禁"
