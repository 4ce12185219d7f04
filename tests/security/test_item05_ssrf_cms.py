"""Item 5: CMS search/detail fetches go through the SSRF guard, redirects included.

A LAN CMS is allowed by host *and port* (``MOONTV_ALLOW_PRIVATE_UPSTREAMS=127.0.0.1:<port>``);
everything else on that host stays refused, and the answer does not tell open, closed and
HTTP ports apart.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.fakes.fake_cms import make_item
from tests.streams.upstream import Canned, Upstream

SECRET = "内网机密资料"


@pytest.fixture
def internal(target: Upstream) -> Upstream:
    item = make_item(1, SECRET)
    body = orjson.dumps({"code": 1, "msg": "ok", "page": 1, "pagecount": 1, "limit": 20, "total": 1,
                         "list": [item]})  # fmt: skip
    target.canned["/secret.json"] = Canned(200, {"Content-Type": "application/json"}, body)
    return target


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP but never speaks HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
        for conn in held:
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def _search(server: Any, query: str = "机密") -> dict[str, Any]:
    answer = server.login().get("/api/search", params={"q": query})
    assert answer.status_code == 200
    return dict(answer.json())


def test_a_cms_redirect_to_an_internal_address_is_not_followed(live_app: Any, internal: Upstream) -> None:
    with Upstream(None) as cms:
        cms.redirects["/api.php/provide/vod"] = f"{internal.url}/secret.json"
        server = live_app(
            {"lan": f"{cms.url}/api.php/provide/vod"}, allow_private_upstreams=f"127.0.0.1:{cms.port}"
        )
        body = _search(server)
        assert cms.paths()  # the allowed CMS was asked
    assert SECRET not in orjson.dumps(body).decode()
    assert internal.paths() == []  # and the internal target never was
    assert [f["error"] for f in body["failedSources"]] == ["地址不允许访问"]


def test_sources_on_internal_addresses_get_one_answer_whatever_listens(
    live_app: Any, internal: Upstream, silent_port: int
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    sites = {
        "http": f"{internal.url}/secret.json",
        "silent": f"http://127.0.0.1:{silent_port}/api.php/provide/vod",
        "closed": f"http://127.0.0.1:{closed_port}/api.php/provide/vod",
    }
    server = live_app(sites, allow_private_upstreams="")
    body = _search(server)
    errors = {f["key"]: f["error"] for f in body["failedSources"]}
    assert set(errors) == set(sites)
    assert len(set(errors.values())) == 1, errors
    assert internal.paths() == []
