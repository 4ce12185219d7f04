"""Fixtures for the abuse suite: a subprocess server and a hostile upstream on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.abuse.harness import ServerProcess
from tests.streams.upstream import Upstream

LOCAL = "127.0.0.1/32"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream(None) as server:
        yield server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(sites: dict[str, str] | None = None, **env: str) -> ServerProcess:
        env.setdefault("MOONTV_ALLOW_PRIVATE_UPSTREAMS", LOCAL)
        server = ServerProcess(tmp_path, sites, **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
