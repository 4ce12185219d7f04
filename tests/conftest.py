"""Shared test fixtures: a real redis-server, free ports, fixture paths."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.fakes.plugin", "tests.fakes.douban_plugin"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("MOONTV_MACCMS_FIXTURES", REPO.parent / "shared" / "fixtures" / "maccms"))
LOCAL_FIXTURES = REPO / "tests" / "fixtures" / "maccms"


def maccms_fixture_dir() -> Path:
    """The recorded Apple CMS answers: the copy in the repo (tests/fixtures/maccms)."""
    return LOCAL_FIXTURES if LOCAL_FIXTURES.is_dir() else FIXTURES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on 127.0.0.1 for the whole session; yields its URL."""
    url = os.environ.get("MOONTV_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    workdir = tmp_path_factory.mktemp("redis")
    # a port picked free may be bound by another process before redis-server binds it: a start that
    # fails on "Address already in use" (and only that) is retried on a new port
    log_path = workdir / "redis.log"
    for _ in range(5):
        port = free_port()
        log_path.write_bytes(b"")
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--loglevel", "warning", "--logfile", str(log_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        proc.kill()
        proc.wait(timeout=10)
        output = log_path.read_text(errors="replace")
        if "already in use" not in output:
            pytest.fail(f"redis-server did not start: {output[-2000:]}")
    else:
        pytest.fail("redis-server found no free port in 5 attempts")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def clean_redis(redis_server: str) -> str:
    """The private test redis, emptied before the test (it is ours alone)."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server


@pytest.fixture(params=["sqlite", "redis"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def live_app(tmp_path: Path, storage_kind: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A factory: start the real app over HTTP on the parametrized storage backend. For tests where the
    socket matters (streams, SSE, HEAD, client contracts); JSON API tests use ``inprocess_app``."""
    from tests.support import LiveServer, settings_for, write_config

    servers: list[LiveServer] = []
    redis_url = request.getfixturevalue("clean_redis") if storage_kind == "redis" else ""

    def start(sites: dict[str, str] | None = None, **overrides: object) -> LiveServer:
        config = tmp_path / "config.json"
        if not config.exists() or sites is not None:
            write_config(config, sites or {})
        settings = settings_for(tmp_path, storage=storage_kind, redis_url=redis_url, **overrides)
        server = LiveServer(settings).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def inprocess_app(tmp_path: Path, storage_kind: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A factory: the real app in this event loop (no socket), on the parametrized storage backend.
    ``app = await inprocess_app(sites)``; ``await app.client(as_user="alice")``."""
    from tests.inprocess import InProcessApp
    from tests.support import settings_for, write_config

    redis_url = request.getfixturevalue("clean_redis") if storage_kind == "redis" else ""
    async with AsyncExitStack() as stack:

        async def start(sites: dict[str, str] | None = None, **overrides: object) -> InProcessApp:
            config = tmp_path / "config.json"
            if not config.exists() or sites is not None:
                write_config(config, sites or {})
            settings = settings_for(tmp_path, storage=storage_kind, redis_url=redis_url, **overrides)
            return await stack.enter_async_context(InProcessApp(settings))

        yield start


@pytest.fixture
def stream_host(tmp_path):  # type: ignore[no-untyped-def]
    """A CDN with one tiny VOD stream at /hls/index.m3u8 (a master playlist at /hls/master.m3u8)."""
    from tests.ui.support import Cdn

    hls = tmp_path / "cdn" / "hls"
    hls.mkdir(parents=True)
    (hls / "index.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg000.ts\n#EXT-X-ENDLIST\n"
    )
    (hls / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=640x360\nindex.m3u8\n"
    )
    (hls / "noseg.m3u8").write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ngone.ts\n#EXT-X-ENDLIST\n"
    )
    (hls / "seg000.ts").write_bytes(b"\x47" + bytes(187) * 1)
    cdn = Cdn(tmp_path / "cdn").start()
    yield cdn.url
    cdn.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, one per test module: a second ``sync_playwright()``
    started while another is open in the same thread fails, so every browser test shares this one
    (and opens its own context or page). Not session-wide: while it is open the thread counts as
    running an event loop, and the asyncio tests of later modules could not start theirs."""
    from tests.support import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium is required at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
