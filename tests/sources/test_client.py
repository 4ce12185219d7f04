"""CmsClient against a real HTTP server on 127.0.0.1 that serves recorded answers and faults."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from moontv.sources.breaker import BreakerRegistry
from moontv.sources.client import (
    DEFAULT_USER_AGENT,
    CmsClient,
    detail_page_url,
    detail_url,
    search_url,
)
from moontv.sources.models import ApiSite, SearchPage, SourceError
from tests.conftest import free_port
from tests.sources.fixture_data import load

HUGE = 40 * 1024 * 1024
CHUNK = b"x" * 65536

DETAIL_HTML = (
    "<html><h1>长夜行歌</h1><div class='sketch'>一夜之间。</div><span>2024</span>"
    "<img src='https://img.site/p.jpg'>"
    "<a>第01集$https://v.site/1/index.m3u8</a><a>第02集$https://v.site/2/index.m3u8</a></html>"
)


# ---------------------------------------------------------------------------------------------------------
# the test server


@dataclass
class ServerState:
    stop: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    finished: dict[str, threading.Event] = field(default_factory=dict)

    def paths(self, prefix: str) -> list[str]:
        return [path for path, _ in self.requests if path.startswith(prefix)]

    def done(self, name: str) -> threading.Event:
        return self.finished.setdefault(name, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append((self.path, dict(self.headers)))
        route = urlsplit(self.path).path.strip("/").split("/")
        handler = getattr(self, f"route_{route[0].replace('-', '_')}", None)
        if handler is None:
            self.reply(404, b"not found", "text/plain")
        else:
            handler(route[1:])

    # --- helpers ---------------------------------------------------------------------------------------

    def reply(
        self, status: int, body: bytes, content_type: str = "text/html;charset=utf-8", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def stream_huge(self, name: str) -> None:
        state = self.server.state
        sent = 0
        try:
            while sent < HUGE:
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        except OSError:
            pass
        finally:
            state.sent[name] = sent
            state.done(name).set()
            self.close_connection = True

    # --- routes ------------------------------------------------------------------------------------------

    def route_fixture(self, rest: list[str]) -> None:
        """/fixture/<name>/api.php/provide/vod?...: the recorded answer, whatever the query says."""
        recorded = load(rest[0])
        self.reply(recorded.status, recorded.body, recorded.content_type)

    def route_status(self, rest: list[str]) -> None:
        self.reply(int(rest[0]), b"<html><body>error</body></html>")

    def route_html(self, rest: list[str]) -> None:
        self.reply(200, b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>")

    def route_truncated(self, rest: list[str]) -> None:
        self.reply(200, load("videolist_wd_hit").body[:300])

    def route_empty(self, rest: list[str]) -> None:
        self.reply(200, b"")

    def route_closed(self, rest: list[str]) -> None:
        self.reply(200, b"closed")

    def route_bom(self, rest: list[str]) -> None:
        self.reply(200, b"\xef\xbb\xbf\r\n" + load("videolist_wd_hit").body)

    def route_gzip(self, rest: list[str]) -> None:
        self.reply(
            200, gzip.compress(load("videolist_wd_hit").body), "application/json", Content_Encoding="gzip"
        )

    def route_ratelimit(self, rest: list[str]) -> None:
        recorded = load("ratelimit_search_3_blocked")
        self.reply(429, recorded.body, recorded.content_type, Retry_After="60")

    def route_slow(self, rest: list[str]) -> None:
        self.server.state.stop.wait(5)
        self.reply(200, load("videolist_wd_hit").body)

    def route_trickle(self, rest: list[str]) -> None:
        """Headers at once, then one byte every 50 ms: no single read is slow, the whole body is."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for byte in load("videolist_wd_hit").body:
                if self.server.state.stop.wait(0.05):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def route_reset(self, rest: list[str]) -> None:
        self.reset()

    def route_reset_mid_body(self, rest: list[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'{"code":1,"list":[')
        self.wfile.flush()
        time.sleep(0.05)
        self.reset()

    def route_huge(self, rest: list[str]) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.stream_huge("huge")

    def route_huge_declared(self, rest: list[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        self.stream_huge("huge-declared")

    def route_detail_site(self, rest: list[str]) -> None:
        """/detail-site/index.php/vod/detail/id/<id>.html"""
        if rest[-1] == "42.html":
            self.reply(200, DETAIL_HTML.encode())
        else:
            self.reply(404, b"<html>404</html>")

    def route_gbk_site(self, rest: list[str]) -> None:
        self.reply(200, DETAIL_HTML.encode("gb18030"), "text/html; charset=gbk")


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default (5) makes concurrent connects wait for a SYN retransmit

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = ServerState()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and aborted clients are part of the tests


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.state.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def base(server: FaultServer) -> str:
    server.state.requests.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float, str]] = []

    def on_request(self, source_key: str, seconds: float, outcome: str) -> None:
        self.calls.append((source_key, seconds, outcome))

    @property
    def outcomes(self) -> list[str]:
        return [outcome for _, _, outcome in self.calls]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def site(base: str, path: str, key: str = "src", detail: str = "") -> ApiSite:
    return ApiSite(key=key, name="测试源", api=f"{base}/{path}", detail=detail)


def fixture_site(base: str, name: str, key: str = "src") -> ApiSite:
    return site(base, f"fixture/{name}/api.php/provide/vod", key)


def assert_no_active_connections(http: httpx.AsyncClient) -> None:
    """Every pooled connection is idle or closed: no response body was left open."""
    pool = http._transport._pool  # type: ignore[attr-defined]
    for connection in pool.connections:
        assert connection.is_idle() or connection.is_closed(), connection


async def expect_error(coro: Any, kind: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        await coro
    assert info.value.kind == kind, info.value.detail
    return info.value


# ---------------------------------------------------------------------------------------------------------
# URLs


@pytest.mark.parametrize(
    ("api", "query", "page", "url"),
    [
        (
            "https://x/api.php/provide/vod",
            "流浪星球",
            1,
            "https://x/api.php/provide/vod?ac=videolist&wd=%E6%B5%81%E6%B5%AA%E6%98%9F%E7%90%83",
        ),
        (
            "https://x/api.php/provide/vod/",
            "Silent Sea",
            2,
            "https://x/api.php/provide/vod/?ac=videolist&wd=Silent%20Sea&pg=2",
        ),
        ("https://x/vod?at=json", "a&b=c#d", 1, "https://x/vod?at=json&ac=videolist&wd=a%26b%3Dc%23d"),
        ("https://x/vod?", "a/b", 3, "https://x/vod?ac=videolist&wd=a%2Fb&pg=3"),
        ("https://x/vod", "q", 0, "https://x/vod?ac=videolist&wd=q"),
    ],
)
def test_search_url(api: str, query: str, page: int, url: str) -> None:
    assert search_url(api, query, page) == url


def test_detail_urls() -> None:
    assert (
        detail_url("https://x/api.php/provide/vod", "5") == "https://x/api.php/provide/vod?ac=videolist&ids=5"
    )
    assert detail_url("https://x/vod?at=json", "1,5") == "https://x/vod?at=json&ac=videolist&ids=1,5"
    assert detail_url("https://x/vod", "a b&c") == "https://x/vod?ac=videolist&ids=a%20b%26c"
    assert detail_page_url("https://d.site/", "42") == "https://d.site/index.php/vod/detail/id/42.html"
    assert detail_page_url("https://d.site", "../x") == "https://d.site/index.php/vod/detail/id/..%2Fx.html"


# ---------------------------------------------------------------------------------------------------------
# happy paths


async def test_search_page_sends_the_right_request(
    base: str, server: FaultServer, http: httpx.AsyncClient
) -> None:
    client = CmsClient(http)
    page = await client.search_page(
        fixture_site(base, "videolist_wd_hit_multi"), "流浪星球", 1, timeout=5, filter_adult=True
    )
    assert isinstance(page, SearchPage)
    assert [r["id"] for r in page.items] == ["2", "1"]
    assert (page.page, page.pagecount, page.raw_count) == (1, 1, 2)
    path, headers = server.state.requests[-1]
    assert unquote(path) == "/fixture/videolist_wd_hit_multi/api.php/provide/vod?ac=videolist&wd=流浪星球"
    assert headers["User-Agent"] == DEFAULT_USER_AGENT
    assert "Chrome/" in DEFAULT_USER_AGENT and "Windows NT 10.0" in DEFAULT_USER_AGENT
    assert headers["Accept"] == "application/json"


async def test_later_pages_carry_pg_and_report_the_requested_page(
    base: str, server: FaultServer, http: httpx.AsyncClient
) -> None:
    client = CmsClient(http, user_agent="moontv-test/1")
    page = await client.search_page(
        fixture_site(base, "videolist_pagesize5_pg3"), "Silent Sea", 3, timeout=5, filter_adult=False
    )
    assert (page.page, page.pagecount, [r["id"] for r in page.items]) == (3, 3, ["8"])
    path, headers = server.state.requests[-1]
    assert path.endswith("?ac=videolist&wd=Silent%20Sea&pg=3")
    assert headers["User-Agent"] == "moontv-test/1"


async def test_xml_answer_bom_and_gzip_are_accepted(base: str, http: httpx.AsyncClient) -> None:
    client = CmsClient(http)
    xml = await client.search_page(
        fixture_site(base, "xml_videolist_two_groups"), "x", 1, timeout=5, filter_adult=True
    )
    assert len(xml.items[0]["episodes"]) == 8
    for path in ("bom", "gzip"):
        page = await client.search_page(site(base, path), "x", 1, timeout=5, filter_adult=True)
        assert [r["id"] for r in page.items] == ["4"]
        assert len(page.items[0]["episodes"]) == 24


async def test_detail_via_the_api(base: str, server: FaultServer, http: httpx.AsyncClient) -> None:
    client = CmsClient(http)
    result = await client.detail(fixture_site(base, "videolist_ids_two_groups"), "5", timeout=5)
    assert result is not None
    assert (result["id"], result["title"], len(result["episodes"])) == ("5", "The Silent Sea 寂静之海", 8)
    assert server.state.requests[-1][0].endswith("/api.php/provide/vod?ac=videolist&ids=5")
    assert await client.detail(fixture_site(base, "videolist_wd_nohit"), "999", timeout=5) is None


async def test_detail_via_the_detail_site_scrape(
    base: str, server: FaultServer, http: httpx.AsyncClient
) -> None:
    client = CmsClient(http)
    detail_site = site(base, "unused", detail=f"{base}/detail-site/")
    result = await client.detail(detail_site, "42", timeout=5)
    assert result is not None
    assert result["title"] == "长夜行歌"
    assert result["episodes"] == ["https://v.site/1/index.m3u8", "https://v.site/2/index.m3u8"]
    assert (result["year"], result["desc"], result["poster"]) == (
        "2024",
        "一夜之间。",
        "https://img.site/p.jpg",
    )
    path, headers = server.state.requests[-1]
    assert path == "/detail-site/index.php/vod/detail/id/42.html"
    assert headers["Accept"].startswith("text/html")
    await expect_error(client.detail(detail_site, "43", timeout=5), "http")
    gbk = await client.detail(site(base, "unused", detail=f"{base}/gbk-site"), "42", timeout=5)
    assert gbk is not None and gbk["title"] == "长夜行歌"


async def test_fetch_json_returns_the_envelope(base: str, http: httpx.AsyncClient) -> None:
    recorder = Recorder()
    client = CmsClient(http, observer=recorder)
    data = await client.fetch_json(f"{base}/fixture/list_default/api.php/provide/vod?ac=list", timeout=5)
    assert len(data["class"]) == 8 and len(data["list"]) == 11 and data["total"] == 11
    assert recorder.calls == []  # no source key: not attributed to a source
    await client.fetch_json(f"{base}/fixture/list_default/x", timeout=5, source_key="src")
    assert recorder.outcomes == ["ok"]


# ---------------------------------------------------------------------------------------------------------
# faults


@pytest.mark.parametrize(
    ("path", "kind", "status"),
    [
        ("status/500", "http", 500),
        ("status/503", "http", 503),
        ("status/404", "http", 404),
        ("status/403", "http", 403),
        ("status/302", "http", 302),
        ("ratelimit", "rate_limited", 429),
        ("html", "parse", None),
        ("truncated", "parse", None),
        ("empty", "parse", None),
        ("closed", "closed", None),
        ("fixture/videolist_pg_abc", "parse", None),
        ("fixture/api_closed", "closed", None),
        ("reset", "network", None),
        ("reset-mid-body", "network", None),
    ],
)
async def test_faults_map_to_error_kinds(
    base: str, http: httpx.AsyncClient, path: str, kind: str, status: int | None
) -> None:
    recorder = Recorder()
    client = CmsClient(http, observer=recorder)
    error = await expect_error(
        client.search_page(site(base, path), "q", 1, timeout=5, filter_adult=True), kind
    )
    assert error.status == status
    assert len(error.detail) <= 80
    assert recorder.outcomes == [kind]
    assert_no_active_connections(http)


async def test_connection_refused_is_a_network_error(http: httpx.AsyncClient) -> None:
    client = CmsClient(http)
    dead = ApiSite(key="dead", name="dead", api=f"http://127.0.0.1:{free_port()}/api.php/provide/vod")
    await expect_error(client.search_page(dead, "q", 1, timeout=5, filter_adult=True), "network")
    bad = ApiSite(key="bad", name="bad", api="ftp://127.0.0.1/vod")
    error = await expect_error(client.search_page(bad, "q", 1, timeout=5, filter_adult=True), "network")
    assert "invalid upstream URL" in error.detail


async def test_slow_headers_hit_the_deadline(base: str, http: httpx.AsyncClient) -> None:
    recorder = Recorder()
    client = CmsClient(http, observer=recorder)
    started = time.perf_counter()
    error = await expect_error(
        client.search_page(site(base, "slow"), "q", 1, timeout=0.3, filter_adult=True), "timeout"
    )
    elapsed = time.perf_counter() - started
    assert 0.25 < elapsed < 4.5  # ended by the 0.3 s deadline, not by the reply 5 s later
    assert error.user_message == "请求超时"
    assert recorder.calls[0][2] == "timeout" and recorder.calls[0][1] >= 0.25
    assert_no_active_connections(http)


async def test_the_deadline_covers_the_whole_body(base: str, http: httpx.AsyncClient) -> None:
    client = CmsClient(http)
    started = time.perf_counter()
    await expect_error(
        client.search_page(site(base, "trickle"), "q", 1, timeout=0.5, filter_adult=True), "timeout"
    )
    assert time.perf_counter() - started < 1.5
    assert_no_active_connections(http)


@pytest.mark.parametrize("path", ["huge", "huge-declared"])
async def test_oversized_bodies_stop_at_the_cap(
    base: str, server: FaultServer, http: httpx.AsyncClient, path: str
) -> None:
    done = server.state.done(path)
    done.clear()
    client = CmsClient(http, max_bytes=1024 * 1024)
    started = time.perf_counter()
    error = await expect_error(
        client.search_page(site(base, path), "q", 1, timeout=10, filter_adult=True), "too_large"
    )
    assert time.perf_counter() - started < 3
    assert error.user_message == "响应过大"
    assert_no_active_connections(http)
    # The client hung up: the server could not push the 40 MB (only what fits into socket buffers).
    assert await asyncio.to_thread(done.wait, 5)
    assert server.state.sent[path] < HUGE // 2


async def test_cancellation_is_reported_and_releases_the_trial(base: str, http: httpx.AsyncClient) -> None:
    clock = FakeClock()
    breakers = BreakerRegistry(failure_threshold=1, clock=clock)
    recorder = Recorder()
    client = CmsClient(http, breakers=breakers, observer=recorder)
    await expect_error(
        client.search_page(site(base, "status/500"), "q", 1, timeout=5, filter_adult=True), "http"
    )
    clock.now += 30  # half-open: the next request is the trial
    task = asyncio.create_task(client.search_page(site(base, "slow"), "q", 1, timeout=5, filter_adult=True))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.outcomes == ["http", "cancelled"]
    assert breakers.get("src").state == "half_open"
    assert breakers.get("src").allow()  # the cancelled trial gave its slot back
    assert_no_active_connections(http)


# ---------------------------------------------------------------------------------------------------------
# circuit breaker integration


async def test_breaker_opens_after_failures_and_skips_requests(
    base: str, server: FaultServer, http: httpx.AsyncClient
) -> None:
    clock = FakeClock()
    changes: list[tuple[str, str, str]] = []
    breakers = BreakerRegistry(clock=clock, on_change=lambda *c: changes.append(c))
    recorder = Recorder()
    client = CmsClient(http, breakers=breakers, observer=recorder)
    failing = site(base, "status/502", key="flaky")

    for _ in range(5):
        await expect_error(client.search_page(failing, "q", 1, timeout=5, filter_adult=True), "http")
    sent = len(server.state.requests)
    error = await expect_error(
        client.search_page(failing, "q", 1, timeout=5, filter_adult=True), "circuit_open"
    )
    assert error.user_message == "源暂时不可用"
    assert len(server.state.requests) == sent  # no request went out
    assert recorder.calls[-1] == ("flaky", 0.0, "circuit_open")
    assert breakers.snapshot()["flaky"]["state"] == "open"

    # Other sources are unaffected.
    ok = await client.search_page(
        fixture_site(base, "videolist_wd_hit", key="good"), "q", 1, timeout=5, filter_adult=True
    )
    assert ok.raw_count == 1

    # After the cooldown one trial goes out; it succeeds and closes the breaker.
    clock.now += 30
    healed = fixture_site(base, "videolist_wd_nohit", key="flaky")
    page = await client.search_page(healed, "q", 1, timeout=5, filter_adult=True)
    assert page.raw_count == 0  # "no results" is a healthy answer
    assert breakers.snapshot()["flaky"]["state"] == "closed"
    assert changes == [
        ("flaky", "closed", "open"),
        ("flaky", "open", "half_open"),
        ("flaky", "half_open", "closed"),
    ]


@pytest.mark.parametrize(
    ("path", "counts"),
    [
        ("status/500", True),
        ("html", True),
        ("empty", True),
        ("closed", True),
        ("reset", True),
        ("status/404", False),
        ("ratelimit", False),
        ("fixture/videolist_wd_nohit", False),
    ],
)
async def test_which_outcomes_count_as_failures(
    base: str, http: httpx.AsyncClient, path: str, counts: bool
) -> None:
    breakers = BreakerRegistry(failure_threshold=2)
    client = CmsClient(http, breakers=breakers)
    for _ in range(2):
        with contextlib.suppress(SourceError):
            await client.search_page(site(base, path), "q", 1, timeout=5, filter_adult=True)
    assert (breakers.get("src").state == "open") is counts


async def test_timeouts_count_as_failures(base: str, http: httpx.AsyncClient) -> None:
    breakers = BreakerRegistry(failure_threshold=1)
    client = CmsClient(http, breakers=breakers)
    await expect_error(
        client.search_page(site(base, "slow"), "q", 1, timeout=0.2, filter_adult=True), "timeout"
    )
    await expect_error(
        client.search_page(site(base, "slow"), "q", 1, timeout=0.2, filter_adult=True), "circuit_open"
    )


async def test_fetch_json_without_key_bypasses_an_open_breaker(base: str, http: httpx.AsyncClient) -> None:
    breakers = BreakerRegistry(failure_threshold=1)
    client = CmsClient(http, breakers=breakers)
    await expect_error(client.fetch_json(f"{base}/status/500", timeout=5, source_key="src"), "http")
    await expect_error(
        client.fetch_json(f"{base}/fixture/list_default/x", timeout=5, source_key="src"), "circuit_open"
    )
    data = await client.fetch_json(f"{base}/fixture/list_default/x", timeout=5)
    assert data["total"] == 11


async def test_observer_errors_do_not_break_requests(base: str, http: httpx.AsyncClient) -> None:
    class Broken:
        def on_request(self, source_key: str, seconds: float, outcome: str) -> None:
            raise RuntimeError("metrics down")

    client = CmsClient(http, observer=Broken())
    page = await client.search_page(
        fixture_site(base, "videolist_wd_hit"), "q", 1, timeout=5, filter_adult=True
    )
    assert page.raw_count == 1


async def test_concurrent_requests_share_the_pool(base: str, http: httpx.AsyncClient) -> None:
    client = CmsClient(http)
    names = ["videolist_wd_hit", "videolist_wd_hit_multi", "videolist_ids_two_groups", "xml_videolist_wd"] * 5
    pages = await asyncio.gather(
        *(
            client.search_page(fixture_site(base, name), "q", 1, timeout=5, filter_adult=True)
            for name in names
        )
    )
    assert [p.raw_count for p in pages] == [1, 2, 1, 2] * 5
    assert_no_active_connections(http)


@pytest.mark.parametrize(
    ("content_length", "kind"),
    [("9" * 5000, "too_large"), ("99999999999999999999", "too_large"), ("²", None), ("12abc", None)],
)
async def test_hostile_content_length_headers(content_length: str, kind: str | None) -> None:
    """Checked through a MockTransport: h11 would refuse such headers before they reach the client."""
    body = load("videolist_wd_hit").body

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=body, headers=[(b"content-length", content_length.encode("latin-1"))]
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as mocked:
        client = CmsClient(mocked, max_bytes=1024 * 1024)
        call = client.search_page(site("http://cms.test", "vod"), "q", 1, timeout=5, filter_adult=True)
        if kind is None:
            assert (await call).raw_count == 1
        else:
            await expect_error(call, kind)
