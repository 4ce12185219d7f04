"""Item 1: hostile playlists neither freeze the event loop nor blow up memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moontv.streams.playlist import Limits, PlaylistTooLarge, attributes, parse
from tests.abuse.harness import HEALTH_LIMIT_SECONDS, RSS_LIMIT_MB, HealthWatch, ServerProcess, report
from tests.streams.upstream import Canned, Upstream

M3U8 = {"Content-Type": "application/vnd.apple.mpegurl"}


def media_playlist(segments: int = 4, header: str = "") -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:4", header]
    for n in range(segments):
        lines += ["#EXTINF:4.0,", f"seg{n}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(line for line in lines if line) + "\n").encode()


def test_long_attribute_line_does_not_block(
    server_factory: Callable[..., ServerProcess], upstream: Upstream
) -> None:
    """Base code: the quadratic attribute regex blocked /api/health for ~11 s on 50,000 characters."""
    upstream.canned["/key.m3u8"] = Canned(
        body=media_playlist(header="#EXT-X-KEY:" + "A" * 50_000), headers=M3U8
    )
    server = server_factory()
    client = server.login()
    with HealthWatch(server.url) as watch:
        response = client.get("/api/proxy/m3u8", params={"url": f"{upstream.url}/key.m3u8"})
    report("EXT-X-KEY 50k line", watch, server)
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies
    assert response.status_code == 502, response.text
    assert "过长" in response.json()["error"]


def test_long_attribute_value_under_the_line_cap_parses_linearly(
    server_factory: Callable[..., ServerProcess], upstream: Upstream
) -> None:
    """A 13,000-character attribute list (under the line cap) is parsed and kept; health stays quick."""
    junk = ",".join(f"X-{n}=" + "B" * 10 for n in range(700))
    header = f'#EXT-X-SESSION-DATA:DATA-ID="a",VALUE="{"C" * 2000}",{junk}'
    upstream.canned["/attrs.m3u8"] = Canned(body=media_playlist(header=header), headers=M3U8)
    server = server_factory(MOONTV_PLAYLIST_MAX_LINE="16384")
    client = server.login()
    with HealthWatch(server.url) as watch:
        response = client.get("/api/proxy/m3u8", params={"url": f"{upstream.url}/attrs.m3u8"})
    report("13k attribute line", watch, server)
    assert response.status_code == 200, response.text
    assert "seg3.ts" in response.text
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies


def test_millions_of_tiny_lines_are_refused_in_bounded_memory(
    server_factory: Callable[..., ServerProcess], upstream: Upstream
) -> None:
    """Base code: an 8 MB playlist of tiny lines blocked health for 51 s and peaked at 1.88 GB."""
    tiny = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n" + b"#EXTINF:0,\nx\n" * 600_000 + b"#EXT-X-ENDLIST\n"
    small = b"#EXTM3U\n" + b"#EXTINF:0,\nx\n" * 280_000 + b"#EXT-X-ENDLIST\n"  # under the byte cap
    upstream.canned["/tiny.m3u8"] = Canned(body=tiny, headers=M3U8)
    upstream.canned["/small.m3u8"] = Canned(body=small, headers=M3U8)
    server = server_factory()
    client = server.login()
    statuses = []
    with HealthWatch(server.url) as watch:
        for name in ("tiny", "small", "tiny", "small"):
            response = client.get(
                "/api/proxy/m3u8", params={"url": f"{upstream.url}/{name}.m3u8", "source": ""}
            )
            statuses.append(response.status_code)
    report("8 MB / 3.6 MB tiny-line playlists x4", watch, server)
    assert statuses == [502] * 4
    assert watch.worst < HEALTH_LIMIT_SECONDS, watch.latencies
    assert server.vmhwm_mb() < RSS_LIMIT_MB


def test_parse_limits_name_what_was_passed() -> None:
    limits = Limits(max_bytes=10_000, max_line=200, max_lines=100, max_segments=10)
    ok = media_playlist(segments=10).decode()
    assert len(parse(ok, "https://a/b.m3u8", limits).segments) == 10
    cases = {
        "bytes": "#EXTM3U\n" + "#" * 10_000,
        "line": media_playlist(header="#EXT-X-KEY:" + "A" * 300).decode(),
        "lines": "#EXTM3U\n" + "#X\n" * 150,
        "segments": media_playlist(segments=11).decode(),
    }
    for what, text in cases.items():
        with pytest.raises(PlaylistTooLarge) as caught:
            parse(text, "https://a/b.m3u8", limits)
        assert caught.value.what == what


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'METHOD=AES-128,URI="https://k/a,b",IV=0x1',
            {"METHOD": "AES-128", "URI": "https://k/a,b", "IV": "0x1"},
        ),
        ('BANDWIDTH=1,CODECS="a,b",RESOLUTION=1x2', {"BANDWIDTH": "1", "CODECS": "a,b", "RESOLUTION": "1x2"}),
        ('A="unterminated,B=2', {"A": '"unterminated', "B": "2"}),
        ("xMETHOD=1, B=2", {"METHOD": "1", "B": "2"}),
        ("A" * 50_000, {}),
    ],
)
def test_attribute_parser_keeps_the_old_meaning(text: str, expected: dict[str, str]) -> None:
    assert attributes(text) == expected
