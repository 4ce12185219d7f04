"""Pytest plugin with fake Apple CMS upstreams (register with ``pytest_plugins = ["tests.fakes.plugin"]``).

Fixtures:

- ``fake_cms``: one started ``FakeCms`` serving dataset A, stopped after the test.
- ``fake_cms_factory``: ``factory(items=None, **kwargs) -> FakeCms`` creating *started* fakes (keyword
  arguments go to ``FakeCms``: ``classes``, ``delay``, ``fault``, ``huge_bytes``, ``search_rate_limit``);
  every fake it made is stopped at teardown.
- ``fake_cms_fleet_factory``: ``factory(n, **kwargs) -> FakeCmsFleet`` creating started fleets, stopped at
  teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.fake_cms import FakeCms, FakeCmsFleet


@pytest.fixture
def fake_cms() -> Iterator[FakeCms]:
    """A started fake maccms10 source with dataset A."""
    with FakeCms() as fake:
        yield fake


@pytest.fixture
def fake_cms_factory() -> Iterator[Callable[..., FakeCms]]:
    """Create started fakes: ``fake_cms_factory(items=None, **kwargs)``; all are stopped at teardown."""
    created: list[FakeCms] = []

    def factory(items: list[dict[str, Any]] | None = None, **kwargs: Any) -> FakeCms:
        fake = FakeCms(items, **kwargs)
        created.append(fake)
        return fake.start()

    yield factory
    for fake in created:
        fake.stop()


@pytest.fixture
def fake_cms_fleet_factory() -> Iterator[Callable[..., FakeCmsFleet]]:
    """Create started fleets: ``fake_cms_fleet_factory(n, base_ms=..., step_ms=..., ...)``."""
    created: list[FakeCmsFleet] = []

    def factory(n: int, **kwargs: Any) -> FakeCmsFleet:
        fleet = FakeCmsFleet(n, **kwargs)
        created.append(fleet)
        return fleet.start()

    yield factory
    for fleet in created:
        fleet.stop()
