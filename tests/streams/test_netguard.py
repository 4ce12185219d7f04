"""Unit tests of the SSRF guard: URL rules, address classes, pinning, redirect hops, allow-lists."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from moontv.settings import SettingsError, load_settings
from moontv.streams.netguard import (
    BlockedURL,
    NetGuard,
    blocked_ip_reason,
    check_url,
    guarded_client,
    host_allowed,
    parse_allow_list,
)
from tests.streams.upstream import Upstream

REFUSED_URLS = [
    "http://127.0.0.1/",
    "http://127.255.255.254:8080/x",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://10.255.1.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:c0a8:101::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://100.64.0.1/",
    "http://2130706433/",
    "http://017700000001/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://example.com/",
    "dict://127.0.0.1:11211/",
    "http://user:pw@example.com/",
    "//example.com/x",
    "not a url",
    "",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_check_url_refuses(url: str) -> None:
    with pytest.raises(BlockedURL) as info:
        await check_url(url)
    assert info.value.reason


async def test_public_literal_passes_and_reason_is_none() -> None:
    await check_url("https://93.184.216.34/a.m3u8")
    await check_url("http://[2606:4700::1111]/")
    assert blocked_ip_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert "loopback" in (blocked_ip_reason(ipaddress.ip_address("::ffff:127.0.0.1")) or "")


async def test_every_resolved_address_must_be_public() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"mixed.example": ["93.184.216.34", "10.0.0.5"], "good.example": ["93.184.216.34"]}[host]

    guard = NetGuard(resolver=resolver)
    await guard.check_url("http://good.example/x")
    with pytest.raises(BlockedURL, match="private"):
        await guard.check_url("http://mixed.example/x")


async def test_dns_failure_is_a_refusal() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(BlockedURL, match="DNS"):
        await NetGuard(resolver=resolver).check_url("http://nx.example/")


def test_allow_list_parsing() -> None:
    nets, hosts = parse_allow_list("127.0.0.1/32, 192.168.1.0/24 cms.lan;[::1] nas.lan:8080 10.0.0.5:80")
    assert [(str(n), p) for n, p in nets] == [
        ("127.0.0.1/32", None),
        ("192.168.1.0/24", None),
        ("::1/128", None),
        ("10.0.0.5/32", 80),
    ]
    assert hosts == frozenset({("cms.lan", None), ("nas.lan", 8080)})
    assert parse_allow_list("[fd00::1]:8443")[0] == ((ipaddress.ip_network("fd00::1"), 8443),)
    with pytest.raises(ValueError):
        parse_allow_list("nas.lan:99999")
    with pytest.raises(ValueError):
        parse_allow_list("http://x/")
    assert host_allowed("img3.doubanio.com", ["doubanio.com"])
    assert not host_allowed("evildoubanio.com", ["doubanio.com"])
    assert host_allowed("anything.example", ["*"])


def test_setting_is_validated(tmp_path: object) -> None:
    assert load_settings(allow_private_upstreams="127.0.0.1/32").allow_private_upstreams == "127.0.0.1/32"
    with pytest.raises(SettingsError, match="MOONTV_ALLOW_PRIVATE_UPSTREAMS"):
        load_settings(allow_private_upstreams="not/a/cidr")


async def test_allow_list_admits_only_what_it_names() -> None:
    guard = NetGuard(
        "127.0.0.1/32, cms.lan", resolver=_fixed({"cms.lan": ["10.1.1.1"], "other.lan": ["10.1.1.2"]})
    )
    await guard.check_url("http://127.0.0.1:9/")
    await guard.check_url("http://cms.lan/")
    for url in ("http://127.0.0.2/", "http://other.lan/", "http://10.0.0.1/", "http://0.0.0.0/"):
        with pytest.raises(BlockedURL):
            await guard.check_url(url)


def _fixed(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolver(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(-2, "unknown host")
        return table[host]

    return resolver


async def test_client_refuses_before_connecting_and_pins_the_checked_address() -> None:
    with Upstream() as target:
        guard = NetGuard(resolver=_fixed({"public.example": ["127.0.0.1"]}))
        async with guard.client(timeout=3) as client:
            for url in (
                f"{target.url}/a",
                f"http://public.example:{target.port}/b",
                f"http://localhost:{target.port}/",
            ):
                with pytest.raises(BlockedURL):
                    await client.get(url)
        assert target.paths() == []


async def test_redirect_hops_are_checked() -> None:
    with Upstream() as target:
        target.redirects["/hop"] = f"http://127.0.0.1:{target.port}/secret"
        target.redirects["/file"] = "file:///etc/passwd"
        guard = NetGuard("redirector.test", resolver=_fixed({"redirector.test": ["127.0.0.1"]}))
        async with guard.client(timeout=3) as client:
            with pytest.raises(BlockedURL, match="loopback"):
                await client.get(f"http://redirector.test:{target.port}/hop")
            with pytest.raises((BlockedURL, httpx.UnsupportedProtocol)):
                await client.get(f"http://redirector.test:{target.port}/file")
        assert target.paths() == ["/hop", "/file"]  # the redirect answers only; /secret never fetched


async def test_allowed_private_upstream_keeps_host_header_and_follows_redirects() -> None:
    with Upstream() as target:
        target.redirects["/r"] = "/done"
        async with guarded_client(timeout=3, allow_private="127.0.0.1/32") as client:
            response = await client.get(f"{target.url}/r")
        assert response.status_code == 404  # no file root: the fake answers 404, but it was reached
        guard = NetGuard("127.0.0.1/32", resolver=_fixed({"cdn.test": ["127.0.0.1"]}))
        async with guard.client(timeout=3) as client:
            await client.get(f"http://cdn.test:{target.port}/named")
        assert target.paths() == ["/r", "/done", "/named"]
        assert target.requests[-1]["headers"]["host"] == f"cdn.test:{target.port}"


async def test_host_allow_list_applies_to_every_hop() -> None:
    with Upstream() as target:
        target.redirects["/away"] = f"http://elsewhere.test:{target.port}/x"
        guard = NetGuard(
            "127.0.0.1/32", resolver=_fixed({"ok.test": ["127.0.0.1"], "elsewhere.test": ["127.0.0.1"]})
        )
        async with guard.client(timeout=3, allow_hosts=["ok.test"]) as client:
            with pytest.raises(BlockedURL, match="allow-list"):
                await client.get(f"http://ok.test:{target.port}/away")
        assert target.paths() == ["/away"]


def test_blocked_url_is_an_httpx_request_error() -> None:
    assert issubclass(BlockedURL, httpx.RequestError)
    assert BlockedURL("why").reason == "why"
