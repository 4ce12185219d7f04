"""Parsing comment tracks: both formats, hostile bodies, the caps."""

from __future__ import annotations

import orjson
import pytest

from moontv.danmaku.comments import CommentFormatError, parse_comments


def test_xml_rows_sorted_with_mode_and_color() -> None:
    body = (
        '<?xml version="1.0"?><i><chatserver>x</chatserver>'
        '<d p="12.5,1,25,16711680,1700000000,0,abc,1">后来的</d>'
        '<d p="3,5,25,65280,1700000000,0,abc,2">顶部 &amp; &lt;b&gt;</d>'
        '<d p="7,4,25,255">底部</d>'
        '<d p="8,7,25,255">高级弹幕当滚动</d></i>'
    ).encode()
    assert parse_comments(body, 100) == [
        (3.0, 5, 65280, "顶部 & <b>"),
        (7.0, 4, 255, "底部"),
        (8.0, 1, 255, "高级弹幕当滚动"),
        (12.5, 1, 16711680, "后来的"),
    ]


def test_json_rows() -> None:
    body = orjson.dumps(
        {
            "count": 2,
            "comments": [
                {"cid": 1, "p": "2.25,1,16777215,u1", "m": "b"},
                {"cid": 2, "p": "1,5,255,u", "m": "a"},
            ],
        }
    )
    assert parse_comments(body, 100) == [(1.0, 5, 255, "a"), (2.25, 1, 16777215, "b")]


def test_hostile_rows_are_dropped_not_fatal() -> None:
    long_text = "长" * 101
    body = (
        "<i>"
        '<d p="nan,1,25,1">nan</d><d p="-1,1,25,1">negative</d><d p="1e9,1,25,1">far</d>'
        f'<d p="1,1,25,1">{long_text}</d><d p="1,1,25,99999999999">bad colour</d>'
        '<d p="2,1,25,1">   </d><d p="oops">short p</d><d p="4,1,25,1">ok\x07</d>'
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><d p="5,1,25,1">&a;</d>'
        "</i>"
    ).encode()
    assert parse_comments(body, 100) == [
        (1.0, 1, 0xFFFFFF, "bad colour"),
        (4.0, 1, 1, "ok"),
        (5.0, 1, 1, "&a;"),
    ]


def test_count_is_capped() -> None:
    body = ("<i>" + '<d p="1,1,25,1">x</d>' * 500 + "</i>").encode()
    assert len(parse_comments(body, 120)) == 120


@pytest.mark.parametrize("body", [b"", b"garbage", b"{not json", b'{"comments": 3}', b"[1,2]"])
def test_unrecognised_bodies_raise(body: bytes) -> None:
    with pytest.raises(CommentFormatError):
        parse_comments(body, 10)
