"""Fixtures for the stream tests: ffmpeg-made HLS media, a CDN-like upstream, the live app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streams.hls_fixtures import build
from tests.streams.upstream import Upstream


@pytest.fixture(params=["sqlite"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    """Stream features do not touch storage beyond sign-in: one backend is enough here."""
    return str(request.param)


@pytest.fixture(scope="session")
def hls_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real H.264/AAC HLS media and the ad-scenario playlists, encoded once per test session."""
    return build(tmp_path_factory.mktemp("hls"))


@pytest.fixture
def cdn(hls_root: Path) -> Iterator[Upstream]:
    """The media on a CORS-enabled static server on 127.0.0.1 (a CDN stand-in)."""
    with Upstream(hls_root, cors=True) as server:
        yield server


@pytest.fixture
def target() -> Iterator[Upstream]:
    """An upstream that must never be reached (SSRF tests assert its request log stays empty)."""
    with Upstream(None) as server:
        yield server
