"""Item 1: nothing relayed from upstream is ever active content on the app's origin.

A hostile CDN answers a "segment" with an HTML page whose script would act as the signed-in
owner. Every route that relays upstream bytes must refuse it or serve it inert (never an active
type, always ``nosniff`` and ``Content-Security-Policy: sandbox``), while genuine ffmpeg-made TS
segments that CDNs mislabel or disguise behind a fake PNG header still play.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from moontv.streams.media import read_ts
from tests.security.conftest import add_user, signed
from tests.streams.upstream import Canned, Upstream
from tests.support import LiveServer

MARK = "moontv-relay-xss-marker"
EVIL_HTML = (
    f"<!doctype html><html><body><h1>{MARK}</h1><script>"
    "fetch('/api/admin/user',{method:'POST',headers:{'Content-Type':'application/json'},"
    "body:JSON.stringify({action:'add',targetUsername:'pwned',targetPassword:'pwned-pw'})});"
    "document.title='pwned';</script></body></html>"
).encode()
ACTIVE = (
    "text/html",
    "application/xhtml",
    "image/svg",
    "text/xml",
    "application/xml",
    "javascript",
    "text/css",
)
FAKE_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))


def _set_source(server: LiveServer, key: str, **options: Any) -> None:
    def mutate(config: dict[str, Any]) -> None:
        config["SourceConfig"].append(
            {
                "key": key,
                "name": key,
                "api": "http://127.0.0.1:9/api.php/provide/vod",
                "from": "custom",
                **options,
            }
        )

    server.call(server.state.config.update(mutate))


def _active(content_type: str) -> bool:
    return any(kind in content_type.lower() for kind in ACTIVE)


@pytest.fixture
def evil(cdn: Upstream) -> Upstream:
    cdn.canned["/evil.ts"] = Canned(200, {"Content-Type": "text/html"}, EVIL_HTML)
    cdn.canned["/evil.png"] = Canned(200, {"Content-Type": "image/png"}, EVIL_HTML)
    cdn.canned["/evil.key"] = Canned(200, {"Content-Type": "text/html"}, EVIL_HTML)
    return cdn


def test_html_segment_key_and_image_are_never_served_active(live_app: Any, evil: Upstream) -> None:
    server = live_app(None, image_proxy_hosts="*")
    client = server.login()
    for route, kind, path in (
        ("/api/proxy/segment", "segment", "/evil.ts"),
        ("/api/proxy/key", "key", "/evil.key"),
    ):
        answer = client.get(route, params=signed(server, kind, evil.url + path, "admin"))
        assert not _active(answer.headers.get("content-type", "")), (route, answer.headers)
        assert answer.status_code == 502, (route, answer.status_code)
        assert MARK.encode() not in answer.content
    image = client.get("/api/image-proxy", params={"url": evil.url + "/evil.png"})
    assert image.status_code == 502 and MARK.encode() not in image.content


@pytest.mark.parametrize(
    "label", ["image/png", "image/jpeg", "text/html", "text/plain", "application/octet-stream"]
)
def test_mislabelled_ts_segments_still_pass(live_app: Any, cdn: Upstream, hls_root: Path, label: str) -> None:
    server = live_app(None)
    original = (hls_root / "clean/seg000.ts").read_bytes()
    cdn.canned["/labelled.ts"] = Canned(200, {"Content-Type": label}, original)
    answer = server.login().get(
        "/api/proxy/segment", params=signed(server, "segment", f"{cdn.url}/labelled.ts", "admin")
    )
    assert answer.status_code == 200
    assert answer.content == original
    assert answer.headers["content-type"] == "video/mp2t"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]


def test_ts_behind_a_fake_png_header_passes_and_keeps_its_timestamps(
    live_app: Any, cdn: Upstream, hls_root: Path
) -> None:
    server = live_app(None)
    disguised = FAKE_PNG + (hls_root / "clean/seg001.ts").read_bytes()
    cdn.canned["/disguised.ts"] = Canned(200, {"Content-Type": "image/png"}, disguised)
    answer = server.login().get(
        "/api/proxy/segment", params=signed(server, "segment", f"{cdn.url}/disguised.ts", "admin")
    )
    assert answer.status_code == 200 and answer.content == disguised
    assert answer.headers["content-type"] == "video/mp2t"
    info = read_ts(answer.content)  # what the ad analysis reads: PTS found past the fake header
    assert info.start_ticks is not None


def test_signed_links_are_bound_to_the_user_and_the_source_allow_list(
    live_app: Any, cdn: Upstream, hls_root: Path
) -> None:
    server = live_app(None)
    _set_source(server, "vip", proxySegments=True)
    add_user(server, "alice", "alice-pw", enabledApis=["other"])
    add_user(server, "bob", "bob-pw")
    url = f"{cdn.url}/clean/seg000.ts"
    owner_link = signed(server, "segment", url, "admin", "vip")
    bob = server.login("bob", "bob-pw")
    assert bob.get("/api/proxy/segment", params=owner_link).status_code == 403  # someone else's link
    assert (
        bob.get("/api/proxy/segment", params=signed(server, "segment", url, "bob", "vip")).status_code == 200
    )
    alice = server.login("alice", "alice-pw")
    alice_link = signed(server, "segment", url, "alice", "vip")  # signed, but vip is not alice's source
    assert alice.get("/api/proxy/segment", params=alice_link).status_code == 403
    expired = dict(signed(server, "segment", url, "bob", "vip"))
    past = int(time.time()) - 5
    expired.update(exp=str(past), sig=server.state.streams.sign("segment", "vip", url, "bob", past))
    assert bob.get("/api/proxy/segment", params=expired).status_code == 403


def _get_routes(server: LiveServer) -> list[str]:
    """Every parameterless GET API route, from the route table: a relay added later is walked too."""
    paths: dict[str, dict[str, Any]] = server.app.openapi()["paths"]
    return sorted(p for p, ops in paths.items() if "get" in ops and p.startswith("/api/") and "{" not in p)


def test_route_walk_no_relaying_route_serves_upstream_html_as_active(live_app: Any, evil: Upstream) -> None:
    server = live_app(None, image_proxy_hosts="*")
    client = server.login()
    walked = _get_routes(server)
    assert {"/api/proxy/segment", "/api/proxy/key", "/api/image-proxy", "/api/proxy/m3u8"} <= set(walked)
    reached: set[str] = set()
    for path in walked:
        for kind in ("segment", "key"):
            for target in ("/evil.ts", "/evil.png", "/evil.key"):
                evil.clear()
                answer = client.get(path, params=signed(server, kind, evil.url + target, "admin"))
                if evil.paths():
                    reached.add(path)
                reflected = MARK.encode() in answer.content
                assert not (reflected and _active(answer.headers.get("content-type", ""))), (path, target)
                if reflected:
                    assert answer.headers.get("x-content-type-options") == "nosniff", path
    assert {"/api/proxy/segment", "/api/proxy/key", "/api/image-proxy"} <= reached  # the walk did relay


def test_chromium_opening_a_hostile_segment_link_runs_no_script(
    live_app: Any, evil: Upstream, browser: Any
) -> None:
    server = live_app(None)
    token = server.login().post("/api/login", json={"username": "admin", "password": "test"}).json()["token"]
    link = urljoin(
        server.url,
        "/api/proxy/segment?"
        + "&".join(
            f"{k}={v}" for k, v in _quoted(signed(server, "segment", evil.url + "/evil.ts", "admin")).items()
        ),
    )
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "auth", "value": token, "url": server.url}])
        page = context.new_page()
        with contextlib.suppress(Exception):  # a download or an error page are both fine outcomes
            page.goto(link, wait_until="load", timeout=15_000)
        page.wait_for_timeout(500)
        title = page.title() if not page.is_closed() else ""
    finally:
        context.close()
    assert title != "pwned"
    assert server.call(server.state.storage.user_exists("pwned")) is False


def _quoted(params: dict[str, str]) -> dict[str, str]:
    from urllib.parse import quote

    return {k: quote(v, safe="") for k, v in params.items()}
