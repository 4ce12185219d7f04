"""Pytest plugin: ``douban_fake`` (a started FakeDouban serving Douban and Bangumi shapes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.douban_fake import FakeDouban


@pytest.fixture
def douban_fake() -> Iterator[FakeDouban]:
    fake = FakeDouban().start()
    try:
        yield fake
    finally:
        fake.stop()
