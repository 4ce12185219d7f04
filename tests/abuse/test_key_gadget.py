"""Item 8: ``/api/proxy/key`` is no script gadget: a signed key URL loaded by ``<script src>``
on our own origin does not run, even when the 16 "key" bytes are valid JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.streams.upstream import Canned, Upstream
from tests.support import LiveServer, settings_for, write_config

SCRIPT_KEY = b"window.pwn=1;//x"
assert len(SCRIPT_KEY) == 16


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream(None) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    write_config(tmp_path / "config.json", {})
    live = LiveServer(settings_for(tmp_path, allow_private_upstreams="127.0.0.1/32")).start()
    yield live
    live.stop()


def test_key_relay_does_not_run_as_script(server: LiveServer, upstream: Upstream, browser: Any) -> None:
    upstream.canned["/k.key"] = Canned(body=SCRIPT_KEY, headers={"Content-Type": "application/javascript"})
    upstream.canned["/v.m3u8"] = Canned(
        body=(
            b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
            b'#EXT-X-KEY:METHOD=AES-128,URI="k.key"\n#EXTINF:4.0,\ns0.ts\n#EXT-X-ENDLIST\n'
        ),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.fill("#username", "admin")
        page.fill("#password", "test")
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        playlist = page.evaluate(
            "async (u) => (await fetch(u)).text()",
            f"/api/proxy/m3u8?url={upstream.url}/v.m3u8",
        )
        key_path = re.search(r'URI="([^"]+)"', playlist)
        assert key_path is not None, playlist
        key_url = urljoin(f"{server.url}/api/proxy/m3u8", key_path.group(1))
        fetched: Any = page.evaluate(
            "async (u) => { const r = await fetch(u);"
            " return [r.status, r.headers.get('x-content-type-options')]; }",
            key_url,
        )
        assert fetched == [200, "nosniff"]
        ran = page.evaluate(
            """(u) => new Promise((done) => {
                const s = document.createElement('script');
                s.src = u;
                s.onload = () => done(window.pwn === 1);
                s.onerror = () => done(window.pwn === 1);
                document.head.appendChild(s);
            })""",
            key_url,
        )
        assert ran is False
    finally:
        context.close()
