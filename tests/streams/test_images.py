"""Poster image proxy: allow-list, image types only, size/time caps, memory and disk cache."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from tests.streams.netfakes import PUBLIC_IP, FakeInternet, install_fake_dns
from tests.streams.upstream import Canned, Upstream
from tests.support import LiveServer


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()


@pytest.fixture
def images() -> Any:
    with Upstream(None) as server:
        server.canned["/view/photo/poster.png"] = Canned(200, {"Content-Type": "image/png"}, PNG)
        server.canned["/page.jpg"] = Canned(200, {"Content-Type": "text/html"}, b"<html>login</html>")
        server.canned["/vector.svg"] = Canned(
            200, {"Content-Type": "image/svg+xml"}, b"<svg onload=alert(1)/>"
        )
        server.canned["/lying.png"] = Canned(
            200, {"Content-Type": "image/png"}, b"<html><script>x</script></html>"
        )
        server.canned["/big.jpg"] = Canned(
            200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)
        )
        server.canned["/missing.jpg"] = Canned(404, {}, b"")
        server.canned["/slow.jpg"] = Canned(200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff\xe0")
        server.delays["/slow.jpg"] = 3.0
        yield server


def wire(live: LiveServer, server: Upstream) -> None:
    install_fake_dns(live, {"img3.doubanio.com": [PUBLIC_IP], "pic.cms-cdn.example": [PUBLIC_IP]})
    live.state.netguard.connector = FakeInternet({PUBLIC_IP: server.port})


def test_allow_listed_poster_is_served_and_cached(live_app: Any, images: Upstream) -> None:
    live = live_app(None, image_proxy_max_bytes=1024 * 1024, stream_timeout=1.5)
    wire(live, images)
    client = live.login()
    url = f"http://img3.doubanio.com:{images.port}/view/photo/poster.png"
    first = client.get("/api/image-proxy", params={"url": url})
    assert first.status_code == 200, first.text
    assert first.content == PNG
    assert first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"].startswith("private, max-age=604800")
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["x-moontv-cache"] == "upstream"
    assert images.requests[0]["headers"]["referer"] == "https://movie.douban.com/"
    second = client.get("/api/image-proxy", params={"url": url})
    assert second.headers["x-moontv-cache"] == "memory" and second.content == PNG
    assert images.paths() == ["/view/photo/poster.png"]
    live.stop()
    again = live_app(None)  # same data directory: the disk cache answers
    wire(again, images)
    third = again.login().get("/api/image-proxy", params={"url": url})
    assert third.headers["x-moontv-cache"] == "disk" and third.content == PNG
    assert images.paths() == ["/view/photo/poster.png"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/page.jpg", 502),
        ("/vector.svg", 502),
        ("/lying.png", 502),
        ("/big.jpg", 502),
        ("/missing.jpg", 502),
        ("/slow.jpg", 504),
    ],
)
def test_bad_upstream_answers(live_app: Any, images: Upstream, path: str, status: int) -> None:
    live = live_app(None, image_proxy_max_bytes=1024 * 1024, stream_timeout=1.5)
    wire(live, images)
    response = live.login().get(
        "/api/image-proxy", params={"url": f"http://img3.doubanio.com:{images.port}{path}"}
    )
    assert response.status_code == status
    assert response.json()["error"]


def test_any_public_host_is_served_by_default_and_private_ones_are_refused(
    live_app: Any, images: Upstream
) -> None:
    live = live_app(None, allow_private_upstreams="")  # the test servers allow 127.0.0.1 otherwise
    wire(live, images)
    install_fake_dns(live, {"pic.cms-cdn.example": [PUBLIC_IP], "nas.home.example": ["192.168.1.20"]})
    client = live.login()
    public = client.get(
        "/api/image-proxy", params={"url": f"http://pic.cms-cdn.example:{images.port}/view/photo/poster.png"}
    )
    assert public.status_code == 200 and public.content == PNG
    for private in (
        f"http://nas.home.example:{images.port}/view/photo/poster.png",
        f"http://127.0.0.1:{images.port}/view/photo/poster.png",
        "http://[::1]/x.png",
        "http://169.254.169.254/latest/meta-data",
    ):
        refused = client.get("/api/image-proxy", params={"url": private})
        assert refused.status_code == 403, (private, refused.text)
    assert images.paths() == ["/view/photo/poster.png"]


def test_upstream_fetches_are_rate_limited_per_host(live_app: Any, images: Upstream) -> None:
    live = live_app(None, image_proxy_host_rate=0.01, image_proxy_host_burst=2)
    wire(live, images)
    client = live.login()

    def get(host: str, n: int) -> Any:
        return client.get(
            "/api/image-proxy", params={"url": f"http://{host}:{images.port}/view/photo/poster.png?n={n}"}
        )

    assert get("img3.doubanio.com", 1).status_code == 200
    assert get("img3.doubanio.com", 2).status_code == 200
    limited = get("img3.doubanio.com", 3)
    assert limited.status_code == 429 and "img3.doubanio.com" in limited.json()["error"]
    assert get("img3.doubanio.com", 1).headers["x-moontv-cache"] == "memory"  # cache hits are free
    assert get("pic.cms-cdn.example", 1).status_code == 200  # another host has its own budget
    assert len(images.paths()) == 3


def test_hosts_outside_an_allow_list_are_refused(live_app: Any, images: Upstream) -> None:
    live = live_app(None, image_proxy_hosts="doubanio.com,douban.com")
    wire(live, images)
    client = live.login()
    url = f"http://pic.cms-cdn.example:{images.port}/view/photo/poster.png"
    refused = client.get("/api/image-proxy", params={"url": url})
    assert refused.status_code == 403 and "allow-list" in refused.json()["reason"]
    assert client.get("/api/image-proxy", params={"url": "http://evil-doubanio.com/x.png"}).status_code == 403
    assert client.get("/api/image-proxy").status_code == 400
    assert images.paths() == []
    live.stop()
    opened = live_app(None, image_proxy_hosts="doubanio.com, cms-cdn.example")
    wire(opened, images)
    ok = opened.login().get("/api/image-proxy", params={"url": url})
    assert ok.status_code == 200 and ok.content == PNG
    assert "referer" not in images.requests[-1]["headers"]  # Douban's referer only goes to Douban


def test_image_proxy_needs_a_session(live_app: Any, images: Upstream) -> None:
    live = live_app(None)
    wire(live, images)
    with live.client() as anonymous:
        url = f"http://img3.doubanio.com:{images.port}/view/photo/poster.png"
        assert anonymous.get("/api/image-proxy", params={"url": url}).status_code == 401
    assert images.paths() == []
