"""Pytest plugin: ``douban_fake`` (Douban and Bangumi shapes) and ``danmu_fake`` (a danmu_api server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.danmu_fake import FakeDanmuApi
from tests.fakes.douban_fake import FakeDouban


@pytest.fixture
def douban_fake() -> Iterator[FakeDouban]:
    fake = FakeDouban().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def danmu_fake() -> Iterator[FakeDanmuApi]:
    fake = FakeDanmuApi().start()
    try:
        yield fake
    finally:
        fake.stop()
