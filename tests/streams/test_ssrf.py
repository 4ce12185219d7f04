"""SSRF corpus against the running app: every server-side fetch of a user-supplied URL is refused
with 400/403 and the target server sees nothing (MOONTV_ALLOW_PRIVATE_UPSTREAMS left empty)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from moontv.streams.netguard import parse_allow_list
from tests.fakes.fake_cms import FakeCms, make_item
from tests.streams.netfakes import PUBLIC_IP, FakeInternet, install_fake_dns
from tests.streams.upstream import Upstream
from tests.support import LiveServer


def corpus(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/x.m3u8",
        f"http://127.0.0.2:{port}/x.m3u8",
        f"http://localhost:{port}/x.m3u8",
        f"http://LocalHost.:{port}/x.m3u8",
        f"http://[::1]:{port}/x.m3u8",
        f"http://0.0.0.0:{port}/x.m3u8",
        f"http://[::]:{port}/x.m3u8",
        f"http://[::ffff:127.0.0.1]:{port}/x.m3u8",
        f"http://[::ffff:7f00:1]:{port}/x.m3u8",
        f"http://2130706433:{port}/x.m3u8",
        f"http://017700000001:{port}/x.m3u8",
        f"http://0x7f000001:{port}/x.m3u8",
        f"http://0x7f.0.0.1:{port}/x.m3u8",
        f"http://127.1:{port}/x.m3u8",
        f"http://0177.0.0.1:{port}/x.m3u8",
        "http://10.0.0.1/x.m3u8",
        "http://10.255.255.254/x.m3u8",
        "http://172.16.0.1/x.m3u8",
        "http://172.31.255.1/x.m3u8",
        "http://192.168.1.1/x.m3u8",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/x.m3u8",
        "http://[fe80::1]/x.m3u8",
        "http://224.0.0.251/x.m3u8",
        "http://100.64.0.1/x.m3u8",
        f"http://cdn.public-video.com:{port}/x.m3u8",  # a public-looking name that resolves to loopback
        f"http://u:p@127.0.0.1:{port}/x.m3u8",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/_GET%20/",
        f"dict://127.0.0.1:{port}/info",
        f"ftp://127.0.0.1:{port}/x",
        "javascript:alert(1)",
        f"//127.0.0.1:{port}/x.m3u8",
    ]


@pytest.fixture
def app(live_app: Any) -> LiveServer:
    live = live_app(None, allow_private_upstreams="")  # the default: nothing private allowed
    assert live.settings.allow_private_upstreams == ""
    install_fake_dns(live, {"cdn.public-video.com": ["127.0.0.1"], "img9.doubanio.com": ["127.0.0.1"]})
    return live


@pytest.mark.parametrize("route", ["/api/proxy/m3u8", "/api/proxy/m3u8/debug", "/api/image-proxy"])
def test_corpus_is_refused_and_nothing_is_fetched(app: LiveServer, target: Upstream, route: str) -> None:
    client = app.login()
    for url in corpus(target.port):
        response = client.get(route, params={"url": url})
        assert response.status_code in (400, 403), (url, response.status_code, response.text)
        assert response.json()["error"]
    assert target.paths() == []


def test_redirect_to_loopback_is_refused_at_the_hop(app: LiveServer, target: Upstream) -> None:
    with Upstream(None) as redirector:
        redirector.redirects["/play.m3u8"] = f"http://127.0.0.1:{target.port}/secret.m3u8"
        redirector.redirects["/meta.m3u8"] = "http://169.254.169.254/latest/meta-data/"
        redirector.redirects["/img.jpg"] = f"http://127.0.0.1:{target.port}/secret.jpg"
        internet = FakeInternet({PUBLIC_IP: redirector.port})
        app.state.netguard.connector = internet
        install_fake_dns(app, {"videos.example.com": [PUBLIC_IP], "img3.doubanio.com": [PUBLIC_IP]})
        client = app.login()
        for path in ("/play.m3u8", "/meta.m3u8"):
            response = client.get(
                "/api/proxy/m3u8", params={"url": f"http://videos.example.com:{redirector.port}{path}"}
            )
            assert response.status_code == 403, response.text
            assert "reason" in response.json()
        image = client.get(
            "/api/image-proxy", params={"url": f"http://img3.doubanio.com:{redirector.port}/img.jpg"}
        )
        assert image.status_code == 403
        assert redirector.paths() == ["/play.m3u8", "/meta.m3u8", "/img.jpg"]  # the public hop was reached
    assert target.paths() == []
    assert all(host == PUBLIC_IP for host, _ in internet.connected)


def test_dns_rebinding_cannot_swap_the_address_after_the_check(app: LiveServer, target: Upstream) -> None:
    answers = [[PUBLIC_IP], ["127.0.0.1"]]

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    app.state.netguard.resolver = rebinding
    app.state.netguard.connector = FakeInternet({})  # the public address is unreachable here
    client = app.login()
    response = client.get(
        "/api/proxy/m3u8", params={"url": f"http://rebind.example.com:{target.port}/x.m3u8"}
    )
    assert response.status_code in (403, 502)
    assert target.paths() == []


def test_signed_segment_pointing_inside_is_still_refused(app: LiveServer, target: Upstream) -> None:
    """A hostile public playlist may list internal segment URLs: signing them does not let them through."""
    url = f"http://127.0.0.1:{target.port}/internal.ts"
    exp = int(time.time()) + 600
    signature = app.state.streams.sign("segment", "", url, "admin", exp)
    client = app.login()
    params = {"url": url, "source": "", "exp": str(exp)}
    response = client.get("/api/proxy/segment", params={**params, "sig": signature})
    assert response.status_code == 403
    key_sig = app.state.streams.sign("key", "", url, "admin", exp)
    key = client.get("/api/proxy/key", params={**params, "sig": key_sig})
    assert key.status_code == 403
    assert target.paths() == []


def test_speed_test_refuses_internal_episode_urls(
    app: LiveServer, target: Upstream, fake_cms_factory: Any
) -> None:
    item = make_item(
        7, "内网测试", groups=[("m3u8", [("第1集", f"http://127.0.0.1:{target.port}/ep1.m3u8")])]
    )
    fake: FakeCms = fake_cms_factory([item])
    # the LAN CMS is allowed by host and port; the episode's host (other port) is not
    cms_port = httpx.URL(fake.base_url).port
    app.state.netguard.allow_nets, app.state.netguard.allow_hosts = parse_allow_list(f"127.0.0.1:{cms_port}")

    def mutate(config: dict[str, Any]) -> None:
        config["SourceConfig"].append({"key": "lan", "name": "lan", "api": fake.base_url, "from": "custom"})

    app.call(app.state.config.update(mutate))
    answer = app.login().get("/api/sources/probe", params={"source": "lan", "id": "7"})
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and answer.json()["error"] == "地址不允许访问"
    assert target.paths() == []
