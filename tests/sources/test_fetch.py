"""Both CMS transports (aiohttp, the app's default; httpx, for guarded clients) behave the same."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from moontv.sources.client import CmsClient
from moontv.sources.fetch import AiohttpFetcher, HttpxFetcher
from moontv.sources.models import ApiSite, SourceError


@pytest.fixture(params=["aiohttp", "httpx"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[CmsClient]:
    if request.param == "aiohttp":
        fetcher = AiohttpFetcher()
        yield CmsClient(fetcher, max_bytes=1024 * 1024)
        await fetcher.aclose()
    else:
        async with httpx.AsyncClient(follow_redirects=True, trust_env=False) as http:
            yield CmsClient(HttpxFetcher(http), max_bytes=1024 * 1024)


def site(fake) -> ApiSite:  # type: ignore[no-untyped-def]
    return ApiSite("s", "源", fake.base_url)


async def test_search_page_and_detail(client: CmsClient, fake_cms_factory) -> None:
    fake = fake_cms_factory()
    page = await client.search_page(site(fake), "流浪星球", 1, timeout=5, filter_adult=True)
    assert [item["id"] for item in page.items] == ["2", "1"] and page.pagecount == 1
    assert fake.requests[-1]["query"] == {"ac": "videolist", "wd": "流浪星球"}
    detail = await client.detail(site(fake), "5", timeout=5)
    assert detail is not None and len(detail["episodes"]) == 8


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("500", "http"),
        ("html", "parse"),
        ("truncated", "parse"),
        ("empty", "parse"),
        ("huge", "too_large"),
        ("reset", "network"),
        ("ratelimit", "rate_limited"),
        ("closed", "closed"),
    ],
)
async def test_faults_map_to_kinds(client: CmsClient, fake_cms_factory, fault: str, kind: str) -> None:
    fake = fake_cms_factory(fault=fault)
    with pytest.raises(SourceError) as info:
        await client.search_page(site(fake), "流浪星球", 1, timeout=5, filter_adult=True)
    assert info.value.kind == kind


async def test_deadline_covers_the_whole_answer(client: CmsClient, fake_cms_factory) -> None:
    fake = fake_cms_factory(fault="hang")
    with pytest.raises(SourceError) as info:
        await client.search_page(site(fake), "x", 1, timeout=0.5, filter_adult=True)
    assert info.value.kind == "timeout"


async def test_bom_and_refused_connection(client: CmsClient, fake_cms_factory) -> None:
    fake = fake_cms_factory(fault="bom")
    page = await client.search_page(site(fake), "流浪星球", 1, timeout=5, filter_adult=True)
    assert len(page.items) == 2
    closed = ApiSite("c", "c", "http://127.0.0.1:9/api.php/provide/vod")
    with pytest.raises(SourceError) as info:
        await client.search_page(closed, "x", 1, timeout=5, filter_adult=True)
    assert info.value.kind == "network"


class _Redirect(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        hops = int(self.path.rsplit("hop=", 1)[-1]) if "hop=" in self.path else 0
        self.send_response(302)
        location = self.target + self.path if hops == 0 else f"/loop?hop={hops + 1}"
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def redirector(fake_cms_factory) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    fake = fake_cms_factory()
    handler = type("Handler", (_Redirect,), {"target": fake.base_url.rsplit("/api.php", 1)[0]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    yield base + "/api.php/provide/vod", base + "/loop?hop=1&x="
    server.shutdown()
    server.server_close()


async def test_redirects_followed_with_a_limit(client: CmsClient, redirector: tuple[str, str]) -> None:
    moved, loop = redirector
    page = await client.search_page(ApiSite("r", "r", moved), "流浪星球", 1, timeout=5, filter_adult=True)
    assert len(page.items) == 2
    with pytest.raises(SourceError) as info:
        await client.fetch_json(loop, timeout=5)
    assert info.value.kind in ("http", "network")
