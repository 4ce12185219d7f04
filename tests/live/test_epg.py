"""XMLTV and DIYP guides: streaming, matching, time zones, limits, refused XML constructs."""

from __future__ import annotations

import contextlib
import gzip
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moontv.live import epg
from moontv.live.epg import EpgError, Wanted, now_next, parse_diyp, parse_time, parse_xmltv
from moontv.live.playlist import Channel
from tests.live.guides import CST, guide_bytes

NOW = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
WINDOW = {"window_start": NOW - timedelta(days=1), "window_end": NOW + timedelta(days=2)}


def _channels() -> list[Channel]:
    return [
        Channel(name="CCTV-1 综合", tvg_id="cctv1.cn", urls=["http://a/1"]),
        Channel(name="湖南卫视 HD", urls=["http://a/2"]),  # no tvg-id: matched by display-name
        Channel(name="东方卫视", tvg_name="SHTV", urls=["http://a/3"]),  # by the guide id itself
    ]


def _pieces(body: bytes, size: int = 777) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def test_parse_time_across_zones() -> None:
    tokyo = parse_time("20251021235000 +0900")
    assert tokyo is not None and tokyo.astimezone(UTC) == datetime(2025, 10, 21, 14, 50, tzinfo=UTC)
    assert parse_time("20251021235000 -0230").astimezone(UTC) == datetime(2025, 10, 22, 2, 20, tzinfo=UTC)
    assert parse_time("20251021235000").tzinfo == UTC  # XMLTV: no offset means UTC
    assert parse_time("202510212350 +08:00").astimezone(UTC).hour == 15
    assert parse_time("20251321000000 +0000") is None and parse_time("junk") is None
    assert epg.xmltv_time(tokyo) == "20251021235000 +0900"


@pytest.mark.parametrize("compress", [False, True])
def test_stream_matches_by_tvg_id_then_name(compress: bool) -> None:
    start = NOW.astimezone(CST) - timedelta(hours=2)
    body = guide_bytes(
        [("cctv1.cn", "CCTV1"), ("hunan", "湖南卫视"), ("SHTV", "Dragon TV"), ("other", "Not Ours")],
        start,
        hours=6,
        filler_channels=3,
    )
    if compress:
        body = gzip.compress(body)
    channels = _channels()
    found = parse_xmltv(_pieces(body), Wanted.from_channels(channels), **WINDOW)
    assert set(found) == {c.id for c in channels}  # fillers and "other" are never kept
    cctv = found[channels[0].id]
    assert len(cctv) == 12 and cctv[0].title == "CCTV1 节目 0"
    current, nxt = now_next(cctv, NOW)
    assert current is not None and current.title == "CCTV1 节目 4"
    assert nxt is not None and nxt.title == "CCTV1 节目 5"
    assert current.to_json()["start"].endswith("+0800")
    assert current.to_json()["startTs"] == int(current.start.timestamp() * 1000)


def test_window_limits_what_is_kept() -> None:
    start = NOW - timedelta(days=5)
    body = guide_bytes([("cctv1.cn", "CCTV1")], start, hours=24 * 10, minutes_per_show=60)
    found = parse_xmltv([body], Wanted.from_channels(_channels()), **WINDOW)
    items = found[_channels()[0].id]
    assert items[0].end >= WINDOW["window_start"] and items[-1].start <= WINDOW["window_end"]
    assert 70 <= len(items) <= 74  # three days of hourly shows, nothing more


def test_concatenated_gzip_members() -> None:
    body = guide_bytes([("cctv1.cn", "CCTV1")], NOW, hours=2)
    half = len(body) // 2
    joined = gzip.compress(body[:half]) + gzip.compress(body[half:])
    found = parse_xmltv(_pieces(joined, 100), Wanted.from_channels(_channels()), **WINDOW)
    assert len(found[_channels()[0].id]) == 4


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE tv [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><tv>&b;</tv>',
        b'<?xml version="1.0"?><!DOCTYPE tv [<!ENTITY x SYSTEM "file:///etc/passwd">]><tv>&x;</tv>',
        b"<tv><programme channel='a'><title>x</title></programme>",  # truncated
        b"not xml at all",
        b"<a>" * 100 + b"</a>" * 100,
    ],
)
def test_hostile_guides_are_refused(body: bytes) -> None:
    with pytest.raises(EpgError):
        parse_xmltv([body], Wanted.from_channels(_channels()), **WINDOW)


def test_per_channel_cap(monkeypatch) -> None:
    monkeypatch.setattr(epg, "MAX_PROGRAMMES_PER_CHANNEL", 5)
    body = guide_bytes([("cctv1.cn", "CCTV1")], NOW - timedelta(hours=1), hours=24)
    found = parse_xmltv([body], Wanted.from_channels(_channels()), **WINDOW)
    assert len(found[_channels()[0].id]) == 5


def test_diyp_day() -> None:
    day = date(2025, 10, 21)
    data = {
        "channel_name": "CCTV1",
        "date": "2025-10-21",
        "epg_data": [
            {"start": "00:00", "end": "06:00", "title": "夜间节目"},
            {"start": "23:30", "end": "00:30", "title": "跨夜"},
            {"start": "bad", "end": "01:00", "title": "x"},
            {"start": "06:00", "end": "07:00"},
            "junk",
        ],
    }
    items = parse_diyp(data, day)
    assert [i.title for i in items] == ["夜间节目", "跨夜"]
    assert items[0].start == datetime(2025, 10, 21, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert items[1].end - items[1].start == timedelta(hours=1)
    assert parse_diyp({"epg_data": "x"}, day) == [] and parse_diyp([], day) == []
    assert epg.is_diyp("http://e.example/?ch={name}&date={date}") and epg.is_diyp("http://e.example/?ch=")
    assert epg.diyp_url("http://e/?ch=", "CCTV 1", day) == "http://e/?ch=CCTV%201&date=2025-10-21"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_only_raise_epg_error(body: bytes, piece: int) -> None:
    with contextlib.suppress(EpgError):
        parse_xmltv(_pieces(body, piece), Wanted.from_channels(_channels()), **WINDOW)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-14 * 60, max_value=14 * 60), st.integers(min_value=0, max_value=10**6))
def test_times_round_trip_any_offset(offset_minutes: int, seconds: int) -> None:
    tz = timezone(timedelta(minutes=offset_minutes))
    value = (NOW + timedelta(seconds=seconds)).astimezone(tz)
    assert parse_time(epg.xmltv_time(value)) == value
