"""Fixtures of the client replays: the shared world (app, two fake sources, fake Douban, poster CDN)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.world import World, start_world
from tests.streams.upstream import Upstream


@pytest.fixture
def storage_kind() -> str:
    return "sqlite"


@pytest.fixture
def world(live_app, fake_cms_factory, douban_fake) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with Upstream(None) as posters:
        yield start_world(live_app, fake_cms_factory, douban_fake, posters)
