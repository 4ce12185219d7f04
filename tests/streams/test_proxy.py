"""The m3u8/segment/key proxies over real HTTP, against ffmpeg-made streams on a local CDN stand-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from moontv.aes import aes_cbc_decrypt, aes_cbc_encrypt
from moontv.streams.media import read_ts
from tests.streams.hls_fixtures import SCENARIOS, Scenario
from tests.streams.upstream import Canned, Upstream
from tests.support import LiveServer

LOCAL = "127.0.0.1/32"


def set_source(live: LiveServer, key: str, **options: Any) -> None:
    def mutate(config: dict[str, Any]) -> None:
        entry = next((s for s in config["SourceConfig"] if s["key"] == key), None)
        if entry is None:
            entry = {
                "key": key,
                "name": key,
                "api": "http://127.0.0.1:9/api.php/provide/vod",
                "from": "custom",
            }
            config["SourceConfig"].append(entry)
        entry.update(options)

    live.call(live.state.config.update(mutate))


@pytest.fixture
def app(live_app: Any) -> LiveServer:
    return live_app(None, allow_private_upstreams=LOCAL)


def proxied(client: httpx.Client, url: str, source: str = "") -> httpx.Response:
    return client.get("/api/proxy/m3u8", params={"url": url, "source": source})


def segment_urls(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def playlist_seconds(text: str) -> float:
    return sum(float(m) for m in re.findall(r"#EXTINF:([\d.]+)", text))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenarios(app: LiveServer, cdn: Upstream, scenario: Scenario) -> None:
    client = app.login()
    response = proxied(client, f"{cdn.url}/{scenario.name}.m3u8")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    removed = response.headers["x-moontv-ads-removed"]
    assert removed == f"{scenario.ad_blocks} blocks, {scenario.ad_seconds:.3f} seconds"
    urls = segment_urls(response.text)
    assert playlist_seconds(response.text) == pytest.approx(20.0)
    assert not any("/ad" in u or "fmp4ad" in u for u in urls)
    assert all(u.startswith(cdn.url) for u in urls)  # absolute, resolved against the playlist URL
    # what is left is exactly the programme, in order
    programme = "fmp4" if scenario.name.startswith("fmp4") else "clean"
    suffix = "m4s" if programme == "fmp4" else "ts"
    assert [u.rsplit("/", 2)[-2:] for u in urls] == [[programme, f"seg{n:03d}.{suffix}"] for n in range(10)]


def test_second_request_uses_the_cached_decision(app: LiveServer, cdn: Upstream) -> None:
    client = app.login()
    assert proxied(client, f"{cdn.url}/mid.m3u8").headers["x-moontv-ads"] == "removed"
    probes = [p for p in cdn.paths() if p.endswith(".ts")]
    assert len(probes) == 6  # first and last segment of three blocks
    assert all(
        r["headers"].get("range", "").startswith("bytes=0-")
        for r in cdn.requests
        if r["path"].endswith(".ts")
    )
    cdn.clear()
    again = proxied(client, f"{cdn.url}/mid.m3u8")
    assert again.headers["x-moontv-ads"] == "removed; cached"
    assert cdn.paths() == ["/mid.m3u8"]


def test_master_playlist_keeps_all_variants_and_routes_them_through_the_proxy(
    app: LiveServer, cdn: Upstream
) -> None:
    set_source(app, "src1")
    client = app.login()
    response = proxied(client, f"{cdn.url}/master.m3u8", "src1")
    assert response.status_code == 200
    assert response.headers["x-moontv-ads"] == "master"
    lines = response.text.splitlines()
    variants = [line for line in lines if not line.startswith("#")]
    assert len(variants) == 2
    assert '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"' in lines
    targets = []
    for variant in variants:
        absolute = urljoin(f"{app.url}/api/proxy/m3u8?url=x", variant)
        assert urlsplit(absolute).path == "/api/proxy/m3u8"
        query = parse_qs(urlsplit(absolute).query)
        assert query["source"] == ["src1"]
        targets.append(query["url"][0])
    assert targets == [f"{cdn.url}/mid.m3u8", f"{cdn.url}/clean.m3u8"]  # sub/../ normalised
    nested = client.get(urljoin(f"{app.url}/api/proxy/m3u8", variants[0]))
    assert nested.headers["x-moontv-ads-removed"] == "1 blocks, 6.000 seconds"


def test_relative_uris_resolve_against_the_final_url_after_redirects(app: LiveServer, cdn: Upstream) -> None:
    cdn.redirects["/short/link.m3u8"] = "/mid.m3u8"
    client = app.login()
    response = proxied(client, f"{cdn.url}/short/link.m3u8")
    assert response.status_code == 200
    assert segment_urls(response.text)[0] == f"{cdn.url}/clean/seg000.ts"
    assert response.headers["x-moontv-ads-removed"] == "1 blocks, 6.000 seconds"


def test_per_source_headers_and_ad_filter_off(app: LiveServer, cdn: Upstream) -> None:
    set_source(app, "plain", adFilter=False, userAgent="TestPlayer/1.0", referer="https://ref.example/")
    client = app.login()
    response = proxied(client, f"{cdn.url}/mid.m3u8", "plain")
    assert response.headers["x-moontv-ads"] == "off"
    assert "x-moontv-ads-removed" not in response.headers
    assert len(segment_urls(response.text)) == 13
    request = cdn.requests[-1]
    assert request["headers"]["user-agent"] == "TestPlayer/1.0"
    assert request["headers"]["referer"] == "https://ref.example/"


def test_proxied_segments_stream_with_range_and_need_a_signature(
    app: LiveServer, cdn: Upstream, hls_root: Path
) -> None:
    set_source(app, "nocors", proxySegments=True, userAgent="SegUA/2")
    client = app.login()
    text = proxied(client, f"{cdn.url}/mid.m3u8", "nocors").text
    lines = segment_urls(text)
    assert all(line.startswith("segment?url=") and "&sig=" in line for line in lines)
    first = urljoin(f"{app.url}/api/proxy/m3u8", lines[0])
    full = client.get(first)
    assert full.status_code == 200
    original = (hls_root / "clean/seg000.ts").read_bytes()
    assert full.content == original
    assert full.headers["content-length"] == str(len(original))
    assert cdn.requests[-1]["headers"]["user-agent"] == "SegUA/2"
    part = client.get(first, headers={"Range": "bytes=188-375"})
    assert part.status_code == 206
    assert part.content == original[188:376]
    assert part.headers["content-range"] == f"bytes 188-375/{len(original)}"
    # a changed URL or a missing signature is refused without any upstream request
    cdn.clear()
    query = parse_qs(urlsplit(first).query)
    forged = client.get(
        "/api/proxy/segment",
        params={"url": f"{cdn.url}/clean/seg001.ts", "source": "nocors", "sig": query["sig"][0]},
    )
    assert forged.status_code == 403
    assert (
        client.get("/api/proxy/segment", params={"url": query["url"][0], "source": "nocors"}).status_code
        == 403
    )
    other_source = client.get(
        "/api/proxy/segment", params={"url": query["url"][0], "source": "plain", "sig": query["sig"][0]}
    )
    assert other_source.status_code == 403
    assert cdn.paths() == []
    # a big segment goes through in pieces (streamed), byte for byte
    (big,) = [u for u in lines if "seg009" in u]
    assert (
        client.get(urljoin(f"{app.url}/api/proxy/m3u8", big)).content
        == (hls_root / "clean/seg009.ts").read_bytes()
    )


def test_fmp4_init_segments_are_proxied_with_segments(app: LiveServer, cdn: Upstream) -> None:
    set_source(app, "nocors", proxySegments=True)
    client = app.login()
    text = proxied(client, f"{cdn.url}/fmp4mid.m3u8", "nocors").text
    maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert maps and all(m.startswith("segment?url=") for m in maps)
    init = client.get(urljoin(f"{app.url}/api/proxy/m3u8", maps[0]))
    assert init.status_code == 200 and init.content[4:8] == b"ftyp"


def encrypted_stream(hls_root: Path) -> bytes:
    """``enc/index.m3u8``: the mid-roll scenario under one AES-128 key (sequence IVs); returns the key."""
    key = bytes(range(16))
    folder = hls_root / "enc"
    folder.mkdir(exist_ok=True)
    (folder / "k.bin").write_bytes(key)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines.append('#EXT-X-KEY:METHOD=AES-128,URI="k.bin"')
    plan = (
        [("clean", n) for n in range(3)]
        + [("adsrc", n) for n in range(3)]
        + [("clean", n) for n in range(3, 10)]
    )
    for sequence, (src, n) in enumerate(plan):
        if sequence in (3, 6):
            lines.append("#EXT-X-DISCONTINUITY")
        data = (hls_root / src / f"seg{n:03d}.ts").read_bytes()
        sealed = aes_cbc_encrypt(key, sequence.to_bytes(16, "big"), data)
        (folder / f"{src}{n}.ts").write_bytes(sealed)
        lines += ["#EXTINF:2.000000,", f"{src}{n}.ts"]
    lines.append("#EXT-X-ENDLIST")
    (folder / "index.m3u8").write_text("\n".join(lines) + "\n")
    return key


def test_aes128_keys_go_through_the_key_proxy_and_encrypted_ads_are_found(
    app: LiveServer, cdn: Upstream, hls_root: Path, tmp_path: Path
) -> None:
    key = encrypted_stream(hls_root)
    client = app.login()
    response = proxied(client, f"{cdn.url}/enc/index.m3u8")
    assert response.headers["x-moontv-ads-removed"] == "1 blocks, 6.000 seconds"
    text = response.text
    key_lines = [line for line in text.splitlines() if line.startswith("#EXT-X-KEY")]
    assert key_lines[0].startswith('#EXT-X-KEY:METHOD=AES-128,URI="key?url=')
    # segments after the removed block keep their original IVs, now explicit
    assert any(line.endswith(f"IV=0x{6:032X}") for line in key_lines)
    key_uri = re.search(r'URI="([^"]+)"', key_lines[0]).group(1)  # type: ignore[union-attr]
    answer = client.get(urljoin(f"{app.url}/api/proxy/m3u8", key_uri))
    assert answer.status_code == 200 and answer.content == key
    assert answer.headers["cache-control"].startswith("no-store")
    # the decrypted programme is what the player gets
    segments = segment_urls(text)
    sealed = httpx.get(segments[3]).content
    opened = aes_cbc_decrypt(key, (6).to_bytes(16, "big"), sealed[:4096], padding=False)
    assert read_ts(opened).start == pytest.approx(7.48, abs=0.01)


def test_encrypted_segments_are_relayed_opaque_and_only_with_their_own_signature(
    app: LiveServer, cdn: Upstream, hls_root: Path
) -> None:
    key = encrypted_stream(hls_root)
    set_source(app, "sealed", proxySegments=True)
    client = app.login()
    text = proxied(client, f"{cdn.url}/enc/index.m3u8", "sealed").text
    segments = [urljoin(f"{app.url}/api/proxy/m3u8", uri) for uri in segment_urls(text)]
    assert len(segments) == 10 and all("enc=1" in uri for uri in segments)
    for uri in segments:  # ciphertext has no media signature: relayed, not refused
        answer = client.get(uri)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-disposition"] == "attachment"
    first = client.get(segments[0]).content
    plain = aes_cbc_decrypt(key, (0).to_bytes(16, "big"), first)
    assert plain == (hls_root / "clean" / "seg000.ts").read_bytes()
    # the flag is part of what was signed: it cannot be added to, or dropped from, another link
    assert client.get(segments[0].replace("&enc=1", "")).status_code == 403
    clear = segment_urls(proxied(client, f"{cdn.url}/mid.m3u8", "sealed").text)[0]
    assert client.get(urljoin(f"{app.url}/api/proxy/m3u8", clear) + "&enc=1").status_code == 403


def test_upstream_errors_are_clear_json(app: LiveServer, cdn: Upstream) -> None:
    cdn.canned["/page.m3u8"] = Canned(200, {"Content-Type": "text/html"}, b"<html>blocked</html>")
    cdn.canned["/gone.m3u8"] = Canned(404, {}, b"")
    cdn.canned["/huge.m3u8"] = Canned(200, {}, b"#EXTM3U\n" + b"#" * (9 * 1024 * 1024))
    client = app.login()
    page = proxied(client, f"{cdn.url}/page.m3u8")
    assert page.status_code == 502 and "m3u8" in page.json()["error"]
    gone = proxied(client, f"{cdn.url}/gone.m3u8")
    assert gone.status_code == 502 and gone.json()["upstreamStatus"] == 404
    assert proxied(client, f"{cdn.url}/huge.m3u8").status_code == 502
    assert client.get("/api/proxy/m3u8").status_code == 400
    assert client.get("/api/proxy/m3u8", params={"url": "x" * 5000}).status_code == 400


def test_proxy_routes_need_a_session(app: LiveServer, cdn: Upstream) -> None:
    with app.client() as anonymous:
        for path in ("/api/proxy/m3u8", "/api/proxy/segment", "/api/proxy/key", "/api/proxy/m3u8/debug"):
            assert anonymous.get(path, params={"url": f"{cdn.url}/mid.m3u8"}).status_code == 401
    assert cdn.paths() == []


def test_debug_endpoint_is_for_admins(app: LiveServer, cdn: Upstream) -> None:
    admin = app.login()
    answer = admin.get("/api/proxy/m3u8/debug", params={"url": f"{cdn.url}/mid.m3u8"})
    assert answer.status_code == 200
    decision = answer.json()["decision"]
    assert decision["status"] == "removed" and decision["removedSegments"] == [3, 4, 5]
    assert [b["verdict"] for b in decision["blocks"]] == ["programme", "ad", "programme"]
    assert decision["blocks"][1]["first"]["start"] == pytest.approx(1.48, abs=0.01)
    refreshed = admin.get("/api/proxy/m3u8/debug", params={"url": f"{cdn.url}/mid.m3u8", "refresh": "1"})
    assert refreshed.json()["cached"] is False
    master = admin.get("/api/proxy/m3u8/debug", params={"url": f"{cdn.url}/master.m3u8"}).json()
    assert master["master"] is True and len(master["variants"]) == 2
    app.call(app.state.auth.create_user("viewer", "viewer-pass-1"))
    viewer = app.login("viewer", "viewer-pass-1")
    assert viewer.get("/api/proxy/m3u8/debug", params={"url": f"{cdn.url}/mid.m3u8"}).status_code == 403
    assert proxied(viewer, f"{cdn.url}/mid.m3u8").status_code == 200
