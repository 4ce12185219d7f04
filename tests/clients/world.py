"""One running app with two fake Apple CMS sources and the fake Douban, shared by the client replays.

Source ``a`` is dataset A plus a title that matches the fake Douban's first movie card (``推荐movie0``,
2010), so the TVBox Douban façade can resolve that card to a playable source; source ``b`` is plain
dataset A.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.douban_fake import FakeDouban
from tests.fakes.fake_cms import FakeCms, dataset_a, make_item
from tests.support import LiveServer

DOUBAN_MATCH = "推荐movie0"  # the fake Douban's first card of the "电影·热门" class, year 2010


@dataclass
class World:
    server: LiveServer
    cms_a: FakeCms
    cms_b: FakeCms
    douban: FakeDouban

    @property
    def url(self) -> str:
        return self.server.url


def start_world(
    live_app: Callable[..., LiveServer], fake_cms_factory: Callable[..., FakeCms], douban: FakeDouban
) -> World:
    items: list[dict[str, Any]] = dataset_a()
    items.append(make_item(50, DOUBAN_MATCH, year="2010", episodes=2, type_id=6, type_name="动作片"))
    cms_a = fake_cms_factory(items)
    cms_b = fake_cms_factory()
    server = live_app(
        {"a": cms_a.base_url, "b": cms_b.base_url},
        douban_m_base=douban.url,
        douban_base=douban.url,
        refresh_interval=0,
    )
    return World(server, cms_a, cms_b, douban)
