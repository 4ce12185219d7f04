"""Run the real app over real HTTP in a background thread, as a deployment would."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from moontv.app import create_app
from moontv.settings import Settings, load_settings

T = TypeVar("T")

# Debian's chromium, driven by Playwright (never a downloaded browser).
CHROMIUM = os.environ.get("MOONTV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


def bound_socket() -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1 at a port the kernel chose."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        # bound here and handed to uvicorn: a port picked now and bound later can be taken meanwhile
        self.socket = bound_socket()
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `moontv serve` runs it: the app decides whom to believe
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve(sockets=[self.socket])

        asyncio.run(serve())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's own event loop (to reach its services directly)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def state(self) -> Any:
        return self.app.state.moontv

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, trust_env=False, **kwargs)

    def login(self, username: str = "admin", password: str = "test") -> httpx.Client:
        client = self.client()
        response = client.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client


def write_config(path: Path, sites: dict[str, str], *, cache_time: int = 7200, **extra: Any) -> Path:
    data = {
        "cache_time": cache_time,
        "api_site": {key: {"api": api, "name": f"源{key}"} for key, api in sites.items()},
        **extra,
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def settings_for(
    tmp_path: Path, *, storage: str = "sqlite", redis_url: str = "", **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "username": "admin",
        "password": "test",
        "storage_type": storage,
        "redis_url": redis_url,
        "config_file": tmp_path / "config.json",
        "data_dir": tmp_path / "data",
        "upstream_timeout": 3.0,
        "secret_key": "",
        # The fake CMS/CDN servers listen on 127.0.0.1: allowed like a LAN upstream unless a
        # test says otherwise (the SSRF tests pass "").
        "allow_private_upstreams": "127.0.0.1/32",
    }
    values.update(overrides)
    return load_settings(**values)
