"""Proof that ``FakeCms`` answers like the recorded maccms10 server, and that its fault knobs work.

Every fixture in ``tests/fixtures/maccms`` is replayed over a raw TCP socket (the recorded request line, the
recorder's headers) and compared with the recording: status line, every header line (except ``Date``, the
echoed ``Host`` and the random ``PHPSESSID`` value) and the body byte for byte. The only normalisation is
``vod_hits`` for bodies whose recorded hit counters depend on the recording order; ``test_replay_in_recording
_order`` replays all fixtures in that order on one fake and needs no normalisation at all.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fakes.fake_cms import (
    DEFAULT_HUGE_BYTES,
    FAULTS,
    ITEM_KEYS,
    FakeCms,
    FakeCmsFleet,
    dataset_a,
    dataset_a_classes,
    fixtures_dir,
    make_item,
    php_json_encode,
    shanghai_time,
)

pytest_plugins = ["pytester", "tests.fakes.plugin"]

FIXTURES = fixtures_dir()
NAMES = sorted(p.name.removesuffix(".request.txt") for p in FIXTURES.glob("*.request.txt"))
HITS_RE = re.compile(rb'"vod_hits":\d+')
NONZERO_HITS_RE = re.compile(rb'"vod_hits":[1-9]')
SESSION_RE = re.compile(r"PHPSESSID=[^;]*")


# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    name: str
    method: str
    target: str
    status: int
    status_line: str
    content_type: str
    headers: list[str]
    body: bytes


def load(name: str) -> Recorded:
    method, target = (FIXTURES / f"{name}.request.txt").read_text(encoding="utf-8").splitlines()[0].split(" ")
    response = json.loads((FIXTURES / f"{name}.response.json").read_text(encoding="utf-8"))
    body = response["body"].encode("utf-8")
    assert len(body) == response["body_length_bytes"]
    return Recorded(
        name,
        method,
        target,
        response["status"],
        response["status_line"],
        response["content_type"],
        response["headers"],
        body,
    )


@dataclass
class RawResponse:
    status_line: str
    headers: list[str]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ")[1])

    def header(self, name: str) -> str | None:
        for line in self.headers:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def comparable_headers(self) -> list[str]:
        """Header lines as the recorder stored them: no Date/Host, PHPSESSID value replaced."""
        keep = [h for h in self.headers if h.partition(":")[0].strip().lower() not in ("date", "host")]
        return [SESSION_RE.sub("PHPSESSID=<random>", h) for h in keep]


def raw_request(port: int, method: str, target: str, timeout: float = 10.0) -> RawResponse:
    """Send a request like the fixture recorder did; read the raw answer until the server closes."""
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) fixture-recorder",
        "Accept: application/json, text/plain, */*",
        "Connection: close",
    ]
    if method == "POST":
        lines.append("Content-Length: 0")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete header block in {raw[:200]!r}"
    status_line, *headers = head.decode("latin-1").split("\r\n")
    return RawResponse(status_line, headers, body)


def http_get(fake: FakeCms, query: str = "", path: str = "/api.php/provide/vod/") -> RawResponse:
    return raw_request(fake.port, "GET", path + (f"?{query}" if query else ""))


def json_get(fake: FakeCms, query: str, path: str = "/api.php/provide/vod/") -> dict[str, Any]:
    response = http_get(fake, query, path)
    assert response.status == 200
    return json.loads(response.body)


def ids_of(body: dict[str, Any]) -> list[int]:
    return [item["vod_id"] for item in body["list"]]


def normalise_hits(body: bytes) -> bytes:
    return HITS_RE.sub(b'"vod_hits":0', body)


# Server state of a fixture: (fault, search_rate_limit, fixtures to send first on the same fake).
def fixture_setup(name: str) -> tuple[str | None, tuple[int, float] | None, list[str]]:
    if name.startswith("api_closed"):
        return "closed", None, []
    if name.startswith("db_down_"):
        return "empty", None, []
    if name.startswith("ratelimit_"):
        sequence = ["ratelimit_search_1", "ratelimit_search_2", "ratelimit_search_3_blocked"]
        before = sequence[: sequence.index(name)] if name in sequence else sequence
        return None, (2, 60.0), before
    if name == "detail_ids_single_again":
        return None, None, ["detail_ids_single"]
    return None, None, []


def assert_matches_recording(response: RawResponse, recorded: Recorded, *, normalise: bool) -> None:
    assert response.status_line == recorded.status_line
    assert response.status == recorded.status
    assert response.header("Content-Type") == recorded.content_type
    assert response.comparable_headers() == recorded.headers
    assert response.header("Content-Length") is None
    if normalise:
        assert normalise_hits(response.body) == normalise_hits(recorded.body)
    else:
        assert response.body == recorded.body


def recording_order() -> list[str]:
    """Fixture names in the order of index.md's table, which is the order they were recorded in."""
    text = (FIXTURES / "index.md").read_text(encoding="utf-8")
    table = text.split("## Fixtures", 1)[1]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeCms]:
    with FakeCms() as fake:
        yield fake


@pytest.fixture
def fresh(shared_fake: FakeCms) -> FakeCms:
    shared_fake.reset()
    return shared_fake


# ------------------------------------------------------------------------------------------------------------
# replay of every recorded fixture
# ------------------------------------------------------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    assert len(NAMES) == 81
    assert sorted(recording_order()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_fixture_replay(name: str, fresh: FakeCms) -> None:
    recorded = load(name)
    fault, rate_limit, before = fixture_setup(name)
    fresh.fault = fault
    fresh.search_rate_limit = rate_limit
    for previous in before:
        earlier = load(previous)
        answer = raw_request(fresh.port, earlier.method, earlier.target)
        assert_matches_recording(answer, earlier, normalise=False)
    response = raw_request(fresh.port, recorded.method, recorded.target)
    # Recorded hit counters that are not 0 come from earlier requests of the recording session (see index.md);
    # only those bodies are compared with vod_hits normalised.
    normalise = bool(NONZERO_HITS_RE.search(recorded.body)) and name != "detail_ids_single_again"
    assert_matches_recording(response, recorded, normalise=normalise)


def test_replay_in_recording_order_is_byte_exact() -> None:
    """All fixtures in recording order on one fake: even the vod_hits counters match, no normalisation."""
    with FakeCms() as fake:
        for name in recording_order():
            recorded = load(name)
            if name.startswith("api_closed"):
                fake.fault = "closed"
            elif name.startswith("db_down_"):
                fake.fault = "empty"
            else:
                fake.fault = None
            if name == "ratelimit_search_1":
                fake.search_rate_limit = (2, 60.0)
            elif not name.startswith("ratelimit_"):
                fake.search_rate_limit = None
            response = raw_request(fake.port, recorded.method, recorded.target)
            assert_matches_recording(response, recorded, normalise=False)


def test_http_clients_parse_the_raw_answers(fake_cms: FakeCms) -> None:
    response = httpx.get(fake_cms.base_url, params={"ac": "videolist", "wd": "流浪星球"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html;charset=utf-8"
    assert "content-length" not in response.headers
    assert response.headers["connection"] == "close"
    assert ids_of(response.json()) == [2, 1]
    assert response.content == load("videolist_wd_hit_multi").body

    conn = http.client.HTTPConnection("127.0.0.1", fake_cms.port, timeout=10)
    conn.request("GET", "/api.php/provide/vod/at/xml/?ac=list")
    answer = conn.getresponse()
    assert answer.read() == load("xml_list").body
    conn.close()

    async def fetch() -> bytes:
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.get(f"{fake_cms.base_url}?ac=detail&ids=1,4")
            return reply.content

    assert asyncio.run(fetch()) == load("detail_ids_multi").body


# ------------------------------------------------------------------------------------------------------------
# data helpers
# ------------------------------------------------------------------------------------------------------------


def test_dataset_a_matches_recording_and_seed() -> None:
    items = dataset_a()
    recorded = json.loads(load("detail_no_ids").body)["list"]
    assert [item["vod_id"] for item in items] == [7, 4, 5, 2, 1, 9, 3, 6, 10, 11, 8]
    assert len(items) == 11
    for item, original in zip(items, recorded, strict=True):
        assert tuple(item) == ITEM_KEYS
        assert len(item) == 89
        assert item["vod_hits"] == 0
        for key in ITEM_KEYS:
            assert type(item[key]) is type(original[key]), key
            if key not in ("vod_hits", "vod_content"):
                assert item[key] == original[key], key
    # vod_content is the raw database text; the server's output filter turns it into the recorded text.
    html = next(item for item in items if item["vod_id"] == 3)["vod_content"]
    assert "<script>" in html and "onerror=" in html
    served = json.loads(php_json_encode(html).replace("<script", "*").replace("onerror", "*"))
    assert served == next(r for r in recorded if r["vod_id"] == 3)["vod_content"]
    # unpublished row 12 is only there on request
    everything = dataset_a(include_unpublished=True)
    hidden = [item for item in everything if item["vod_status"] != 1]
    assert [item["vod_id"] for item in hidden] == [12]
    assert tuple(hidden[0]) == ITEM_KEYS
    assert hidden[0]["vod_time"] == shanghai_time(1741132800) == "2025-03-05 08:00:00"
    # the caller gets copies
    items[0]["vod_name"] = "changed"
    assert dataset_a()[0]["vod_name"] == "欢乐周末"


def test_dataset_a_classes() -> None:
    recorded = json.loads(load("list_default").body)["class"]
    assert dataset_a_classes() == recorded
    with_mid = dataset_a_classes(with_type_mid=True)
    assert [c["type_id"] for c in with_mid if c["type_mid"] != 1] == [5]
    assert [{k: c[k] for k in ("type_id", "type_pid", "type_name")} for c in with_mid] == recorded


def test_make_item_shape_matches_a_real_item() -> None:
    real = dataset_a()[0]
    item = make_item(100, "测试影片 Test")
    assert tuple(item) == tuple(real)
    for key in real:
        assert type(item[key]) is type(real[key]), key
    assert item["vod_play_from"] == "ffm3u8"
    assert item["vod_play_url"].startswith("第01集$https://") and item["vod_play_url"].endswith(".m3u8")
    assert item["vod_time"] == "2025-01-01 01:40:00"
    assert item["vod_time_add"] == 1735660800 + 6000
    assert item["type_id_1"] == 1 and item["type_name"] == "动作片"
    assert item["vod_year"] == "2024" and item["vod_serial"] == "0"

    series = make_item(101, "剧集", type_id=13, type_name="国产剧", episodes=12, year="2023", douban_id=123)
    assert series["vod_play_url"].count("#") == 11
    assert series["vod_total"] == 12 and series["vod_serial"] == "12" and series["type_id_1"] == 2
    assert series["vod_douban_id"] == 123

    grouped = make_item(
        102,
        "多线路",
        groups=[
            ("ffm3u8", [("第1集", "https://a/1.m3u8"), ("第2集", "https://a/2.m3u8")]),
            ("qq", [("正片", "https://v.qq.com/x.html")]),
        ],
        vod_time="2025-05-01 08:00:00",
        status=0,
        vod_remarks="完结",
    )
    assert grouped["vod_play_from"] == "ffm3u8$$$qq"
    assert (
        grouped["vod_play_url"]
        == "第1集$https://a/1.m3u8#第2集$https://a/2.m3u8$$$正片$https://v.qq.com/x.html"
    )
    assert grouped["vod_play_server"] == "no$$$no" and grouped["vod_play_note"] == "$$$"
    assert grouped["vod_status"] == 0 and grouped["vod_remarks"] == "完结"
    assert grouped["vod_time_add"] == 1746057600
    with pytest.raises(TypeError):
        make_item(1, "x", vod_nmae="typo")


# ------------------------------------------------------------------------------------------------------------
# behaviour with generated data
# ------------------------------------------------------------------------------------------------------------


def test_generated_items_search_page_and_filter(fake_cms_factory: Callable[..., FakeCms]) -> None:
    items = [make_item(i, f"Movie {i:03d} 电影") for i in range(1, 46)]
    items.append(make_item(46, "Movie 046 电影 hidden", status=0))
    items.append(
        make_item(
            47,
            "Two Lines",
            groups=[
                ("ffm3u8", [("第01集", "https://a/1.m3u8")]),
                ("lzm3u8", [("第01集", "https://b/1.m3u8")]),
            ],
        )
    )
    fake = fake_cms_factory(items)
    body = json_get(fake, "ac=videolist&wd=movie&pagesize=10&pg=2")
    assert (body["page"], body["pagecount"], body["limit"], body["total"]) == (2, 5, 10, 45)
    assert ids_of(body) == list(range(35, 25, -1))
    assert json_get(fake, "ac=videolist&ids=46")["total"] == 0
    assert ids_of(json_get(fake, "ac=detail&ids=3,40,2")) == [40, 3, 2]
    assert ids_of(json_get(fake, "ac=videolist&wd=MOVIE_00_&sort_direction=asc")) == list(range(1, 10))
    two = json_get(fake, "ac=videolist&ids=47&from=lzm3u8")["list"][0]
    assert (two["vod_play_from"], two["vod_play_url"]) == ("lzm3u8", "第01集$https://b/1.m3u8")
    short = json_get(fake, "ac=list&ids=47")["list"][0]
    assert short["vod_play_from"] == "ffm3u8,lzm3u8"
    xml = http_get(fake, "ac=videolist&ids=47", "/api.php/provide/vod/at/xml").body.decode()
    assert '<dd flag="ffm3u8"><![CDATA[第01集$https://a/1.m3u8]]></dd><dd flag="lzm3u8">' in xml
    assert json_get(fake, "ac=list&pagesize=1000")["limit"] == 100
    assert http_get(fake, "ac=videolist&pg=x").body == b""


def test_path_pairs_unknown_paths_and_methods(fake_cms: FakeCms) -> None:
    # ThinkPHP path parameters work like query parameters
    assert ids_of(json_get(fake_cms, "", "/api.php/provide/vod/ac/videolist/ids/4")) == [4]
    assert http_get(fake_cms, "ac=list", "/api.php/provide/art/").body == b""
    outside = http_get(fake_cms, "", "/index.php")
    assert outside.status == 404
    head = raw_request(fake_cms.port, "HEAD", "/api.php/provide/vod/?ac=list")
    assert (head.status, head.body, head.header("Content-Type")) == (200, b"", "text/html;charset=utf-8")
    # POST with a form body: the body is read and ignored, the query string counts
    with socket.create_connection(("127.0.0.1", fake_cms.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api.php/provide/vod/?ac=videolist&ids=9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nids=1,2"
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert ids_of(json.loads(raw.partition(b"\r\n\r\n")[2])) == [9]


def test_vod_hits_increment_only_on_single_id_detail(fresh: FakeCms) -> None:
    def hits(vod_id: int) -> int:
        return json_get(fresh, f"ac=videolist&ids={vod_id}")["list"][0]["vod_hits"]

    json_get(fresh, "ac=videolist&ids=4")
    json_get(fresh, "ac=detail&ids=4,5")
    assert hits(4) == 0
    assert json_get(fresh, "ac=detail&ids=4")["list"][0]["vod_hits"] == 0  # bumped after the body is built
    assert hits(4) == 1
    http_get(fresh, "ac=detail&ids=4", "/api.php/provide/vod/at/xml/")
    assert hits(4) == 2
    fresh.reset()
    assert hits(4) == 0


def test_request_log(fresh: FakeCms) -> None:
    raw_request(fresh.port, "GET", "/api.php/provide/vod/?ac=videolist&wd=%E6%98%9F&pg=2&wd2=a+b")
    raw_request(fresh.port, "HEAD", "/api.php/provide/vod")
    log = fresh.requests
    assert log == [
        {
            "method": "GET",
            "path": "/api.php/provide/vod/",
            "query": {"ac": "videolist", "wd": "星", "pg": "2", "wd2": "a b"},
            "raw_query": "ac=videolist&wd=%E6%98%9F&pg=2&wd2=a+b",
        },
        {"method": "HEAD", "path": "/api.php/provide/vod", "query": {}, "raw_query": ""},
    ]
    fresh.fault = "closed"
    fresh.delay = 0.01
    fresh.reset()
    assert fresh.requests == []
    assert (fresh.fault, fresh.delay, fresh.search_rate_limit) == (None, 0.0, None)


# ------------------------------------------------------------------------------------------------------------
# fault knobs
# ------------------------------------------------------------------------------------------------------------

NORMAL_QUERY = "ac=videolist&wd=%E6%B5%81%E6%B5%AA%E6%98%9F%E7%90%83"


def test_fault_names_are_validated(fresh: FakeCms) -> None:
    assert {
        "500",
        "html",
        "truncated",
        "huge",
        "empty",
        "closed",
        "ratelimit",
        "hang",
        "bom",
        "reset",
    } == FAULTS
    with pytest.raises(ValueError):
        fresh.fault = "timeout"
    with pytest.raises(ValueError):
        fresh.delay = -1


def test_fault_500(fresh: FakeCms) -> None:
    fresh.fault = "500"
    response = http_get(fresh, NORMAL_QUERY)
    assert response.status == 500
    assert b"500" in response.body


def test_fault_html(fresh: FakeCms) -> None:
    fresh.fault = "html"
    response = http_get(fresh, NORMAL_QUERY)
    assert response.status == 200
    assert response.header("Content-Type") == "text/html;charset=utf-8"
    assert response.body.startswith(b"<!DOCTYPE html>")
    with pytest.raises(ValueError):
        json.loads(response.body)


def test_fault_truncated(fresh: FakeCms) -> None:
    full = http_get(fresh, NORMAL_QUERY).body
    fresh.fault = "truncated"
    response = http_get(fresh, NORMAL_QUERY)
    assert response.status == 200
    assert 0 < len(response.body) < len(full)
    assert full.startswith(response.body)
    with pytest.raises(ValueError):
        json.loads(response.body)


def test_fault_huge_streams_exactly_huge_bytes(fresh: FakeCms) -> None:
    fresh.fault = "huge"
    assert fresh.huge_bytes == DEFAULT_HUGE_BYTES == 32 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(f"GET /api.php/provide/vod/?{NORMAL_QUERY} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = bytearray()
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            received += data
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length" not in head
    assert len(body) == DEFAULT_HUGE_BYTES
    assert body.startswith(b'{"code":1') and body.endswith(b'"}')

    fresh.huge_bytes = 100_000
    response = httpx.get(f"{fresh.base_url}?ac=list", timeout=10)
    assert len(response.content) == 100_000
    assert response.json()["code"] == 1  # still valid JSON, just huge


def test_fault_empty_closed_bom(fresh: FakeCms) -> None:
    normal = http_get(fresh, NORMAL_QUERY).body
    fresh.fault = "empty"
    empty = http_get(fresh, NORMAL_QUERY)
    assert (empty.status, empty.body) == (200, b"")
    assert empty.comparable_headers() == load("db_down_list").headers
    fresh.fault = "closed"
    assert http_get(fresh, NORMAL_QUERY).body == b"closed"
    fresh.fault = "bom"
    bom = http_get(fresh, NORMAL_QUERY).body
    assert bom == b"\xef\xbb\xbf" + normal
    fresh.fault = None
    assert http_get(fresh, NORMAL_QUERY).body == normal


def test_fault_ratelimit_is_the_recorded_429(fresh: FakeCms) -> None:
    fresh.fault = "ratelimit"
    recorded = load("ratelimit_search_3_blocked")
    response = http_get(fresh, "ac=list")  # every request, not only searches
    assert_matches_recording(response, recorded, normalise=False)
    assert response.header("Retry-After") == "60"


def test_search_rate_limit_window(fresh: FakeCms) -> None:
    fresh.search_rate_limit = (1, 0.3)
    assert http_get(fresh, NORMAL_QUERY).status == 200
    blocked = http_get(fresh, NORMAL_QUERY)
    assert blocked.status == 429
    assert json.loads(blocked.body) == {
        "code": 100429,
        "msg": "请求过于频繁，请在 1 秒后再试",
        "data": {"retry_after": 1},
    }
    assert http_get(fresh, "ac=list").status == 200  # not a search
    assert http_get(fresh, "ac=videolist&wd=").status == 200  # empty wd is not a search
    time.sleep(0.35)
    assert http_get(fresh, NORMAL_QUERY).status == 200


def test_fault_reset(fresh: FakeCms) -> None:
    fresh.fault = "reset"
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=10)
        conn.request("GET", f"/api.php/provide/vod/?{NORMAL_QUERY}")
        conn.getresponse().read()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{fresh.base_url}?{NORMAL_QUERY}", timeout=10)


def _request_in_thread(port: int, outcome: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", f"/api.php/provide/vod/?{NORMAL_QUERY}")
            outcome["status"] = conn.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("knob", ["hang", "delay"])
def test_hanging_or_delayed_request_is_released_by_stop(knob: str) -> None:
    fake = FakeCms().start()
    if knob == "hang":
        fake.fault = "hang"
    else:
        fake.delay = 60
    outcome: dict[str, Any] = {}
    thread = _request_in_thread(fake.port, outcome)
    deadline = time.monotonic() + 5
    while not fake.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.requests, "the request never arrived"
    time.sleep(0.1)
    assert "elapsed" not in outcome  # still waiting for an answer
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2.0
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert "error" in outcome and "status" not in outcome  # closed without an answer
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fake.port), timeout=1).close()
    fake.stop()  # idempotent


def test_delay_is_honoured_and_requests_run_concurrently(fresh: FakeCms) -> None:
    fresh.delay = 0.3
    started = time.monotonic()
    assert http_get(fresh, NORMAL_QUERY).status == 200
    assert time.monotonic() - started >= 0.3

    results: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        response = http_get(fresh, NORMAL_QUERY)
        with lock:
            results.append(response.status)

    threads = [threading.Thread(target=one) for _ in range(10)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    elapsed = time.monotonic() - started
    assert results == [200] * 10
    assert 0.3 <= elapsed < 2.5  # served in parallel (serially it would take 3 s)


def test_live_knob_changes(fresh: FakeCms) -> None:
    fresh.fault = "empty"
    assert http_get(fresh, "ac=list").body == b""
    fresh.fault = None
    assert json_get(fresh, "ac=list")["total"] == 11


# ------------------------------------------------------------------------------------------------------------
# fleet and plugin
# ------------------------------------------------------------------------------------------------------------


def test_fleet_config_delays_and_titles() -> None:
    with FakeCmsFleet(3, base_ms=20, step_ms=100, distinct_titles=True) as fleet:
        config = fleet.config_json()
        assert config["cache_time"] == 7200
        assert list(config["api_site"]) == ["fake00", "fake01", "fake02"]
        for index, source in enumerate(fleet.sources):
            site = config["api_site"][f"fake{index:02d}"]
            assert site["api"] == source.base_url
            assert source.base_url == f"http://127.0.0.1:{source.port}/api.php/provide/vod"
            assert site["name"]
            assert source.delay == pytest.approx((20 + 100 * index) / 1000)
        assert len({source.port for source in fleet.sources}) == 3
        started = time.monotonic()
        body = json_get(fleet.sources[2], "ac=videolist&wd=%E6%B5%81%E6%B5%AA")
        assert time.monotonic() - started >= 0.22
        assert [item["vod_name"] for item in body["list"]] == ["流浪星球2 S02", "流浪星球 S02"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fleet.sources[0].port), timeout=1).close()

    def factory(index: int) -> list[dict[str, Any]]:
        return [make_item(1, f"Only in source {index}")]

    with FakeCmsFleet(2, items_factory=factory) as fleet:
        names = [json_get(s, "ac=videolist")["list"][0]["vod_name"] for s in fleet.sources]
        assert names == ["Only in source 0", "Only in source 1"]


def test_plugin_fixtures(
    fake_cms: FakeCms,
    fake_cms_factory: Callable[..., FakeCms],
    fake_cms_fleet_factory: Callable[..., FakeCmsFleet],
) -> None:
    assert json_get(fake_cms, "ac=list")["total"] == 11
    other = fake_cms_factory([make_item(5, "单独")], fault="closed")
    assert other.port != fake_cms.port
    assert http_get(other, "ac=list").body == b"closed"
    fleet = fake_cms_fleet_factory(2)
    assert len(fleet.config_json()["api_site"]) == 2


def test_plugin_stops_everything_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.fakes.plugin"]\n')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import socket

        PORTS = []

        def test_make(fake_cms, fake_cms_factory, fake_cms_fleet_factory):
            PORTS.append(fake_cms.port)
            PORTS.append(fake_cms_factory(delay=0.01).port)
            PORTS.extend(s.port for s in fake_cms_fleet_factory(2).sources)
            for port in PORTS:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()

        def test_all_stopped():
            assert len(PORTS) == 4
            for port in PORTS:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    continue
                raise AssertionError(f"port {port} still open")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
