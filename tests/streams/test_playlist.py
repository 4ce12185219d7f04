"""Playlist parser and rewriter: URI resolution, faithful output, segment removal semantics."""

from __future__ import annotations

import pytest

from moontv.streams.playlist import (
    ENCRYPTED_SEGMENT,
    KEY,
    MAP,
    PLAYLIST,
    PlaylistError,
    attributes,
    identity,
    parse,
    rewrite,
)

BASE = "https://cdn.example.com/vod/show/ep1/index.m3u8"

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud"
720/index.m3u8?token=a,b
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
/abs/360.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="iframes.m3u8"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../keys/k.bin"
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-CUSTOM-HEADER:kept
#EXT-X-KEY:METHOD=AES-128,URI="key.bin"
#EXTINF:4.0,
a0.ts
#EXTINF:4.0,
a1.ts
#EXT-X-DISCONTINUITY
#EXT-X-KEY:METHOD=NONE
#EXTINF:3.0,first ad
http://ads.example.net/x/ad0.ts
#EXTINF:3.0,
http://ads.example.net/x/ad1.ts
#EXT-X-DISCONTINUITY
#EXT-X-KEY:METHOD=AES-128,URI="key.bin"
#EXTINF:4.0,
a2.ts
#EXTINF:4.0,
a3.ts
#EXT-X-ENDLIST
"""


def tagged(kind: str, uri: str) -> str:
    return f"<{kind}:{uri}>"


def test_attributes_handle_quoted_commas() -> None:
    assert attributes('BANDWIDTH=1,CODECS="a,b",URI="x"') == {"BANDWIDTH": "1", "CODECS": "a,b", "URI": "x"}


def test_not_a_playlist() -> None:
    with pytest.raises(PlaylistError):
        parse("<html></html>", BASE)
    with pytest.raises(PlaylistError):
        parse("", BASE)


def test_master_keeps_every_variant_and_maps_each_uri() -> None:
    playlist = parse(MASTER, BASE)
    assert playlist.is_master
    assert [v.uri for v in playlist.variants] == [
        "https://cdn.example.com/vod/show/ep1/720/index.m3u8?token=a,b",
        "https://cdn.example.com/abs/360.m3u8",
    ]
    assert playlist.variants[0].resolution == (1280, 720)
    out = rewrite(playlist, tagged).splitlines()
    assert out[3] == (
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,'
        'URI="<playlist:https://cdn.example.com/vod/show/ep1/audio/en.m3u8>"'
    )
    assert out[5] == f"<{PLAYLIST}:https://cdn.example.com/vod/show/ep1/720/index.m3u8?token=a,b>"
    assert out[7] == f"<{PLAYLIST}:https://cdn.example.com/abs/360.m3u8>"
    assert (
        out[8]
        == '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="<playlist:https://cdn.example.com/vod/show/ep1/iframes.m3u8>"'
    )
    assert (
        out[9]
        == f'#EXT-X-SESSION-KEY:METHOD=AES-128,URI="<{KEY}:https://cdn.example.com/vod/show/key' + 's/k.bin>"'
    )
    assert len(out) == len(MASTER.strip().splitlines())


def test_media_round_trip_is_faithful_with_identity_mapping() -> None:
    text = MEDIA.replace("\n", "\r\n")  # CRLF in, LF out
    playlist = parse("\ufeff" + text, BASE)
    out = rewrite(playlist, identity)
    expected = MEDIA.replace('URI="key.bin"', 'URI="https://cdn.example.com/vod/show/ep1/key.bin"')
    for name in ("a0.ts", "a1.ts", "a2.ts", "a3.ts"):
        expected = expected.replace(f"\n{name}\n", f"\nhttps://cdn.example.com/vod/show/ep1/{name}\n")
    assert out == expected


def test_media_segments_blocks_and_keys() -> None:
    playlist = parse(MEDIA, BASE)
    assert not playlist.is_master and playlist.is_vod and playlist.media_sequence == 100
    assert [s.sequence for s in playlist.segments] == [100, 101, 102, 103, 104, 105]
    assert [len(b) for b in playlist.blocks()] == [2, 2, 2]
    assert playlist.segments[2].key is None and playlist.segments[4].key is not None
    assert playlist.segments[2].title == "first ad"
    assert playlist.duration == pytest.approx(22.0)


def test_removal_keeps_state_tags_merges_discontinuity_and_pins_iv() -> None:
    playlist = parse(MEDIA, BASE)
    out = rewrite(playlist, tagged, {2, 3}).splitlines()
    assert "http://ads.example.net" not in "\n".join(out)
    assert out.count("#EXT-X-DISCONTINUITY") == 1
    assert "#EXT-X-KEY:METHOD=NONE" in out  # state tags of removed segments stay in order
    assert "#EXT-X-CUSTOM-HEADER:kept" in out
    key_uri = "<key:https://cdn.example.com/vod/show/ep1/key.bin>"
    # sequence numbers after the cut changed, so the implicit IVs are written out
    assert f'#EXT-X-KEY:METHOD=AES-128,URI="{key_uri}",IV=0x{104:032X}' in out
    assert f'#EXT-X-KEY:METHOD=AES-128,URI="{key_uri}",IV=0x{105:032X}' in out
    assert out[-1] == "#EXT-X-ENDLIST"
    assert sum(1 for line in out if line.startswith("#EXTINF")) == 4
    # all four are under an AES-128 key: the segment proxy must not sniff their ciphertext
    assert sum(1 for line in out if line.startswith(f"<{ENCRYPTED_SEGMENT}:")) == 4


def test_preroll_removal_drops_the_leading_discontinuity() -> None:
    text = MEDIA.replace(
        '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n#EXTINF:4.0,\na0.ts', "#EXTINF:4.0,\na0.ts"
    )
    playlist = parse(text, BASE)
    out = rewrite(playlist, identity, {0, 1})
    lines = out.splitlines()
    first_segment = next(i for i, line in enumerate(lines) if line.startswith("#EXTINF"))
    assert "#EXT-X-DISCONTINUITY" not in lines[:first_segment]
    assert lines[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:4",
        "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:100",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]


def test_byteranges_become_explicit_after_a_removal() -> None:
    text = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="main.mp4",BYTERANGE="700@0"
#EXTINF:2,
#EXT-X-BYTERANGE:1000@700
main.mp4
#EXTINF:2,
#EXT-X-BYTERANGE:1000
main.mp4
#EXTINF:2,
#EXT-X-BYTERANGE:500
main.mp4
#EXT-X-ENDLIST
"""
    playlist = parse(text, BASE)
    assert [s.byterange for s in playlist.segments] == [(1000, 700), (1000, 1700), (500, 2700)]
    assert playlist.segments[0].map_byterange == (700, 0)
    out = rewrite(playlist, tagged, {1}).splitlines()
    assert "#EXT-X-BYTERANGE:1000@700" in out and "#EXT-X-BYTERANGE:500@2700" in out
    assert f'#EXT-X-MAP:URI="<{MAP}:https://cdn.example.com/vod/show/ep1/main.mp4>",BYTERANGE="700@0"' in out


def test_relative_uris_resolve_against_the_given_final_url() -> None:
    playlist = parse(
        "#EXTM3U\n#EXTINF:2,\n../seg.ts?x=1\n#EXTINF:2,\n//other.example/s.ts\n",
        "https://a.example/p/q/list.m3u8",
    )
    assert [s.uri for s in playlist.segments] == [
        "https://a.example/p/seg.ts?x=1",
        "https://other.example/s.ts",
    ]


def test_non_http_uris_and_data_uris_are_left_alone() -> None:
    playlist = parse('#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://abc"\n#EXTINF:2,\ns.ts\n', BASE)
    assert 'URI="skd://abc"' in rewrite(playlist, identity)


def test_live_playlist_is_not_vod() -> None:
    playlist = parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ns.ts\n", BASE)
    assert not playlist.is_vod
