"""The IPTV playlist parser: every quirk of real subscriptions, plus property tests."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moontv.live import playlist
from moontv.live.playlist import DEFAULT_GROUP, decode, match_key, normalise, parse, web_playable

QUIRKY_M3U = (
    '#EXTM3U x-tvg-url="http://epg.example/a.xml.gz, http://epg.example/b.xml" '
    'url-tvg="http://epg.example/c.xml"\r\n'
    '#EXTINF:-1 tvg-id="CCTV1.cn" tvg-name="CCTV1" tvg-logo="http://logo.example/1.png" '
    'group-title="央视,高清" catchup="append" catchup-days="7" '
    'catchup-source="?playseek=${(b)yyyyMMddHHmmss}-${(e)yyyyMMddHHmmss}",CCTV-1 综合, 新闻\r\n'
    "#EXTVLCOPT:http-user-agent=OkHttp/4.9\r\n"
    "#EXTVLCOPT:http-referrer=http://ref.example/\r\n"
    "#KODIPROP:inputstream.adaptive.manifest_type=hls\r\n"
    "#EXTGRP:ignored because group-title wins\r\n"
    "http://a.example/cctv1.m3u8\r\n"
    "\r\n"
    "#EXTINF:-1 tvg-id='hunan' tvg-logo=http://logo.example/h.png,湖南卫视\r\n"
    "#EXTGRP:卫视\r\n"
    "http://b.example/hunan.m3u8$线路一\r\n"
    "#EXTINF:-1,CCTV-1 综合, 新闻\r\n"
    "rtmp://c.example/live/cctv1\r\n"
    "#EXTINF:-1,cctv1综合,新闻\r\n"
    "http://d.example/cctv1.m3u8\r\n"
    '#EXTINF:-1 tvg-name="Only Tvg Name",\r\n'
    "udp://239.1.1.1:5000\r\n"
    "#EXTINF:-1,No URL follows\r\n"
    "#EXTINF:-1,P2P\r\n"
    "p2p://e.example/abc\r\n"
    "http://orphan.example/no-extinf.m3u8\r\n"
)

QUIRKY_TXT = (
    "央视频道,#genre#\n"
    "CCTV1,http://a.example/1.m3u8#http://b.example/1.m3u8\n"
    "CCTV1,http://c.example/1.m3u8$备用\n"
    "\n"
    "卫视频道,#genre#\n"
    "湖南, 卫视,http://d.example/hn.m3u8\n"
    "广播,rtsp://e.example/radio\n"
    "garbage line without url\n"
    "// a comment,http://x.example/ignored\n"
)


def test_m3u_quirks() -> None:
    parsed = parse(("\ufeff" + QUIRKY_M3U).encode())
    assert parsed.format == "m3u"
    assert parsed.epg_urls == [
        "http://epg.example/a.xml.gz",
        "http://epg.example/b.xml",
        "http://epg.example/c.xml",
    ]
    names = [c.name for c in parsed.channels]
    assert names == ["CCTV-1 综合, 新闻", "湖南卫视", "Only Tvg Name", "P2P"]
    cctv = parsed.channels[0]
    assert cctv.group == "央视,高清"
    assert (cctv.tvg_id, cctv.tvg_name, cctv.logo) == ("CCTV1.cn", "CCTV1", "http://logo.example/1.png")
    assert cctv.catchup["catchup"] == "append" and cctv.catchup["catchup-days"] == "7"
    assert cctv.catchup["catchup-source"].startswith("?playseek=")
    assert (cctv.user_agent, cctv.referer) == ("OkHttp/4.9", "http://ref.example/")
    # three spellings of the same channel merge, in listing order, rtmp kept for TV apps
    assert cctv.urls == [
        "http://a.example/cctv1.m3u8",
        "rtmp://c.example/live/cctv1",
        "http://d.example/cctv1.m3u8",
    ]
    assert cctv.web_urls == ["http://a.example/cctv1.m3u8", "http://d.example/cctv1.m3u8"]
    hunan = parsed.channels[1]
    assert hunan.group == "卫视" and hunan.tvg_id == "hunan" and hunan.logo == "http://logo.example/h.png"
    assert hunan.urls == ["http://b.example/hunan.m3u8"]
    assert parsed.channels[2].urls == ["udp://239.1.1.1:5000"] and parsed.channels[2].web_urls == []
    assert parsed.channels[3].urls == ["p2p://e.example/abc"]
    assert parsed.channels[2].group == DEFAULT_GROUP


def test_txt_quirks_in_gbk() -> None:
    parsed = parse(QUIRKY_TXT.encode("gbk"))
    assert parsed.format == "txt"
    assert [(c.group, c.name) for c in parsed.channels] == [
        ("央视频道", "CCTV1"),
        ("卫视频道", "湖南, 卫视"),
        ("卫视频道", "广播"),
    ]
    assert parsed.channels[0].urls == [
        "http://a.example/1.m3u8",
        "http://b.example/1.m3u8",
        "http://c.example/1.m3u8",
    ]
    assert parsed.channels[2].web_urls == []


def test_gb18030_and_utf16_and_crlf() -> None:
    text = '#EXTM3U\r\n#EXTINF:-1 group-title="体育",五星体育\r\nhttp://a.example/ss.m3u8\r\n'
    for encoded in (text.encode("gb18030"), text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        parsed = parse(encoded)
        assert [(c.group, c.name, c.urls) for c in parsed.channels] == [
            ("体育", "五星体育", ["http://a.example/ss.m3u8"])
        ]


def test_limits_bound_the_work(monkeypatch) -> None:
    monkeypatch.setattr(playlist, "MAX_CHANNELS", 5)
    body = "\n".join(f"ch{i},http://a.example/{i}.m3u8" for i in range(50))
    parsed = parse(body.encode())
    assert len(parsed.channels) == 5 and parsed.truncated
    big = parse(b"#EXTM3U\n" + b"#EXTINF:-1,x\nhttp://a/" + b"a" * 100 + b"\n", max_bytes=30)
    assert big.truncated and big.channels == []
    long_line = "#EXTM3U\n#EXTINF:-1," + "n" * 20000 + "\nhttp://a.example/x\n"
    assert parse(long_line).channels == []  # an over-long EXTINF is skipped, never a huge name


def test_normalisation() -> None:
    assert normalise("CCTV-1 综合") == normalise("cctv1综合")
    assert match_key("CCTV1 HD") == match_key("cctv-1") == "cctv1"
    assert match_key("湖南卫视高清") == match_key("湖南卫视")
    assert decode(b"\xd6\xd0\xce\xc4") == "中文"
    assert web_playable("HTTPS://a") and not web_playable("rtsp://a")


# -- properties -----------------------------------------------------------------------------

NAME_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"), exclude_characters="#\"'$"
)
names = st.text(NAME_CHARS, min_size=1, max_size=20).filter(
    lambda s: playlist._clean_name(s) == s and normalise(s) != ""
)
paths = st.text(string.ascii_letters + string.digits + "/_.-", min_size=1, max_size=20)
schemes = st.sampled_from(["http", "https", "rtmp", "rtsp", "udp", "p2p"])
urls = st.builds(lambda s, p: f"{s}://host.example/{p}", schemes, paths)
channel_specs = st.lists(
    st.tuples(names, st.lists(urls, min_size=1, max_size=3), st.sampled_from(["", "央视", "a,b"])),
    min_size=1,
    max_size=12,
)


def _expected(specs):
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, urls_, _group in specs:
        key = normalise(name)
        entry = merged.setdefault(key, (name, []))
        for url in urls_:
            if url not in entry[1]:
                entry[1].append(url)
    return [(n, u) for n, u in merged.values()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=channel_specs,
    crlf=st.booleans(),
    bom=st.booleans(),
    noise=st.lists(st.sampled_from(["#EXTVLCOPT:http-user-agent=x", "#KODIPROP:a=b", "#EXTGRP:g", ""])),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_m3u_round_trip(specs, crlf, bom, noise, encoding) -> None:
    lines = ['#EXTM3U x-tvg-url="http://e.example/g.xml"']
    for name, urls_, group in specs:
        for url in urls_:
            attrs = f' group-title="{group}"' if group else ""
            lines.append(f'#EXTINF:-1 tvg-name="{name}"{attrs},{name}')
            lines.extend(noise)
            lines.append(url)
    text = ("\r\n" if crlf else "\n").join(lines)
    body = (("\ufeff" if bom else "") + text).encode(encoding)
    parsed = parse(body)
    assert [(c.name, c.urls) for c in parsed.channels] == _expected(specs)
    assert parsed.epg_urls == ["http://e.example/g.xml"]


@settings(max_examples=60, deadline=None)
@given(specs=channel_specs, crlf=st.booleans())
def test_txt_round_trip(specs, crlf) -> None:
    specs = [s for s in specs if not s[0].startswith((";", "//"))]  # TXT comment lines
    lines = []
    for name, urls_, group in specs:
        if group:
            lines.append(f"{group},#genre#")
        lines.append(f"{name},{'#'.join(urls_)}")
    parsed = parse(("\r\n" if crlf else "\n").join(lines).encode())
    assert [(c.name, c.urls) for c in parsed.channels] == _expected(specs)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise_and_stay_bounded(body: bytes) -> None:
    parsed = parse(body)
    for channel in parsed.channels:
        assert channel.name and channel.urls
        assert len(channel.urls) <= playlist.MAX_URLS_PER_CHANNEL
        assert all("://" in u and not any(c.isspace() for c in u) for u in channel.urls)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(text: str) -> None:
    parse(text)
    parse("#EXTM3U\n" + text)
