"""Item 12: a client hanging up mid-body is not an error; TVBox links ignore spoofed hosts."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any


def test_client_disconnect_mid_body_logs_no_traceback(live_app: Any, caplog: Any) -> None:
    server = live_app(None)
    token = server.login().post("/api/login", json={"username": "admin", "password": "test"}).json()["token"]
    caplog.set_level(logging.DEBUG)
    for path in ("/api/login", "/api/playrecords", "/api/admin/site"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f'Authorization: Bearer {token}\r\nContent-Length: 5000\r\n\r\n{{"key": '.encode()
            )
            time.sleep(0.3)
        time.sleep(0.3)
    assert server.login().get("/api/health").status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


def test_tvbox_links_follow_forwarded_host_only_from_a_trusted_proxy(live_app: Any) -> None:
    spoof = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    direct = live_app(None, tvbox_enabled=True)
    owner = direct.login()
    owner.post("/api/admin/tvbox", json={"action": "enable"})
    text = owner.get("/api/admin/tvbox", headers=spoof).text
    assert "evil.example" not in text and "127.0.0.1" in text
    proxied = live_app(None, tvbox_enabled=True, trusted_proxies="127.0.0.1/32")
    owner = proxied.login()
    owner.post("/api/admin/tvbox", json={"action": "enable"})
    assert (
        "https://tv.example"
        in owner.get("/api/admin/tvbox", headers={**spoof, "X-Forwarded-Host": "tv.example"}).text
    )
