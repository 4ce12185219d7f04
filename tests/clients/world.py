"""One running app with two fake Apple CMS sources and the fake Douban, shared by the client replays.

Source ``a`` is dataset A plus a title that matches the fake Douban's first movie card (``推荐movie0``,
2010), so the TVBox Douban façade can resolve that card to a playable source; source ``b`` is plain
dataset A. That title's poster lives on a public-looking CDN host (``pic.cms-cdn.example``), served by
a local upstream through the fake DNS and fake internet the SSRF guard tests use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.douban_fake import FakeDouban
from tests.fakes.fake_cms import FakeCms, dataset_a, make_item
from tests.streams.netfakes import PUBLIC_IP, FakeInternet, install_fake_dns
from tests.streams.test_images import PNG
from tests.streams.upstream import Canned, Upstream
from tests.support import LiveServer

DOUBAN_MATCH = "推荐movie0"  # the fake Douban's first card of the "电影·热门" class, year 2010
POSTER_HOST = "pic.cms-cdn.example"


@dataclass
class World:
    server: LiveServer
    cms_a: FakeCms
    cms_b: FakeCms
    douban: FakeDouban
    posters: Upstream
    poster_url: str

    @property
    def url(self) -> str:
        return self.server.url


def start_world(
    live_app: Callable[..., LiveServer],
    fake_cms_factory: Callable[..., FakeCms],
    douban: FakeDouban,
    posters: Upstream,
) -> World:
    posters.canned["/vod/50.png"] = Canned(200, {"Content-Type": "image/png"}, PNG)
    poster_url = f"http://{POSTER_HOST}:{posters.port}/vod/50.png"
    items: list[dict[str, Any]] = dataset_a()
    items.append(
        make_item(50, DOUBAN_MATCH, year="2010", episodes=2, type_id=6, type_name="动作片", pic=poster_url)
    )
    cms_a = fake_cms_factory(items)
    cms_b = fake_cms_factory()
    server = live_app(
        {"a": cms_a.base_url, "b": cms_b.base_url},
        douban_m_base=douban.url,
        douban_base=douban.url,
        refresh_interval=0,
    )
    install_fake_dns(server, {POSTER_HOST: [PUBLIC_IP]})
    server.state.netguard.connector = FakeInternet({PUBLIC_IP: posters.port})
    return World(server, cms_a, cms_b, douban, posters, poster_url)
