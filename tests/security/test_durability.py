"""Durability: SIGKILL during a stream of acknowledged writes loses none of them.

SQLite: the app process itself is killed (WAL, ``synchronous=NORMAL``). Redis: redis-server is
killed (``appendonly yes``, ``appendfsync everysec``, as compose runs it) while the app keeps
writing; after a restart every write that got a 200 is there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.support import LiveServer, settings_for, write_config


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


def _write_until(base: str, token: str, kill: Callable[[], None], after: float) -> list[str]:
    """Write records until ``kill`` (called from another thread after ``after`` s) cuts them off."""
    acknowledged: list[str] = []
    threading.Timer(after, kill).start()
    with httpx.Client(base_url=base, timeout=5, headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(100_000):
            key = f"k{i}+1"
            try:
                answer = client.post("/api/playrecords", json={"key": key, "record": _record(i)})
            except httpx.HTTPError:
                break
            if answer.status_code != 200:
                break
            acknowledged.append(key)
    return acknowledged


def _record(i: int) -> dict[str, object]:
    return {"title": f"T{i}", "source_name": "源", "index": 1, "total_episodes": 1, "play_time": 1,
            "total_time": 60, "save_time": 1700000000000 + i}  # fmt: skip


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MOONTV_") and k not in ("PASSWORD", "PORT")
    }
    env.update({"PASSWORD": "test", "PORT": str(port), "MOONTV_SECRET_KEY": "k" * 40})
    args = ["serve", "--config", str(tmp_path / "config.json"), "--data-dir", str(tmp_path / "data")]
    return subprocess.Popen(
        [sys.executable, "-m", "moontv", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _token(base: str) -> str:
    return str(
        httpx.post(f"{base}/api/login", json={"username": "admin", "password": "test"}).json()["token"]
    )


def test_sqlite_app_killed_mid_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    write_config(tmp_path / "config.json", {})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    try:
        _wait(f"{base}/api/health")
        acknowledged = _write_until(base, _token(base), lambda: proc.send_signal(signal.SIGKILL), 1.5)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) > 10
    proc = _serve(tmp_path, port)
    try:
        _wait(f"{base}/api/health")
        stored = httpx.get(
            f"{base}/api/playrecords", headers={"Authorization": f"Bearer {_token(base)}"}
        ).json()
    finally:
        proc.terminate()
        proc.wait(10)
    assert set(acknowledged) <= set(stored), len(set(acknowledged) - set(stored))


def _redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "everysec"]
    proc = subprocess.Popen(
        [binary, *args, "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_tcp(port)
    return proc


def _wait_tcp(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def test_redis_aof_server_killed_mid_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    redis_port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    redis = _redis(redis_port, workdir)
    write_config(tmp_path / "config.json", {})
    url = f"redis://127.0.0.1:{redis_port}/0"
    server = LiveServer(settings_for(tmp_path, storage="redis", redis_url=url)).start()
    try:
        acknowledged = _write_until(
            server.url, _token(server.url), lambda: redis.send_signal(signal.SIGKILL), 1.5
        )
        redis.wait(10)
        assert len(acknowledged) > 10
        redis = _redis(redis_port, workdir)
        deadline = time.monotonic() + 20
        stored: dict[str, object] = {}
        while time.monotonic() < deadline:  # the app reconnects on its own
            answer = httpx.get(
                f"{server.url}/api/playrecords", headers={"Authorization": f"Bearer {_token(server.url)}"}
            )
            if answer.status_code == 200:
                stored = answer.json()
                break
            time.sleep(0.2)
    finally:
        server.stop()
        redis.terminate()
        redis.wait(10)
    assert set(acknowledged) <= set(stored), len(set(acknowledged) - set(stored))
